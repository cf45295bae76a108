"""A lost probe through the real agents (in memory): the URL's parked pages still get records.

The `b:` hop of a first sighting is dropped on its way (as if it had been refused further down
the chain, or lost with its partition's retention); a re-crawl of the URL parks behind the probe
that will never answer. Once the URL's partition has moved on by more than the dedupe window of
data time, a sweep marker there releases the URL and the parked page probes again and comes out.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import article_html, message
from tests.functional.harness import running_agents, value
from tests.stories import body, paragraph
from worker.pipeline.route import Step
from worker.pipeline.state import url_key
from worker.pipeline.urls import canonicalize_url, make_article_id
from worker.stream import agents
from worker.stream.positions import key_partition
from worker.stream.sweep import sweep_marker

URL = "https://www.gazette.example/news/2025/03/04/harbour-budget"
FETCHED = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def _url_in_partition(partition: int) -> str:
    for k in range(1000):
        url = f"https://other.example/news/tram-{k}"
        if key_partition(url_key(make_article_id(canonicalize_url(url))), 4) == partition:
            return url
    raise AssertionError("no URL found")  # pragma: no cover


async def test_a_url_whose_probe_was_lost_is_released_by_the_sweep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = agents.identity_record
    lost: list[bytes] = []

    def losing(value: bytes, partition: int, state: Any) -> Step:
        step = real(value, partition, state)
        if b'"page_id":"p1"' in value and b'"step":"url"' in value and not lost:
            lost.append(value)  # its `b:` hop goes nowhere; the URL is now pending
            # No output, and writes that hold anyway (needs=None): the hop is lost after it
            # landed, further down the chain (the publisher reports an empty `landed`).
            return Step([], None, step.fallback)
        return step

    monkeypatch.setattr(agents, "identity_record", losing)
    paragraphs = body(41).split("\n\n")
    partition = key_partition(url_key(make_article_id(canonicalize_url(URL))), 4)
    async with running_agents() as harness:
        await harness.put(message(page_id="p1", url=URL, fetched_at=FETCHED.isoformat(),
                                  html=article_html(paragraphs=paragraphs)))
        later = FETCHED + timedelta(hours=1)
        await harness.put(message(page_id="p2", url=URL, fetched_at=later.isoformat(),
                                  html=article_html(paragraphs=[*paragraphs, paragraph(9)])),
                          timestamp=later.timestamp())
        await asyncio.sleep(0.5)
        assert lost and harness.empty("articles")  # p2 parked behind the lost probe
        # The partition's data time moves past the dedupe window (another URL's page there).
        far = FETCHED + timedelta(days=8)
        await harness.put(message(page_id="far", url=_url_in_partition(partition),
                                  fetched_at=far.isoformat(),
                                  html=article_html(headline="Tram depot plans unveiled",
                                                    paragraphs=body(77).split("\n\n"))),
                          timestamp=far.timestamp())
        [other] = await harness.take("articles", 1)
        assert value(other)["page_id"] == "far"
        await harness.news.stories.send(key=b"sweep", value=sweep_marker(far),
                                         partition=partition)
        [released] = await harness.take("articles", 1)
    record = value(released)
    assert (record["page_id"], record["version"]) == ("p2", 1)
    assert record["id"] == make_article_id(canonicalize_url(URL))
