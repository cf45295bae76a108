"""Skipped input offsets are split into pages deleted unread and offsets that never held one
(news_input_skipped_offsets_total{kind}): NewsInputOffsetsSkipped pages on the first only."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from worker.stream.positions import split_hole


def test_a_transaction_marker_above_the_log_start_never_held_a_page() -> None:
    assert split_hole(17, 18, log_start=0) == (0, 1)


def test_offsets_below_the_log_start_were_deleted() -> None:
    assert split_hole(5, 15, log_start=15) == (10, 0)
    assert split_hole(5, 15, log_start=40) == (10, 0)  # retention moved on since


def test_a_range_across_the_log_start_is_split_there() -> None:
    assert split_hole(5, 15, log_start=12) == (7, 3)


def test_an_unknown_log_start_counts_as_deleted() -> None:
    assert split_hole(5, 8, log_start=None) == (3, 0)


@given(st.integers(0, 10**6), st.integers(1, 10**4), st.none() | st.integers(0, 2 * 10**6))
def test_every_offset_is_counted_once_and_only_those_below_the_log_start_as_deleted(
    start: int, size: int, log_start: int | None,
) -> None:
    deleted, never = split_hole(start, start + size, log_start)
    assert deleted >= 0 and never >= 0 and deleted + never == size
    if log_start is not None:
        assert deleted == len([o for o in range(start, start + size) if o < log_start])
