"""Positions: each partition is processed in order from its start; holes are re-read first."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from faust.types import TP

from worker.stream.positions import ADMIT, DROP, Positions, Step, Verdict, key_partition

PAGES = TP("pages.raw", 2)


def verdicts(positions: Positions, offsets: list[int]) -> list[Step]:
    return [positions.check(PAGES, o) for o in offsets]


def test_nothing_is_admitted_before_the_start_is_known() -> None:
    positions = Positions()
    assert verdicts(positions, [0, 1]) == [DROP, DROP]
    positions.start_at(PAGES, 1)
    assert verdicts(positions, [1, 2]) == [ADMIT, ADMIT]


def test_contiguous_offsets_are_admitted_and_repeats_dropped() -> None:
    positions = Positions()
    positions.start_at(PAGES, 0)
    assert verdicts(positions, [0, 1, 2, 1, 2, 3]) == [ADMIT, ADMIT, ADMIT, DROP, DROP, ADMIT]


def test_a_skipped_offset_rewinds_and_is_read_first() -> None:
    positions = Positions()
    positions.start_at(PAGES, 0)
    assert verdicts(positions, [0, 1]) == [ADMIT, ADMIT]
    assert positions.check(PAGES, 4) == Step(Verdict.REWIND, rewind_to=2)
    # The consumer sought back (records fetched before that are stale and never checked).
    assert verdicts(positions, [2, 3, 4, 5]) == [ADMIT] * 4


def test_the_same_later_offset_after_the_rewind_is_a_real_hole() -> None:
    positions = Positions()
    positions.start_at(PAGES, 10)
    assert positions.check(PAGES, 12) == Step(Verdict.REWIND, rewind_to=10)
    # Read again from 10: 12 still comes first (transaction markers): no loop.
    assert positions.check(PAGES, 12) == Step(Verdict.ADMIT, hole=(10, 12))
    assert positions.check(PAGES, 13) == ADMIT


def test_forget_drops_partitions_not_kept() -> None:
    positions = Positions()
    positions.start_at(PAGES, 5)
    positions.forget([TP("pages.raw", 1)])
    assert positions.check(PAGES, 5) == DROP  # waits for its start again


def test_key_partition_matches_the_producers_partitioner() -> None:
    partitioner = DefaultPartitioner()
    for i in range(200):
        key = f"dedupe-key-{i}".encode()
        assert key_partition(key, 4) == partitioner(key, [0, 1, 2, 3], [0, 1, 2, 3])
