"""Section 3: streaming through the real local Kafka with `news-worker worker` processes.

One session on one broker, one consumer group, fresh topics, the workers as subprocesses:
  warm-up, max rate with 1 worker, a 2nd worker joins, warm-up, max rate with 2 workers,
  then a paced producer at 25 / 50 / 75 % of the 2-worker maximum (produce-to-output latency).
Every message is a corpus page with its own page id (repeats are duplicates; they take the
same path: extraction, the stories topic, the dedupe agent, an output topic). A reader on the
three output topics matches outputs to inputs by page id. Latency = time our reader receives
the output record minus the produce timestamp we set (one host, one clock). A sampler records
each worker's RSS (process tree, psutil) and the group's lag on the pages topic.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.corpus import REPO, Page, load_pages, raw_message
from bench.report import Context, SectionSkipped
from bench.stats import fmt, summarize, table
from tools.kafka.probe import free_port

NAME = "stream"
TITLE = "3. Streaming through the local Kafka"
PARTITIONS = 4
BLOCKING_TIMEOUT = "0"  # off; see start_worker
BIN = os.path.dirname(sys.executable)


@dataclass
class Plan:
    """Sizes of the session's phases."""

    warmup: int
    max_1_s: float  # seconds of work for 1 worker at the offline -j1 rate
    max_2_s: float  # seconds of work for 2 workers at the offline -j2 rate
    paced_s: float
    offline: int
    sample_s: float


FULL = Plan(warmup=12, max_1_s=60.0, max_2_s=100.0, paced_s=30.0, offline=300, sample_s=1.0)
QUICK = Plan(warmup=6, max_1_s=5.0, max_2_s=8.0, paced_s=6.0, offline=40, sample_s=0.5)


@dataclass
class Phase:
    """One measured phase: which page ids, when it ran."""

    name: str
    workers: int
    ids: list[str]
    rate: float | None = None  # pages/s asked of the paced producer; None = as fast as possible
    started: float = 0.0
    produced: float = 0.0
    drained: float = 0.0


