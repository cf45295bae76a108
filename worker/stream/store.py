"""The identity table as a `RawStore` (worker/pipeline/state.py), for the identity agent.

get / put / delete go through the Faust table, and only ever inside the handling of an
stories-topic event: Faust then reads and writes the store of that event's partition and
sends the changelog record to the same partition, so a partition's state is written only by
the worker that owns (and is processing) that partition.

`items_in(partition, after)` reads a partition's store directly, which Faust has no public
API for. It leans on these private faust-streaming 0.15.3 names (pinned in pyproject.toml;
tests/functional/test_store.py fails loudly on another version):
  faust.stores.rocksdb.Store._dbs        partition -> rocksdict.Rdict (items(from_key=...))
  faust.stores.rocksdb.Store.offset_key  the key Faust keeps the changelog offset under
  faust.stores.memory.Store.data         the dict the memory store keeps (all partitions)
  faust.streams._current_event           the context variable Faust's table reads to pick
                                         the partition (`event_context` sets it)
A revoked partition's Rdict is dropped from `_dbs` but not closed, and Faust waits for the
event being handled to finish before it revokes: an iteration inside one event is safe.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import faust
import faust.streams

from worker.pipeline.state import RESERVED
from worker.stream.positions import key_partition

FAUST_VERSION = "0.15.3"  # the version whose private store attributes this module reads


class TableStore:
    """`RawStore` over the Faust table `table` (bytes keys and values)."""

    def __init__(self, table: Any, partitions: int) -> None:
        self.table = table
        self.partitions = partitions

    def get(self, key: bytes) -> bytes | None:
        value = self.table.get(key)
        return value if isinstance(value, bytes) else None

    def put(self, key: bytes, value: bytes) -> None:
        self.table[key] = value

    def delete(self, key: bytes) -> None:
        self.table.pop(key, None)

    def items_in(self, partition: int, after: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        """The partition's keys (reserved ones included) in byte order, after `after`."""
        store = self.table.data
        dbs = getattr(store, "_dbs", None)
        if dbs is not None:  # RocksDB: one database per partition, iterated in key order
            db = dbs.get(partition)
            if db is None:
                return
            skip = getattr(store, "offset_key", b"__faust\x00offset__")
            for key, value in db.items(from_key=after):
                if key == after or key == skip or not isinstance(value, bytes):
                    continue
                yield key, value
            return
        data = store.data  # the memory store: one dict for every partition
        keys = sorted(k for k in list(data) if isinstance(k, bytes) and (
            after is None or k > after) and (k.startswith(RESERVED) or key_partition(
                k, self.partitions) == partition))
        for key in keys:
            value = data.get(key)
            if isinstance(value, bytes):
                yield key, value


def check_faust_version() -> None:
    """Refuse to run `items_in` on a faust this module was not written against."""
    if faust.__version__ != FAUST_VERSION:
        raise RuntimeError(f"worker/stream/store.py reads private faust {FAUST_VERSION} "
                           f"names; installed is {faust.__version__}")


@contextmanager
def event_context(event: Any) -> Iterator[Any]:
    """Make `event` Faust's current event (the table's reads and writes then go to its
    partition), and restore the previous one after."""
    variable = faust.streams._current_event  # noqa: SLF001 - fenced here, see the docstring
    token = variable.set(weakref.ref(event) if event is not None else None)
    try:
        yield event
    finally:
        variable.reset(token)
