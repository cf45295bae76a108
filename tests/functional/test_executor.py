"""PageExecutor: the pipeline off the event loop, a per-page time limit, dead processes replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess

import pytest

from tests.factories import message
from worker.errors import RejectReason
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.types import Article, Rejection, Source
from worker.stream.executor import STUCK_AFTER, PageExecutor

RECEIVED = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
SOURCE = Source("pages.raw", 1, 42)


def _long_article(paragraphs: int) -> str:
    text = "The council met on Tuesday to discuss the new budget for roads and schools. " * 3
    body = f"<p>{text}</p>\n" * paragraphs
    return (f"<html><head><title>Budget</title></head><body><article><h1>A long page</h1>"
            f"{body}</article></body></html>")


@pytest.fixture
async def executor() -> AsyncIterator[PageExecutor]:
    pool = PageExecutor(PipelineOptions(), processes=1, timeout=30.0)
    pool.start()
    try:
        yield pool
    finally:
        pool.stop()


async def test_same_result_as_the_pipeline_in_process(executor: PageExecutor) -> None:
    page = message(page_id="p1")
    result = await executor.process(page, RECEIVED, SOURCE)
    expected = process_page(page, received_at=RECEIVED, options=PipelineOptions(), source=SOURCE)
    assert isinstance(result, Article)
    assert result == expected


async def test_rejections_come_back_with_their_source(executor: PageExecutor) -> None:
    result = await executor.process(b"{not json", RECEIVED, SOURCE)
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.INVALID_JSON
    assert result.source == SOURCE


async def test_overrun_is_rejected_and_the_process_replaced(executor: PageExecutor) -> None:
    # A 1 MB article takes about 1.8 s of CPU to extract: far past the limit even when the
    # event loop is starved (with a 1 ms limit and a small page, a loop woken late found the
    # result ready and took it: Python 3.11's wait_for prefers a finished result).
    executor.timeout = 0.05
    old_pid = executor._all[0].process.pid  # type: ignore[union-attr]
    slow = message(page_id="slow", url="https://a.example/x", html=_long_article(4000))
    result = await executor.process(slow, RECEIVED, SOURCE)
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.TIMEOUT
    assert (result.page_id, result.url) == ("slow", "https://a.example/x")
    assert executor.restarts == 1
    new_process = executor._all[0].process
    assert new_process is not None and new_process.pid != old_pid and new_process.is_alive()
    # The replacement works normally once the limit allows it.
    executor.timeout = 30.0
    assert isinstance(await executor.process(message(page_id="p2"), RECEIVED, SOURCE), Article)


async def test_a_killed_process_is_replaced_and_the_page_retried(executor: PageExecutor) -> None:
    process = executor._all[0].process
    assert process is not None and process.pid is not None
    os.kill(process.pid, signal.SIGKILL)
    process.join(timeout=5)
    result = await executor.process(message(page_id="p3"), RECEIVED, SOURCE)
    assert isinstance(result, Article) and result.page_id == "p3"
    assert executor.restarts == 1


async def test_the_event_loop_stays_free_while_pages_are_extracted(
    executor: PageExecutor,
) -> None:
    pages = [message(page_id=f"p{i}") for i in range(8)]
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    for page in pages:
        assert isinstance(await executor.process(page, RECEIVED, SOURCE), Article)
    done.set()
    await task
    assert gaps and max(gaps) < 0.5


async def test_thread_mode_rejects_an_overrun_too() -> None:
    # A page that takes seconds, against a limit of 0.2 s: the outcome does not depend on
    # how busy the machine is (a tiny limit on a fast page raced the worker thread).
    words = "word " * 8
    slow = "<html><body>" + "".join(f"<p>{words} {i}</p>" for i in range(20_000))
    pool = PageExecutor(PipelineOptions(), processes=0, timeout=0.2)
    pool.start()
    try:
        page = message(page_id="t1", html=slow + "</body></html>")
        result = await pool.process(page, RECEIVED, SOURCE)
    finally:
        pool.stop()
    assert isinstance(result, Rejection) and result.reason is RejectReason.TIMEOUT


# About a second of extraction: long enough to be in flight when it is cancelled.
SLOW = "<html><body>" + "".join(f"<p>{'word ' * 8} {i}</p>" for i in range(5_000))


async def test_a_cancelled_page_never_hands_its_result_to_the_next_one(
    executor: PageExecutor,
) -> None:
    slow = asyncio.ensure_future(executor.process(
        message(page_id="slow", html=SLOW + "</body></html>"), RECEIVED, SOURCE))
    while executor._slots is not None and not executor._slots.empty():
        await asyncio.sleep(0)  # until the slow page has the only slot
    await asyncio.sleep(0.05)
    slow.cancel()  # a rebalance or a shutdown: its result will never be read by its caller
    with pytest.raises(asyncio.CancelledError):
        await slow
    # The slot is not back in the pool while its process still works on the slow page (a
    # second page sent down that pipe would race the first one's reader for its result).
    assert executor._slots is not None and executor._slots.empty()
    fast = await executor.process(message(page_id="fast"), RECEIVED, SOURCE)
    assert isinstance(fast, Article) and fast.page_id == "fast"
    assert executor.restarts == 0  # the slow page was let finish, its result dropped


async def test_processes_are_recycled_after_max_pages_or_when_left_large() -> None:
    causes: list[str] = []
    pool = PageExecutor(PipelineOptions(), processes=1, timeout=30.0, max_pages=2,
                        on_restart=causes.append)
    pool.start()
    try:
        first_pid = pool.pids()
        for i in range(3):
            result = await pool.process(message(page_id=f"p{i}"), RECEIVED, SOURCE)
            assert isinstance(result, Article) and result.page_id == f"p{i}"
        assert causes == ["recycled"] and pool.pids() != first_pid  # after the 2nd page
        pool.max_pages, pool.max_rss = 0, 1  # every process is now "too large"
        second_pid = pool.pids()
        assert isinstance(await pool.process(message(page_id="p3"), RECEIVED, SOURCE), Article)
        assert isinstance(await pool.process(message(page_id="p4"), RECEIVED, SOURCE), Article)
        assert causes[:2] == ["recycled", "recycled"] and pool.pids() != second_pid
    finally:
        pool.stop()


def _stop_extraction(executor: PageExecutor) -> tuple[BaseProcess, int]:
    """SIGSTOP the pool's extraction process: it gets no CPU until a SIGCONT (or its kill)."""
    process = executor._all[0].process
    assert process is not None and process.pid is not None
    os.kill(process.pid, signal.SIGSTOP)
    return process, process.pid


