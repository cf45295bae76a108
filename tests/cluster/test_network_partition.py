"""A worker cut off from the whole cluster by a network partition, then reconnected.

One worker runs in its own network namespace (tests/cluster/netns.py; root, as in CI), joined
to the brokers by a veth pair; the cluster listens on the pair's address. A third of the way
into 2,000 held pages the link goes down for 25 s (packets dropped, not refused) and comes
back. Unlike the SIGSTOP zombie, the cut-off worker keeps running: after the 10 s session
timeout its partitions move to the other worker, while it goes on with what it had fetched,
its sends waiting in the producer and its commits failing. When the link returns its queued
records are delivered, its heartbeat is refused and it rejoins.

Checked: 0 lost, 0 conflicting (id, version), every story once as v1, updates as v2, only
the 404s rejected; the group's committed offsets never go backwards; both workers alive.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.harness import (
    CommitSamples,
    assert_accounted,
    handed_over,
    held_pages,
    stream,
    wait_for,
)
from tests.cluster.netns import NetnsLink, unavailable
from tests.integration.workers import Cluster
from tools.kafka.cluster import LocalCluster

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]
PAGES = 2000
CUT = 25.0  # seconds: past the 10 s session timeout and the takeover's rebalance


@pytest.fixture
def link() -> Iterator[NetnsLink]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    link = NetnsLink.create()
    try:
        yield link
    finally:
        link.remove()


@pytest.fixture
def reachable_cluster(link: NetnsLink, tmp_path_factory: pytest.TempPathFactory
                      ) -> Iterator[LocalCluster]:
    """A 3-node cluster listening on the link's address (the namespace has its own loopback)."""
    cluster = LocalCluster(tmp_path_factory.mktemp("kafka-partition"), nodes=3,
                           host=link.host_ip, die_with_parent=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


async def test_worker_cut_off_by_a_partition_loses_nothing(
    link: NetnsLink, reachable_cluster: LocalCluster, tmp_path: Path,
) -> None:
    level = os.environ.get("CLUSTER_TEST_LOG_LEVEL")  # as the worker_group fixture does
    group = Cluster(reachable_cluster.bootstrap, tmp_path / "group", replication=3,
                    extra_env={"NEWS_LOG_LEVEL": level} if level else {})
    group.root.mkdir()
    facts: dict[str, Any] = {}
    try:
        await group.create_topics()
        other = group.start_worker()
        # Its web port on the namespace's address, where the test can reach it.
        cut_off = group.start_worker(env={"NEWS_WEB_HOST": link.ns_ip}, wrap=link.wrap)

        async def partition(_: Cluster) -> None:
            await asyncio.sleep(PAGES / 100 / 3)
            facts["before"] = handed_over(cut_off)
            link.cut()
            facts["cut"] = time.time()
            await asyncio.sleep(CUT)
            facts["other_assignments"] = other.log().count("Setting newly assigned partitions")
            healed_at = len(cut_off.log())
            link.heal()
            facts["healed"] = time.time()
            await wait_for(lambda: cut_off.get("/metrics")[0] == 200, 30, "reaching it again")
            facts["first_seen"] = handed_over(cut_off)
            await wait_for(
                lambda: "Setting newly assigned partitions" in cut_off.log()[healed_at:], 120,
                "the cut-off worker's rejoin")
            facts["log_after"] = cut_off.log()[healed_at:]

        async with CommitSamples(group) as commits:
            run = await stream(group, held_pages(PAGES), fault=partition)
        during = [b - a for a, b in zip(facts["before"], facts["first_seen"], strict=True)]
        print(f"\npartition: cut {CUT:.0f} s; the cut-off worker consumed {during[0]:.0f} pages "
              f"and handed {during[1]:.0f} output records to its producer between the cut and "
              f"the first scrape after the heal; {len(commits.samples)} commit samples; "
              f"{run.summary}; {run.seconds:.0f} s")
        assert_accounted(run)
        assert facts["other_assignments"] >= 2, other.log()[-3000:]
        commits.assert_monotonic()
        assert cut_off.alive() and other.alive()
        assert "Crashed reason" not in cut_off.log() + other.log()
    finally:
        group.stop_all()
