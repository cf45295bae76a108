"""InputConsumer's bookkeeping without a broker: stale and out-of-order records are dropped
unbooked, a gap seeks back, commits only advance over consecutive published offsets, records
of partitions not placed here are dropped, and a record let go unpublished is read again."""

from __future__ import annotations

import asyncio
import gc
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
    consumer._input_topics = frozenset({PAGES.topic})  # as when an agent consumes it
    news.app.topics.acking_topics.add(PAGES.topic)  # as when its stream subscribes
    # As perform_seek leaves a never-committed partition: placed at 0, in epoch 1.
    consumer._live = True
    consumer._inputs = {PAGES}
    consumer._committed_offset[PAGES] = 0
    consumer._epoch[PAGES] = 1
    consumer._placed, consumer._placed_epoch[PAGES] = {PAGES}, 1
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
        consumer.mark_done(message)
        consumer.ack(message)
    assert consumer._new_offset(PAGES) is None  # offset 0 still in flight
    consumer.mark_done(batch[0])
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
    # The seek reads from 1 on: 0 is not read again, so it is still ours to publish (it used
    # to be dropped as moved, and its partition then committed nothing past it).
    assert consumer.owns(first)
    consumer.ack(later)  # the stream acks what it dropped: not booked
    consumer.mark_done(first)
    consumer.ack(first)
    assert consumer._new_offset(PAGES) == 1
    consumer._committed_offset[PAGES] = 1  # as Faust records a commit
    # Read again from 1: 3 comes first again, so 1..2 do not exist (transaction markers).
    again = record(consumer, 3, epoch=2)
    assert await consumer.admit(again)
    consumer.mark_done(again)
    consumer.ack(again)
    assert consumer._new_offset(PAGES) == 4


async def test_records_of_a_partition_not_placed_here_are_dropped_and_never_committed(
    consumer: InputConsumer,
) -> None:
    batched = record(consumer, 0)  # taken into a batch, then the partition was revoked
    await consumer.on_partitions_revoked({PAGES})
    assert not await consumer.admit(batched)
    consumer.mark_done(batched)  # not admitted: marking it changes nothing
    consumer.ack(batched)
    assert consumer._new_offset(PAGES) is None
    unstamped = ConsumerMessage(PAGES.topic, PAGES.partition, 1, 0.0, 0, None, b"k", b"v", None)
    consumer._inputs = {PAGES}
    assert not await consumer.admit(unstamped)  # fetched while the partition was not placed


