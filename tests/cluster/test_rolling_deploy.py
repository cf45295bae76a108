"""A rolling deploy: both workers restarted one after the other (SIGTERM, start) while pages flow.

A graceful stop finishes the page in flight, commits and leaves the group, so the partitions
it hands over resume exactly where it stopped: nothing lost and, unlike a crash, nothing
processed twice. The restarted worker reuses its data dir (as a deploy on the same host
would), the other one takes over in between.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bench.soak import restart_worker
from tests.cluster.harness import assert_accounted, held_pages, records_by_source, stream
from tests.integration.workers import Cluster

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]
PAGES = 2000


async def test_rolling_restart_loses_nothing_and_repeats_nothing(worker_group: Any) -> None:
    group: Cluster = worker_group()
    await group.create_topics()
    group.start_worker()
    group.start_worker()
    exits: list[int | None] = []

    async def roll(_: Cluster) -> None:
        await asyncio.sleep(PAGES / 100 / 4)
        for index in (0, 1):
            exits.append(await asyncio.to_thread(group.workers[index].terminate))
            await restart_worker(group, index)  # same data dir, waits for /readyz
            await asyncio.sleep(2.0)  # let the group settle before the next one goes

    run = await stream(group, held_pages(PAGES), fault=roll)
    print(f"\nrolling deploy: exits {exits}; {run.summary}; {run.seconds:.0f} s")
    assert exits == [0, 0]  # each stop was graceful (no SIGKILL after the grace period)
    assert_accounted(run)
    repeated = {pid: n for pid, n in records_by_source(run.got).items() if n > 1}
    assert not repeated, f"repeats after graceful stops: {sorted(repeated.items())[:20]}"
    for worker in group.workers:  # each log file holds both incarnations of its worker
        assert worker.alive()
        assert "LeaveGroup request succeeded" in worker.log()
