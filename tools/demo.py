"""`make demo`: the whole path once, on a private broker, and nothing left running after.

    python3 -m tools.demo            # what tools/demo.sh runs (PYTHON, KAFKA_PORT from env)

1. a Kafka broker of its own (state in `.kafka/demo/`, wiped first) on KAFKA_PORT when that
   port is free, else on a free port;
2. `news-worker worker`, which creates its topics (4 partitions each) with the configs its
   start-up check demands (a topic made beforehand without them stops it), with its state in a
   temporary directory, its log in `.kafka/demo/worker.log` and its web port on a free port;
   waits for `/readyz`;
3. `news-worker replay examples/pages.jsonl`;
4. `news-worker tail` of articles, duplicates and rejections until every page is accounted for;
5. SIGTERM to the worker, then the broker stopped: in a `finally`, so Ctrl-C, SIGTERM and errors
   take the same way out.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from tools.kafka import probe
from tools.kafka.jars import KafkaSetupError
from tools.kafka.localkafka import CACHE_DIR, LocalKafka

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO / "examples" / "pages.jsonl"
RUN_DIR = CACHE_DIR / "demo"
HOST = "127.0.0.1"
PARTITIONS = 4
READY_TIMEOUT = 90.0
TAIL_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


class DemoError(Exception):
    """The demo could not go on; the message says why (the caller still cleans up)."""


def say(text: str) -> None:
    print(f"\n\x1b[1m==> {text}\x1b[0m" if sys.stdout.isatty() else f"\n==> {text}", flush=True)


def news_worker() -> str:
    """The news-worker script beside this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("news-worker")
    return str(beside) if beside.exists() else "news-worker"


def pick_port(wanted: str | None) -> int:
    """KAFKA_PORT when it is free, else any free port (9092 is often someone else's broker)."""
    if wanted:
        port = int(wanted)
        if not probe.port_in_use(HOST, port):
            return port
        print(f"port {port} is in use: the demo broker takes a free port instead")
    return probe.free_port(HOST)


def count_messages(path: Path) -> int:
    return sum(1 for line in path.read_bytes().splitlines() if line.strip())


def expected_outputs(path: Path) -> tuple[int, int, int]:
    """(articles, duplicates, rejections) the demo input yields, read from its page ids."""
    ids = [json.loads(line).get("id") for line in path.read_text().splitlines() if line.strip()]
    duplicates = sum(1 for i in ids if str(i).endswith(("-amp", "-copy")))
    rejections = sum(1 for i in ids if str(i) in {"hv-404", "bad-url"})
    return len(ids) - duplicates - rejections, duplicates, rejections


@contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM/SIGHUP end the demo like Ctrl-C does: through the `finally` blocks."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def wait_ready(worker: subprocess.Popen[bytes], port: int, log: Path) -> float:
    """Poll /readyz until 200; fail early when the worker exits. Returns the seconds waited."""
    started = time.monotonic()
    url = f"http://{HOST}:{port}/readyz"
    while time.monotonic() - started < READY_TIMEOUT:
        if worker.poll() is not None:
            raise DemoError(f"the worker exited with code {worker.returncode}:\n{tail_of(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 -- fixed http URL
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise DemoError(f"the worker was not ready after {READY_TIMEOUT:.0f}s:\n{tail_of(log)}")


def tail_of(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no worker log)"


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM, wait, SIGKILL; then make sure nothing of its process group is left."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            print("the worker did not stop in time: killing it")
            worker.kill()
            worker.wait(10)
    # Its own session: the group id is its pid. Extraction processes it may have left go too.
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(env: dict[str, str], tmp: Path) -> None:
    cli = news_worker()
    if not PAGES.exists():
        raise DemoError(f"{PAGES} is missing: run `python3 examples/build_pages.py`")
    n_pages = count_messages(PAGES)
    n_articles, n_duplicates, n_rejections = expected_outputs(PAGES)

    say("1/5 starting a private Kafka broker")
    stale = LocalKafka(RUN_DIR, port=9, controller_port=9)
    if stale.pid is not None:  # an earlier demo that was killed with SIGKILL
        print(f"stopping a broker left by an earlier demo (pid {stale.pid})")
        stale.stop()
    shutil.rmtree(RUN_DIR / "data", ignore_errors=True)  # every demo starts from empty topics
    (RUN_DIR / "kafka.log").unlink(missing_ok=True)  # and with the log of this run only
    broker = LocalKafka(RUN_DIR, port=pick_port(os.environ.get("KAFKA_PORT")),
                        controller_port=probe.free_port(HOST), heap="512m")
    t0 = time.monotonic()
    try:
        broker.start()
        print(f"Kafka {broker.version} on {broker.bootstrap} (pid {broker.pid}, "
              f"{time.monotonic() - t0:.1f}s; log {broker.log_file.relative_to(REPO)})")
        env["NEWS_KAFKA_BOOTSTRAP"] = broker.bootstrap
        env["NEWS_TOPIC_PARTITIONS"] = str(PARTITIONS)
        run_worker(cli, env, tmp, n_pages, (n_articles, n_duplicates, n_rejections))
    finally:
        say("stopping the broker")
        broker.stop()
        print("broker stopped")


def run_worker(cli: str, env: dict[str, str], tmp: Path, n_pages: int,
               expected: tuple[int, int, int]) -> None:
    web_port = probe.free_port(HOST)
    env.update({
        "NEWS_WEB_PORT": str(web_port),
        "NEWS_WEB_HOST": HOST,
        "NEWS_DATA_DIR": str(tmp / "data"),
        "NEWS_LOG_FORMAT": "console",
        "NEWS_LOG_LEVEL": "INFO",
    })
    log = RUN_DIR / "worker.log"  # kept after the demo (the temp dir is not), for a look
    say("2/5 starting news-worker worker")
    t0 = time.monotonic()
    with log.open("wb") as log_file:
        worker = subprocess.Popen(  # noqa: S603 -- fixed argv
            [cli, "worker"], cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log_file,
            stderr=subprocess.STDOUT, start_new_session=True,  # Ctrl-C reaches us; we stop it
        )
    try:
        waited = wait_ready(worker, web_port, log)
        print(f"worker pid {worker.pid} ready after {waited:.1f}s "
              f"(http://{HOST}:{web_port}/readyz; log {log.relative_to(REPO)})")

        say(f"3/5 replaying {PAGES.relative_to(REPO)} ({n_pages} pages) to pages.raw")
        # Slowly enough that the story's update arrives after its first version.
        subprocess.run([cli, "replay", str(PAGES), "--no-progress", "--rate", "10"],  # noqa: S603
                       cwd=REPO, env=env, check=True)

        n_articles, n_duplicates, n_rejections = expected
        say(f"4/5 what came out: {n_articles} article events, {n_duplicates} duplicate, "
            f"{n_rejections} rejections")
        for topic, count in (("articles", n_articles), ("duplicates", n_duplicates),
                             ("rejected", n_rejections)):
            print(f"\n--- {topic} ---", flush=True)
            subprocess.run(  # noqa: S603 -- fixed argv
                [cli, "tail", topic, "--from-beginning", "-n", str(count), "--pretty",
                 "--timeout", str(TAIL_TIMEOUT)],
                cwd=REPO, env=env, check=True,
            )
        metrics = fetch_metrics(web_port)
        if metrics:
            print("\n--- worker metrics (news_*_total) ---")
            print(metrics)
        print(f"\nall {n_pages} pages accounted for in {time.monotonic() - t0:.1f}s "
              "(worker start to last event)")
    finally:
        say("5/5 stopping the worker (SIGTERM)")
        stop_worker(worker)
        print(f"worker stopped (exit {worker.returncode})")


def fetch_metrics(port: int) -> str:
    """The worker's own counters, a line each (empty when the endpoint does not answer)."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=5) as resp:  # noqa: S310
            text = resp.read().decode()
    except (urllib.error.URLError, OSError):
        return ""
    lines = [line for line in text.splitlines()
             if line.startswith("news_") and "_total" in line and not line.endswith(" 0.0")]
    return "\n".join(lines[:15])


def main() -> int:
    started = time.monotonic()
    env = dict(os.environ)
    env.pop("NEWS_KAFKA_BOOTSTRAP", None)
    tmp = Path(tempfile.mkdtemp(prefix="news-worker-demo-"))
    try:
        with signals_raise():
            run(env, tmp)
    except KeyboardInterrupt:
        print("\ninterrupted: everything the demo started is stopped", file=sys.stderr)
        return 130
    except (DemoError, KafkaSetupError, subprocess.CalledProcessError) as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\ndemo done in {time.monotonic() - started:.0f}s; nothing left running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
