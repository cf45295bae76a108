"""Every use of a private Faust, mode, aiokafka or asyncio name by the worker, in one place.

faust-streaming, mode-streaming and aiokafka are pinned to the exact versions in `PINNED`
(and in requirements/constraints.txt, from which `make lock` makes the hash-checked locks
`make setup`, the Dockerfile and CI install; tests/unit/test_fence.py fails loudly on any
other installed version): these names
are not API and may change in any release. Re-run tests/unit/test_fence.py,
tests/functional/test_consumer.py and the integration suite before changing a pin.

Private names used here, and why:

    asyncio.Queue._put, ._get               BoundedQueue: count the bytes queued
    mode FlowControlQueue._pending_pressure_drop_callbacks
                                            BoundedQueue: pause/resume fetching on bytes too
    mode BlockingDetector._on_alarm, ._reset_signal, ._arm
                                            BlockingReporter: report, never raise, and fire
                                            only when the loop is a whole timeout late
    faust Consumer._new_consumer_thread, ._committed_offset, ._acked, ._acked_index, ._gap,
          ._unacked_messages, ._waiting_for_ack, ._read_offset, ._new_offset, ._add_gap,
          ._thread, ._commit_offsets        InputConsumer (stream/consumer.py): the strict
                                            input consumer's hooks; the commit on hand-over
    faust AIOKafkaConsumerThread._fetch_records, ._ensure_consumer, ._create_worker_consumer
                                            InputConsumerThread (stream/fetcher.py): seek
                                            epochs, batch stamps;
                                            the consumer it builds, before it starts
    aiokafka AIOKafkaConsumer._isolation_level
                                            InputConsumerThread: read_committed (Faust sets
                                            it only under exactly-once; start() hands it to
                                            the Fetcher): aborted crawler pages are unseen
    aiokafka AIOKafkaConsumer._client       network_client(): metadata for the CLI tools
    aiokafka AIOKafkaConsumer._subscription (.subscription.assignment.state_value(tp)
          .has_valid_position, .position, .highwater)
                                            fetcher.fetch_state(): where the fetcher
                                            stands, past commit markers (the input lag), and
                                            the log end it last saw (when lag began)
    aiokafka AIOKafkaConsumer._coordinator, GroupCoordinator._do_heartbeat
                                            InputConsumer's membership lease: when the group
                                            last answered a heartbeat
"""

from __future__ import annotations

from collections.abc import Callable
from types import FrameType
from typing import Any

import faust
from mode.debug import BlockingDetector
from mode.utils.queues import ThrowableQueue

from worker.stream.blocking import report, run_queue_wait

PINNED = {"faust-streaming": "0.15.3", "mode-streaming": "0.7.1", "aiokafka": "0.14.0"}

PRESSURE_HIGH = 0.8  # of the byte budget: stop fetching the partition
PRESSURE_DROP = 0.4  # of the byte budget: fetch it again


def _size(item: object) -> int:
    message = getattr(item, "message", None)
    value, key = getattr(message, "value", None), getattr(message, "key", None)
    return (len(value) if isinstance(value, bytes) else 0) + (
        len(key) if isinstance(key, bytes) else 0)


class BoundedQueue(ThrowableQueue):  # type: ignore[type-arg]  # mode's generic
    """A stream buffer bounded by bytes as well as by count.

    Faust buffers up to `stream_buffer_maxsize` events per input stream whatever their size
    (64 pages of 5 MB is 320 MB). This queue also counts the bytes of the records it holds:
    above PRESSURE_HIGH of `max_bytes` the partition's fetching pauses (as Faust does at its
    count limit), below PRESSURE_DROP it resumes, and a full budget makes Faust wait before
    handing over more (one record is always let in, so one larger than the budget still goes).
    """

    def __init__(self, *args: object, max_bytes: int, **kwargs: object) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        super().__init__(*args, **kwargs)

    def full(self) -> bool:
        return bool(super().full()) or (self.bytes >= self.max_bytes and self.qsize() > 0)

    def _put(self, item: object) -> None:
        super()._put(item)
        self.bytes += _size(item)

    def _get(self) -> object:
        item = super()._get()
        self.bytes = max(0, self.bytes - _size(item))
        return item

    def clear(self) -> None:
        super().clear()
        self.bytes = 0

    def in_pressure_high_state(self, callback: Callable[..., Any]) -> bool:
        pending = self._pending_pressure_drop_callbacks
        if callback not in pending and self.bytes >= self.max_bytes * PRESSURE_HIGH:
            pending.add(callback)
            self.on_pressure_high()
            return True
        return bool(super().in_pressure_high_state(callback))

    def maybe_endorse_pressure_drop(self) -> None:
        if self.bytes <= self.max_bytes * PRESSURE_DROP or not self.qsize():
            super().maybe_endorse_pressure_drop()


class BoundedApp(faust.App):
    """faust.App whose stream buffers are bounded in bytes too (`stream_buffer_bytes`)."""

    stream_buffer_bytes = 64 * 1024 * 1024

    def FlowControlQueue(  # noqa: N802 - Faust's name
        self, maxsize: int | None = None, *, clear_on_resume: bool = False,
    ) -> ThrowableQueue:  # type: ignore[type-arg]  # mode's generic
        return BoundedQueue(maxsize=maxsize, flow_control=self.flow_control,
                            clear_on_resume=clear_on_resume,
                            max_bytes=self.stream_buffer_bytes)


class BlockingReporter(BlockingDetector):
    """mode's detector, reporting (worker/stream/blocking.py) instead of raising.

    mode re-arms the alarm every 0.96 x timeout for `timeout`: it fired when the loop came
    round 40 ms late. Armed for 1.96 x timeout, it fires when the loop is `timeout` late.
    """

    _waited: int | None = None

    def _arm(self, timeout: float) -> None:
        super()._arm(timeout * 1.96 if timeout else 0)

    def _reset_signal(self) -> None:
        self._waited = run_queue_wait()
        super()._reset_signal()

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        now, before = run_queue_wait(), self._waited
        waited = now - before if now is not None and before is not None else None
        report(self.log, self.timeout, frame, waited)
        self._reset_signal()
