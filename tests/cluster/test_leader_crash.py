"""A partition leader dies mid-stream (SIGKILL) and comes back later: nothing is lost.

Two workers stream 2,000 held pages on the 3-node cluster (replication 3, min.insync.replicas
2, acks=all). Once a third of them are in, the node leading the most of the app's partitions
(input, internal and output; of equals, the group's coordinator) is SIGKILLed; it is
started again 15 s later on its own data.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.cluster.harness import (
    app_topics,
    assert_accounted,
    group_coordinator,
    held_pages,
    leaders_by_node,
    stream,
)
from tests.integration.workers import Cluster
from tools.kafka.cluster import LocalCluster
from tools.kafka.topics import describe_partitions, topic_configs

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]
PAGES = 2000
DOWN = 15.0  # seconds the node stays down: past the controller's 9 s broker session timeout


async def test_leader_sigkill_mid_stream_loses_nothing(
    worker_group: Any, all_nodes_up: LocalCluster,
) -> None:
    kafka = all_nodes_up
    group: Cluster = worker_group()
    await group.create_topics()
    group.start_worker()
    group.start_worker()
    topics = await app_topics(group)
    assert any(t.endswith("-changelog") for t in topics) and len(topics) >= 6, topics
    # Every topic of the app is replicated 3 times with min ISR 2 (the worker created all but
    # the pages topic; the table's changelog included).
    placement = await describe_partitions(kafka.bootstrap, topics)
    assert {len(p["replicas"]) for p in placement.values()} == {3}
    configs = await topic_configs(kafka.bootstrap, topics)
    assert {c["min.insync.replicas"] for c in configs.values()} == {"2"}, configs

    leads = await leaders_by_node(kafka.bootstrap, topics)
    coordinator = await group_coordinator(kafka.bootstrap, group.app_id)
    victim = max(sorted(leads), key=lambda node: (leads[node], node == coordinator))
    window: dict[str, float] = {}

    async def kill_the_busiest_leader(_: Cluster) -> None:
        await asyncio.sleep(PAGES / 100 / 3)
        kafka.kill(victim)
        window["down"] = time.time()
        await asyncio.sleep(DOWN)
        kafka.start_node(victim, wait=False)  # the loop's thread: see LocalKafka._spawn
        window["up"] = time.time()
        await asyncio.to_thread(kafka.wait_node, victim)

    run = await stream(group, held_pages(PAGES), fault=kill_the_busiest_leader)
    assert_accounted(run)
    # The cluster kept serving without the node: outputs were written while it was down.
    written_while_down = [r for rs in run.got.values() for r in rs
                          if window["down"] + 1 < r["_ts"] < window["up"]]
    assert written_while_down, f"no output while node {victim} was down ({leads})"
    for index, worker in enumerate(group.workers):
        assert worker.alive(), f"worker {index} died:\n{worker.log()[-3000:]}"
    print(f"\nleader crash: node {victim} led {leads[victim]} of {sum(leads.values())} "
          f"partitions (coordinator: node {coordinator}); {len(written_while_down)} records "
          f"written while it was down; {run.summary}; {run.seconds:.0f} s")
