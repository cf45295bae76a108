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
