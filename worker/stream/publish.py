"""The send path: publish what one input event produced, and return once the broker has it.

    outputs = [Output(news.articles, key, value, ARTICLE_SCHEMA, "article")]
    await news.publisher.publish(event, outputs)                  # one input event
    await news.publisher.publish_many([(event, outputs), ...])    # a batch, in input order

`publish` returns only when the broker has acknowledged (acks=all) every output and every
table changelog record written while handling the event. Then the input
message is marked done, and the consumer commits only over done offsets
(worker/stream/consumer.py): an input offset is never committed past a record the broker does
not have, whatever an agent or Faust does afterwards. Call it once per admitted input event,
with `outputs=[]` when the event produced nothing but table writes.

An item's `state_writes(landed)` runs after all outputs of the call are settled, with `landed`
the indexes of its `outputs` the broker acknowledged as themselves: all of them normally; a
subset, possibly empty, when some were refused for good (replaced by the event's rejection,
below). The stage decides what a partial landing means for its state (identity: its writes
stand only if the primary output landed; a probe whose hop did not land is released).

What happens to a record that fails (`classify`):

    retriable  the broker is away, a leader moves, a request timed out: wait (0.1 s, doubling to
               5 s) and send again, in order, every record not acknowledged yet, for as long
               as it takes. The call does not return meanwhile, so the partition does not
               move. A record is sent only once the previous record with its topic and key
               was acknowledged, so a key's records are never acknowledged out of order
    refused    the broker refuses this record for good (too large for the topic, not
               authorised, invalid): the input event is rejected instead (`too_large` or
               `internal_error`, with its source position); a rejection that is refused too is
               sent again without its original (`original_omitted: "size"`: redrive fetches it
               from the source position); if even that is refused, or a table changelog record
               is, it is retried like a retriable failure (the partition stalls, and
               `news_send_failures_total` and /readyz say so)
    broken     the producer itself cannot go on (closed, fenced, out-of-order sequence):
               `ProducerBroken` is raised and the worker exits; nothing of the event was
               committed, so a restart reads it again

The producer is not idempotent (see stream/app.py): a request whose answer was lost may be
written twice by aiokafka's own retry, an identical repeat like those after a crash.

Faust's own `Topic.send` is not used for outputs: it reports a failed delivery only as a log
line (with the record's value in it) and the stream acks the input anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

import faust
import orjson
from aiokafka import errors as kafka_errors
from faust.exceptions import ProducerSendError
from faust.types import EventT, FutureMessage, TopicT
from faust.types.channels import ChannelT

from worker.errors import RejectReason
from worker.inputs import utc_now
from worker.logs import fields
from worker.pipeline.types import REJECTION_SCHEMA, Rejection, Source
from worker.stream.changelog import ContiguousPersistedOffsets
from worker.stream.consumer import input_consumer
from worker.stream.health import LoopClock
from worker.stream.metrics import SEND_CAUSES, WorkerMetrics
from worker.stream.wire import SCHEMA_HEADER, encode_rejection

log = logging.getLogger(__name__)

FIRST_BACKOFF = 0.1  # seconds before the first re-send
MAX_BACKOFF = 5.0  # the back-off doubles up to this
# A rejection sent again without its original stays far below any sane max.message.bytes.
BOUNDED_REJECTION_BYTES = 64 * 1024
CONFIRM = 3.0  # seconds (three heartbeats) a worker woken from a freeze waits before sending

_TOO_LARGE = (kafka_errors.MessageSizeTooLargeError, kafka_errors.RecordListTooLargeError)
_UNAUTHORIZED = (kafka_errors.TopicAuthorizationFailedError,
                 kafka_errors.ClusterAuthorizationFailedError)
_TIMEOUT = (kafka_errors.KafkaTimeoutError, kafka_errors.RequestTimedOutError, TimeoutError)
_BROKEN = (kafka_errors.ProducerFenced, kafka_errors.OutOfOrderSequenceNumber,
           kafka_errors.ProducerClosed, kafka_errors.IllegalOperation)


_NOT_OUTPUTS = ("story", "changelog")  # internal records: no publish lag of their own


class ProducerBroken(Exception):
    """The producer cannot send any more: the worker must stop (and be restarted)."""


def classify(exc: BaseException) -> str:
    """`retriable`, `timeout`, `too_large`, `unauthorized`, `refused` or `broken`."""
    if isinstance(exc, ProducerSendError) and exc.__cause__ is not None:
        exc = exc.__cause__  # Faust wraps what aiokafka raised while queueing the record
    if isinstance(exc, _BROKEN):
        return "broken"
    if isinstance(exc, _TOO_LARGE):
        return "too_large"
    if isinstance(exc, _UNAUTHORIZED):
        return "unauthorized"
    if isinstance(exc, _TIMEOUT):
        return "timeout"
    if isinstance(exc, kafka_errors.KafkaError):
        return "retriable" if exc.retriable else "refused"
    return "refused"  # not a Kafka error: this record cannot be sent as it is (a bug)


@dataclass(frozen=True)
class Output:
    """One record to publish: where, key, value, its schema header, and its kind (a label)."""

    channel: ChannelT[bytes]
    key: bytes | None
    value: bytes
    schema: str | None  # the `schema` header (None: no header)
    kind: str  # story | article | duplicate | rejection | ... (the metrics' `output` label)
    partition: int | None = None


@dataclass(frozen=True)
class Origin:
    """What a rejection built for an input event says about the page it came from.

    For a pages-topic event that is the event itself (`Origin.of`); a later stage (the
    stories topic) names the page's position instead, and has no original at hand
    (`kept=False`: the rejection says `original_omitted: "not_kept"`).
    """

    source: Source
    original: bytes
    key: Any = None
    headers: Any = None
    timestamp: float | None = None  # the page's message timestamp, seconds
    page_id: str | None = None
    url: str | None = None
    kept: bool = True

    def rejection(self, reason: RejectReason, detail: str, limit: int) -> tuple[bytes, bytes]:
        """(key, rejection.v2 record) of this page, no larger than `limit` where possible."""
        rejection = Rejection(reason, detail[:1000], self.original, self.page_id, self.url,
                              self.source, rejected_at=utc_now())
        text_key = self.page_id or self.url
        key = text_key.encode("utf-8") if text_key else (
            self.key if isinstance(self.key, bytes) else b"")
        if self.kept:
            return key, encode_rejection(
                rejection.with_message(self.key, self.headers, self.timestamp), limit)
        stamp = round(self.timestamp * 1000) if self.timestamp else None
        data = replace(rejection, source=replace(self.source, timestamp=stamp)).to_dict()
        data.update(original=None, original_encoding=None, original_bytes=None,
                    original_omitted="not_kept", key=None, key_encoding=None, headers=None)
        return key, orjson.dumps(data)

    @classmethod
    def of(cls, event: EventT[Any], page_id: str | None = None,
           url: str | None = None) -> Origin:
        """The origin of a pages-topic event: its own position, value, key and headers."""
        msg = event.message
        value = msg.value if isinstance(msg.value, bytes) else b""
        return cls(Source(msg.topic, msg.partition, msg.offset), value, msg.key, msg.headers,
                   msg.timestamp, page_id, url)


@dataclass
class _Record:
    """One record on its way: what to send, which input it belongs to, and its future."""

    item: int  # index of the input event in the call
    kind: str
    channel: ChannelT[Any] | None
    topic: str | None
    key: bytes | None
    value: bytes | None
    partition: int | None
    headers: list[tuple[str, bytes]] | None
    refusals: int = 0  # how often this input's records were refused (rejection, bounded)
    future: asyncio.Future[Any] | None = None
    changelog: bool = False
    skip: bool = False  # refused, and its input is already rejected by another record
    acked: bool = False
    output: int | None = None  # index in its item's outputs (None: a changelog record)
    replaced: bool = False  # refused for good: now (or already) its input's rejection


Landed = frozenset[int]
StateWrites = Callable[[Landed], object]


class Item(NamedTuple):
    """One input event's part of a publish call."""

    event: EventT[Any]
    outputs: Sequence[Output]
    origin: Origin | None = None  # for a rejection of it (default: the event itself)
    # Applied once the outputs are settled, with the indexes of `outputs` the broker
    # acknowledged as themselves (`Landed`, empty when none did).
    state_writes: StateWrites | None = None


