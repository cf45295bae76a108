"""worker/stream/changelog.py on the real faust table and RocksDB store it is fenced to.

The identity table's persisted changelog offset moves over this worker's own acknowledged
records only while they follow it without a gap: a record another worker wrote in between
(a cut-off worker's late writes, tests/cluster/test_network_partition.py) keeps it before
that record, so the next recovery reads it.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import faust.tables.base
import pytest
from faust.types import TP

from worker.settings import Settings
from worker.stream.app import create_app
from worker.stream.changelog import FAUST_VERSION, MAX_AHEAD, advance_persisted


def test_faust_is_the_version_whose_changelog_callback_is_overridden() -> None:
    assert faust.__version__ == FAUST_VERSION
    # send_changelog hands this (private) callback to send_soon: the override takes effect.
    source = inspect.getsource(faust.tables.base.Collection.send_changelog)
    assert "callback=self._on_changelog_sent" in source
    assert "set_persisted_offset" in inspect.getsource(
        faust.tables.base.Collection._on_changelog_sent)


class _Sent:
    """What Faust's producer hands the callback: a future whose result names the record."""

    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self._result = SimpleNamespace(
            topic_partition=SimpleNamespace(topic=topic, partition=partition), offset=offset)

    def result(self) -> SimpleNamespace:
        return self._result


@pytest.fixture
def table(tmp_path: Path) -> Any:
    news = create_app(Settings(app_id="changelog-test", data_dir=str(tmp_path),
                               store="rocksdb"))
    return news.identity


def _acked(table: Any, tp: TP, *offsets: int) -> int | None:
    for offset in offsets:
        table._on_changelog_sent(_Sent(tp.topic, tp.partition, offset))
    result: int | None = table.data.persisted_offset(tp)
    return result


def test_own_records_advance_the_persisted_offset_while_contiguous(table: Any) -> None:
    tp = TP(table.changelog_topic.get_topic_name(), 2)
    table.data.set_persisted_offset(tp, 41)  # what recovery read
    assert _acked(table, tp, 42, 43, 44) == 44
    assert _acked(table, tp, 46) == 44  # acknowledged before 45: waits
    assert _acked(table, tp, 45) == 46  # the gap filled: both count


def test_a_record_written_by_another_worker_stops_it_until_recovery_reads_it(
        table: Any) -> None:
    tp = TP(table.changelog_topic.get_topic_name(), 0)
    table.data.set_persisted_offset(tp, 42)
    # Our records at 138..147 were acknowledged after the heal; 43..137 are the new owner's.
    assert _acked(table, tp, *range(138, 148)) == 42  # Faust's own callback said 147
    other = TP(tp.topic, 1)  # other partitions are independent
    assert _acked(table, other, 0, 1) == 1
    table.data.set_persisted_offset(tp, 147)  # recovery read 43..147 and applied them
    assert _acked(table, tp, 148) == 148


def test_a_store_that_never_read_its_changelog_starts_at_offset_zero(table: Any) -> None:
    tp = TP(table.changelog_topic.get_topic_name(), 3)
    assert table.data.persisted_offset(tp) is None
    assert _acked(table, tp, 5) is None  # 0..4 may be anyone's: recovery reads from the start
    assert _acked(table, tp, 0, 1, 2, 3, 4) == 5


class _Store:
    def __init__(self, offset: int | None) -> None:
        self.offset = offset

    def persisted_offset(self, tp: TP) -> int | None:
        return self.offset

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        assert self.offset is None or offset > self.offset  # never backwards
        self.offset = offset


def test_offsets_kept_past_a_gap_are_bounded() -> None:
    store, ahead, tp = _Store(10), set[int](), TP("t", 0)
    for offset in range(12, 12 + MAX_AHEAD + 1):
        advance_persisted(store, tp, offset, ahead)
    assert store.offset == 10 and not ahead  # let go: the next recovery reads them
    assert advance_persisted(store, tp, 11, ahead) == 11
    assert advance_persisted(store, tp, 5, ahead) == 11  # already covered: unchanged
