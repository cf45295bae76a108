"""The README's runbook, line by line, against the real local broker and real workers.

Every line of every ```sh block under "### Runbook" is run (with the test's broker, topics,
app id, port and data dir put in place of the defaults) and its effect checked; a line this
test does not know how to run fails it, so the runbook cannot grow a step nobody ran.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from tests.integration.test_worker import keyed, story
from tests.integration.workers import REPO, Cluster, worker_cluster  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


def runbook_commands() -> list[str]:
    """Each command line of the runbook's sh blocks, in order."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("### Runbook"):text.index("## Configuration")]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


class Runbook:
    """Runs runbook lines with the test's names in place of the defaults."""

    def __init__(self, cluster: Cluster, broker_port: int, web_port: int) -> None:
        self.cluster, self.web_port, self.reset_at = cluster, web_port, ""
        app = cluster.app_id
        self.names = [
            ("news-worker-identity-changelog", f"{app}-identity-changelog"),
            ("--group news-worker-2", f"--group {app}-2"),
            ("NEWS_APP_ID=news-worker-2", f"NEWS_APP_ID={app}-2"),
            ("--group news-worker", f"--group {app}"),
            ("pages.raw", cluster.topics["pages"]),
            ("localhost:6066", f"127.0.0.1:{web_port}"),
            ("./data", str(cluster.root / "data-0")),
            ("python3 -m tools.kafka", f"{sys.executable} -m tools.kafka"),
        ]
        self.env = dict(cluster.env(0, web_port), KAFKA_PORT=str(broker_port))

    def command(self, line: str) -> str:
        for default, ours in [*self.names, ("2026-11-29T00:00:00.000Z", self.reset_at)]:
            line = line.replace(default, ours)
        return re.sub(r"(^|\s)news-worker ", rf"\1{sys.executable} -m worker ", line)

    def run(self, line: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(  # noqa: S602 - the README's own shell lines, on purpose
            self.command(line), shell=True, capture_output=True, text=True, env=self.env,
            cwd=REPO, timeout=120, check=False,
        )
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
        assert "Error:" not in result.stdout + result.stderr, f"{line}\n{result.stdout}"
        return result


async def _send(cluster: Cluster, pages: list[bytes], timestamp_ms: int | None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in map(keyed, pages):
            await producer.send_and_wait(cluster.topics["pages"], value, key=key,
                                         timestamp_ms=timestamp_ms)
    finally:
        await producer.stop()


async def test_every_runbook_step_runs_on_the_local_broker(
    worker_cluster: Any, kafka_broker: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster(partitions=2)
    await cluster.create_topics()
    old = int(datetime(2025, 3, 4, tzinfo=UTC).timestamp() * 1000)
    await _send(cluster, [story(i) for i in range(3)] + [b"{not json"], old)
    worker = cluster.start_worker()
    got = await cluster.collect(lambda g: len(g["articles"]) >= 3 and len(g["rejected"]) >= 1)
    book = Runbook(cluster, kafka_broker.port, worker.port)
    lines = runbook_commands()
    done: list[str] = []

    def step(prefix: str) -> subprocess.CompletedProcess[str]:
        [line] = [x for x in lines if x.startswith(prefix) and x not in done]
        done.append(line)
        return book.run(line)

    # Lag grows: the metrics, and the group's lag per partition with its owner.
    metrics = step("curl -s localhost:6066/metrics").stdout
    assert "news_consumer_lag{" in metrics and "news_extraction_seconds_count" in metrics
    described = step("python3 -m tools.kafka cli consumer-groups --describe").stdout
    assert cluster.topics["pages"] in described and "LAG" in described

    # Rejections spike.
    tail = step("news-worker tail rejected").stdout  # piped here: one JSON value per line
    [rejected] = [orjson.loads(line) for line in tail.splitlines()]
    assert rejected["reason"] == "invalid_json" and rejected["detail"].startswith("not JSON")

    # Redrive: nothing was an internal_error, so both runs send nothing, and say so.
    dry = step("news-worker redrive --reason internal_error --since 2h --dry-run")
    assert dry.stderr.strip().endswith("would send 0, failed 0, unusable 0")
    real = step("news-worker redrive --reason internal_error --since 2h")
    assert real.stderr.strip().endswith("sent 0, failed 0, unusable 0")

    # Resetting identity state: stop, delete the changelog and the data dir, start again; the
    # same stories are then new stories again.
    assert worker.terminate() == 0
    step("python3 -m tools.kafka cli topics --delete")
    step("rm -rf ./data")
    assert not (cluster.root / "data-0").exists()
    [start] = [x for x in lines if x == "news-worker worker"]
    done.append(start)
    cluster.start_worker(index=0)
    await _send(cluster, [story(i, page_id=f"again{i}") for i in range(3)], None)
    got = await cluster.collect(lambda g: len([a for a in g["articles"]
                                               if a["page_id"].startswith("again")]) >= 3)
    assert not got["duplicates"]  # the table was empty: no story was remembered
    cluster.stop_all()

    # A new app id from a point in time: the new group starts after every page so far.
    time.sleep(0.05)
    now = datetime.now(UTC)
    book.reset_at = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    time.sleep(0.05)
    reset = step("python3 -m tools.kafka cli consumer-groups --group news-worker-2").stdout
    assert f"{cluster.app_id}-2" in reset and "NEW-OFFSET" in reset
    [start2] = [x for x in lines if x.startswith("NEWS_APP_ID=news-worker-2 ")]
    done.append(start2)
    second = Cluster(cluster.bootstrap, cluster.root / "second", cluster.partitions,
                     extra_env={"NEWS_APP_ID": f"{cluster.app_id}-2"}, app_id=cluster.app_id)
    (cluster.root / "second").mkdir()
    worker2 = second.start_worker()
    try:
        await _send(cluster, [story(7, page_id="fresh")], None)
        got = await cluster.collect(lambda g: any(a["page_id"] == "fresh" for a in g["articles"]))
        # The new group read only the fresh page: none of the seven before the reset point.
        assert worker2.metric("news_pages_total") == 1
    finally:
        second.stop_all()

    # Kafka was down: the pages topic's partitions have leaders.
    topic = step("python3 -m tools.kafka cli topics --describe").stdout
    assert len(re.findall(r"Leader: \d+", topic)) == cluster.partitions

    assert sorted(done) == sorted(lines), set(lines) - set(done)
