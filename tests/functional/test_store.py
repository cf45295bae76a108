"""worker/stream/store.py against the real faust it is fenced to: fails loudly on another one.

The store reads faust-streaming 0.15.3's private `Store._dbs`, `Store.offset_key`, the memory
store's `data` and `faust.streams._current_event`; these tests use the real objects.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import faust

from worker.settings import Settings
from worker.stream.app import create_app
from worker.stream.positions import key_partition
from worker.stream.store import FAUST_VERSION, TableStore, check_faust_version, event_context


def test_the_installed_faust_is_the_one_the_store_was_written_for() -> None:
    assert faust.__version__ == FAUST_VERSION
    check_faust_version()


def test_items_in_reads_one_rocksdb_partition_in_key_order(tmp_path: Path) -> None:
    news = create_app(Settings(app_id="store-test", data_dir=str(tmp_path), store="rocksdb"))
    store = news.identity.data
    db = store._db_for_partition(2)  # what Faust opens when partition 2 is assigned
    for key in (b"u:b", b"u:a", b"h:c", b"\x00clock:2"):
        db[key] = b"\x01" + key
    db[store.offset_key] = b"7"  # Faust's own bookkeeping: never returned
    table = TableStore(news.identity, 4)
    assert [k for k, _ in table.items_in(2, None)] == [b"\x00clock:2", b"h:c", b"u:a", b"u:b"]
    assert [k for k, _ in table.items_in(2, b"h:c")] == [b"u:a", b"u:b"]
    assert list(table.items_in(3, None)) == []  # a partition this worker does not hold


def test_items_in_filters_the_memory_store_by_partition() -> None:
    news = create_app(Settings(app_id="store-mem", store="memory"))
    data = news.identity.data.data
    keys = [f"u:{k:024x}".encode() for k in range(40)]
    for key in keys:
        data[key] = b"\x01" + key
    table = TableStore(news.identity, 4)
    mine = [k for k, _ in table.items_in(1, None)]
    assert mine == sorted(k for k in keys if key_partition(k, 4) == 1) and mine


class _Event:  # Faust keeps a weak reference to the current event
    message = SimpleNamespace(partition=3)


def test_event_context_is_what_faust_reads_as_the_current_event() -> None:
    event = _Event()
    before = faust.current_event()
    with event_context(event):
        assert faust.current_event() is event
    assert faust.current_event() is before
