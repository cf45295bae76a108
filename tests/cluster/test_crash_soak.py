"""The crash soak at the size CI can afford: 2,000 pages, 3 worker SIGKILLs and 1 broker
SIGKILL on a seeded schedule (bench/soak.py; `make bench` runs it at 10,000 pages, 5 + 2).

Everything must be accounted for: 0 lost, 0 conflicting (id, version) records, every story
once as version 1, every update as version 2, no page both rejected and published. Identical
re-deliveries are expected after a SIGKILL and are only reported.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.soak import QUICK, soak
from tests.cluster.harness import delete_topics
from tools.kafka.cluster import LocalCluster

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]


async def test_ci_crash_soak_accounts_for_every_page(all_nodes_up: LocalCluster) -> None:
    try:
        summary: dict[str, Any] = await soak(
            QUICK["pages"], QUICK["kills"], QUICK["rate"], QUICK["seed"],
            broker_kills=QUICK["broker_kills"], kafka=all_nodes_up,
        )
    finally:
        await delete_topics(all_nodes_up.bootstrap, ["nw-"])  # the soak's group's topics
    events = summary.pop("events")
    print("\ncrash soak:", *events, summary, sep="\n  ")
    context = f"{summary}\n" + "\n".join(events)
    assert summary["pages"] == QUICK["pages"]
    assert [e.split(":")[0] for e in events if e.startswith("kill")] == [
        f"kill {n}" for n in range(1, QUICK["kills"] + QUICK["broker_kills"] + 1)]
    for count in ("lost", "conflicting_repeats", "stories_published_twice",
                  "stories_without_v1", "updates_not_v2", "mixed_outcomes", "app_crashes"):
        assert summary[count] == 0, f"{count}: {context}"