@dataclass
class Session:
    """The live state of one streaming session."""

    bootstrap: str
    app_id: str
    topics: dict[str, str]
    sent_ms: dict[str, float] = field(default_factory=dict)  # page id -> produce time (ms)
    out: dict[str, tuple[str, float, float]] = field(default_factory=dict)  # id -> (kind, rec, got)
    samples: list[dict[str, Any]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    t0: float = field(default_factory=time.time)


# --- the broker, the workers --------------------------------------------------------------
def local_kafka_class() -> Any:
    """tools/kafka's LocalKafka, or SectionSkipped when it is not there."""
    sys.path.insert(0, str(REPO))
    try:
        from tools.kafka.localkafka import LocalKafka
    except ImportError as exc:
        raise SectionSkipped(f"no local Kafka helper (tools/kafka): {exc}") from None
    return LocalKafka


@asynccontextmanager
async def local_broker(ctx: Context) -> Any:
    """The project's LocalKafka (tools/kafka), started for this section and always stopped."""
    run_dir = Path(tempfile.mkdtemp(prefix="bench-kafka-"))
    kafka = local_kafka_class()(run_dir, die_with_parent=True)
    try:
        await asyncio.to_thread(kafka.start)
    except Exception as exc:
        with suppress(Exception):
            kafka.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
        raise SectionSkipped(f"cannot start the local Kafka: {exc}") from None
    try:
        yield kafka.bootstrap
    finally:
        await asyncio.to_thread(kafka.stop)
        shutil.rmtree(run_dir, ignore_errors=True)



def start_worker(ctx: Context, session: Session, data: Path) -> None:
    """One `news-worker worker` subprocess in the session's group."""
    index = len(session.workers)
    port = free_port()
    env = {**os.environ, "NEWS_KAFKA_BOOTSTRAP": session.bootstrap, "NEWS_APP_ID": session.app_id,
           "NEWS_TOPIC_PAGES": session.topics["pages"],
           "NEWS_TOPIC_ARTICLES": session.topics["articles"],
           "NEWS_TOPIC_DUPLICATES": session.topics["duplicates"],
           "NEWS_TOPIC_REJECTED": session.topics["rejected"],
           "NEWS_TOPIC_PARTITIONS": str(PARTITIONS), "NEWS_WEB_PORT": str(port),
           "NEWS_DATA_DIR": str(data / f"worker{index}"), "NEWS_LOG_FORMAT": "console",
           "NEWS_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
           # mode's blocking detector raises inside the worker when the loop misses its 1 s
           # alarm; on this shared 2-core box a starved (not blocked) loop trips it too.
           "NEWS_BLOCKING_TIMEOUT": BLOCKING_TIMEOUT}
    log = open(ctx.path(f"stream_worker{index}.log"), "wb")  # noqa: SIM115  # closed with the process
    proc = subprocess.Popen([os.path.join(BIN, "news-worker"), "worker"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    session.workers.append(proc)
    session.ports.append(port)


async def wait_ready(session: Session, timeout: float = 120.0) -> None:
    """Until every worker's /readyz answers 200 (assigned, recovered, no rebalance)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in session.workers:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited with {proc.returncode} (see its log)")
        ready = [await asyncio.to_thread(_ready, port) for port in session.ports]
        if all(ready):
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"workers not ready within {timeout:.0f} s")


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:  # noqa: S310  # loopback
            return int(r.status) == 200
    except OSError:
        return False


def stop_workers(session: Session) -> None:
    """SIGTERM every worker, SIGKILL what is still there after 30 s."""
    for proc in session.workers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for proc in session.workers:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        with suppress(ProcessLookupError):  # leftover extraction processes of this worker
            os.killpg(proc.pid, signal.SIGKILL)


# --- producing, reading the outputs, sampling ---------------------------------------------
def _rss_mb(pid: int) -> float | None:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0
    for p in procs:
        with suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 2**20


async def read_outputs(session: Session, stop: asyncio.Event) -> None:
    """Record (kind, record timestamp, receive time) of every output, by page id."""
    from aiokafka import AIOKafkaConsumer

    kinds = {session.topics[k]: k for k in ("articles", "duplicates", "rejected")}
    consumer = AIOKafkaConsumer(*kinds, bootstrap_servers=session.bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                fetch_max_wait_ms=20, max_partition_fetch_bytes=16 * 2**20,
                                fetch_max_bytes=64 * 2**20, metadata_max_age_ms=2000)
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100)
            got = time.time() * 1000
            for tp, records in batches.items():
                for rec in records:
                    try:
                        page_id = orjson.loads(rec.value or b"{}").get("page_id")
                    except orjson.JSONDecodeError:
                        continue
                    if page_id and page_id not in session.out:
                        session.out[page_id] = (kinds[tp.topic], float(rec.timestamp), got)
    finally:
        await consumer.stop()


async def sample(session: Session, stop: asyncio.Event, every: float) -> None:
    """Every `every` s: each worker's RSS and the group's lag on the pages topic."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=session.bootstrap)
    probe = AIOKafkaConsumer(bootstrap_servers=session.bootstrap, group_id=None)
    await admin.start()
    await probe.start()
    tps = [TopicPartition(session.topics["pages"], p) for p in range(PARTITIONS)]
    try:
        while not stop.is_set():
            row: dict[str, Any] = {"t": time.time() - session.t0,
                                   "rss_mb": [_rss_mb(w.pid) if w.poll() is None else None
                                              for w in session.workers],
                                   "sent": len(session.sent_ms), "done": len(session.out)}
            try:
                ends = await probe.end_offsets(tps)
                committed = await admin.list_consumer_group_offsets(session.app_id,
                                                                    partitions=tps)
                row["lag"] = sum(ends[tp] - max(0, committed[tp].offset if tp in committed
                                                else 0) for tp in tps)
            except Exception:  # the topic or group may not exist yet: no lag sample
                row["lag"] = None
            session.samples.append(row)
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
    finally:
        await probe.stop()
        await admin.close()


async def produce(session: Session, producer: Any, pages: list[Page], phase: Phase) -> None:
    """Send the phase's pages: as fast as possible, or paced at `phase.rate` pages/s."""
    phase.started = time.time()
    pending = []
    for k, page_id in enumerate(phase.ids):
        if phase.rate:
            delay = phase.started + k / phase.rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
        page = pages[k % len(pages)]
        now_ms = time.time() * 1000
        session.sent_ms[page_id] = now_ms
        fut = await producer.send(session.topics["pages"], raw_message(page, page_id=page_id),
                                  key=page.url.encode(), timestamp_ms=int(now_ms))
        pending.append(fut)
        if len(pending) >= 200:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    phase.produced = time.time()


async def drain(session: Session, phase: Phase, timeout: float) -> None:
    """Until every page of the phase has an output (or the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(i in session.out for i in phase.ids):
            break
        for proc in session.workers:
            if proc.poll() is not None:
                raise RuntimeError(f"a worker exited with {proc.returncode} (see its log)")
        await asyncio.sleep(0.2)
    phase.drained = time.time()


# --- the session ---------------------------------------------------------------------------
def analyse(session: Session, phase: Phase) -> dict[str, Any]:
    """Throughput, latency and output kinds of one phase."""
    done = [i for i in phase.ids if i in session.out]
    got = sorted(session.out[i][2] for i in done)
    received = [session.out[i][2] - session.sent_ms[i] for i in done]
    stamped = [session.out[i][1] - session.sent_ms[i] for i in done]
    kinds: dict[str, int] = {}
    for i in done:
        kinds[session.out[i][0]] = kinds.get(session.out[i][0], 0) + 1
    span = (got[-1] / 1000 - phase.started) if got else float("nan")
    lo, hi = int(0.1 * len(got)), int(0.9 * len(got)) - 1
    steady = ((hi - lo) / ((got[hi] - got[lo]) / 1000)
              if len(got) >= 20 and got[hi] > got[lo] else float("nan"))
    return {
        "name": phase.name, "workers": phase.workers, "pages": len(phase.ids),
        "outputs": len(done), "missing": len(phase.ids) - len(done), "kinds": kinds,
        "asked_rate": phase.rate,
        "offered_rate": len(phase.ids) / max(phase.produced - phase.started, 1e-3),
        "pages_per_s": len(done) / span if done else 0.0, "steady_pages_per_s": steady,
        "latency_ms": summarize(received), "latency_record_ts_ms": summarize(stamped),
        "start_s": phase.started - session.t0, "end_s": phase.drained - session.t0,
        "latencies": [round(x, 1) for x in received],
    }


async def run_session(ctx: Context, plan: Plan, pages: list[Page], bootstrap: str,
                      offline: dict[str, Any]) -> dict[str, Any]:
    """The phases described in the module docstring, on fresh topics."""
    from aiokafka import AIOKafkaProducer

    sid = f"bench{int(time.time())}"
    topics = {k: f"{sid}.{k}" for k in ("pages", "articles", "duplicates", "rejected")}
    session = Session(bootstrap, sid, topics)
    data = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    stop = asyncio.Event()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 * 2**20,
                                linger_ms=5, acks=1)
    tasks: list[asyncio.Task[None]] = []
    results: list[dict[str, Any]] = []

    async def phase(name: str, workers: int, prefix: str, n: int, rate: float | None,
                    timeout: float, keep: bool = True) -> dict[str, Any]:
        ph = Phase(name, workers, [f"{prefix}-{k}" for k in range(n)], rate)
        print(f"bench: stream: {name} ({n} pages)", file=sys.stderr, flush=True)
        await produce(session, producer, pages, ph)
        await drain(session, ph, timeout)
        result = analyse(session, ph)
        if keep:
            results.append(result)
        return result

    try:
        start_worker(ctx, session, data)
        await wait_ready(session)
        await producer.start()
        tasks = [asyncio.create_task(read_outputs(session, stop)),
                 asyncio.create_task(sample(session, stop, plan.sample_s))]
        await phase("warm-up, 1 worker", 1, "w1", plan.warmup, None, 180, keep=False)
        # Phase sizes follow this run's offline rates, so the section's time stays bounded
        # however loaded the machine is.
        n_1 = max(30, int(offline["news-worker process -j1"]["pages_per_s_net"] * plan.max_1_s))
        n_2 = max(60, int(offline["news-worker process -j2"]["pages_per_s_net"] * plan.max_2_s))
        await phase("max rate, 1 worker", 1, "m1", n_1, None, 120 + 3 * plan.max_1_s)
        start_worker(ctx, session, data)
        await wait_ready(session)
        await phase("warm-up, 2 workers", 2, "w2", plan.warmup, None, 180, keep=False)
        top = await phase("max rate, 2 workers", 2, "m2", n_2, None, 120 + 3 * plan.max_2_s)
        rate = top["pages_per_s"]
        for frac in (0.25, 0.5, 0.75):
            n = max(10, int(rate * frac * plan.paced_s))
            await phase(f"{frac:.0%} of max, 2 workers", 2, f"p{int(frac * 100)}", n,
                        rate * frac, 60 + plan.paced_s)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        with suppress(Exception):
            await producer.stop()
        await asyncio.to_thread(stop_workers, session)
        shutil.rmtree(data, ignore_errors=True)
    for r in results:
        r["latencies"] = r["latencies"] if "of max" in r["name"] else []
    return {"phases": results, "samples": session.samples,
            "worker_exit_codes": [w.returncode for w in session.workers],
            "pages_total": len(session.sent_ms)}


def offline_rates(ctx: Context, pages: list[Page], n: int) -> dict[str, Any]:
    """`news-worker process -j1/-j2` pages/s on the same pages (net of start-up)."""
    from bench.speed import build_input, commands, timed

    path, empty = build_input(ctx, pages, n, name="stream_offline")
    out: dict[str, Any] = {"messages": n}
    cmds, startup = commands(path), commands(empty)
    for name in ("news-worker process -j1", "news-worker process -j2"):
        start = timed(startup[name])[0]
        wall = timed(cmds[name])[0]
        out[name] = {"pages_per_s": n / wall, "pages_per_s_net": n / max(wall - start, 1e-3)}
    return out


# --- plots, report --------------------------------------------------------------------------
def _rss_stats(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    workers = max((len(s["rss_mb"]) for s in samples), default=0)
    out = []
    for w in range(workers):
        series = [(s["t"], s["rss_mb"][w]) for s in samples
                  if len(s["rss_mb"]) > w and s["rss_mb"][w] is not None]
        if not series:
            continue
        values = [v for _, v in series]
        half = values[len(values) // 2:]
        out.append({"worker": w + 1, "first_mb": values[0], "max_mb": max(values),
                    "last_mb": values[-1], "second_half_growth_mb": half[-1] - half[0]})
    return out


def _plot(ctx: Context, data: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples, phases = data["samples"], data["phases"]
    t = [s["t"] for s in samples]
    fig, axes = plt.subplots(3, 1, figsize=(11, 8), sharex=True)
    done = [s["done"] for s in samples]
    rate = [0.0] + [(done[k] - done[k - 1]) / max(t[k] - t[k - 1], 1e-3)
                    for k in range(1, len(done))]
    axes[0].plot(t, rate, color="tab:blue", lw=1)
    axes[0].set_ylabel("outputs/s")
    lag = [(x, s["lag"]) for x, s in zip(t, samples, strict=True) if s["lag"] is not None]
    if lag:
        axes[1].plot(*zip(*lag, strict=True), color="tab:red", lw=1)
    axes[1].set_ylabel("consumer lag\n(pages topic, messages)")
    for w in range(max((len(s["rss_mb"]) for s in samples), default=0)):
        pts = [(x, s["rss_mb"][w]) for x, s in zip(t, samples, strict=True)
               if len(s["rss_mb"]) > w and s["rss_mb"][w] is not None]
        if pts:
            axes[2].plot(*zip(*pts, strict=True), lw=1, label=f"worker {w + 1}")
    axes[2].axhline(400, color="gray", ls="--", lw=0.8, label="400 MB")
    axes[2].set_ylabel("RSS, MB\n(process tree)")
    axes[2].legend(loc="lower right")
    axes[2].set_xlabel("seconds since the session started")
    for ax in axes:
        for k, ph in enumerate(phases):
            ax.axvspan(ph["start_s"], ph["end_s"], color=f"C{k}", alpha=0.08)
    for ph in phases:
        axes[0].text(ph["start_s"], axes[0].get_ylim()[1] * 0.92, ph["name"], fontsize=7)
    fig.tight_layout()
    names = ["stream_timeline.png"]
    fig.savefig(ctx.path(names[0]), dpi=100)
    plt.close(fig)
    paced = [ph for ph in phases if ph["latencies"]]
    if paced:
        fig, ax = plt.subplots(figsize=(8, 4))
        for ph in paced:
            xs = sorted(ph["latencies"])
            ax.plot(xs, [(k + 1) / len(xs) for k in range(len(xs))],
                    label=f"{ph['name']} ({ph['asked_rate']:.1f} pages/s)")
        ax.set_xscale("log")
        ax.set_xlabel("produce-to-output latency, ms (log)")
        ax.set_ylabel("share of pages")
        ax.axhline(0.99, color="gray", ls=":", lw=0.8)
        ax.legend()
        fig.tight_layout()
        names.append("stream_latency.png")
        fig.savefig(ctx.path(names[1]), dpi=100)
        plt.close(fig)
    return names


def run(ctx: Context) -> dict[str, Any]:
    """The streaming session, plus `process` on the same pages for the offline ratio."""
    plan = QUICK if ctx.quick else FULL
    local_kafka_class()  # skip before spending time on the offline runs
    _, _, pages = load_pages(ctx.corpus, limit=20 if ctx.quick else None)
    offline = offline_rates(ctx, pages, plan.offline)

    async def main() -> dict[str, Any]:
        async with local_broker(ctx) as bootstrap:
            return await run_session(ctx, plan, pages, bootstrap, offline)

    data = asyncio.run(main())
    data["offline"] = offline
    data.update(paced_s=plan.paced_s, max_1_s=plan.max_1_s, max_2_s=plan.max_2_s)
    data["rss"] = _rss_stats(data["samples"])
    by_name = {p["name"]: p for p in data["phases"]}
    one, two = by_name.get("max rate, 1 worker"), by_name.get("max rate, 2 workers")
    data["ratio_1"] = one["pages_per_s"] / offline["news-worker process -j1"]["pages_per_s_net"] \
        if one else None
    data["ratio_2"] = two["pages_per_s"] / offline["news-worker process -j2"]["pages_per_s_net"] \
        if two else None
    data["plots"] = _plot(ctx, data)
    return data


def render(data: dict[str, Any]) -> str:
    """The section's Markdown for REPORT.md."""
    rows = []
    for ph in data["phases"]:
        lat = ph["latency_ms"] if ph["asked_rate"] else {}
        rows.append([ph["name"], ph["pages"], ph["missing"],
                     fmt(ph["asked_rate"]) if ph["asked_rate"] else "all at once",
                     fmt(ph["pages_per_s"]), fmt(ph["steady_pages_per_s"]),
                     fmt(lat.get("median"), 0), fmt(lat.get("p95"), 0), fmt(lat.get("p99"), 0),
                     ", ".join(f"{k} {v}" for k, v in sorted(ph["kinds"].items()))])
    off = data["offline"]
    rss = data["rss"]
    rss_rows = [[r["worker"], fmt(r["first_mb"], 0), fmt(r["max_mb"], 0), fmt(r["last_mb"], 0),
                 fmt(r["second_half_growth_mb"], 0)] for r in rss]
    return "\n".join([
        "One broker (tools/kafka LocalKafka), fresh topics with "
        f"{PARTITIONS} partitions, `news-worker worker` subprocesses in one group (RocksDB "
        "table store, the default). Phases in order: warm-up; as many pages as possible with 1 "
        "worker; a second worker joins (waited until both answer /readyz), warm-up; as many as "
        "possible with 2 workers; then a paced producer at 25 / 50 / 75 % of the 2-worker "
        f"maximum for {data.get('paced_s', 30):.0f} s each. Max-rate phases get all their pages "
        "at once, as many as offline `process` handles in "
        f"{data.get('max_1_s', 60):.0f} s (1 worker) / {data.get('max_2_s', 100):.0f} s (2 "
        "workers); their latency is only queueing, so it is shown for the paced phases only. "
        f"{data['pages_total']} pages in all. Faust's blocking detector is off in the workers "
        "(NEWS_BLOCKING_TIMEOUT=0): on this shared machine a starved loop trips it and it "
        "raises inside the worker. pages/s = outputs "
        "/ (last output − first produce); steady = the middle 80 % of outputs / their time "
        "span. Latency = when our reader (fetch wait 20 ms) got the output record − the produce "
        "timestamp we set; it includes the reader's fetch wait. The broker, the producer and "
        "the reader share the same 2 cores with the workers (and with other jobs).",
        "",
        table(["phase", "pages", "missing", "offered pages/s", "pages/s", "steady pages/s",
               "p50 ms", "p95 ms", "p99 ms", "outputs"], rows),
        "",
        f"**Ratio to offline** (`news-worker process` on {off['messages']} messages of the same "
        "pages, measured in this run before the broker started, net of start-up): 1 worker ÷ "
        f"`process -j1` = {fmt(data['ratio_1'], 2)} "
        f"({fmt(off['news-worker process -j1']['pages_per_s_net'])} pages/s offline); 2 workers "
        f"÷ `process -j2` = {fmt(data['ratio_2'], 2)} "
        f"({fmt(off['news-worker process -j2']['pages_per_s_net'])} pages/s offline).",
        "",
        "**Worker RSS** (process and its extraction processes, MB):",
        "",
        table(["worker", "first", "max", "last", "growth over the 2nd half"], rss_rows),
        "",
        *[f"![{p}]({p})" for p in data["plots"]],
    ])


def summary(data: dict[str, Any]) -> str:
    """The section's lines for SUMMARY.md."""
    rows = [[ph["name"], fmt(ph["pages_per_s"]),
             fmt(ph["latency_ms"].get("median"), 0) if ph["asked_rate"] else "–",
             fmt(ph["latency_ms"].get("p95"), 0) if ph["asked_rate"] else "–",
             fmt(ph["latency_ms"].get("p99"), 0) if ph["asked_rate"] else "–", ph["missing"]]
            for ph in data["phases"]]
    rss = ", ".join(f"worker {r['worker']} max {r['max_mb']:.0f} MB" for r in data["rss"])
    return "\n".join([
        table(["phase", "pages/s", "p50 ms", "p95 ms", "p99 ms", "missing"], rows), "",
        f"Ratio to offline `process`: 1 worker / -j1 {fmt(data['ratio_1'], 2)}, 2 workers / -j2 "
        f"{fmt(data['ratio_2'], 2)}. RSS over {data['pages_total']} pages: {rss}.",
    ])