async def test_a_record_let_go_unpublished_is_read_again(
    consumer: InputConsumer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    seeks: list[tuple[TP, int]] = []

    async def seek(tp: TP, offset: int) -> None:
        seeks.append((tp, offset))
        consumer._epoch[tp] += 1

    monkeypatch.setattr(consumer, "seek", seek)
    batch = [record(consumer, o) for o in range(3)]
    assert all([await consumer.admit(m) for m in batch])
    consumer.mark_done(batch[0])
    for message in batch:  # the agent raised after publishing only the first
        consumer.ack(message)
    for _ in range(10):
        await asyncio.sleep(0)
    assert seeks == [(PAGES, 1)]  # once, from the first one let go
    # 1 and 2 are read again: not ours any more (the re-read publishes them); 0 still is.
    assert [consumer.owns(m) for m in batch] == [True, False, False]
    assert consumer.positions.next[PAGES] == 1
    assert consumer._new_offset(PAGES) == 1


async def test_nothing_of_a_previous_generation_is_committed_after_an_assignment(
    consumer: InputConsumer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A batch 0..5 processed while a network partition cut the worker off: 0..3 done, the
    # commit of 4 refused (old generation), yet Faust records it as committed anyway.
    batch = [record(consumer, o) for o in range(6)]
    for message in batch:
        assert await consumer.admit(message)
    for message in batch[:4]:
        consumer.mark_done(message)
        consumer.ack(message)
    assert consumer._new_offset(PAGES) == 4
    consumer._committed_offset[PAGES] = 4  # Faust's _commit_offsets, did_commit or not
    consumer.mark_done(batch[4])  # finishing while the group gives the partition away
    consumer.ack(batch[4])

    async def faust_assigned(self: object, assigned: set[TP], generation_id: int = 0) -> None:
        return None  # Faust's own part (its fetchers, tables) is not under test here

    monkeypatch.setattr("faust.transport.drivers.aiokafka.Consumer.on_partitions_assigned",
                        faust_assigned)
    await consumer.on_partitions_assigned({PAGES}, generation_id=4)  # given back to it
    # Until perform_seek places it at the group's committed offset (the other worker's, maybe
    # far ahead), nothing is committed: the broker would take 5 under generation 4.
    assert consumer._new_offset(PAGES) is None
    consumer.mark_done(batch[5])  # the old batch's last event, finishing meanwhile
    consumer.ack(batch[5])
    assert consumer._new_offset(PAGES) is None


async def test_a_revoked_partition_finishes_its_events_and_commits_them_before_it_goes(
    consumer: InputConsumer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Faust drops the acks of revoked partitions before its own revoke handler commits: the
    hand-over waits for the events in flight, admits nothing new, and commits what is done
    (a graceful rolling deploy repeated 21 pages without it)."""
    committed: list[dict[TP, int]] = []

    async def commit_offsets(offsets: dict[TP, int]) -> bool:
        committed.append(dict(offsets))
        return True

    monkeypatch.setattr(consumer, "_commit_offsets", commit_offsets)
    batch = [record(consumer, o) for o in range(3)]
    assert [await consumer.admit(m) for m in batch] == [True] * 3
    consumer.mark_done(batch[0])
    consumer.ack(batch[0])
    consumer.mark_done(batch[1])  # published, not yet acked by its stream

    async def publish_the_last_one() -> None:
        await asyncio.sleep(0.1)
        assert not await consumer.admit(record(consumer, 3))  # leaving: not taken any more
        consumer.mark_done(batch[2])

    publishing = asyncio.ensure_future(publish_the_last_one())
    await consumer._hand_over({PAGES})
    await publishing
    assert committed == [{PAGES: 3}]


async def test_the_membership_lease_lapses_without_answered_heartbeats(
    consumer: InputConsumer,
) -> None:
    consumer.leased = True  # as once the heartbeat watch is installed
    consumer.confirmed_at = 100.0  # the send time of the last answered heartbeat
    lease = consumer.app.conf.broker_session_timeout / 2
    assert consumer.confirmed(now=100.0 + lease - 0.1)
    assert not consumer.confirmed(now=100.0 + lease + 0.1)  # cut off: hold everything
    consumer.leased = False  # no watch (another aiokafka): never hold for ever
    assert consumer.confirmed(now=1e9)


async def test_offsets_faust_books_by_itself_are_never_committed(consumer: InputConsumer) -> None:
    """Faust's Cython stream iterator books every message a stream moves past straight into
    `Consumer._acked` (bypassing `ack`), dropped and unpublished ones included; a rolling
    restart lost pages when commits trusted it. Only done messages commit."""
    batch = [record(consumer, o) for o in range(5)]
    assert [await consumer.admit(m) for m in batch] == [True] * 5
    consumer._acked[PAGES].extend(range(5))  # as faust/_cython/streams.pyx `after` does
    assert consumer._new_offset(PAGES) is None
    consumer.mark_done(batch[0])
    consumer.mark_done(batch[1])
    assert consumer._new_offset(PAGES) == 2


async def test_the_worker_consumer_reads_only_committed_transactions(
    consumer: InputConsumer,
) -> None:
    """Faust builds it read_uncommitted (outside exactly-once): aborted pages were processed."""
    thread = consumer._new_consumer_thread()
    built = thread._create_worker_consumer(consumer.app.transport)
    assert built._isolation_level == "read_committed"  # what start() hands its Fetcher
    await built._client.close()  # never started: only its client holds anything


async def test_aborted_records_and_markers_are_committed_over_as_holes(
    consumer: InputConsumer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What read_committed hands out of: 0, 1 committed, 2 its marker, 3-5 aborted, 6 a page
    written while that transaction was open, 7 the abort marker, 8 a page: 0, 1, 6, 8.
    Each jump re-reads once, then the range is a hole; the commit reaches the end."""
    seeks: list[int] = []

    async def seek(tp: TP, offset: int) -> None:
        seeks.append(offset)
        consumer._epoch[tp] += 1  # as seek_input does on the consumer thread

    async def earliest(*tps: TP) -> dict[TP, int]:
        return {tp: 0 for tp in tps}

    monkeypatch.setattr(consumer, "seek", seek)
    monkeypatch.setattr(consumer, "earliest_offsets", earliest)
    admitted = []
    for offset in (0, 1, 6, 8):
        message = record(consumer, offset, epoch=consumer._epoch[PAGES])
        if not await consumer.admit(message):  # a jump: re-read from the missing offset
            message = record(consumer, offset, epoch=consumer._epoch[PAGES])
            assert await consumer.admit(message)
        admitted.append(message.offset)
        consumer.mark_done(message)
    assert admitted == [0, 1, 6, 8] and seeks == [2, 7]
    assert consumer.skipped[PAGES.topic, "hole"] == 5 and not consumer.skipped[
        PAGES.topic, "deleted"]
    assert consumer._new_offset(PAGES) == 9


def seeks_of(consumer: InputConsumer, monkeypatch: pytest.MonkeyPatch) -> list[tuple[TP, int]]:
    """Record the consumer's seeks; each starts a new epoch, as seek_input does."""
    seeks: list[tuple[TP, int]] = []

    async def seek(tp: TP, offset: int) -> None:
        seeks.append((tp, offset))
        consumer._epoch[tp] += 1
        consumer._fetched[tp] = (offset, offset)

    monkeypatch.setattr(consumer, "seek", seek)
    return seeks


async def test_records_faust_drops_after_the_client_handed_them_out_are_read_again(
    consumer: InputConsumer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Faust's fetch loop drops a fetched batch (or its rest) when the flow stops meanwhile;
    the client's position is past it. With no later record to show the gap, the partition
    waited with lag for good: 19 pages of a crawl never came out (test_identity)."""
    seeks = seeks_of(consumer, monkeypatch)
    first, second = record(consumer, 0), record(consumer, 1)  # delivered to the stream
    assert await consumer.admit(first)
    consumer._fetched[PAGES] = (4, 4)  # the client handed out 0..3; 2 and 3 went nowhere
    await consumer._reread_dropped()
    assert seeks == []  # 1 is on its way to the agent: it comes first, admit sees the rest
    assert await consumer.admit(second)
    del second
    gc.collect()
    consumer.flow_active = False  # stopped (a rebalance): the next placement reads them
    await consumer._reread_dropped()
    assert seeks == []
    consumer.flow_active = True
    await consumer._reread_dropped()
    assert seeks == [(PAGES, 2)] and consumer.rewinds == 1
    await consumer._reread_dropped()
    assert seeks == [(PAGES, 2)]  # read again from 2: nothing more to do
    again = record(consumer, 2, epoch=2)
    assert await consumer.admit(again) and consumer.owns(first)


async def test_a_seek_that_spans_an_assignment_places_nothing(
    consumer: InputConsumer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Faust's fetch loop asked for a seek while a rebalance stopped the flow; it waited for
    the committed offsets until the next generation and then placed partitions beside that
    generation's own seek. Now its call does nothing, and any seek that spans an
    assignment stops before it places anything (the recovery seeks again)."""
    seeks = seeks_of(consumer, monkeypatch)
    consumer._placed = set()
    asked: list[str] = []

    async def earliest(*tps: TP) -> dict[TP, int]:
        return {tp: 0 for tp in tps}

    async def ends(*tps: TP) -> dict[TP, int]:
        return {tp: 10 for tp in tps}

    async def committed_then_assigned() -> dict[TP, int | None]:
        asked.append("committed")
        consumer._assignments += 1  # on_partitions_assigned ran while it waited
        return {PAGES: 7}

    monkeypatch.setattr(consumer, "earliest_offsets", earliest)
    monkeypatch.setattr(consumer, "highwaters", ends)
    monkeypatch.setattr(consumer, "assignment", lambda: {PAGES})
    monkeypatch.setattr(consumer, "seek_to_committed", committed_then_assigned)
    await consumer.perform_seek()
    assert asked == ["committed"] and seeks == [] and PAGES not in consumer._placed

    async def committed() -> dict[TP, int | None]:
        asked.append("committed")
        return {PAGES: 7}

    monkeypatch.setattr(consumer, "seek_to_committed", committed)
    consumer._fetch_task = asyncio.current_task()  # called from Faust's fetch loop
    await consumer.perform_seek()
    assert asked == ["committed"] and seeks == []
    consumer._fetch_task = None  # the recovery's call
    await consumer.perform_seek()
    assert seeks == [(PAGES, 7)] and PAGES in consumer._placed
