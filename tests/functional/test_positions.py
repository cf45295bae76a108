"""Positions: skipped input offsets are noticed once per hole; replays are not holes."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from faust.types import TP

from worker.positions import Positions, key_partition

PAGES = TP("pages.raw", 2)


def test_contiguous_offsets_and_replays_are_fine() -> None:
    positions = Positions()
    positions.start_at(PAGES, 0)
    assert [positions.handled(PAGES, o) for o in (0, 1, 2, 1, 2, 3)] == [None] * 6


def test_a_skipped_offset_is_reported_once() -> None:
    positions = Positions()
    positions.start_at(PAGES, 0)
    assert positions.handled(PAGES, 0) is None
    assert positions.handled(PAGES, 1) is None
    assert positions.handled(PAGES, 3) == 2  # offset 2 never arrived: seek back to it
    assert positions.handled(PAGES, 2) is None  # re-read after the seek
    assert positions.handled(PAGES, 3) is None
    assert positions.handled(PAGES, 1) is None  # ... and back to 1 after that: a replay
    assert positions.handled(PAGES, 3) is None  # the same hole again: a real one, no loop


def test_the_first_record_after_assignment_is_checked() -> None:
    positions = Positions()
    positions.start_at(PAGES, 10)
    assert positions.handled(PAGES, 12) == 10


def test_forget_drops_revoked_partitions() -> None:
    positions = Positions()
    positions.start_at(PAGES, 5)
    positions.forget([TP("pages.raw", 1)])
    assert positions.handled(PAGES, 9) is None  # unknown partition: nothing to compare


def test_key_partition_matches_the_producers_partitioner() -> None:
    partitioner = DefaultPartitioner()
    for i in range(200):
        key = f"dedupe-key-{i}".encode()
        assert key_partition(key, 4) == partitioner(key, [0, 1, 2, 3], [0, 1, 2, 3])
