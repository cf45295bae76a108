"""A table's persisted changelog offset that never skips records another worker wrote.

Faust keeps, in each local RocksDB partition, the changelog offset the store is known to hold
("persisted offset"); when the partition is assigned again, recovery reads the changelog from
there on. With at-least-once processing, faust-streaming 0.15.3 also sets it to the offset of
every changelog record this worker itself sends, as soon as the broker acknowledges it
(`Collection._on_changelog_sent`). That assumes this worker is the partition's only writer.
A worker cut off by a network partition breaks it: records it handed to its producer before
the cut are acknowledged after the heal, at offsets after everything the partition's new
owner wrote meanwhile; its persisted offset jumps past the new owner's records, and when
the partition comes back to it, recovery starts after them: they are never applied to its
store (tests/cluster/test_network_partition.py lost pages this way: URL entries with pages
parked behind them were missing, so those pages were never decided; docs/reliability.md).

`ContiguousPersistedOffsets._on_changelog_sent` moves the persisted offset over this
worker's own acknowledged records only while they follow it without a gap (offset ==
persisted + 1; acknowledgements that arrive out of order wait in `_ahead` until the gap is
filled). A record someone else wrote in between is never filled in by our sends, so the
persisted offset stays before it; the next recovery reads from there and applies every
record in log order, ours included (the same state a fresh restore computes). Recovery and
standby reads set the persisted offset as before (the store's `apply_changelog_batch`).

Leans on these faust-streaming 0.15.3 names (pinned; tests/functional/test_changelog.py
fails loudly on another version):
  faust.tables.base.Collection._on_changelog_sent   the callback `send_changelog` passes
                                                    to `send_soon` (private)
  Collection.data.persisted_offset / set_persisted_offset   the store's offset (StoreT API)
  App.in_transaction                                 exactly-once keeps Faust's own path
"""

from __future__ import annotations

from typing import Any

from faust.types import TP, FutureMessage

FAUST_VERSION = "0.15.3"  # the version whose private callback this module overrides
MAX_AHEAD = 4096  # acknowledged offsets kept past a gap per partition (then let go: safe)


class ContiguousPersistedOffsets:
    """Mixin for a `faust.Table`: the persisted offset advances only over contiguous offsets."""

    app: Any
    data: Any

    def _on_changelog_sent(self, fut: FutureMessage) -> None:
        if self.app.in_transaction:
            super()._on_changelog_sent(fut)  # type: ignore[misc]  # faust's own (exactly-once)
            return
        res = fut.result()
        tp = TP(res.topic_partition.topic, res.topic_partition.partition)
        advance_persisted(self.data, tp, res.offset, self._ahead_of(tp))

    def _ahead_of(self, tp: TP) -> set[int]:
        ahead: dict[TP, set[int]] | None = self.__dict__.get("_contiguous_ahead")
        if ahead is None:
            ahead = self.__dict__["_contiguous_ahead"] = {}
        return ahead.setdefault(tp, set())


def advance_persisted(store: Any, tp: TP, offset: int, ahead: set[int]) -> int | None:
    """Record that our record at `offset` was acknowledged; the persisted offset after.

    `ahead` holds our acknowledged offsets beyond the persisted one that cannot be reached
    yet (a gap before them). None: nothing persisted (a store that never read its changelog
    counts as holding nothing before offset 0).
    """
    persisted = store.persisted_offset(tp)
    current = -1 if persisted is None else int(persisted)
    if offset <= current:
        return current  # already covered (recovery or standby read it)
    ahead.add(offset)
    start = current
    while current + 1 in ahead:
        current += 1
    if current != start:
        store.set_persisted_offset(tp, current)
    for done in [o for o in ahead if o <= current]:
        ahead.discard(done)
    if len(ahead) > MAX_AHEAD:
        ahead.clear()  # a foreign record blocks them for good: the next recovery reads them
    return current if current >= 0 else None
