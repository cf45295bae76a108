"""The streaming worker on the real broker: routing, bad input, metrics and health, restarts."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from tests.factories import article_html, message
from tests.integration.workers import Cluster, worker_cluster  # noqa: F401 - the fixture
from tests.stories import body

pytestmark = pytest.mark.integration

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
TOPICS = ["harbour", "railway", "school", "museum", "bridge", "library", "tram", "stadium",
          "airport", "hospital", "park", "market"]


def story(i: int, *, page_id: str | None = None, host: str = "www.gazette.example") -> bytes:
    """A distinct article page: its own headline, URL and body (one body under two headlines
    would be one story: a copy with an edited headline)."""
    subject = f"{TOPICS[i % len(TOPICS)]} {i}"
    return message(
        page_id=page_id or f"s{i}",
        url=f"https://{host}/news/2025/03/04/{subject.replace(' ', '-')}",
        html=article_html(headline=f"Council approves {subject} budget after months of debate",
                          paragraphs=body(1000 + i).split("\n\n")),
    )


def keyed(value: bytes) -> tuple[bytes | None, bytes]:
    try:
        url = orjson.loads(value).get("url")
    except (orjson.JSONDecodeError, AttributeError):
        url = None
    return (url.encode() if isinstance(url, str) else None), value


def accounted(got: dict[str, list[Any]]) -> set[str]:
    """Page ids that came out as an article, a duplicate or a rejection."""
    return {r["page_id"] for rs in got.values() for r in rs if r.get("page_id")}


def assert_no_blocking(cluster: Cluster) -> None:
    """Faust's blocking detector ran (1 s threshold) and never fired."""
    for worker in cluster.workers:
        log = worker.log()
        # The ready line is logged after Faust's start-up callback started the detector.
        ready = [line for line in log.splitlines() if '"event":"worker.ready"' in line]
        assert ready and '"blocking_timeout":1.0' in ready[0], log[-3000:]
        assert "Blocking detected" not in log, log[-3000:]


def assert_each_version_once(articles: list[dict[str, Any]]) -> None:
    versions = [(a["id"], a["version"]) for a in articles]
    assert len(versions) == len(set(versions))


