"""Where each input partition is: the last offset handled, skipped offsets, consumer lag.

Faust can skip input records around a rebalance or the end of table recovery: records already
drained into a stream buffer are dropped when flow control clears the buffers, the drain loop
marks them read, and aiokafka's `seek_to_committed` does not rewind partitions whose committed
offset is None or 0. Faust then even books the hole as a "gap" it may commit past. The agents
therefore check that the offsets they handle are contiguous; when one is missing they seek the
partition back to it (once per hole: a producer's transaction markers leave real holes, which
must not make us loop). Anything handled twice is re-published identically.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from aiokafka.partitioner import murmur2
from faust.types import TP, ConsumerT


class Positions:
    """Last handled offset per input partition, and the holes already rewound."""

    def __init__(self) -> None:
        self.last: dict[TP, int] = {}
        self._rewound: set[tuple[TP, int]] = set()
        # Latest article fetch time the dedupe agent has handled: the sweep's notion of "now".
        self.data_time: datetime | None = None

    def start_at(self, tp: TP, offset: int) -> None:
        """The partition was (re)assigned: its next record should be `offset`."""
        self.last[tp] = offset - 1

    def forget(self, keep: Iterable[TP]) -> None:
        """Drop partitions no longer assigned."""
        kept = set(keep)
        for tp in [tp for tp in self.last if tp not in kept]:
            del self.last[tp]

    def handled(self, tp: TP, offset: int) -> int | None:
        """Record `offset` as handled; the first skipped offset if records were skipped."""
        last = self.last.get(tp)
        self.last[tp] = offset
        if last is None or offset <= last + 1:
            return None
        hole = (tp, last + 1)
        if hole in self._rewound:
            return None  # rewound once already: a real hole (transaction markers)
        self._rewound.add(hole)
        return last + 1

    def lag(self, consumer: ConsumerT, topics: set[str]) -> Iterator[tuple[str, int, int]]:
        """(topic, partition, lag) for each assigned input partition with a known position."""
        for tp in sorted(consumer.assignment()):
            offset = self.last.get(tp)
            if tp.topic not in topics or offset is None:
                continue
            highwater = consumer.highwater(tp)
            if highwater is not None:
                yield tp.topic, tp.partition, max(0, int(highwater) - offset - 1)


def key_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives `key` (murmur2, as the Java client)."""
    digest: int = murmur2(key)
    return (digest & 0x7FFFFFFF) % partitions
