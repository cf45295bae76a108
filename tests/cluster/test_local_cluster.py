"""The local 3-node cluster itself: replicated, min ISR 2, and it survives losing a node."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tools.kafka import probe
from tools.kafka.cluster import LocalCluster
from tools.kafka.localkafka import REPO_ROOT as REPO
from tools.kafka.topics import create_topics, describe_partitions, topic_configs

pytestmark = pytest.mark.cluster


async def _wait_isr(bootstrap: str, topic: str, size: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        placement = await describe_partitions(bootstrap, [topic])
        if all(len(p["isr"]) == size for p in placement.values()):
            return
        assert time.monotonic() < deadline, f"ISR never reached {size}: {placement}"
        await asyncio.sleep(0.5)


async def test_three_nodes_replicate_with_min_isr_two_and_survive_a_leader_crash(
    all_nodes_up: LocalCluster, unique_name: str,
) -> None:
    cluster = all_nodes_up
    assert len(cluster.pids) == 3
    assert {b[0] for b in probe.metadata_brokers("127.0.0.1", cluster.nodes[0].port)} == {1, 2, 3}
    await create_topics(cluster.bootstrap, {unique_name: 2}, replication=3)
    placement = await describe_partitions(cluster.bootstrap, [unique_name])
    assert len(placement) == 2
    assert all(sorted(p["replicas"]) == [1, 2, 3] for p in placement.values())
    configs = (await topic_configs(cluster.bootstrap, [unique_name]))[unique_name]
    assert configs["min.insync.replicas"] == "2"

    await _wait_isr(cluster.bootstrap, unique_name, 3)
    leader = placement[(unique_name, 0)]["leader"]
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all")
    await producer.start()
    try:
        before = await producer.send_and_wait(unique_name, b"before", partition=0)
        cluster.kill(leader)  # SIGKILL: no controlled shutdown, the controller must notice
        began = time.monotonic()
        during = await producer.send_and_wait(unique_name, b"during", partition=0)
        failover = time.monotonic() - began
    finally:
        await producer.stop()
    moved = await describe_partitions(cluster.bootstrap, [unique_name])
    assert moved[(unique_name, 0)]["leader"] not in (leader, -1)
    assert leader not in moved[(unique_name, 0)]["isr"]
    assert failover < 60, failover

    cluster.start_node(leader)
    await _wait_isr(cluster.bootstrap, unique_name, 3)  # the restarted node caught up
    consumer = AIOKafkaConsumer(bootstrap_servers=cluster.bootstrap, enable_auto_commit=False,
                                group_id=unique_name)
    await consumer.start()
    try:
        tp = TopicPartition(unique_name, 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        got = await consumer.getmany(tp, timeout_ms=10_000)
        await consumer.commit({tp: during.offset + 1})
    finally:
        await consumer.stop()
    values = [(r.offset, r.value) for r in got.get(tp, [])]
    assert values == [(before.offset, b"before"), (during.offset, b"during")]
    # Kafka's own offsets topic is replicated like ours (created by that first commit).
    offsets = await describe_partitions(cluster.bootstrap, ["__consumer_offsets"])
    assert offsets and all(sorted(p["replicas"]) == [1, 2, 3] for p in offsets.values())


def test_kafka_up_nodes_3_starts_a_cluster_and_down_stops_exactly_it(tmp_path: Path) -> None:
    """`make kafka-up NODES=3` / `kafka-status` / `kafka-down`, through `python -m tools.kafka`."""
    base = probe.free_run(6)
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "tools.kafka"]
    where = ["--run-dir", str(run_dir), "--port", str(base)]
    up = subprocess.run([*command, "up", "--nodes", "3", *where], cwd=REPO,
                        capture_output=True, text=True, timeout=240, check=False)
    try:
        assert up.returncode == 0, up.stderr
        bootstrap = ",".join(f"127.0.0.1:{base + 2 * i}" for i in range(3))
        assert f"3 nodes on {bootstrap}" in up.stdout
        cluster = LocalCluster(run_dir)  # reads the ports `up` saved
        pids = cluster.pids
        assert sorted(pids) == [1, 2, 3]
        assert len(probe.metadata_brokers("127.0.0.1", base + 4)) == 3
        status = subprocess.run([*command, "status", *where], cwd=REPO, capture_output=True,
                                text=True, timeout=60, check=False)
        assert status.returncode == 0 and "3 of 3 nodes" in status.stdout
    finally:
        down = subprocess.run([*command, "down", *where], cwd=REPO, capture_output=True,
                              text=True, timeout=120, check=False)
    assert down.returncode == 0, down.stderr
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids.values())
    assert not (run_dir / "cluster.json").exists()  # a later plain `up` is one broker again
    status = subprocess.run([*command, "status", *where], cwd=REPO, capture_output=True,
                            text=True, timeout=60, check=False)
    assert status.returncode == 3 and "not running" in status.stdout
