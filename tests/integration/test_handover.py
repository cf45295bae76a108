"""Graceful hand-overs repeat nothing: a worker stopped with SIGTERM, and the one that stays.

Each stop and each start is a rebalance, and the group's eager assignment revokes every
partition of every member, the worker that stays included. Faust forgets the acks of revoked
partitions before its revoke handler commits, so everything done since the last periodic
commit used to be processed again by the next owner: identical repeats after a graceful
rolling deploy (tests/cluster/test_rolling_deploy.py, 21 of 2,000 pages on b3da349). The
consumer now finishes the events in flight of a revoked partition and commits its done
offsets before letting it go (worker/stream/consumer.py `_hand_over`). The periodic commit is
off here, so every offset the group keeps was committed by a hand-over.

A record admitted just before its partition was sought back to the next offset (a REWIND
over records Faust's fetcher skipped) used to be dropped unpublished as if it had moved: it
was never read again, so its partition committed nothing past it until the next rebalance,
whose new owner repeated everything after it (77 of 240 pages, every run, on 5c4d393).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.integration.test_worker import accounted, keyed, story
from tests.integration.workers import Cluster, worker_cluster  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

PAGES = 240


def repeats(got: dict[str, list[Any]]) -> dict[str, int]:
    counts = Counter(r["page_id"] for rs in got.values() for r in rs if r.get("page_id"))
    return {page_id: n for page_id, n in counts.items() if n > 1}


async def test_a_rolling_restart_of_two_workers_repeats_nothing(
    worker_cluster: Any,  # noqa: F811
) -> None:
    # No periodic commit during the test: what is done when a partition is revoked is
    # committed by the hand-over or processed again by the next owner (a repeat).
    cluster: Cluster = worker_cluster(extra_env={"NEWS_COMMIT_INTERVAL": "600"})
    await cluster.create_topics()
    cluster.start_worker()
    cluster.start_worker()
    await cluster.send_pages([keyed(story(i)) for i in range(PAGES)])
    for index, after in ((0, 40), (1, 110)):
        await cluster.collect(lambda g, n=after: len(g["articles"]) >= n, timeout=180)
        stopping = cluster.workers[index]
        assert stopping.terminate() == 0  # graceful: in flight finished, committed, group left
        assert "LeaveGroup request succeeded" in stopping.log()
        cluster.start_worker(index=index)  # same data dir, as a deploy on the same host
    ids = {f"s{i}" for i in range(PAGES)}
    got = await cluster.collect(lambda g: accounted(g) >= ids, timeout=240)
    assert accounted(got) == ids
    assert not repeats(got), f"repeated after graceful hand-overs: {sorted(repeats(got).items())}"
    handovers = sum(w.log().count("before handing them over") for w in cluster.workers)
    assert handovers > 0  # the workers did commit on revoke (the path under test ran)