async def test_routing_bad_input_metrics_and_health(worker_cluster: Any) -> None:  # noqa: F811
    cluster: Cluster = worker_cluster(extra_env={"NEWS_MAX_PAGE_BYTES": "200000"})
    worker = cluster.start_worker()
    assert worker.get("/healthz") == (200, "ok\n")
    hostile = "<div>" * 8000 + "&lt;" * 5000 + "</div>" * 8000
    pages = [
        message(page_id="a1"),
        # The same story: a mobile URL variant with tracking parameters -> duplicate of a1.
        message(page_id="a2",
                url="https://m.harbourgazette.example/news/2025/03/04/council-budget?utm_source=x"),
        # Changed body, later dateModified -> update (same id, version 2).
        message(page_id="a3", html=article_html(paragraphs=UPDATED,
                                                modified="2025-03-04T18:00:00+01:00")),
        b"{this is not json",
        orjson.dumps(["a", "list"]),
        orjson.dumps({"id": "w1", "url": "javascript:alert(1)", "html": "<p>x</p>"}),
        orjson.dumps({"id": "w2", "url": "https://x.example/a", "html": 42}),
        message(page_id="big", html=article_html() + "<!--" + "x" * 300_000 + "-->"),
        message(page_id="nested", html=hostile),
        message(page_id="gone", status=404),
        story(1),  # the partition moves on after all of that
    ]
    await cluster.send_pages([keyed(p) for p in pages])
    got = await cluster.collect(lambda g: len(g["articles"]) >= 3 and len(g["duplicates"]) >= 1
                                and len(g["rejected"]) >= 7)
    articles = {(a["page_id"], a["version"]) for a in got["articles"]}
    assert articles == {("a1", 1), ("a3", 2), ("s1", 1)}
    by_page = {a["page_id"]: a for a in got["articles"]}
    assert by_page["a1"]["id"] == by_page["a3"]["id"]
    assert all(a["_key"] == a["id"].encode() for a in got["articles"])
    assert all(a["_headers"]["schema"] == b"article.v1" for a in got["articles"])
    [duplicate] = got["duplicates"]
    assert duplicate["page_id"] == "a2" and duplicate["duplicate_of"] == by_page["a1"]["id"]
    assert len(got["rejected"]) == 7
    by_reason = {(r.get("page_id"), r["reason"]) for r in got["rejected"]}
    assert (None, "invalid_json") in by_reason
    assert ("w1", "invalid_record") in by_reason and ("w2", "invalid_record") in by_reason
    assert ("gone", "http_error") in by_reason
    # Oversize is refused before parsing: no page id, keyed by the crawler's key (the URL).
    [big] = [r for r in got["rejected"] if r["reason"] == "too_large"]
    assert big["_key"] == b"https://www.harbourgazette.example/news/2025/03/04/council-budget"
    assert big["url"] == big["key"] == big["_key"].decode()  # the value was not read: the key
    nested = [r for r in got["rejected"] if r.get("page_id") == "nested"]
    assert len(nested) == 1, by_reason
    assert nested[0]["reason"] in ("no_article", "unsupported_content")
    for rejection in got["rejected"]:
        source = rejection["source"]
        assert source["topic"] == cluster.topics["pages"] and source["offset"] >= 0
        assert rejection["original"]
    # Metrics and health, scraped from the running worker.
    assert worker.get("/readyz")[0] == 200
    assert worker.metric("news_pages_total") == len(pages)
    assert worker.metric("news_articles_total") == 2
    assert worker.metric("news_article_updates_total") == 1
    assert worker.metric("news_duplicates_total") == 1
    assert worker.metric("news_rejections_total") == len(got["rejected"])
    assert worker.metric("news_extraction_seconds_count") == len(pages)
    assert worker.metric("news_publish_lag_seconds_count") >= len(pages) - 1
    assert "news_consumer_lag{" in worker.get("/metrics")[1]
    assert_no_blocking(cluster)
    # Graceful stop: exit code 0.
    assert worker.terminate() == 0


async def test_sigkill_mid_stream_loses_nothing(worker_cluster: Any) -> None:  # noqa: F811
    cluster: Cluster = worker_cluster()
    worker = cluster.start_worker()
    pages = [story(i) for i in range(60)] + [story(i, page_id=f"d{i}") for i in range(0, 60, 6)]
    await cluster.send_pages([keyed(p) for p in pages])
    await cluster.collect(lambda g: len(g["articles"]) >= 5)
    worker.kill()
    cluster.start_worker(index=0)
    ids = {f"s{i}" for i in range(60)} | {f"d{i}" for i in range(0, 60, 6)}
    got = await cluster.collect(lambda g: accounted(g) >= ids, timeout=180)
    assert accounted(got) == ids
    # Each story published once as version 1; repeats are identical re-deliveries only.
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for article in got["articles"]:
        key = (article["id"], article["version"])
        assert seen.setdefault(key, article) == article
    assert {v for _, v in seen} == {1} and len(seen) == 60
    assert {d["page_id"] for d in got["duplicates"]} == {f"d{i}" for i in range(0, 60, 6)}
    assert not got["rejected"]


