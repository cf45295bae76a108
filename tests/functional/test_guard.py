"""Routing errors through the real agents (in memory): a transient error costs a retry, a
record that always fails becomes one internal_error rejection, and the partition moves on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.factories import message
from tests.functional.harness import Harness, running_agents, value
from tests.stories import body
from worker.stream import agents


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with running_agents() as running:
        yield running


def failing(monkeypatch: pytest.MonkeyPatch, page_id: str, times: int) -> list[int]:
    """Make the identity stage raise `times` times on records of `page_id`; count calls."""
    real = agents.identity_record
    calls: list[int] = []

    def step(value: bytes, partition: int, state: Any) -> Any:
        if page_id.encode() in value:
            calls.append(1)
            if len(calls) <= times:
                raise RuntimeError(f"bug #{len(calls)}")
        return real(value, partition, state)

    monkeypatch.setattr(agents, "identity_record", step)
    return calls


def metric(harness: Harness, sample: str) -> float:
    for line in harness.news.metrics.render().decode().splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {sample}")


async def test_a_transient_error_is_retried_and_the_page_comes_out(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = failing(monkeypatch, "flaky", times=1)
    await harness.put(message(page_id="flaky"))
    [article] = await harness.take("articles", 1)
    assert value(article)["page_id"] == "flaky" and len(calls) >= 2
    assert metric(harness, 'news_agent_errors_total{agent="identify_stories"}') == 1
    assert metric(harness, 'news_poison_records_total{agent="identify_stories"}') == 0
    assert harness.empty("rejected")


async def test_a_record_that_always_fails_is_rejected_once_and_the_next_one_goes(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    failing(monkeypatch, "doomed", times=1000)
    await harness.put(message(page_id="doomed"), offset=4)
    await harness.put(message(page_id="after", url="https://x.example/news/after",
                              text=body(3)), offset=5)
    [rejection] = await harness.take("rejected", 1)
    r = value(rejection)
    assert r["reason"] == "internal_error" and r["page_id"] == "doomed"
    assert r["detail"] == "identify_stories failed 3 times: RuntimeError: bug #3"
    assert r["source"]["offset"] == 4 and r["original_omitted"] == "not_kept"
    [article] = await harness.take("articles", 1)
    assert value(article)["page_id"] == "after"
    assert metric(harness, 'news_agent_errors_total{agent="identify_stories"}') == 3
    assert metric(harness, 'news_poison_records_total{agent="identify_stories"}') == 1
    assert metric(harness, 'news_rejections_total{reason="internal_error"}') == 1
