"""Hostile input and poison pills on the real broker: each is rejected with its reason and
the complete original (or becomes an article), and the partition moves on."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.factories import article_html, message
from tests.hostile import AFTER, ARTICLE, CASES, MAX_PAGE_BYTES
from tests.integration.workers import Cluster, worker_cluster  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


def original(rejection: dict[str, Any]) -> bytes:
    """The rejected message's bytes, as rejection.v1 carries them."""
    text = rejection["original"]
    if rejection.get("original_encoding") == "base64":
        return base64.b64decode(text)
    return str(text).encode("utf-8")


async def test_hostile_corpus_is_rejected_and_the_partition_moves_on(
    worker_cluster: Any,  # noqa: F811
) -> None:
    # One partition: everything queues behind every hostile message.
    cluster: Cluster = worker_cluster(
        partitions=1, extra_env={"NEWS_MAX_PAGE_BYTES": str(MAX_PAGE_BYTES)})
    worker = cluster.start_worker()
    pages: list[tuple[bytes | None, bytes]] = [(None, data) for _, data, _ in CASES]
    await cluster.send_pages([*pages, (None, AFTER)])
    articles = sum(1 for *_, expected in CASES if expected == ARTICLE)
    got = await cluster.collect(
        lambda g: any(a["page_id"] == "after-hostile" for a in g["articles"]))
    assert len(got["articles"]) == articles + 1, [a["page_id"] for a in got["articles"]]
    rejected = {r["source"]["offset"]: r for r in got["rejected"]}
    for offset, (name, data, expected) in enumerate(CASES):
        if expected == ARTICLE:
            assert offset not in rejected, name
            continue
        assert rejected[offset]["reason"] == expected, (name, rejected[offset]["detail"])
        assert original(rejected[offset]) == data, name
    assert len(got["rejected"]) == len(CASES) - articles
    assert worker.metric("news_pages_total") == len(CASES) + 1


async def test_a_page_over_the_time_limit_is_rejected_as_timeout(
    worker_cluster: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster(partitions=1, extra_env={
        "NEWS_PAGE_TIMEOUT": "1.0", "NEWS_MAX_PAGE_BYTES": "1900000"})
    worker = cluster.start_worker()
    # ~1.6 MB of short paragraphs: about 4 s of extraction on an idle core.
    words = "council harbour budget wall repair storm district mayor ferry market"
    slow = "<html><body>" + "".join(f"<p>{words} {i}</p>" for i in range(20_000))
    pill = message(page_id="pill", html=slow + "</body></html>")
    after = message(page_id="next", url="https://www.gazette.example/news/2025/03/04/next",
                    html=article_html(headline="Tram line to the harbour opens next spring"))
    await cluster.send_pages([(None, pill), (None, after)])
    got = await cluster.collect(lambda g: len(g["articles"]) >= 1 and len(g["rejected"]) >= 1)
    [rejection] = got["rejected"]
    assert (rejection["page_id"], rejection["reason"]) == ("pill", "timeout")
    assert original(rejection) == pill
    assert [a["page_id"] for a in got["articles"]] == ["next"]
    assert worker.metric("news_extract_process_restarts_total") == 1
