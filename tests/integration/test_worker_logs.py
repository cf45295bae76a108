"""What a person reads when a worker starts on a brand-new broker: a handful of JSON lines at
info, one of them our own ready line; no ERROR for the group coordinator that a fresh
cluster does not have yet; formatted messages, not templates. A second worker on the same
web port stops at once with one line naming NEWS_WEB_PORT."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.integration.workers import Cluster, WorkerProcess
from tools.kafka.localkafka import LocalKafka

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh_broker(tmp_path: Path) -> Iterator[LocalKafka]:
    """A broker that has never seen a consumer group: no offsets topic, no coordinator yet."""
    broker = LocalKafka(tmp_path / "kafka", die_with_parent=True)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_a_cold_start_is_a_handful_of_readable_lines(
    fresh_broker: LocalKafka, tmp_path: Path
) -> None:
    cluster = Cluster(fresh_broker.bootstrap, tmp_path / "c")
    cluster.root.mkdir()
    try:
        worker = cluster.start_worker()
        time.sleep(1)  # let the ready line reach the log
        lines = [orjson.loads(line) for line in worker.log().splitlines() if line.strip()]
        levels = [line["level"] for line in lines]
        assert "error" not in levels and "critical" not in levels, lines
        # GroupCoordinatorNotAvailable is normal on a fresh cluster: at DEBUG, not shown.
        assert not any("CoordinatorNotAvailable" in str(line) for line in lines)
        [ready] = [line for line in lines if line["event"] == "worker.ready"]
        topics = cluster.topics
        assert ready["message"] == (
            f"ready: consuming {topics['pages']} (4 partitions, 4 here) -> {topics['articles']}, "
            f"{topics['duplicates']}, {topics['rejected']}; group {cluster.app_id}; "
            f"1 extraction process; http://127.0.0.1:{worker.port}"
        )
        startup = lines[: lines.index(ready) + 1]
        assert len(startup) <= 6, [line["message"][:80] for line in startup]
        assert not any("Starting..." in line["message"] for line in lines)
        for line in lines:  # the formatted message, never a template
            assert "%s" not in line["event"] and "%r" not in line["event"], line

        # The same web port again: one line naming the variable, at once, non-zero exit.
        clash = WorkerProcess(cluster.env(1, worker.port), tmp_path / "clash.log", worker.port)
        started = time.monotonic()
        clash.start()
        assert clash.process is not None
        code = clash.process.wait(timeout=60)
        assert code == 1
        assert time.monotonic() - started < 30
        assert clash.log().splitlines() == [
            f"news-worker worker: NEWS_WEB_PORT={worker.port}: 127.0.0.1:{worker.port} is "
            "already in use (another worker? each needs its own port); set another "
            "NEWS_WEB_PORT, or 0 for no web server"
        ]
        assert worker.alive()
    finally:
        cluster.stop_all()
