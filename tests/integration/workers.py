"""Start `news-worker worker` subprocesses against the test broker, and always stop them.

    def test_x(worker_cluster):
        cluster = worker_cluster()            # unique app id, topics; one broker for all
        w = cluster.start_worker()            # own data dir and web port; waits for /readyz
        await cluster.send_pages([...])
        records = await cluster.collect(expect=lambda got: ...)
        w.kill()  /  w.terminate()  /  cluster.start_worker()

Every worker runs in its own session (process group), so stopping it also reaches its
extraction processes: SIGTERM first, SIGKILL if it has not exited within the grace period.
The fixture stops every worker it started, whatever the test did.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tools.kafka.localkafka import _set_parent_death_signal
from tools.kafka.probe import free_port

REPO = Path(__file__).resolve().parents[2]
OUTPUTS = ("articles", "rejected", "duplicates")



@dataclass
class WorkerProcess:
    """One `news-worker worker` subprocess."""

    env: dict[str, str]
    log_path: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    wrap: tuple[str, ...] = ()  # a command that runs the worker, e.g. `ip netns exec NAME`
    host: str = "127.0.0.1"  # where its web port is reached (NEWS_WEB_HOST)

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.process = subprocess.Popen(
                [*self.wrap, sys.executable, "-m", "worker", "worker"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
                # A pytest killed before its teardown (SIGTERM, a CI timeout) must not leave
                # workers behind: they die with the thread that started them (the main one).
                preexec_fn=_set_parent_death_signal,  # noqa: PLW1509 - only prctl, no locks
            )
        finally:
            log.close()

    def get(self, path: str) -> tuple[int, str]:
        """(status, body) of GET http://<host>:<port><path>; (0, error) if unreachable."""
        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.port}{path}", timeout=2) as r:
                return int(r.status), r.read().decode()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read().decode()
        except OSError as exc:
            return 0, str(exc)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log()}")
            if self.get("/readyz")[0] == 200:
                return
            time.sleep(0.2)
        raise AssertionError(f"worker not ready after {timeout} s:\n{self.log()[-4000:]}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker and its extraction processes (a crash)."""
        if self.process is not None and self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def terminate(self, grace: float = 45.0) -> int | None:
        """SIGTERM, then SIGKILL after `grace` seconds; the exit code (None if killed)."""
        if self.process is None:
            return None
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        self._reap_group()
        return self.process.returncode

    def _reap_group(self) -> None:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # stray extraction processes, if any
        except ProcessLookupError:
            pass

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def metric(self, name: str) -> float:
        """Sum of a metric's samples (all labels) from /metrics."""
        status, text = self.get("/metrics")
        assert status == 200, text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and line[len(name):len(name) + 1] in (" ", "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total


@dataclass
class Cluster:
    """One app id (consumer group), its own topics, any number of workers."""

    bootstrap: str
    root: Path
    partitions: int = 4
    replication: int = 1  # of the pages topic we create and the topics the workers create
    extra_env: dict[str, str] = field(default_factory=dict)
    app_id: str = field(default_factory=lambda: f"nw-{uuid.uuid4().hex[:10]}")
    workers: list[WorkerProcess] = field(default_factory=list)

    @property
    def topics(self) -> dict[str, str]:
        return {name: f"{self.app_id}.{name}" for name in ("pages", *OUTPUTS)}

    def env(self, index: int, port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")}
        env.update({
            "NEWS_KAFKA_BOOTSTRAP": self.bootstrap,
            "NEWS_APP_ID": self.app_id,
            "NEWS_TOPIC_PAGES": self.topics["pages"],
            "NEWS_TOPIC_ARTICLES": self.topics["articles"],
            "NEWS_TOPIC_REJECTED": self.topics["rejected"],
            "NEWS_TOPIC_DUPLICATES": self.topics["duplicates"],
            "NEWS_TOPIC_PARTITIONS": str(self.partitions),
            "NEWS_TOPIC_REPLICATION": str(self.replication),
            "NEWS_DATA_DIR": str(self.root / f"data-{index}"),
            "NEWS_WEB_PORT": str(port),
            "NEWS_LOG_FORMAT": "json",
            "NEWS_BLOCKING_TIMEOUT": "1.0",
            "PYTHONUNBUFFERED": "1",
        })
        # Tracing a failure: TEST_WORKER_LOG_LEVEL=DEBUG logs every fetch, seek and send of the
        # workers (keep their logs with pytest --basetemp); NEWS_* of the shell never leak in.
        if os.environ.get("TEST_WORKER_LOG_LEVEL"):
            env["NEWS_LOG_LEVEL"] = os.environ["TEST_WORKER_LOG_LEVEL"]
        env.update(self.extra_env)
        return env

    def start_worker(self, *, index: int | None = None, wait: bool = True,
                     env: dict[str, str] | None = None,
                     wrap: tuple[str, ...] = ()) -> WorkerProcess:
        """Start a worker; `index` picks its data dir (reuse one to keep local state); `env`
        adds settings for this worker only; `wrap` prefixes its command line."""
        index = len(self.workers) if index is None else index
        port = free_port()
        settings = {**self.env(index, port), **(env or {})}
        worker = WorkerProcess(settings, self.root / f"worker-{index}.log", port, wrap=wrap,
                               host=settings.get("NEWS_WEB_HOST", "127.0.0.1"))
        self.workers.append(worker)
        worker.start()
        if wait:
            worker.wait_ready()
        return worker

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.terminate(grace=20.0)

    async def create_topics(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([
                NewTopic(self.topics["pages"], self.partitions, self.replication,
                         topic_configs={"max.message.bytes": "2000000"}),
            ])
        finally:
            await admin.close()

    async def send_pages(self, messages: list[tuple[bytes | None, bytes]]) -> None:
        """Produce (key, value) pairs to the pages topic, in order, and wait for the acks."""
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all",
                                    max_request_size=2_000_000)
        await producer.start()
        try:
            futures = [await producer.send(self.topics["pages"], value=v, key=k)
                       for k, v in messages]
            await asyncio.gather(*futures)
        finally:
            await producer.stop()

    async def collect(
        self, done: Callable[[dict[str, list[Any]]], bool], timeout: float = 90.0,
        *, positions: bool = False,
    ) -> dict[str, list[Any]]:
        """Read the three output topics from the start until `done(records)` or the timeout.

        Records are dicts with the decoded value plus `_key` and `_headers` (and with
        `positions`, `_partition`, `_offset` and `_ts`, the broker timestamp in seconds).
        """
        names = {self.topics[n]: n for n in OUTPUTS}
        consumer = AIOKafkaConsumer(*names, bootstrap_servers=self.bootstrap,
                                    auto_offset_reset="earliest", enable_auto_commit=False,
                                    group_id=None, fetch_max_bytes=20_000_000,
                                    max_partition_fetch_bytes=10_000_000)
        got: dict[str, list[Any]] = {n: [] for n in OUTPUTS}
        await consumer.start()
        try:
            deadline = time.monotonic() + timeout
            while not done(got):
                if time.monotonic() > deadline:
                    counts = {k: len(v) for k, v in got.items()}
                    raise AssertionError(f"outputs incomplete after {timeout} s: {counts}")
                batch = await consumer.getmany(timeout_ms=500)
                for tp, records in batch.items():
                    for rec in records:
                        value = orjson.loads(rec.value)
                        value["_key"] = rec.key
                        value["_headers"] = dict(rec.headers)
                        if positions:
                            value["_partition"], value["_offset"] = rec.partition, rec.offset
                            value["_ts"] = rec.timestamp / 1000
                        got[names[tp.topic]].append(value)
        finally:
            await consumer.stop()
        return got


@pytest.fixture
def worker_cluster(kafka_broker: Any, tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    """A factory of clusters on the session broker; every worker is stopped at teardown."""
    clusters: list[Cluster] = []

    def make(**kwargs: Any) -> Cluster:
        cluster = Cluster(kafka_broker.bootstrap, tmp_path / f"c{len(clusters)}", **kwargs)
        cluster.root.mkdir(parents=True)
        clusters.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in clusters:
            cluster.stop_all()
