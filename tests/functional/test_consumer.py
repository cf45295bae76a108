"""InputConsumer's bookkeeping without a broker: stale and out-of-order records are dropped
unbooked, a gap seeks back, commits only advance over consecutive processed offsets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from worker.settings import Settings
from worker.stream.app import create_app
from worker.stream.consumer import InputConsumer

PAGES = TP("pages.raw", 0)


@pytest.fixture
def consumer(tmp_path: Path) -> Iterator[InputConsumer]:
    news = create_app(Settings(store="memory", data_dir=str(tmp_path), web_port=0))
    consumer = news.app.consumer
    assert isinstance(consumer, InputConsumer)
    news.app.topics.acking_topics.add(PAGES.topic)  # as when an agent subscribes to it
    # As perform_seek leaves a never-committed partition: placed at 0, in epoch 1.
    consumer._inputs = {PAGES}
    consumer._committed_offset[PAGES] = 0
    consumer._epoch[PAGES] = 1
    consumer.positions.start_at(PAGES, 0)
    yield consumer


def record(consumer: InputConsumer, offset: int, *, epoch: int = 1) -> ConsumerMessage:
    message = ConsumerMessage(PAGES.topic, PAGES.partition, offset, 0.0, 0, None,
                              b"k", b"v", None)
    consumer._message_epoch[message] = epoch  # as getmany stamps it
    consumer._unacked_messages.add(message)  # as the stream tracks it
    return message


async def test_only_processed_offsets_are_committed_in_order(consumer: InputConsumer) -> None:
    stale = record(consumer, 0, epoch=0)  # collected before the partition's latest seek
    assert not await consumer.admit(stale)
    assert not consumer.ack(stale) and stale not in consumer.unacked
    batch = [record(consumer, o) for o in range(4)]
    assert [await consumer.admit(m) for m in batch] == [True] * 4
    for message in batch[1:]:
        consumer.ack(message)
    assert consumer._new_offset(PAGES) is None  # offset 0 still in flight
    consumer.ack(batch[0])
    assert consumer._new_offset(PAGES) == 4
    consumer._committed_offset[PAGES] = 4
    repeat = record(consumer, 2)
    assert not await consumer.admit(repeat)  # handled already: not again, out of order


async def test_a_gap_seeks_back_and_a_real_hole_is_committed_over(
    consumer: InputConsumer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    seeks: list[tuple[TP, int]] = []

    async def seek(tp: TP, offset: int) -> None:
        seeks.append((tp, offset))
        consumer._epoch[tp] += 1

    monkeypatch.setattr(consumer, "seek", seek)
    first = record(consumer, 0)
    assert await consumer.admit(first)
    later = record(consumer, 3)  # 1 and 2 went missing
    assert not await consumer.admit(later)
    assert seeks == [(PAGES, 1)] and consumer.rewinds == 1
    consumer.ack(later)  # the stream acks what it dropped: not booked
    consumer.ack(first)
    assert consumer._new_offset(PAGES) == 1
    consumer._committed_offset[PAGES] = 1  # as Faust records a commit
    # Read again from 1: 3 comes first again, so 1..2 do not exist (transaction markers).
    again = record(consumer, 3, epoch=2)
    assert await consumer.admit(again)
    consumer.ack(again)
    assert consumer._new_offset(PAGES) == 4
