"""Which input record each partition may process next: in order, from its start, no holes.

Pure bookkeeping (no I/O); `worker/stream/consumer.py` applies it to Faust's consumer.

    start_at(tp, offset)   the partition was sought to `offset` (its committed offset, or its
                           earliest when nothing is committed): that record comes next
    check(tp, offset)      ADMIT   offset is the next one: process it
                           DROP    before the start is known, or already handled (a repeat)
                           REWIND  a later offset: records went missing; seek back to
                                   `rewind_to` and drop records until that one arrives
    After a REWIND, if the first record read again is the same later offset, the offsets in
    between do not exist (transaction markers, retention): ADMIT with `hole` = that range.

    start_offset(...)      where a partition resumes (its committed offset while it exists)
    split_hole(...)        which offsets of a hole retention deleted and which never held one
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiokafka.partitioner import murmur2

if TYPE_CHECKING:  # faust.types costs ~0.2 s to import; `process` only needs key_partition
    from faust.types import TP


class Verdict(enum.Enum):
    """What to do with one input record."""

    ADMIT = "admit"
    DROP = "drop"
    REWIND = "rewind"


@dataclass(frozen=True)
class Step:
    """A verdict, with the offset to seek back to (REWIND) or a range found empty (ADMIT)."""

    verdict: Verdict
    rewind_to: int | None = None
    hole: tuple[int, int] | None = None  # [start, end): offsets that do not exist


ADMIT = Step(Verdict.ADMIT)
DROP = Step(Verdict.DROP)


class Positions:
    """The next offset to process per assigned input partition."""

    def __init__(self) -> None:
        self.next: dict[TP, int] = {}
        self._rewound: dict[TP, tuple[int, int]] = {}  # the hole we last sought back over

    def start_at(self, tp: TP, offset: int) -> None:
        """The partition was sought to `offset`: its next record should be that one."""
        self.next[tp] = offset
        self._rewound.pop(tp, None)

    def forget(self, keep: Iterable[TP] = ()) -> None:
        """Drop every partition not in `keep` (revoked, or waiting for its start position)."""
        kept = set(keep)
        for tp in [tp for tp in self.next if tp not in kept]:
            del self.next[tp]
            self._rewound.pop(tp, None)

    def check(self, tp: TP, offset: int) -> Step:
        """The verdict on the record at `offset`; an admitted offset counts as handled."""
        expected = self.next.get(tp)
        if expected is None or offset < expected:
            return DROP
        hole: tuple[int, int] | None = None
        if offset > expected:
            if self._rewound.get(tp) != (expected, offset):
                self._rewound[tp] = (expected, offset)
                return Step(Verdict.REWIND, rewind_to=expected)
            hole = (expected, offset)  # read again from `expected`: `offset` still came first
        self.next[tp] = offset + 1
        return Step(Verdict.ADMIT, hole=hole) if hole else ADMIT


def key_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives `key` (murmur2, as the Java client)."""
    digest: int = murmur2(key)
    return (digest & 0x7FFFFFFF) % partitions


DELETED, HOLE = "deleted", "hole"  # the `kind` of news_input_skipped_offsets_total


def split_hole(start: int, end: int, log_start: int | None) -> tuple[int, int]:
    """(deleted, never held a record) of the empty offsets [start, end), given the log start.

    Offsets below the log start were removed by retention or DeleteRecords (they may have held
    pages); the rest never held one to process (transaction markers, aborted transactions'
    records, records compacted away). With the log start unknown, all count as deleted: a
    loss is not ruled out.
    """
    if log_start is None:
        return end - start, 0
    deleted = max(0, min(end, log_start) - start)
    return deleted, end - start - deleted


def start_offset(committed: int | None, earliest: int, end: int) -> int:
    """Where an input partition resumes: its committed offset while that record exists.

    Never committed: its earliest offset. Committed below the earliest (retention or deleted
    records removed what was not processed yet): the earliest, and the offsets in between are
    counted as skipped. Committed past the end (the topic was deleted and made again): the
    earliest, as Kafka's auto.offset.reset=earliest would.
    """
    if committed is None or committed < earliest or committed > end:
        return earliest
    return committed