# Table changelog records written while handling an event (see TrackedTable), and those
# written by a call's `state_writes` (collected while it runs).
_CHANGELOG: WeakKeyDictionary[EventT[Any], list[FutureMessage]] = WeakKeyDictionary()
_COLLECTING: ContextVar[list[FutureMessage] | None] = ContextVar("_COLLECTING", default=None)


class TrackedTable(ContiguousPersistedOffsets, faust.Table[Any, Any]):
    """A Faust table whose changelog records count as outputs of the event that wrote them
    (and whose persisted changelog offset never skips another worker's records:
    worker/stream/changelog.py)."""

    def send_changelog(self, partition: int | None, key: Any, value: Any,
                       key_serializer: Any = None, value_serializer: Any = None) -> FutureMessage:
        future: FutureMessage = super().send_changelog(
            partition, key, value, key_serializer, value_serializer)
        collecting = _COLLECTING.get()
        if collecting is not None:
            collecting.append(future)
        else:
            event = faust.current_event()
            if event is not None:
                _CHANGELOG.setdefault(event, []).append(future)
        return future


@dataclass
class _Waiting:
    """Health of the send path: calls waiting for the broker, and since when it has failed."""

    since: dict[int, float] = field(default_factory=dict)  # call id -> monotonic start
    failing_since: float | None = None  # first failure of a call still retrying
    last_error: str = ""


