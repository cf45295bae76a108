"""The consumer thread of `InputConsumer` (worker/stream/consumer.py): where aiokafka runs.

Faust runs aiokafka's consumer in a thread of its own. What must happen in fetch order
happens here: input seeks (each starts a partition's next "epoch"), the epoch stamp of every
fetched batch, the fetcher's position and log end after each fetch (input lag), the
`read_committed` isolation level, and the heartbeat watch behind the membership lease.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, cast

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

if TYPE_CHECKING:
    from worker.stream.consumer import InputConsumer

log = logging.getLogger(__name__)

READ_COMMITTED = "read_committed"  # the worker consumer's isolation level (aborted pages unseen)


class InputConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """The aiokafka consumer's thread: input seeks and batch stamps happen here, in order."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        """Faust's consumer, reading only committed transactions (`read_committed`).

        Faust reads `read_uncommitted` except under exactly-once (which the worker does not
        use): a page a crawler wrote in a transaction and then aborted was processed and
        published. aiokafka takes the level as a constructor argument Faust does not pass;
        it is kept in `_isolation_level` and read by `start()` for its Fetcher (and offset
        lookups), so it is set here, before the consumer starts. Aborted records and
        markers are never handed out: `Positions` sees a jump, re-reads once and commits
        over the range as a hole. Records after an open transaction (the last stable
        offset) are not fetched until it ends; they count as lag meanwhile.
        """
        consumer = super()._create_worker_consumer(transport)
        consumer._isolation_level = READ_COMMITTED  # noqa: SLF001 - see fence.py
        return consumer

    async def on_start(self) -> None:
        await super().on_start()
        # aiokafka keeps the time of the last answered heartbeat to itself: note it.
        coordinator = getattr(self._ensure_consumer(), "_coordinator", None)
        beat = getattr(coordinator, "_do_heartbeat", None)
        owner = self._owner
        if beat is None:  # another aiokafka (fence.PINNED): no lease rather than no progress
            log.error("aiokafka's coordinator has no _do_heartbeat: the membership lease is "
                      "off (a worker cut off from the brokers may write after its eviction)")
            return
        owner.leased = True

        async def heartbeat() -> bool:
            sent = time.monotonic()
            answered = bool(await beat())
            if answered:
                owner.confirmed_at = max(owner.confirmed_at, sent)
            return answered

        coordinator._do_heartbeat = heartbeat  # type: ignore[union-attr]  # noqa: SLF001

    async def seek_input(self, tp: TP, offset: int) -> None:
        """Seek an input partition and start its next epoch, on the consumer thread."""
        await self.call_thread(self._seek_input, tp, offset)

    async def _seek_input(self, tp: TP, offset: int) -> None:
        self._ensure_consumer().seek(faust_aiokafka.ensure_aiokafka_TP(tp), offset)
        self._owner._epoch[tp] += 1  # noqa: SLF001 - the owner's epochs, kept on this thread
        self._owner._fetched[tp] = (offset, offset)  # noqa: SLF001 - nothing fetched from here

    async def _fetch_records(self, consumer: Any, active_partitions: set[TP],
                             timeout: float | None = None,
                             max_records: int | None = None) -> Any:
        records = await super()._fetch_records(consumer, active_partitions, timeout=timeout,
                                               max_records=max_records)
        # No await since aiokafka collected them: no seek on this thread came in between.
        self._owner._fetch_epoch = dict(self._owner._epoch)  # noqa: SLF001 - as above
        owner, fetched = self._owner, self._owner._fetched  # noqa: SLF001 - as above
        now = time.monotonic()
        for tp in tuple(self._owner._inputs):  # noqa: SLF001 - as above
            state = fetch_state(consumer, tp)
            if state is None:
                continue
            position = int(state.position)
            batch = records.get(tp)
            record_end = batch[-1].offset + 1 if batch else fetched.get(tp, (position,))[0]
            fetched[tp] = (record_end, position)
            if state.highwater is not None:  # of this fetch's response
                owner._note_clear(tp, owner._lag(tp, int(state.highwater)), now)  # noqa: SLF001
        return records

    @property
    def _owner(self) -> InputConsumer:
        return cast("InputConsumer", self.consumer)


def fetch_state(consumer: Any, tp: TP) -> Any:
    """aiokafka's fetch state of `tp`, if it has a valid position; else None.

    `.position` is the next offset it fetches (past control and aborted records), and
    `.highwater` the log end as of the latest fetch response. `AIOKafkaConsumer.position` is a
    coroutine that waits for a position; this reads the same state without waiting.
    """
    subscription = consumer._subscription.subscription  # noqa: SLF001 - see fence.py
    assignment = subscription.assignment if subscription is not None else None
    state = assignment.state_value(tp) if assignment is not None else None
    if state is None or not state.has_valid_position:
        return None
    return state
