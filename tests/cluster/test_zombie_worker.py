"""A zombie worker: frozen (SIGSTOP) past its session timeout while the other worker takes over
its partitions, then woken (SIGCONT) with work still in its hands.

What Faust 0.15.3 / aiokafka 0.14 do, read from their sources (docs/reliability.md has the
long form) and checked here:

* Frozen, the worker sends no heartbeats; after `broker_session_timeout` (10 s) the group
  coordinator drops it and the other worker is given all partitions, from the committed
  offsets: everything the zombie had processed but not committed is processed again.
* Woken, the zombie's event loop first carries on where it stopped: the page in hand and
  the events already in its stream buffers are processed and their records *sent*. Nothing
  fences a producer that is not transactional, so these writes reach the topics.
  Within a heartbeat interval (1 s) its heartbeat is refused (UNKNOWN_MEMBER_ID), aiokafka
  resets its membership and rejoins; Faust's revocation callback clears the stream buffers,
  waits for the events in flight and flushes the producer. The zombie's offset commits are
  refused by the coordinator (stale generation: aiokafka raises CommitFailedError, Faust
  returns False and carries on), so the group's committed offsets never move backwards.
* What it writes is what the new owner wrote for the same input: the pipeline is a pure
  function of the page and its broker timestamp, and the dedupe decision for a story depends
  only on its table entry, which is the same history of the same stories partition.

The test: 0 lost, 0 conflicting (id, version) records, no story twice as v1, committed
offsets monotonic throughout, the zombie's commit refused and both workers alive afterwards;
it reports how many records the zombie handed to its producer after waking.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
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
from tests.integration.workers import Cluster

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]
PAGES = 2000
FROZEN = 25.0  # seconds: well past the 10 s session timeout and the takeover's rebalance
FENCED = ("local member_id was not recognized", "generation id is not  current",
          "UnknownMemberIdError", "IllegalGenerationError")


async def test_zombie_worker_is_fenced_from_commits_and_writes_only_identical_records(
    worker_group: Any,
) -> None:
    group: Cluster = worker_group()
    await group.create_topics()
    zombie = group.start_worker()
    other = group.start_worker()
    facts: dict[str, Any] = {}

    async def freeze_and_wake(_: Cluster) -> None:
        await asyncio.sleep(PAGES / 100 / 3)
        assert zombie.process is not None
        facts["before"] = handed_over(zombie)
        os.killpg(zombie.process.pid, signal.SIGSTOP)  # the whole process group: a VM pause
        facts["stopped"] = time.time()
        await asyncio.sleep(FROZEN)
        facts["other_took_all"] = other.log().count("Setting newly assigned partitions")
        woke_at = len(zombie.log())
        os.killpg(zombie.process.pid, signal.SIGCONT)
        facts["woken"] = time.time()
        # Its new assignment comes after Faust's revocation callback returned (buffers cleared,
        # the event in flight finished) and before it processes anything again (the table
        # recovery and the seeks come first): the zombie's own work is what it did until then.
        await wait_for(lambda: "Setting newly assigned partitions" in zombie.log()[woke_at:],
                       90, "the zombie's rejoin")
        facts["after"] = handed_over(zombie)
        facts["zombie_log"] = zombie.log()[woke_at:]

    async with CommitSamples(group) as commits:
        run = await stream(group, held_pages(PAGES), fault=freeze_and_wake)
    pages = facts["after"][0] - facts["before"][0]
    records = facts["after"][1] - facts["before"][1]
    woke_writes = [r for rs in run.got.values() for r in rs
                   if facts["woken"] < r["_ts"] < facts["woken"] + 3]
    print(f"\nzombie: frozen {FROZEN:.0f} s; after waking it consumed {pages:.0f} pages and "
          f"handed {records:.0f} output records to its producer before its new assignment; "
          f"{len(woke_writes)} output records in the 3 s after SIGCONT (both workers); "
          f"{len(commits.samples)} commit samples; {run.summary}; {run.seconds:.0f} s")

    assert_accounted(run)

    # The other worker took the zombie's partitions while it was frozen.
    assert facts["other_took_all"] >= 2, other.log()[-3000:]
    # Woken, the zombie learnt it had been dropped, and its commits were refused: the group's
    # committed offsets never went backwards.
    assert any(sign in facts["zombie_log"] for sign in FENCED), facts["zombie_log"][-3000:]
    commits.assert_monotonic()
    # Both workers still run: the zombie rejoined as a member, nothing crashed.
    assert zombie.alive() and other.alive()
    assert "Crashed reason" not in zombie.log() + other.log()

