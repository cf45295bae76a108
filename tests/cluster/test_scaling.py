"""Scale out and in while pages flow: 1 worker, then 3, then 1 again.

When workers join, partitions (and with them the identity table's partitions) move to them:
each new owner rebuilds its part of the table from the changelog topic before it reports
ready. When they leave (SIGTERM), the partitions come back to the first worker, which
rebuilds them in turn. Stories are split across those moves (a repeat comes 7 pages after
its story, an update 13 pages after it), so if a table partition did not follow its input
partition a repeat would come out as a second version 1, or an update as a new story.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.cluster.harness import (
    assert_accounted,
    handed_over,
    held_pages,
    records_by_source,
    stream,
)
from tests.integration.workers import Cluster

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]
PAGES = 2000


async def test_scale_one_to_three_and_back_keeps_every_story_once(worker_group: Any) -> None:
    group: Cluster = worker_group()
    await group.create_topics()
    first = group.start_worker()
    handled: dict[int, float] = {}
    exits: list[int | None] = []

    async def scale_out_and_in(_: Cluster) -> None:
        await asyncio.sleep(PAGES / 100 / 5)
        added = [group.start_worker(wait=False), group.start_worker(wait=False)]
        await asyncio.gather(*(asyncio.to_thread(w.wait_ready, 120.0) for w in added))
        await asyncio.sleep(PAGES / 100 / 3)  # the three share the stream for a while
        for index, worker in enumerate(added, 1):
            # Pages extracted plus records the identity stage published: a worker may be given
            # only stories partitions (4 of each among 3 workers).
            handled[index] = sum(handed_over(worker))
        exits.extend(await asyncio.gather(*(asyncio.to_thread(w.terminate) for w in added)))

    run = await stream(group, held_pages(PAGES), fault=scale_out_and_in)
    repeats = sum(n - 1 for n in records_by_source(run.got).values())
    print(f"\nscale 1->3->1: pages + records handled by the added workers {handled}; "
          f"exits {exits}; "
          f"records repeated {repeats}; {run.summary}; {run.seconds:.0f} s")
    assert_accounted(run)
    assert exits == [0, 0]
    # The added workers really took partitions (and so rebuilt table partitions) and worked.
    assert all(count > 0 for count in handled.values()), handled
    for worker in group.workers[1:]:
        assert "Setting newly assigned partitions" in worker.log()
    assert first.alive()
