"""What makes /readyz 503, and the loop clock a page's time limit is measured on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from faust.types import TP

from worker.settings import Settings
from worker.stream.app import NewsApp, create_app
from worker.stream.consumer import InputConsumer
from worker.stream.health import FAILING_RECORDS, TICK, LoopClock, readiness

PAGES = TP("pages.raw", 0)


@pytest.fixture
def news(tmp_path: Path) -> Iterator[NewsApp]:
    news = create_app(Settings(store="memory", data_dir=str(tmp_path), web_port=0,
                               stall_timeout=60.0))
    news.health.assigned = True
    news.app.tables.recovery.completed.set()  # type: ignore[attr-defined]
    yield news


def test_ready_when_nothing_is_wrong(news: NewsApp) -> None:
    assert readiness(news, now=1000.0) == (True, "ready")


def test_not_ready_before_an_assignment(news: NewsApp) -> None:
    news.health.assigned = False
    assert readiness(news) == (False, "waiting for a partition assignment")


def test_a_broker_that_does_not_answer(news: NewsApp) -> None:
    news.health.broker_ok, news.health.broker_error = False, "KafkaConnectionError"
    assert readiness(news) == (False, "the broker does not answer (KafkaConnectionError)")


def test_a_publish_waiting_longer_than_the_stall_timeout(news: NewsApp) -> None:
    news.publisher.waiting.since[1] = 1000.0
    assert readiness(news, now=1059.0)[0]
    ready, reason = readiness(news, now=1061.0)
    assert not ready and reason == "a publish has waited 61 s for the broker's acknowledgement"


def test_sends_failing_for_a_while(news: NewsApp) -> None:
    news.publisher.waiting.since[1] = 1000.0
    news.publisher.waiting.failing_since = 1001.0
    news.publisher.waiting.last_error = "NotLeaderForPartitionError"
    assert readiness(news, now=1005.0)[0]
    assert readiness(news, now=1007.0) == (
        False, "sends have failed for 6 s and are being retried (NotLeaderForPartitionError)")


def placed_at_10(news: NewsApp) -> InputConsumer:
    """The worker's consumer with pages.raw:0 placed at offset 10, last moved at t=1000."""
    consumer = news.app.consumer
    assert isinstance(consumer, InputConsumer)
    consumer._inputs = {PAGES}
    consumer.positions.start_at(PAGES, 10)
    consumer._moved[PAGES] = 1000.0
    return consumer


def test_a_stalled_partition(news: NewsApp, monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = placed_at_10(news)
    monkeypatch.setattr(consumer, "highwater", lambda tp: 25)
    assert readiness(news, now=1059.0)[0]
    assert readiness(news, now=1061.0) == (
        False, "input pages.raw:0 has not moved for 61 s with 15 records to go")
    monkeypatch.setattr(consumer, "highwater", lambda tp: 10)  # idle, nothing to do: fine
    assert readiness(news, now=1061.0)[0]


def test_offsets_the_fetcher_passed_after_its_last_record_are_no_lag(
    news: NewsApp, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A transactional crawler's last page, then its commit marker: the end is one past it."""
    consumer = placed_at_10(news)
    monkeypatch.setattr(consumer, "highwater", lambda tp: 11)
    consumer._fetched[PAGES] = (10, 11)  # records up to 9 handed out, then the marker at 10
    assert list(consumer.lag()) == [("pages.raw", 0, 0)]
    assert readiness(news, now=1061.0)[0]
    consumer._fetched[PAGES] = (10, 10)  # the marker not fetched yet: it still counts
    assert list(consumer.lag()) == [("pages.raw", 0, 1)]
    # Pages 10 and 11 fetched (the agent has not taken them), then a marker at 12.
    monkeypatch.setattr(consumer, "highwater", lambda tp: 13)
    consumer._fetched[PAGES] = (12, 13)
    assert list(consumer.lag()) == [("pages.raw", 0, 2)]
    # The stall clock runs from the last moment it had no lag (1061), not its last record.
    assert readiness(news, now=1121.0)[0]
    assert readiness(news, now=1122.0) == (
        False, "input pages.raw:0 has not moved for 61 s with 2 records to go")
    # A seek back below the fetched range: what was fetched says nothing about the offsets
    # from the next one on.
    consumer._fetched[PAGES] = (14, 13)
    assert list(consumer.lag()) == [("pages.raw", 0, 3)]


def test_an_agent_whose_records_keep_failing(news: NewsApp) -> None:
    news.health.poison_in_a_row["identify_stories"] = FAILING_RECORDS - 1
    assert readiness(news)[0]
    news.health.poison_in_a_row["identify_stories"] = FAILING_RECORDS
    assert readiness(news) == (
        False, f"identify_stories failed on its last {FAILING_RECORDS} records "
               "(see its error log)")


def test_the_loop_clock_counts_only_time_the_loop_ran() -> None:
    clock = LoopClock(freeze=10.0)
    clock.note(now=100.0)
    for step in range(1, 11):  # one second of regular ticks
        clock.note(now=100.0 + step * TICK)
    assert clock.running == pytest.approx(1.0)
    clock.note(now=130.0)  # frozen (SIGSTOP) for ~29 s: one tick's worth at most
    assert clock.running == pytest.approx(1.0 + 2 * TICK)
    assert clock.woke_at == 130.0
    clock.note(now=133.0)  # 3 s of starvation: not a freeze, still barely counted
    assert clock.woke_at == 130.0 and clock.running == pytest.approx(1.0 + 4 * TICK)