class Publisher:
    """Publishes outputs acknowledged; one per app (`news.publisher`)."""

    def __init__(self, app: faust.App, rejected: ChannelT[bytes], metrics: WorkerMetrics,
                 max_record_bytes: int, *, changelog: bool = True, clock: LoopClock | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        self._app = app
        self._clock = clock
        # False without a broker (functional tests): Faust's producer never runs, so the
        # changelog records it buffers are never sent.
        self._changelog = changelog
        self._rejected = rejected
        self._metrics = metrics
        self._max_record_bytes = max_record_bytes
        self._sleep = sleep or asyncio.sleep
        self._calls = 0
        self.waiting = _Waiting()

    def oldest_wait(self, now: float | None = None) -> float:
        """Seconds the longest-waiting call has waited for the broker (0 when none waits)."""
        if not self.waiting.since:
            return 0.0
        return (time.monotonic() if now is None else now) - min(self.waiting.since.values())

    async def publish(self, event: EventT[Any], outputs: Sequence[Output],
                      origin: Origin | None = None, *,
                      state_writes: StateWrites | None = None) -> None:
        """Publish `outputs` of `event`, then its state writes; return once all are acked."""
        await self.publish_many([Item(event, outputs, origin, state_writes)])

    async def publish_many(self, items: Sequence[Item]) -> None:
        """Publish the outputs of several input events, in order; return once all are acked."""
        items = await self._still_ours(items)
        records: list[_Record] = []
        for index, item in enumerate(items):
            for future in _CHANGELOG.pop(item.event, []):
                if self._changelog:
                    records.append(_changelog_record(index, future))
            records.extend(self._record(index, output, number)
                           for number, output in enumerate(item.outputs))
        call = self._calls = self._calls + 1
        self.waiting.since[call] = time.monotonic()
        try:
            await self._deliver(records, items)
            # The sends may have waited out a network partition: the state is written only
            # while the partition is surely still ours (a zombie's table writes would land
            # after its successor's, and win at the next restore).
            kept = {id(item) for item in await self._still_ours(items, "table writes")}
            writes: list[_Record] = []
            for index, item in enumerate(items):
                landed = _landed(index, records)
                if id(item) not in kept:
                    continue
                if item.state_writes is not None:
                    collected: list[FutureMessage] = []
                    token = _COLLECTING.set(collected)
                    try:
                        item.state_writes(landed)
                    finally:
                        _COLLECTING.reset(token)
                    if self._changelog:
                        writes.extend(_changelog_record(index, f) for f in collected)
            await self._deliver(writes, items)
        finally:
            del self.waiting.since[call]
            if not self.waiting.since:
                self.waiting.failing_since = None
        consumer = input_consumer(self._app.consumer)
        now = time.time()
        for index, item in enumerate(items):
            if id(item) not in kept:
                continue  # its partition moved: the next owner processes it again
            if consumer is not None:
                if not consumer.owns(item.event.message):
                    continue  # moved while its writes were acknowledged: not committed here
                consumer.mark_done(item.event.message)
            stamp = item.origin.timestamp if item.origin is not None else (
                item.event.message.timestamp)
            if stamp:
                for record in records:
                    if record.item == index and record.kind not in _NOT_OUTPUTS:
                        self._metrics.publish_lag.labels(record.kind).observe(
                            max(0.0, now - stamp))

    async def _still_ours(self, items: Sequence[Item], what: str = "outputs",
                          ) -> Sequence[Item]:
        """The items whose input partitions are still placed here; after a freeze, or while
        the group has not answered a heartbeat lately (the consumer's lease), only once the
        group membership is confirmed.

        A worker frozen past its session timeout (SIGSTOP, a stalled VM) wakes up as a zombie:
        the group has given its partitions to another worker, but it learns so only from its
        next heartbeat. So for CONFIRM seconds after such a wake-up (three heartbeats) and
        during any rebalance, nothing is sent; then whatever was made from a partition that
        was revoked (or placed again) is dropped, unpublished and uncommitted: its new owner
        processes it. (A non-transactional producer is never fenced: this is the only guard.)
        """
        consumer = input_consumer(self._app.consumer)
        if consumer is None:
            return items
        clock = self._clock
        if clock is not None and clock.woke_within(CONFIRM):
            log.warning("woke from a freeze: holding %s event(s) until the group membership "
                        "is confirmed", len(items))
            while (clock.woke_within(CONFIRM) or self._app.rebalancing) and any(
                    consumer.owns(item.event.message) for item in items):
                await self._sleep(0.1)
        if not consumer.confirmed():
            log.warning("the group has not confirmed this worker's membership lately (cut off "
                        "from the brokers?): holding the %s of %s event(s)", what, len(items),
                        extra=fields("publish.hold"))
            while not consumer.confirmed() and any(
                    consumer.owns(item.event.message) for item in items):
                await self._sleep(0.1)
        kept = [item for item in items if consumer.owns(item.event.message)]
        if len(kept) < len(items):
            log.warning("dropped the %s of %s event(s) whose partitions moved to another "
                        "worker meanwhile (it processes them)", what, len(items) - len(kept),
                        extra=fields("publish.revoked"))
        return kept

    # --- delivery ---------------------------------------------------------------------------

    async def _deliver(self, records: list[_Record], items: Sequence[Item]) -> None:
        backoff = FIRST_BACKOFF
        pending = records
        rejected: set[int] = set()  # inputs already replaced by a rejection in this call
        first = True
        while pending:
            if not first:
                # A re-send is a send: under the same lease, and never for an input whose
                # partition moved meanwhile (a cut-off worker's records must not land late).
                owned = {id(item) for item in await self._still_ours(items, "re-sends")}
                pending = [record for record in pending if id(items[record.item]) in owned]
                if not pending:
                    return
            first = False
            await self._send_in_order(pending)
            failed: list[tuple[_Record, BaseException, str]] = []
            for record in pending:
                if record.future is None:  # not sent: an earlier record of its key failed
                    continue
                try:
                    await record.future
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - every failure is classified below
                    failed.append((record, exc, classify(exc)))
                else:
                    record.acked = True
            stall = False
            for record, error, cause in failed:
                self._metrics.send_failures.labels(record.kind, _cause_label(cause)).inc()
                if cause == "broken":
                    log.critical("the producer is broken (%s: %s); stopping the worker",
                                 type(error).__name__, error)
                    raise ProducerBroken(f"{type(error).__name__}: {error}") from error
                if cause in ("retriable", "timeout"):
                    stall = True
                elif not self._replace(record, error, cause, items, rejected):
                    stall = True  # refused even bounded, or a changelog record: wait for a fix
            pending = [record for record in pending if not record.acked]
            for record in pending:
                record.future = None  # what is left goes again, in order
            if stall and pending:
                if self.waiting.failing_since is None:
                    self.waiting.failing_since = time.monotonic()
                record, error, cause = failed[0]
                self.waiting.last_error = f"{type(error).__name__}: {error}"[:200]
                log.warning("sending %s record(s) failed (%s: %s); sending again in %.1f s",
                            len(pending), type(error).__name__, error, backoff,
                            extra=fields("send.retry", topic=record.topic))
                await self._sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)

    async def _send_in_order(self, records: list[_Record]) -> None:
        """Hand the records to the producer in order, pipelined, except within one key.

        A record waits for the acknowledgement of the previous record with its topic and key
        (and is not sent if that failed), so a key's records are never acknowledged out of
        order: a re-send can repeat a record, never put an older one after a newer one.
        """
        latest: dict[tuple[str | None, bytes | None], asyncio.Future[Any]] = {}
        for record in records:
            if record.future is not None:  # a changelog record Faust already sent
                latest[(record.topic, record.key)] = record.future
                continue
            earlier = latest.get((record.topic, record.key))
            if earlier is not None and record.key is not None:
                try:
                    await earlier
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - the caller sees and classifies it
                    return
            record.future = await self._start(record)
            latest[(record.topic, record.key)] = record.future

    async def _start(self, record: _Record) -> asyncio.Future[Any]:
        """Hand one record to the producer; a failure to queue it comes back as the future."""
        loop = asyncio.get_running_loop()
        if record.skip:
            done: asyncio.Future[Any] = loop.create_future()
            done.set_result(None)
            return done
        try:
            if record.topic is None:  # an in-memory channel (functional tests): no broker
                assert record.channel is not None  # noqa: S101 - set for every output
                delivered = await record.channel.send(
                    key=record.key, value=record.value, partition=record.partition,
                    headers=record.headers)
                return asyncio.ensure_future(delivered)
            producer = await self._app.maybe_start_producer()
            sent: asyncio.Future[Any] = await producer.send(
                record.topic, record.key, record.value, record.partition, None, record.headers)
            return sent
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified where the future is awaited
            failed: asyncio.Future[Any] = loop.create_future()
            failed.set_exception(exc)
            return failed

    def _record(self, index: int, output: Output, number: int | None = None) -> _Record:
        channel = output.channel
        topic = channel.get_topic_name() if isinstance(channel, TopicT) else None
        headers = [(SCHEMA_HEADER, output.schema.encode())] if output.schema else None
        return _Record(index, output.kind, channel, topic, output.key, output.value,
                       output.partition, headers, output=number)

    def _replace(self, record: _Record, exc: BaseException, cause: str,
                 items: Sequence[Item], rejected: set[int]) -> bool:
        """Turn a refused record into a rejection of its input (False: cannot, wait instead)."""
        if record.changelog or record.refusals >= 2:
            log.error("the broker refuses a %s record for %s (%s: %s); retrying until it is "
                      "fixed", record.kind, record.topic, type(exc).__name__, exc,
                      extra=fields("send.refused", topic=record.topic))
            return False
        record.replaced = True  # whatever happens next, this output does not land as itself
        if record.kind != "rejection" and record.item in rejected:
            record.skip = True  # one rejection per input event is enough
            return True
        event, _outputs, origin, _writes = items[record.item]
        origin = origin or Origin.of(event)
        reason = RejectReason.TOO_LARGE if cause == "too_large" else RejectReason.INTERNAL_ERROR
        what = f"the {record.kind} record" if record.kind != "rejection" else "its rejection"
        # A refused version keeps its number (route.py): the rejection says which one.
        version = _version_of(record.value) if record.kind == "article" else ""
        detail = (f"the broker refused {what} for {record.topic}{version}: "
                  f"{type(exc).__name__}: {exc}")
        refusals = record.refusals + 1
        # Once with the original if it fits the worker's record limit, then without it.
        limit = self._max_record_bytes if refusals == 1 else BOUNDED_REJECTION_BYTES
        key, value = origin.rejection(reason, detail, limit)
        self._metrics.rejections.labels(reason.value).inc()
        log.warning("page rejected: %s (%s)", reason.value, detail[:200], extra=fields(
            "page.rejected", page_id=origin.page_id, url=origin.url, topic=origin.source.topic,
            partition=origin.source.partition, offset=origin.source.offset))
        replacement = self._record(record.item, Output(
            self._rejected, key or None, value, REJECTION_SCHEMA, "rejection"))
        for name in ("kind", "channel", "topic", "key", "value", "partition", "headers"):
            setattr(record, name, getattr(replacement, name))
        record.refusals = refusals
        rejected.add(record.item)
        return True


def _version_of(value: bytes | None) -> str:
    """" (id X, version N)" of an article record, so the rejection explains the gap the
    refused version leaves in the story's numbers (README, versions only go up); "" if the
    value is not an article this worker wrote."""
    try:
        article = orjson.loads(value or b"")
        return f" (id {article['id']}, version {int(article['version'])})"
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return ""


def _landed(index: int, records: Sequence[_Record]) -> Landed:
    """Which outputs of item `index` the broker acknowledged as themselves."""
    return frozenset(record.output for record in records if record.item == index
                     and record.output is not None and record.acked and not record.replaced)


def _changelog_record(index: int, future: FutureMessage) -> _Record:
    message = future.message
    channel = message.channel
    topic = channel.get_topic_name() if isinstance(channel, TopicT) else None
    headers = message.headers
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or ())
    return _Record(index, "changelog", channel, topic, message.key, message.value,
                   message.partition, pairs or None, future=future, changelog=True)


def _cause_label(cause: str) -> str:
    return cause if cause in SEND_CAUSES else "refused"
