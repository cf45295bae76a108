"""A rebalance mid-stream with batched extraction: nothing lost, each partition in order.

Two workers with two extraction processes each (the extract agent takes batches), a third
joins while pages flow, then the first leaves. Around each rebalance Faust clears its stream
buffers while a batch may be in hand, pauses and resumes partitions, and re-seeks: the
consumer (worker/stream/consumer.py) must drop what was taken from a partition that moved,
never commit past a record it did not publish, and re-read in order.

Observed on the real topics afterwards:
  * every page comes out (an article, or a rejection for the bad ones);
  * live pages (one URL crawled five times as it grows, keyed by URL so one input partition
    each) come out as versions 1..5 of one id, first seen in that order, repeats identical;
  * bad messages keyed alike (one input partition, one rejected partition) come out with
    their source offsets first seen in increasing order, every one of them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import article_html, message
from tests.integration.test_worker import accounted, keyed, story
from tests.integration.workers import Cluster, worker_cluster  # noqa: F401 - the fixture
from tests.stories import body, paragraph

pytestmark = pytest.mark.integration

URLS = 10
VERSIONS = 5
START = datetime(2025, 12, 30, 6, 0, tzinfo=UTC)


def live(u: int, v: int) -> bytes:
    """Crawl `v` (1-based) of live page `u`: the body grows, dateModified moves on."""
    at = START + timedelta(hours=v, minutes=u)
    paragraphs = body(700 + u).split("\n\n") + [paragraph(9000 + u * 10 + g) for g in range(v)]
    return message(page_id=f"live{u}v{v}", url=f"https://www.wire.example/news/live-{u}",
                   html=article_html(headline=f"Live updates: harbour storm, district {u}",
                                     paragraphs=paragraphs, published=START.isoformat(),
                                     modified=at.isoformat()),
                   fetched_at=at.isoformat())


def bad(n: int) -> tuple[bytes, bytes]:
    return b"bad", b'{"not json ' + str(n).encode()


def batch(versions: range, stories: range, bads: range) -> list[tuple[bytes | None, bytes]]:
    pages: list[tuple[bytes | None, bytes]] = []
    for v in versions:
        pages += [keyed(live(u, v)) for u in range(URLS)]
    pages += [keyed(story(i)) for i in stories]
    pages += [bad(n) for n in bads]
    return pages


def first_seen(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


async def test_a_worker_joining_and_one_leaving_lose_nothing_and_keep_order(
    worker_cluster: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster(extra_env={"NEWS_EXTRACT_PROCESSES": "2"})
    await cluster.create_topics()
    first, _second = cluster.start_worker(), cluster.start_worker()
    await cluster.send_pages(batch(range(1, 3), range(0, 20), range(0, 6)))
    await cluster.collect(lambda g: len(g["articles"]) >= 10)
    third = cluster.start_worker(wait=False)  # joins while the first batch is processed
    await cluster.send_pages(batch(range(3, 4), range(20, 40), range(6, 12)))
    await cluster.collect(lambda g: len(g["articles"]) >= 40)
    # It must be in the group before the last batch (pages can all be out before a worker
    # started on a busy machine has joined), so that batch is shared three, then two ways.
    await asyncio.to_thread(third.wait_ready)
    assert first.terminate() == 0  # leaves while pages flow
    await cluster.send_pages(batch(range(4, VERSIONS + 1), range(40, 60), range(12, 18)))
    ids = {f"live{u}v{v}" for u in range(URLS) for v in range(1, VERSIONS + 1)}
    ids |= {f"s{i}" for i in range(60)}
    got = await cluster.collect(lambda g: accounted(g) >= ids and len(
        {r["source"]["offset"] for r in g["rejected"]}) >= 18, timeout=240)
    assert accounted(got) == ids
    # Live pages: per id, versions first seen as 1..5, and a repeat is identical.
    by_id: dict[str, list[dict[str, Any]]] = {}
    for article in got["articles"]:
        by_id.setdefault(article["id"], []).append(article)
    lives = {aid: records for aid, records in by_id.items()
             if records[0]["page_id"].startswith("live")}
    assert len(lives) == URLS
    for records in lives.values():
        assert first_seen([r["version"] for r in records]) == list(range(1, VERSIONS + 1))
        first_of: dict[int, dict[str, Any]] = {}
        for record in records:
            assert first_of.setdefault(record["version"], record) == record
    # Bad messages: one input partition -> one rejected partition, in input order.
    offsets = [r["source"]["offset"] for r in got["rejected"]]
    assert {r["_key"] for r in got["rejected"]} == {b"bad"}
    assert len(set(offsets)) == 18
    assert first_seen(offsets) == sorted(set(offsets))
    # The group did move partitions: the third worker was given some of the input.
    assert "Setting newly assigned partitions" in third.log()
    assert third.metric("news_pages_total") > 0