class FrozenClock:
    """Running time that does not move: the worker is frozen (SIGSTOP) or starved."""

    def now(self) -> float:
        return 0.0


async def test_time_the_worker_did_not_run_is_not_blamed_on_the_page(
    executor: PageExecutor,
) -> None:
    # The page's process gets no CPU for longer than the stuck backstop, but the worker was
    # not running either (frozen, starved): its running time decides the backstop, not the
    # wall clock.
    executor.timeout, executor.clock = 0.2, FrozenClock()
    _, pid = _stop_extraction(executor)
    wall = STUCK_AFTER * executor.timeout + 0.5
    asyncio.get_running_loop().call_later(wall, os.kill, pid, signal.SIGCONT)
    result = await executor.process(message(page_id="p1"), RECEIVED, SOURCE)
    assert isinstance(result, Article)
    assert executor.restarts == 0


async def test_a_page_waiting_for_a_core_is_not_blamed_for_the_wait(
    executor: PageExecutor,
) -> None:
    # The machine short of CPU, at its extreme: the extraction process gets none for three
    # times the limit (SIGSTOP), then runs the page in a few ms. The limit is the page's
    # own CPU: judged by the wall clock it was a timeout under load, an article otherwise.
    executor.timeout = 0.5
    _, pid = _stop_extraction(executor)
    asyncio.get_running_loop().call_later(1.5, os.kill, pid, signal.SIGCONT)
    began = time.monotonic()
    result = await executor.process(message(page_id="p1"), RECEIVED, SOURCE)
    assert time.monotonic() - began >= 1.5
    assert isinstance(result, Article) and result.page_id == "p1"
    assert executor.restarts == 0


async def test_a_page_stuck_without_using_cpu_is_rejected_after_the_backstop(
    executor: PageExecutor,
) -> None:
    executor.timeout = 0.2
    process, _ = _stop_extraction(executor)  # never continued: killed with its slot
    began = time.monotonic()
    result = await executor.process(message(page_id="p1"), RECEIVED, SOURCE)
    waited = time.monotonic() - began
    assert isinstance(result, Rejection) and result.reason is RejectReason.TIMEOUT
    assert waited >= STUCK_AFTER * executor.timeout
    assert executor.restarts == 1 and not process.is_alive()
    executor.timeout = 30.0
    assert isinstance(await executor.process(message(page_id="p2"), RECEIVED, SOURCE), Article)
