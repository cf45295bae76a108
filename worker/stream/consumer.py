"""Faust's Kafka consumer, made strict about input offsets: at-least-once, in order.

faust-streaming 0.15.3 can skip and reorder input records around a rebalance or the end of
table recovery (see faust-streaming #216, #221, #318; our kill -9 test lost pages and turned
originals into duplicates of later pages):

  * `on_recovery_completed` resumes the stream partitions, with flow active, before it awaits
    `perform_seek`: records are fetched, drained into the stream buffers (and marked read)
    and even processed; `flow_control.resume()` then clears the buffers;
  * `perform_seek` uses aiokafka's `seek_to_committed`, which does not move partitions whose
    committed offset is None or 0, so they carry on after the records just dropped;
  * a record whose hand-off to a full stream buffer spans a seek still sets the read offset
    once it is in, and the drain loop then drops the re-fetched records below it (the drain
    loop's read-offset filter is off for input partitions: `admit` decides instead);
  * jumps in read offsets are booked as acked "gaps", and `_new_offset` commits past a
    one-offset hole, or any hole while nothing is committed yet;
  * its Cython stream iterator (faust/_cython/streams.pyx) books every message a stream
    moves past straight into `Consumer._acked`, bypassing `Consumer.ack`: records dropped
    unprocessed or let go unpublished were committed over (pages lost on a rebalance);
  * `Consumer.on_partitions_revoked` forgets the acks of revoked partitions before the
    app's revoke handler commits: work done since the last commit is repeated by the next
    owner after every rebalance.

`InputConsumer` fixes this for every topic a stream acks (the agents' inputs):

  perform_seek   every input partition starts at its committed offset, or its earliest one
                 when nothing is committed; acks and gaps restart there. Input seeks run on
                 the consumer thread (worker/stream/fetcher.py), where each starts a new
                 "epoch" of the partition, and every fetched batch is stamped there with the
                 epochs it was collected in
  admit(msg)     the agents process a record only if it was fetched after its partition's
                 latest seek and is the partition's next offset (worker/stream/positions.py); a
                 later offset seeks the partition back, and records are dropped until the
                 missing one comes (order is kept)
  owns(msg)      an admitted record is published and booked unless its partition was revoked,
                 placed again, or sought back to or below its offset (that read processes it
                 again). A seek back to the *next* offset (a REWIND) leaves the records
                 admitted before it ours: nothing reads them again, and one dropped there
                 held the partition's commits below it until the next rebalance, whose new
                 owner then repeated everything after it (test_handover, 77 of 240 pages)
  ack / commit   only records marked done (every output acknowledged) are booked, in the
                 consumer's own `_booked` (Faust's `_acked` is ignored for inputs); a commit
                 only advances over consecutive booked offsets (and ranges found empty) from
                 the committed offset; nothing commits between an assignment and its seek
  revoke         in-flight events of a revoked partition are published (up to
                 HAND_OVER_WAIT s), nothing new of it is admitted, its booked offsets are
                 committed synchronously, then Faust's revoke runs
  lease          `confirmed()`: the group answered a heartbeat within half the session
                 timeout (the publisher holds sends and table writes without it)
  isolation      input is read `read_committed` (Faust reads uncommitted outside exactly-
                 once): an aborted transaction's pages are never handed out; its offsets
                 and every marker are holes. Nothing after an open transaction is fetched:
                 it is lag, and a stall only once the partition has had lag for the stall
                 timeout (the clock starts at the later of the last record taken and the
                 last moment with no lag)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any
from weakref import WeakKeyDictionary, WeakSet

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import IllegalStateError
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from faust.types.transports import ConsumerT

from worker.logs import fields
from worker.stream.fetcher import InputConsumerThread
from worker.stream.positions import DELETED, HOLE, Positions, Verdict, split_hole, start_offset

log = logging.getLogger(__name__)

HAND_OVER_WAIT = 20.0  # seconds a revoked partition's events in flight get to be published


class InputConsumer(faust_aiokafka.Consumer):
    """The aiokafka consumer with ordered, hole-free delivery of input partitions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.positions = Positions()
        self.rewinds = 0  # seeks back over records that went missing
        # Input offsets passed over with no record, by (topic, kind): "deleted" below the log
        # start offset (retention, DeleteRecords: pages lost), "hole" above it (transaction
        # markers, aborted transactions' records, records compacted away: never a page to
        # process). news_input_skipped_offsets_total.
        self.skipped: Counter[tuple[str, str]] = Counter()
        self._moved: dict[TP, float] = {}  # when each input partition last moved (monotonic)
        # When each input partition was last seen with no lag (monotonic; noted after every
        # fetch on the consumer thread, and by `stalled`): the stall clock starts there.
        self._clear: dict[TP, float] = {}
        # (end of the last record fetched, fetch position) per input partition, as of the
        # latest fetch (written on the consumer thread): offsets in between held no record.
        self._fetched: dict[TP, tuple[int, int]] = {}
        self._inputs: set[TP] = set()  # assigned partitions of topics a stream acks
        # Seeks so far per partition (written on the consumer thread, with the seek), and the
        # epochs the latest batch was collected in (stamped there too).
        self._epoch: Counter[TP] = Counter()
        self._fetch_epoch: dict[TP, int] = {}
        self._message_epoch: WeakKeyDictionary[Message, int] = WeakKeyDictionary()
        self._admitted: WeakSet[Message] = WeakSet()
        # Admitted in the partition's current placement, then passed by a seek back to (or
        # below) their offset: that read processes them again, so these are not ours to
        # publish. A seek back *above* an admitted record (a REWIND to the next offset) leaves
        # it ours: nothing reads it again, so it must still be published and booked.
        self._superseded: WeakSet[Message] = WeakSet()
        self._done: WeakSet[Message] = WeakSet()  # admitted, and every output acknowledged
        # Offsets of done messages per input partition: what a commit may advance over. Not
        # Faust's `_acked`: its Cython stream iterator books every message a stream moves
        # past straight into `_acked` (it inlines Consumer.ack, so `ack` below never sees
        # it), dropped and unpublished ones included -- commits then skipped pages.
        self._booked: dict[TP, set[int]] = {}
        self._placed_epoch: dict[TP, int] = {}  # the epoch perform_seek last placed it in
        self._placed: set[TP] = set()  # input partitions placed since the latest assignment
        # Assignments and revocations so far: a perform_seek that spans one stops (its offsets
        # and partitions are another generation's; the new assignment's recovery seeks again).
        self._assignments = 0
        self._fetch_task: asyncio.Task[Any] | None = None  # the task Faust's fetch loop runs in
        self._holes: dict[TP, dict[int, int]] = {}  # offsets found empty: start -> end
        self._rereads: dict[TP, int] = {}  # partitions to read again from an offset let go
        self._live = False  # joined a group: every input record must come from Kafka
        self._input_topics: frozenset[str] | None = None
        self._read_offset = _ReadOffsets(self._is_input)
        self._leaving: set[TP] = set()  # being handed over: admit nothing more of them
        # When the group last confirmed this member (an assignment, or the send time of a
        # heartbeat it answered; monotonic, written on the consumer thread too).
        self.confirmed_at = 0.0
        self.leased = False  # heartbeats are watched (see InputConsumerThread.on_start)

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return InputConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _is_input(self, topic: str) -> bool:
        return topic in self.input_topics()

    def input_topics(self) -> frozenset[str]:
        """The topics the app's agents consume (known once the agents are declared).

        Not Faust's acking-topics set: that fills in while the conductor subscribes, so an
        assignment can arrive before an agent's topic is in it, and that partition would
        never be placed (a worker that started while one agent still declared its outputs
        processed nothing).
        """
        if self._input_topics is None:
            topics = frozenset(
                topic for agent in self.app.agents.values()
                for topic in getattr(agent.channel, "topics", ()) if isinstance(topic, str))
            if not topics:
                return topics  # no agents yet: ask again later
            self._input_topics = topics
        return self._input_topics

    # --- where partitions start -----------------------------------------------------------

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        # Nothing is processed until perform_seek has placed the partition.
        self._assignments += 1
        self._live = True
        self.confirmed_at = time.monotonic()  # the group just answered: a member
        self._placed = set()
        self._inputs = {tp for tp in assigned if self._is_input(tp.topic)}
        self.positions.forget()
        # Nor committed: the commit bookkeeping of the previous generation (offsets processed
        # before a network partition cut this worker off, say) would otherwise be committed
        # under the new generation, which the broker accepts, before perform_seek resets it:
        # the group's offset went back from 260 to 47 (tests/cluster/test_network_partition).
        for tp in self._inputs:
            self._committed_offset[tp] = None
            self._booked.pop(tp, None)
            self._acked.pop(tp, None)
            self._acked_index.pop(tp, None)
            self._gap.pop(tp, None)
            self._holes.pop(tp, None)
        await super().on_partitions_assigned(assigned, generation_id)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self._assignments += 1
        leaving = self._inputs & set(revoked)
        if leaving and self._live:
            await self._hand_over(leaving)
        self._inputs -= set(revoked)
        self._leaving = set()
        self.positions.forget(self._inputs)
        await super().on_partitions_revoked(revoked)

    async def _hand_over(self, leaving: set[TP]) -> None:
        """Before input partitions go: finish their events in flight, commit what is done.

        Faust forgets the acks of revoked partitions before its own revoke handler waits for
        the streams and commits, so it never commits them: everything done since the last
        periodic commit (up to `broker_commit_interval`) was processed again by the next
        owner, the repeats of a graceful stop or of a rebalance (eager assignment revokes
        every partition of every member). Here nothing new of them is admitted, the events
        already admitted get up to HAND_OVER_WAIT seconds to be published (or let go), and
        every done offset is committed synchronously while the partitions are still ours.
        """
        self._leaving = set(leaving)
        # Without the lease (cut off, evicted) the partitions are someone else's already:
        # what is in flight is dropped by the publisher, and a commit would be refused.
        wait = HAND_OVER_WAIT if self.confirmed() else 0.0
        deadline = time.monotonic() + wait
        while (busy := self._in_flight(leaving)) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if busy:
            log.warning("handing over %s input partition(s) with %s event(s) still in flight "
                        "after %.0f s: their next owner processes them again",
                        len(leaving), busy, wait, extra=fields("input.handover"))
        offsets = {tp: offset for tp in sorted(leaving)
                   if (offset := self._new_offset(tp)) is not None}
        if offsets:
            committed = await self._commit_offsets(offsets)
            log.info("committed %s before handing them over (%s)", ", ".join(
                f"{tp.topic}:{tp.partition}@{offset}" for tp, offset in offsets.items()),
                "done" if committed else "refused", extra=fields("input.handover.commit"))

    def _in_flight(self, tps: set[TP]) -> int:
        """Admitted events of `tps` neither published (done) nor let go."""
        return sum(1 for message in list(self._admitted) if message.tp in tps
                   and not message.acked and message not in self._done
                   and self._current(message))

    def _current(self, message: Message) -> bool:
        """Admitted under its partition's current placement here, and not to be read again."""
        tp = message.tp
        epoch = self._message_epoch.get(message)
        return (epoch is not None and tp in self._inputs and tp in self._placed
                and epoch >= self._placed_epoch.get(tp, 0)
                and message not in self._superseded)

    def _supersede(self, tp: TP, offset: int) -> None:
        """`tp` is about to be read again from `offset`: what was admitted there is not ours."""
        for message in list(self._admitted):
            if message.tp == tp and message.offset >= offset:
                self._superseded.add(message)

    async def perform_seek(self) -> None:
        """Seek each input partition to where processing resumes (see `start_offset`).

        Faust calls this from its recovery after each assignment, and from its fetch loop
        whenever that fetched while the flow was stopped (it then drops what it fetched). The
        fetch loop's call is not needed: the next assignment places every partition afresh,
        and what is dropped within one placement is read again by `_reread_dropped`. It was
        harmful: started in a rebalance, it waited there for the committed offsets and went
        on in the next generation beside the recovery's own seek; the two interleaved, and a
        partition was left placed with its fetched records gone and none ever to come
        (tests/integration/test_identity.py, 19 pages never processed). So a seek that spans
        an assignment or a revocation also stops there, before it places anything.
        """
        if self._fetch_task is not None and asyncio.current_task() is self._fetch_task:
            return
        generation = self._assignments
        committed = await self.seek_to_committed()
        inputs = {tp for tp in self.assignment() if self._is_input(tp.topic)}
        ordered = sorted(inputs)
        earliest = await self.earliest_offsets(*ordered) if ordered else {}
        latest = dict(await self.highwaters(*ordered)) if ordered else {}
        # Read committed, those are last stable offsets: a committed offset past one (a worker
        # of an earlier version, reading uncommitted, processed pages of a transaction still
        # open) is not past the log's end, and resetting to the earliest would repeat it all.
        past = [tp for tp in ordered if tp not in self._placed
                and (done := committed.get(tp)) is not None and done > latest.get(tp, 0)]
        if past:
            latest.update(await self._log_ends(past))
        if self._assignments != generation:
            log.debug("an assignment changed while seeking: its recovery seeks again")
            return
        for tp, offset in committed.items():  # other partitions: as Faust does
            if tp not in inputs:
                self._read_offset[tp] = offset if offset is not None and offset >= 0 else None
                if offset is not None:
                    self._committed_offset[tp] = offset or None
        self._inputs = inputs
        fresh = 0
        for tp in ordered:
            if tp in self._placed:
                # Faust seeks again within one assignment (recovery runs perform_seek more
                # than once): a placed partition keeps its position, and the events in
                # flight their epoch (a new one would drop them after their outputs went
                # out, and the next read would repeat them). Records seek_to_committed
                # fetches again below the position are dropped by `admit`.
                continue
            done = committed.get(tp)
            first, end = earliest.get(tp, 0), latest.get(tp, 0)
            start = start_offset(done, first, end)
            fresh += done is None
            if done is not None and start != done:
                self._log_jump(tp, done, start, first, end)
            self._committed_offset[tp] = start
            self._booked.pop(tp, None)
            self._acked.pop(tp, None)
            self._acked_index.pop(tp, None)
            self._gap.pop(tp, None)
            self._holes.pop(tp, None)
            # Placed only once the seek started the new epoch: a record fetched before it
            # (at the committed position) must not be admitted as the new start, or its
            # outputs go out and are then dropped as stale, and come out again (a repeat).
            self.positions.forget(self._inputs - {tp})
            await self.seek(tp, start)
            if self._assignments != generation:
                return  # revoked or assigned again meanwhile: not placed in this generation
            self._placed_epoch[tp] = self._epoch[tp]
            self._placed.add(tp)
            self.positions.start_at(tp, start)
            self._moved[tp] = time.monotonic()
        if fresh:
            log.info("%s never-committed input partitions start at their earliest offset",
                     fresh)

    async def _log_ends(self, tps: list[TP]) -> dict[TP, int]:
        """The log end offsets of `tps`, open transactions included ({} if unavailable).

        The worker's own consumer answers with last stable offsets (read_committed), so a
        short-lived read_uncommitted one asks, with the same connection settings.
        """
        conf = self.app.conf
        client = AIOKafkaConsumer(
            bootstrap_servers=faust_aiokafka.server_list(
                self.transport.url, faust_aiokafka.Transport.default_port),
            client_id=conf.broker_client_id,
            request_timeout_ms=int(conf.broker_request_timeout * 1000.0),
            **faust_aiokafka.credentials_to_aiokafka_auth(
                conf.broker_credentials, conf.ssl_context))
        try:
            await client.start()
            ends = await client.end_offsets(
                [faust_aiokafka.ensure_aiokafka_TP(tp) for tp in tps])
        except Exception:  # noqa: BLE001 - unknown: the stable offset stands (a repeat, no loss)
            log.warning("log end offsets unavailable for %s", tps, exc_info=True)
            return {}
        finally:
            await client.stop()
        return {TP(tp.topic, tp.partition): int(offset) for tp, offset in ends.items()}

    def _log_jump(self, tp: TP, committed: int, start: int, first: int, end: int) -> None:
        if committed < first:
            self.skipped[tp.topic, DELETED] += first - committed
            log.warning("input %s:%s offsets %s..%s were deleted before they were processed "
                        "(retention or deleted records); resuming at %s", tp.topic,
                        tp.partition, committed, first - 1, start, extra=fields(
                            "input.skipped", topic=tp.topic, partition=tp.partition,
                            offset=start))
        else:
            log.warning("input %s:%s committed offset %s is past its end (%s): the topic was "
                        "recreated? resuming at its earliest offset %s", tp.topic,
                        tp.partition, committed, end, start, extra=fields(
                            "input.reset", topic=tp.topic, partition=tp.partition,
                            offset=start))

    async def seek(self, partition: TP, offset: int) -> None:
        """Seek; for an input partition, start a new epoch: records collected before are stale."""
        if not self._is_input(partition.topic):
            await super().seek(partition, offset)
            return
        thread = self._thread
        assert isinstance(thread, InputConsumerThread)  # noqa: S101 - see _new_consumer_thread
        await thread.seek_input(partition, offset)

    # --- fetching -------------------------------------------------------------------------

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        """Faust's getmany, tagging input records with the epoch they were collected in."""
        self._fetch_task = asyncio.current_task()
        await self._reread_dropped()
        async for tp, message in super().getmany(timeout):
            if tp in self._inputs:
                self._message_epoch[message] = self._fetch_epoch.get(tp, 0)
            yield tp, message

    async def _reread_dropped(self) -> None:
        """Read again the records the client handed out that Faust dropped before `admit`.

        Faust's fetch loop drops a fetched batch, or the rest of one, when the flow stops or
        the generation changes while it hands the batch out, and a record whose delivery a
        flow stop cancels (faust/transport/consumer.py: getmany, _drain_messages). The
        client's position is past them already, so within one placement nothing would read
        them again: the partition would wait with lag for good, and no later record would
        arrive to reveal the gap to `admit`. This runs before each fetch, when every record
        handed out earlier was either delivered to a stream (alive, stamped with its epoch;
        stamps are held weakly) or dropped. A placed partition whose records were handed out
        past its next offset, with none of them alive, is sought back to that offset.
        """
        if not self._live or not self.flow_active or self.app.rebalancing:
            return
        lost: dict[TP, tuple[int, int]] = {}
        for tp in sorted(self._placed & self._inputs - self._leaving):
            start = self.positions.next.get(tp)
            end = self._fetched.get(tp, (None, None))[0]
            if start is not None and end is not None and end > start:
                lost[tp] = (start, end)
        if not lost:
            return
        for message, epoch in list(self._message_epoch.items()):
            tp = message.tp
            if tp in lost and epoch == self._epoch[tp] and message.offset >= lost[tp][0]:
                del lost[tp]  # still on its way to the agent
        for tp, (start, end) in lost.items():
            self.rewinds += 1
            log.warning("input %s:%s records %s..%s were fetched but dropped before they were "
                        "processed (a flow stop); reading them again", tp.topic, tp.partition,
                        start, end - 1, extra=fields("input.reread", topic=tp.topic,
                                                     partition=tp.partition, offset=start))
            try:
                await self.seek(tp, start)
            except IllegalStateError:
                continue  # revoked meanwhile: its next owner starts it afresh

    # --- processing -----------------------------------------------------------------------

    async def admit(self, message: Message) -> bool:
        """Whether the agent may process `message` now (False: drop it, unbooked)."""
        tp = message.tp
        epoch = self._message_epoch.get(message)
        if epoch is None and not self._live:  # not from Kafka (in-memory channels in tests)
            self._admitted.add(message)
            return True
        if tp not in self._inputs or epoch is None or tp in self._leaving:
            # Revoked since it was fetched (a batch survives Faust's buffer clearing), or
            # fetched before the partition was placed: its next owner reads it from there.
            log.debug("dropping %s:%s@%s: the partition is not placed here", tp.topic,
                      tp.partition, message.offset)
            return False
        if epoch != self._epoch[tp]:
            # Collected before the partition's latest seek, which re-reads from there.
            log.debug("dropping %s:%s@%s: fetched before the partition's latest seek",
                      tp.topic, tp.partition, message.offset)
            return False
        step = self.positions.check(tp, message.offset)
        if step.verdict is Verdict.REWIND:
            assert step.rewind_to is not None  # noqa: S101 - REWIND always carries it
            self.rewinds += 1
            log.warning("input %s:%s skipped to %s; seeking back to %s", tp.topic,
                        tp.partition, message.offset, step.rewind_to, extra=fields(
                            "input.rewind", topic=tp.topic, partition=tp.partition,
                            offset=step.rewind_to))
            try:
                await self.seek(tp, step.rewind_to)
            except IllegalStateError:  # revoked meanwhile: its next owner starts it afresh
                log.info("input %s:%s was revoked before it could be re-read", tp.topic,
                         tp.partition)
            return False
        if step.verdict is Verdict.DROP:
            log.debug("dropping %s:%s@%s: the next offset is %s", tp.topic, tp.partition,
                      message.offset, self.positions.next.get(tp))
            return False
        if step.hole is not None:
            start, end = step.hole
            deleted, never = split_hole(start, end, await self._log_start(tp))
            log.info("input %s:%s has no records %s..%s (%s deleted, %s never held one)",
                     tp.topic, tp.partition, start, end - 1, deleted, never)
            self.skipped[tp.topic, DELETED] += deleted
            self.skipped[tp.topic, HOLE] += never
            self._holes.setdefault(tp, {})[start] = end
        self._admitted.add(message)
        self._moved[tp] = time.monotonic()
        return True

    async def _log_start(self, tp: TP) -> int | None:
        """The partition's log start offset now; None if the broker does not say."""
        try:
            return (await self.earliest_offsets(tp)).get(tp)
        except Exception:  # noqa: BLE001 - any failure: unknown, counted as deleted
            log.warning("input %s:%s: log start offset unavailable", tp.topic, tp.partition,
                        exc_info=True)
            return None

    def confirmed(self, now: float | None = None) -> bool:
        """Whether this worker is surely still a member of its group (its lease holds).

        The broker drops a member `broker_session_timeout` after the last heartbeat it got;
        a heartbeat answered within half that means the partitions are still ours. A worker
        cut off from the brokers (a network partition) or frozen loses the lease: it must
        not publish or write its tables until the group answers again, or it is told its
        partitions moved (`owns` turns False). Always True outside a group (tests).
        """
        if not self._live or not self.leased:
            return True
        lease = float(self.app.conf.broker_session_timeout) / 2
        return (time.monotonic() if now is None else now) - self.confirmed_at < lease

    def owns(self, message: Message) -> bool:
        """Whether `message`'s partition is still placed here as it was when it was fetched.

        False after a rebalance revoked it (or placed it again: its next run starts from the
        committed offset): what was made from it must not be published, the new owner has it.
        """
        if message not in self._admitted:
            return False
        if self._message_epoch.get(message) is None:
            return not self._live  # in-memory channels (tests)
        return self._current(message)

    def mark_done(self, message: Message) -> None:
        """Every record produced for `message` was acknowledged: its offset may be committed."""
        if message not in self._admitted:
            return
        self._done.add(message)
        tp = message.tp
        # Admitted in this placement of its partition (a rewind above it does not undo work
        # already published; a revocation and a new placement do).
        if self._is_input(message.topic) and self._current(message):
            self._booked.setdefault(tp, set()).add(message.offset)
            self._acked[tp]  # noqa: B018 - a key here makes Faust's commit look at `tp`

    def ack(self, message: Message) -> bool:
        """Book a done message; any other input message is let go unbooked.

        Faust acks a message when the stream moves past it, whatever happened to its outputs
        (an agent that raised, a batch cut short): only `mark_done` (worker/stream/publish.py,
        after the broker acknowledged every output) lets an input offset be committed.
        """
        if self._is_input(message.topic) and message not in self._done:
            if message in self._admitted and not message.acked:
                self._reread(message)
            message.acked = True
            self._unacked_messages.discard(message)
            return False
        return bool(super().ack(message))

    def _reread(self, message: Message) -> None:
        """An admitted message was let go without its outputs: read its partition again from it."""
        tp = message.tp
        if not self._current(message):
            return  # revoked or read again meanwhile: that read (or the next owner) has it
        log.warning("input %s:%s@%s was let go before its outputs were acknowledged; reading "
                    "it again", tp.topic, tp.partition, message.offset, extra=fields(
                        "input.reread", topic=tp.topic, partition=tp.partition,
                        offset=message.offset))
        pending = self._rereads.get(tp)
        self._rereads[tp] = message.offset if pending is None else min(pending, message.offset)
        self._supersede(tp, message.offset)
        if pending is None:
            asyncio.ensure_future(self._seek_back(tp))

    async def _seek_back(self, tp: TP) -> None:
        offset = self._rereads.pop(tp, None)
        if offset is None or tp not in self._inputs:
            return
        self.rewinds += 1
        try:
            await self.seek(tp, offset)
        except IllegalStateError:
            return  # revoked meanwhile
        self._supersede(tp, offset)  # and what was admitted there while the seek was on its way
        self.positions.start_at(tp, offset)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        if not self._is_input(tp.topic):  # input holes are checked by admit(), not assumed
            await super()._add_gap(tp, offset_from, offset_to)

    def _new_offset(self, tp: TP) -> int | None:
        if not self._is_input(tp.topic):
            result: int | None = super()._new_offset(tp)
            return result
        committed = self._committed_offset[tp]
        if tp not in self._inputs or committed is None:
            return None  # not placed here (yet): nothing of it was processed in order
        done = self._booked.get(tp, set())
        holes = self._holes.get(tp, {})
        offset = committed
        while True:
            if offset in done:
                offset += 1
            elif offset in holes:
                offset = holes.pop(offset)
            else:
                break
        if offset == committed:
            return None
        self._booked[tp] = {o for o in done if o >= offset}
        self._acked[tp] = []  # Faust's own bookkeeping: not used for input partitions
        self._acked_index[tp] = set()
        return offset

    def placed(self) -> list[TP]:
        """The input partitions placed here, in order."""
        return sorted(self._inputs)

    def stalled(self, now: float, timeout: float) -> Iterator[tuple[str, int, int, float]]:
        """(topic, partition, lag, idle seconds) of placed input partitions that have records
        to process and have admitted none for `timeout` seconds while they had lag."""
        for tp in sorted(self._inputs):
            # The clock runs from the last record taken or, if later, the last moment the
            # partition had no lag: read committed, an open crawler transaction's records
            # (and all after them) are lag the fetcher cannot reach, so a partition idle
            # before a transaction only stalls once it has been open for `timeout`.
            lag = self._lag(tp)
            if not lag:
                self._note_clear(tp, lag, now)
                continue
            moved = self._moved.get(tp, now)
            idle = now - max(moved, self._clear.get(tp, moved))
            if idle > timeout:
                yield tp.topic, tp.partition, lag, idle

    def _note_clear(self, tp: TP, lag: int | None, now: float) -> None:
        if lag == 0:
            self._clear[tp] = now

    def lag(self) -> Iterable[tuple[str, int, int]]:
        """(topic, partition, records not yet processed) per placed input partition."""
        for tp in sorted(self._inputs):
            lag = self._lag(tp)
            if lag is not None:
                yield tp.topic, tp.partition, lag

    def _lag(self, tp: TP, highwater: int | None = None) -> int | None:
        """Records of `tp` from the next offset to process to the end of the log.

        Offsets the fetcher passed over after the last record it handed out held no record (a
        transactional crawler's commit marker, the end of a compacted batch): not lag, or an
        idle partition whose last offset is a marker would read as stalled for good. Markers
        not fetched yet still count, one per transaction, until the fetcher passes them.
        """
        offset = self.positions.next.get(tp)
        highwater = self.highwater(tp) if highwater is None else highwater
        if offset is None or highwater is None:
            return None
        end = int(highwater)
        record_end, fetched = self._fetched.get(tp, (end, end))
        empty = max(0, min(fetched, end) - max(record_end, offset))
        return max(0, end - offset - empty)


class _ReadOffsets(defaultdict[TP, int | None]):
    """Faust's read offsets, always None for input partitions.

    Faust's drain loop drops a record below the partition's read offset; a stale record
    handed over after a seek raises it and the re-fetched records below are dropped. For
    input partitions `InputConsumer.admit` does the filtering, exactly.
    """

    def __init__(self, is_input: Callable[[str], bool]) -> None:
        super().__init__(lambda: None)
        self._is_input = is_input

    def __setitem__(self, tp: TP, offset: int | None) -> None:
        super().__setitem__(tp, None if self._is_input(tp.topic) else offset)


def input_consumer(consumer: ConsumerT) -> InputConsumer | None:
    """The strict consumer, if the app runs one (not in in-memory tests)."""
    return consumer if isinstance(consumer, InputConsumer) else None

