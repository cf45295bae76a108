"""The agents in memory (Faust's test_context): routing, updates, replays, expiry sweeps.

The three output topics and the stories topic are in-memory channels here; everything else
(the agents, the executor, the dedupe table on the memory store) is the real thing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tests.factories import article_html, message
from worker.settings import Settings
from worker.stream.agents import install_agents
from worker.stream.app import NewsApp, create_app
from worker.stream.executor import PageExecutor
from worker.stream.positions import key_partition
from worker.stream.wire import encode_sweep

UPDATED = [
    "The city council voted on Tuesday to approve a new budget for the harbour district, "
    "ending months of debate over how to pay for repairs to the ageing sea wall.",
    "Late on Tuesday the regional government confirmed it would cover half of the cost, "
    "a decision that council members said removed the last obstacle to the project.",
    "Council members said the plan would cost about 40 million euros over five years, with "
    "most of the money coming from a regional infrastructure fund set up last spring.",
    "Engineers warned last year that parts of the wall could fail during a severe storm, "
    "putting hundreds of homes and the old fish market at risk of flooding.",
]
FETCHED = datetime(2025, 3, 4, 10, 0, tzinfo=UTC).timestamp()


@dataclass
class Harness:
    news: NewsApp
    pages: Any  # the extract agent's test wrapper
    outputs: dict[str, Any]  # subscribers of the output channels

    async def put(self, value: bytes, *, offset: int | None = None, key: bytes = b"k") -> None:
        if offset is not None:
            self.pages.sent_offset = offset
        await self.pages.put(value, key=key, timestamp=FETCHED)

    async def take(self, name: str, count: int) -> list[Any]:
        """The next `count` events of an output, waiting for each up to 20 s."""
        return [await self.outputs[name].get(timeout=20.0) for _ in range(count)]

    def empty(self, name: str) -> bool:
        return bool(self.outputs[name].queue.empty())


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    settings = Settings(store="memory", app_id="functional", extract_processes=1,
                        topic_partitions=4)
    news = create_app(settings, in_memory_outputs=True)
    news.stories = news.app.channel(maxsize=10_000)
    executor = PageExecutor(news.options, processes=1, timeout=30.0)
    executor.start()
    install_agents(news, executor)
    outputs = {
        "articles": news.articles.clone(is_iterator=True),
        "rejected": news.rejected.clone(is_iterator=True),
        "duplicates": news.duplicates.clone(is_iterator=True),
    }
    agents = news.app.agents
    try:
        async with agents["extract_articles"].test_context() as pages, \
                agents["drop_duplicates"].test_context(channel=news.stories):
            yield Harness(news, pages, outputs)
    finally:
        executor.stop()


def value(event: Any) -> dict[str, Any]:
    return dict(orjson.loads(event.value))


async def test_article_duplicate_and_rejection_are_routed(harness: Harness) -> None:
    await harness.put(message(page_id="p1"))
    await harness.put(b"{broken json", key=b"https://x.example/broken")
    await harness.put(message(page_id="p2", url="https://m.harbourgazette.example/news/2025/03/"
                                                 "04/council-budget?utm_source=feed"))
    [article] = await harness.take("articles", 1)
    [rejection] = await harness.take("rejected", 1)
    [duplicate] = await harness.take("duplicates", 1)
    a, r, d = value(article), value(rejection), value(duplicate)
    assert article.key == a["id"].encode() and a["version"] == 1 and a["page_id"] == "p1"
    assert article.headers["schema"] == b"article.v1"
    assert r["reason"] == "invalid_json" and r["original"] == "{broken json"
    assert r["source"]["offset"] == 1
    assert rejection.key == b"https://x.example/broken"  # no id/url inside: the input's key
    assert rejection.headers["schema"] == b"rejection.v2"
    # The value cannot be read: the URL comes from the key, and the key is kept as it was.
    assert r["url"] == "https://x.example/broken"
    assert (r["key"], r["key_encoding"]) == ("https://x.example/broken", "utf-8")
    assert d["duplicate_of"] == a["id"] and d["page_id"] == "p2"
    assert duplicate.headers["schema"] == b"duplicate.v1"
    metrics = harness.news.metrics.render().decode()
    assert "news_pages_total 3.0" in metrics
    assert 'news_rejections_total{reason="invalid_json"} 1.0' in metrics
    # p1 and p2 came keyed b"k", not by their URL; the broken page has no URL to compare.
    assert 'news_key_mismatches_total{kind="different"} 2.0' in metrics
    assert 'news_key_mismatches_total{kind="missing"} 0.0' in metrics


async def test_update_gets_the_same_id_and_the_next_version(harness: Harness) -> None:
    await harness.put(message(page_id="p1"))
    await harness.put(message(page_id="p4", html=article_html(
        paragraphs=UPDATED, modified="2025-03-04T18:00:00+01:00")))
    first, second = await harness.take("articles", 2)
    assert value(first)["id"] == value(second)["id"]
    assert (value(first)["version"], value(second)["version"]) == (1, 2)
    assert "news_article_updates_total 1.0" in harness.news.metrics.render().decode()


async def test_a_replayed_message_republishes_the_same_version(harness: Harness) -> None:
    page = message(page_id="p1")
    await harness.put(page, offset=7)
    await harness.put(page, offset=7)  # the same pages-topic position again: a crash replay
    await harness.put(page, offset=8)  # the same page sent again: a duplicate
    first, replay = await harness.take("articles", 2)
    assert first.value == replay.value
    [duplicate] = await harness.take("duplicates", 1)
    assert value(duplicate)["duplicate_of"] == value(first)["id"]
    assert "news_article_redeliveries_total 1.0" in harness.news.metrics.render().decode()


async def test_sweep_deletes_expired_keys_of_its_partition_only(harness: Harness) -> None:
    await harness.put(message(page_id="p1"))
    [article] = await harness.take("articles", 1)
    key = value(article)["dedupe_key"].encode()
    table = harness.news.dedupe
    assert table.get(key) is not None
    partition = key_partition(key, 4)
    window = harness.news.options.dedupe_window
    stories = harness.news.stories

    async def sweep(at: datetime, part: int) -> None:
        await stories.send(key=b"sweep", value=encode_sweep(at), partition=part)
        await asyncio.sleep(0.5)

    # Expiry follows data time: however late the clock, nothing newer has been seen yet.
    await sweep(datetime(2030, 1, 1, tzinfo=UTC), partition)
    assert table.get(key) is not None
    # A story fetched past the window moves data time on.
    await harness.put(message(page_id="later", url="https://other.example/news/x",
                              fetched_at="2025-03-12T11:00:00Z",
                              html=article_html(headline="Ferry timetable changes for summer",
                                                published="2025-03-12T09:00:00+01:00")))
    await harness.take("articles", 1)
    # Another partition's sweep, and a sweep whose clock is inside the window, keep the key.
    await sweep(datetime(2030, 1, 1, tzinfo=UTC), (partition + 1) % 4)
    await sweep(datetime(2025, 3, 4, 10, 0, tzinfo=UTC) + window - timedelta(hours=1), partition)
    assert table.get(key) is not None
    await sweep(datetime(2030, 1, 1, tzinfo=UTC), partition)
    for _ in range(100):
        if table.get(key) is None:
            break
        await asyncio.sleep(0.05)
    assert table.get(key) is None
    assert "news_dedupe_expired_keys_total 1.0" in harness.news.metrics.render().decode()
