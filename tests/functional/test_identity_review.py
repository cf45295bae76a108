"""Review of issue #11 on the real agents (in memory, tests/functional/harness.py).

Each test reproduces a way to break a README identity promise where the promise is about the
worker (Kafka timestamps, the agents), not only the pure stage. Failing tests here are findings
reported on the board to @identity and stay on the `idreview` branch until fixed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import article_html, message
from tests.functional.harness import running_agents, value
from tests.stories import body, paragraph, partition_of
from worker.pipeline.state import url_key
from worker.pipeline.urls import canonicalize_url, make_article_id

NOW = datetime.now(UTC).replace(microsecond=0)  # the worker bounds CreateTime by its clock
URL = "https://www.gazette.example/news/2026/11/29/harbour-budget"


def partition_of_url(url: str) -> int:
    return partition_of(url_key(make_article_id(canonicalize_url(url))))


def other_url_on_the_same_partition(url: str) -> str:
    k = 0
    while partition_of_url(f"https://crawler-b.example/news/{k}") != partition_of_url(url):
        k += 1
    return f"https://crawler-b.example/news/{k}"


async def test_a_crawler_with_a_bad_clock_cannot_age_out_other_stories() -> None:
    # README: "A fetched_at more than 5 minutes after the receive time (the Kafka message
    # timestamp ...) is clamped to it, so a crawler with a bad clock cannot age out other
    # stories." A crawler whose clock is a year ahead stamps its Kafka records with that
    # clock too (a producer's default CreateTime; the worker's topics keep CreateTime and
    # Kafka 3.x accepts any), so nothing is clamped: the stories partition's data clock jumps
    # a year, every URL on it is past NEWS_IDENTITY_HORIZON, and the next crawl of a story
    # already at version 1 is published as version 1 again, with another content.
    paragraphs = body(41).split("\n\n")
    ahead = NOW + timedelta(days=365)
    async with running_agents() as harness:
        await harness.put(message(page_id="a1", url=URL, fetched_at=NOW.isoformat(),
                                  html=article_html(paragraphs=paragraphs)),
                          key=URL.encode(), timestamp=NOW.timestamp())
        other = other_url_on_the_same_partition(URL)
        await harness.put(message(page_id="bad", url=other, fetched_at=ahead.isoformat(),
                                  html=article_html(headline="Ferry timetable changes",
                                                    paragraphs=body(42).split("\n\n"))),
                          key=other.encode(), timestamp=ahead.timestamp())
        later = NOW + timedelta(hours=1)
        await harness.put(message(page_id="a2", url=URL, fetched_at=later.isoformat(),
                                  html=article_html(paragraphs=[*paragraphs, paragraph(9)])),
                          key=URL.encode(), timestamp=later.timestamp())
        got = {}
        for _ in range(3):
            kind, event = await harness.next_output()
            record = value(event)
            got[record["page_id"]] = (kind, record.get("id") or record.get("duplicate_of"),
                                      record.get("version"))
    assert got["a1"][0] == "articles" and got["a1"][2] == 1
    assert got["a2"] == ("articles", got["a1"][1], 2), got
