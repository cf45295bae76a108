"""The agents in memory: routing, updates, replays, copies, sweeps (tests/functional/harness.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import article_html, message
from tests.functional.harness import Harness, running_agents, value
from tests.stories import body
from worker.pipeline.state import url_key
from worker.pipeline.urls import canonicalize_url, make_article_id
from worker.stream import sweep as sweep_module
from worker.stream.positions import key_partition
from worker.stream.sweep import sweep_marker

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
HORIZON = timedelta(days=8)
TRAM = [
    "The transport authority unveiled plans on Thursday for a new tram depot on the site of "
    "the old gasworks, with room for forty vehicles and a training centre for drivers.",
    "Work on the depot is due to start next spring and should take about two years, the "
    "authority said, adding that the cost would be covered by the national rail fund.",
    "Neighbours said they welcomed the plan but asked for a noise barrier along the canal "
    "side, where the trams will leave the depot early in the morning.",
]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with running_agents(identity_horizon=HORIZON) as running:
        yield running


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
    assert (d["duplicate_of"], d["page_id"], d["match"], d["version"]) == (a["id"], "p2", "url", 1)
    assert duplicate.key == a["id"].encode() and duplicate.headers["schema"] == b"duplicate.v2"
    metrics = harness.news.metrics.render().decode()
    assert "news_pages_total 3.0" in metrics
    assert 'news_rejections_total{reason="invalid_json"} 1.0' in metrics
    assert 'news_duplicate_matches_total{match="url"} 1.0' in metrics
    assert 'news_duplicate_matches_total{match="body"} 0.0' in metrics
    assert 'news_state_unreadable_total{stage="url"} 0.0' in metrics


async def test_update_gets_the_same_id_and_the_next_version(harness: Harness) -> None:
    await harness.put(message(page_id="p1"))
    await harness.put(message(page_id="p4", html=article_html(
        paragraphs=UPDATED, modified="2025-03-04T18:00:00+01:00")))
    first, second = await harness.take("articles", 2)
    assert value(first)["id"] == value(second)["id"]
    assert (value(first)["version"], value(second)["version"]) == (1, 2)
    assert "news_article_updates_total 1.0" in harness.news.metrics.render().decode()


async def test_an_edited_headline_on_the_same_url_is_the_next_version(harness: Harness) -> None:
    await harness.put(message(page_id="p1"))
    await harness.put(message(page_id="p2", fetched_at="2025-03-04T16:00:00Z",
                              html=article_html(headline="Harbour budget passes after a "
                                                         "fourth late-night vote")))
    first, second = await harness.take("articles", 2)
    assert (value(second)["id"], value(second)["version"]) == (value(first)["id"], 2)


async def test_a_copy_on_another_site_is_a_duplicate_without_a_version(harness: Harness) -> None:
    await harness.put(message(page_id="p1"))
    # The copy comes once the first is published: two first sightings of one content racing
    # through their probes may both be published (a documented limit), which is not this test.
    [article] = await harness.take("articles", 1)
    await harness.put(message(page_id="w1", url="https://www.otherpaper.example/wire/harbour",
                              html=article_html(headline="Harbour budget approved",
                                                site_name="Other Paper")))
    [duplicate] = await harness.take("duplicates", 1)
    d = value(duplicate)
    assert (d["duplicate_of"], d["version"], d["match"]) == (value(article)["id"], None, "body")


async def test_a_replayed_message_is_recognised_and_not_published_again(
        harness: Harness) -> None:
    page = message(page_id="p1")
    await harness.put(page, offset=7)
    [first] = await harness.take("articles", 1)
    await harness.put(page, offset=7)  # the same pages-topic position again: a crash replay
    await harness.put(page, offset=8)  # the same page sent again: a duplicate
    [duplicate] = await harness.take("duplicates", 1)  # decided after the replay (one URL)
    assert value(duplicate)["duplicate_of"] == value(first)["id"]
    # Its article is on the broker already: sent again, it could come after a later
    # version whose state a crash lost (tests/unit/test_identity.py).
    assert harness.empty("articles")
    assert "news_article_redeliveries_total 1.0" in harness.news.metrics.render().decode()


async def test_a_replay_arriving_while_its_page_probes_waits_for_it(harness: Harness) -> None:
    page = message(page_id="p1")
    await harness.put(page, offset=7)
    await harness.put(page, offset=7)  # replayed before the first one's verdict came back
    [first] = await harness.take("articles", 1)
    await asyncio.sleep(0.5)
    # One article for the message either way (waiting behind its own probe, or recognised
    # as the latest version's message once the verdict is back): never a second story, a
    # duplicate of itself, or the article again.
    assert harness.empty("duplicates") and harness.empty("articles")
    assert value(first)["version"] == 1


def _url_in_partition(partition: int, stem: str) -> str:
    """A story URL whose identity key lands in `partition`."""
    for k in range(1000):
        url = f"https://other.example/news/{stem}-{k}"
        key = url_key(make_article_id(canonicalize_url(url)))
        if key_partition(key, 4) == partition:
            return url
    raise AssertionError("no URL found")  # pragma: no cover


async def _sweep(harness: Harness, at: datetime, partition: int) -> None:
    await harness.news.stories.send(key=b"sweep", value=sweep_marker(at), partition=partition)
    await asyncio.sleep(0.3)


async def test_sweep_expires_by_its_partitions_own_data_clock(harness: Harness) -> None:
    await harness.put(message(page_id="p1"))
    [article] = await harness.take("articles", 1)
    key = url_key(value(article)["id"])
    table = harness.news.identity
    assert table.get(key) is not None
    partition = key_partition(key, 4)
    future = datetime(2030, 1, 1, tzinfo=UTC)
    # However late the wall clock, nothing newer has been seen on that partition yet.
    await _sweep(harness, future, partition)
    assert table.get(key) is not None
    # A story fetched past the horizon on *another* partition: this one's clock stays.
    later = "2025-03-20T11:00:00Z"
    stamp = datetime(2025, 3, 20, 11, 0, tzinfo=UTC).timestamp()  # the broker's, as late
    await harness.put(timestamp=stamp, value=message(page_id="far", fetched_at=later,
                              url=_url_in_partition((partition + 1) % 4, "ferry"),
                              html=article_html(headline="Ferry timetable changes for summer",
                                                published="2025-03-20T09:00:00+01:00")))
    await harness.take("articles", 1)
    await _sweep(harness, future, partition)
    assert table.get(key) is not None
    # Now one on the same partition moves its clock past the horizon.
    await harness.put(timestamp=stamp, value=message(page_id="near", fetched_at=later,
                              url=_url_in_partition(partition, "tram"),
                              html=article_html(headline="Tram depot plans unveiled",
                                                paragraphs=TRAM,
                                                published="2025-03-20T09:00:00+01:00")))
    await harness.take("articles", 1)
    # A sweep whose wall clock is inside the horizon keeps it; a later one removes it.
    await _sweep(harness, datetime(2025, 3, 5, tzinfo=UTC), partition)
    assert table.get(key) is not None
    await _sweep(harness, future, partition)
    for _ in range(100):
        if table.get(key) is None:
            break
        await asyncio.sleep(0.05)
    assert table.get(key) is None
    metrics = harness.news.metrics.render().decode()
    assert "news_dedupe_expired_keys_total" in metrics and "news_sweep_slice_seconds" in metrics


async def test_a_sweep_goes_on_in_slices_until_the_partition_is_done(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for k in range(6):
        await harness.put(message(page_id=f"s{k}", url=f"https://s{k}.example/news/story",
                                  html=article_html(headline=f"Story number {k} of the day",
                                                    paragraphs=body(50 + k).split("\n\n"))))
    await harness.take("articles", 6)
    monkeypatch.setattr(sweep_module, "SLICE_SECONDS", -1.0)  # stop at every check
    monkeypatch.setattr("worker.pipeline.state._CHECK_EVERY", 1)
    for partition in range(4):
        await _sweep(harness, datetime(2030, 1, 1, tzinfo=UTC), partition)
    metrics = harness.news.metrics.render().decode().splitlines()
    count = next(line for line in metrics if line.startswith("news_sweep_slice_seconds_count"))
    # 6 URL keys plus their headline and body keys, one slice each (a continuation marker
    # per key), and every pass completed: the gauge counts every entry.
    assert float(count.split()[-1]) >= 18
    entries = {line.split('"')[1]: float(line.split()[-1]) for line in metrics
               if line.startswith("news_dedupe_entries{")}
    assert entries == {"url": 6.0, "headline": 6.0, "body": 6.0}
