"""PageExecutor.start: every extraction process is spawned before any is waited for, so N
processes cost about one start-up (imports + warm-up page), not N in a row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.factories import message
from worker.pipeline import PipelineOptions
from worker.pipeline.types import Article, Source
from worker.stream import extraction
from worker.stream.executor import PageExecutor


async def test_all_processes_start_before_any_is_waited_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []
    spawn, wait_ready = extraction.Slot.spawn, extraction.Slot.wait_ready

    def spawning(slot: extraction.Slot) -> None:
        spawn(slot)
        assert slot.process is not None
        calls.append(("spawn", slot.process.pid or 0))

    def waiting(slot: extraction.Slot) -> None:
        assert slot.process is not None
        calls.append(("wait", slot.process.pid or 0))
        wait_ready(slot)

    monkeypatch.setattr(extraction.Slot, "spawn", spawning)
    monkeypatch.setattr(extraction.Slot, "wait_ready", waiting)
    pool = PageExecutor(PipelineOptions(), processes=2, timeout=30.0)
    pool.start()
    try:
        assert [kind for kind, _ in calls] == ["spawn"] * 2 + ["wait"] * 2
        assert len({pid for _, pid in calls}) == 2
        assert not any(slot._warming for slot in pool._all)  # each "ready" read at start
        received = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
        for k in range(2):
            result = await pool.process(message(id=f"p{k}"), received, Source("pages.raw", 0, k))
            assert isinstance(result, Article)
    finally:
        pool.stop()


async def test_stop_hangs_up_on_every_process_before_waiting_and_each_exits_cleanly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    hang_up, close = extraction.Slot.hang_up, extraction.Slot.close

    def hanging_up(slot: extraction.Slot) -> None:
        calls.append("hang up")
        hang_up(slot)

    def closing(slot: extraction.Slot) -> None:
        calls.append("close")
        close(slot)

    pool = PageExecutor(PipelineOptions(), processes=2, timeout=30.0)
    pool.start()
    processes = [slot.process for slot in pool._all]
    monkeypatch.setattr(extraction.Slot, "hang_up", hanging_up)
    monkeypatch.setattr(extraction.Slot, "close", closing)
    pool.stop()
    assert calls[:2] == ["hang up", "hang up"]  # close() hangs up again: a no-op by then
    # Each left by itself on end of input (exit code 0), none was killed after the 2 s grace.
    assert [p.exitcode for p in processes if p is not None] == [0, 0]
