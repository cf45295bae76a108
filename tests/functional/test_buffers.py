"""Stream buffers are bounded in bytes: fetching pauses, and hand-over waits, on size too."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from worker.settings import Settings
from worker.stream.app import create_app
from worker.stream.fence import BoundedQueue


@dataclass
class Msg:
    value: bytes
    key: bytes = b""


@dataclass
class Ev:
    message: Msg


def record(size: int) -> Ev:
    return Ev(Msg(b"x" * size))


@pytest.fixture
async def queue(tmp_path: Path) -> BoundedQueue:
    news = create_app(Settings(store="memory", data_dir=str(tmp_path), web_port=0,
                               buffer_mb=1))
    news.app.flow_control.resume()  # as after a rebalance: streams may take records
    queue = news.pages.queue  # the pages stream's buffer, as Faust makes it
    assert isinstance(queue, BoundedQueue) and queue.max_bytes == 1_000_000
    assert queue.maxsize == 64
    return queue


async def test_full_by_bytes_long_before_the_count(queue: BoundedQueue) -> None:
    queue.put_nowait(record(600_000))
    assert not queue.full()
    queue.put_nowait(record(500_000))
    assert queue.full() and queue.qsize() == 2 and queue.bytes == 1_100_000
    waiting = asyncio.ensure_future(queue.put(record(10)))  # Faust's hand-over waits...
    await asyncio.sleep(0.01)
    assert not waiting.done()
    queue.get_nowait()  # ...until a record is taken
    await asyncio.wait_for(waiting, 1)
    assert queue.bytes == 500_010


async def test_one_record_larger_than_the_budget_still_goes(queue: BoundedQueue) -> None:
    assert not queue.full()
    await asyncio.wait_for(queue.put(record(3_000_000)), 1)
    assert queue.full() and len(queue.get_nowait().message.value) == 3_000_000
    assert queue.bytes == 0 and not queue.full()


async def test_fetching_pauses_on_bytes_and_resumes_when_they_drain(queue: BoundedQueue) -> None:
    paused, resumed = [], []

    def pause() -> None:
        paused.append(1)

    def resume() -> None:
        resumed.append(1)

    for size in (700_000, 200_000):
        queue.put_nowait_enhanced(record(size), on_pressure_high=pause, on_pressure_drop=resume)
    assert not paused  # the check comes before each record: 70 % when the second came
    queue.put_nowait_enhanced(record(10), on_pressure_high=pause, on_pressure_drop=resume)
    assert paused == [1]  # 90 % held: that partition's fetching pauses (on_buffer_full)
    queue.get_nowait()  # 20 % left
    assert not resumed
    queue.get_nowait()  # the next take sees it: fetching resumes (on_buffer_drop)
    queue.get_nowait()
    assert resumed == [1]


async def test_clearing_the_buffer_resets_its_bytes(queue: BoundedQueue) -> None:
    queue.put_nowait(record(900_000))
    queue.clear()  # Faust clears stream buffers on a rebalance
    assert queue.bytes == 0 and not queue.full()