async def test_two_workers_share_partitions_and_dedupe_holds(
    worker_cluster: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster()
    await cluster.create_topics()
    # Each story twice, from two hosts (different URLs, so usually different partitions),
    # already waiting when the workers start: the second one joins mid-stream (a rebalance).
    pages = [story(i) for i in range(40)]
    pages += [story(i, page_id=f"m{i}", host="m.gazette.example") for i in range(40)]
    await cluster.send_pages([keyed(p) for p in pages])
    first = cluster.start_worker()
    second = cluster.start_worker()
    ids = {f"s{i}" for i in range(40)} | {f"m{i}" for i in range(40)}
    got = await cluster.collect(lambda g: accounted(g) >= ids, timeout=180)
    assert accounted(got) == ids
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for article in got["articles"]:  # repeats only as identical re-deliveries
        assert seen.setdefault((article["id"], article["version"]), article) == article
    assert len(seen) == 40 and {v for _, v in seen} == {1}
    assert len({d["page_id"] for d in got["duplicates"]}) == 40
    assert {d["duplicate_of"] for d in got["duplicates"]} <= {i for i, _ in seen}
    assert first.metric("news_pages_total") + second.metric("news_pages_total") >= 80
    # The group shared the partitions: the second worker owns some of each input topic.
    last_assignment = second.log().rsplit("Setting newly assigned partitions", 1)[-1][:2000]
    assert f"{cluster.topics['pages']}'" in last_assignment
    assert f"{cluster.app_id}-stories'" in last_assignment
    assert_no_blocking(cluster)


async def test_dedupe_state_survives_a_restart(worker_cluster: Any) -> None:  # noqa: F811
    cluster: Cluster = worker_cluster()
    worker = cluster.start_worker()
    await cluster.send_pages([keyed(story(i)) for i in range(10)])
    first = await cluster.collect(lambda g: len(g["articles"]) >= 10)
    assert_each_version_once(first["articles"])
    assert worker.terminate() == 0
    # A fresh data dir: the table must come back from its changelog topic.
    cluster.start_worker(index=5)
    await cluster.send_pages([keyed(story(i, page_id=f"again{i}")) for i in range(10)])
    got = await cluster.collect(lambda g: len(g["duplicates"]) >= 10)
    assert len(got["articles"]) == 10  # nothing re-published after a graceful stop
    assert {d["page_id"] for d in got["duplicates"]} == {f"again{i}" for i in range(10)}


async def test_sigterm_mid_stream_hands_back_and_resumes_exactly(
    worker_cluster: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster()
    worker = cluster.start_worker()
    pages = [story(i) for i in range(60)]
    await cluster.send_pages([keyed(p) for p in pages])
    await cluster.collect(lambda g: len(g["articles"]) >= 5)
    assert worker.terminate() == 0  # in flight finished, offsets committed, group left
    assert "LeaveGroup request succeeded" in worker.log()
    restarted = cluster.start_worker(index=0)
    ids = {f"s{i}" for i in range(60)}
    got = await cluster.collect(lambda g: accounted(g) >= ids, timeout=120)
    assert accounted(got) == ids
    assert_each_version_once(got["articles"])  # no re-delivery after a graceful stop
    assert restarted.metric("news_article_redeliveries_total") == 0
    assert_no_blocking(cluster)


async def test_broker_outage_mid_stream_loses_nothing(
    worker_cluster: Any, kafka_broker: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster()
    worker = cluster.start_worker()
    await cluster.send_pages([keyed(story(i)) for i in range(30)])
    await cluster.collect(lambda g: len(g["articles"]) >= 5)
    kafka_broker.stop()  # mid-stream: the worker still has pages to route and offsets to commit
    try:
        await asyncio.sleep(20)
        assert worker.alive(), worker.log()[-3000:]
    finally:
        kafka_broker.start()  # the session's other tests need it, whatever happened here
    await cluster.send_pages([keyed(story(i)) for i in range(30, 45)])
    ids = {f"s{i}" for i in range(45)}
    got = await cluster.collect(lambda g: accounted(g) >= ids, timeout=120)
    assert accounted(got) == ids
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for article in got["articles"]:  # repeats only as identical re-deliveries
        assert seen.setdefault((article["id"], article["version"]), article) == article
    assert len(seen) == 45 and not got["rejected"] and not got["duplicates"]
    assert worker.alive()  # reconnected by itself: never restarted
