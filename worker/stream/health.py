"""Is this worker doing its job? What /readyz and the health metrics are made of.

    LoopClock     the time the event loop itself ran (a SIGSTOP freeze or a starved process
                  adds at most one tick), and the last time it woke from a freeze longer than
                  the session timeout (a zombie: worker/stream/publish.py holds its sends)
    BrokerProbe   one metadata round trip every 2 s            news_broker_reachable 0/1
    readiness()   (ready, reason)                              news_ready 0/1
                  news_partition_stalled{topic,partition} 0/1,
                  news_input_skipped_offsets_total{topic,kind}

/readyz is 503, with the first reason that applies:
    no partition assignment yet; a rebalance or table recovery is running
    the broker did not answer the last probe (an outage: `news_broker_reachable` 0)
    a publish call has waited for the broker longer than NEWS_STALL_TIMEOUT, or its sends
        have been failing and retried for longer than 5 s
    an assigned input partition has lag and has not moved for NEWS_STALL_TIMEOUT
    an agent's last 3 records all failed every routing attempt (a systematic error)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiokafka.admin import AIOKafkaAdminClient
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from mode.types.signals import BaseSignalT
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from worker.stream.consumer import input_consumer
from worker.stream.positions import DELETED, HOLE

if TYPE_CHECKING:
    from worker.stream.app import NewsApp

log = logging.getLogger(__name__)

TICK = 0.1  # seconds between LoopClock ticks
PROBE_INTERVAL = 2.0  # seconds between broker probes
PROBE_TIMEOUT = 3.0
FAILING_SENDS = 5.0  # seconds of failing sends before /readyz says so
FAILING_RECORDS = 3  # consecutive poison records that make an agent "failing"


class LoopClock:
    """Time the event loop ran: each tick adds the time since the last one, at most 2 ticks.

    A page's time limit is measured on this clock (worker/stream/executor.py), so a worker
    frozen by SIGSTOP or starved of CPU never blames the page it had in hand.
    """

    def __init__(self, freeze: float = 10.0) -> None:
        self.freeze = freeze  # a gap this long: the group has likely moved on without us
        self.running = 0.0
        self.woke_at: float | None = None  # monotonic time we woke from the last freeze
        self._last: float | None = None
        self._task: asyncio.Task[None] | None = None

    def now(self) -> float:
        """Seconds the loop has run (starts the ticker on first use inside a loop)."""
        if self._task is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return time.monotonic()  # no loop, no ticker: wall time
            self._last = time.monotonic()
            self._task = loop.create_task(self._tick())
        return self.running

    def note(self, now: float | None = None) -> float:
        """One tick: add the time since the last one (at most two ticks' worth)."""
        now = time.monotonic() if now is None else now
        delta = 0.0 if self._last is None else now - self._last
        self._last = now
        if delta > self.freeze:
            self.woke_at = now
            log.warning("the event loop did not run for %.1f s (a freeze or a starved "
                        "machine); holding sends until the group membership is confirmed",
                        delta)
        self.running += min(delta, 2 * TICK)
        return self.running

    def woke_within(self, window: float, now: float | None = None) -> bool:
        """Whether the loop woke from a freeze less than `window` seconds ago (checked now,
        not only at the next tick: the first callback after a SIGCONT may be a send)."""
        now = time.monotonic() if now is None else now
        if self._last is not None and now - self._last > self.freeze:
            self.woke_at = now
        return self.woke_at is not None and now - self.woke_at < window

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            self.note()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


@dataclass
class Health:
    """What /readyz needs to know, kept current by the agents, the publisher and the probe."""

    assigned: bool = False  # a partition assignment has been received at least once
    broker_ok: bool = True  # the last probe was answered
    broker_error: str = ""
    clock: LoopClock = field(default_factory=LoopClock)
    poison_in_a_row: Counter[str] = field(default_factory=Counter)  # agent -> records


def readiness(news: NewsApp, now: float | None = None) -> tuple[bool, str]:
    """(ready, reason): the first thing that keeps the worker from doing its job, if any."""
    now = time.monotonic() if now is None else now
    app, health, settings = news.app, news.health, news.settings
    if not health.assigned:
        return False, "waiting for a partition assignment"
    recovery = app.tables.recovery  # type: ignore[attr-defined]  # on TableManager, not its T
    if app.rebalancing or app.in_recovery or not recovery.completed.is_set():
        return False, "rebalancing or recovering table state"
    if not health.broker_ok:
        return False, f"the broker does not answer ({health.broker_error})"
    waiting = news.publisher.oldest_wait(now)
    if waiting > settings.stall_timeout:
        return False, f"a publish has waited {waiting:.0f} s for the broker's acknowledgement"
    failing = news.publisher.waiting.failing_since
    if failing is not None and now - failing > FAILING_SENDS:
        return False, (f"sends have failed for {now - failing:.0f} s and are being retried "
                       f"({news.publisher.waiting.last_error})")
    for topic, partition, lag, idle in stalled_partitions(news, now):
        return False, (f"input {topic}:{partition} has not moved for {idle:.0f} s with "
                       f"{lag} records to go")
    for agent, count in health.poison_in_a_row.items():
        if count >= FAILING_RECORDS:
            return False, f"{agent} failed on its last {count} records (see its error log)"
    return True, "ready"


def stalled_partitions(news: NewsApp, now: float) -> Iterator[tuple[str, int, int, float]]:
    """(topic, partition, lag, seconds idle) of input partitions stalled with lag."""
    consumer = input_consumer(news.app.consumer)
    if consumer is not None:
        yield from consumer.stalled(now, news.settings.stall_timeout)


class HealthMetrics(Collector):
    """news_ready, news_broker_reachable, news_partition_stalled, skipped input offsets."""

    def __init__(self, news: NewsApp) -> None:
        self.news = news

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        news = self.news
        ready = GaugeMetricFamily("news_ready", "1 when /readyz answers 200, else 0.")
        ready.add_metric([], 1.0 if readiness(news)[0] else 0.0)
        yield ready
        reachable = GaugeMetricFamily(
            "news_broker_reachable", "1 when the last broker probe (every 2 s) was answered.")
        reachable.add_metric([], 1.0 if news.health.broker_ok else 0.0)
        yield reachable
        stalled = GaugeMetricFamily(
            "news_partition_stalled",
            "1 for an assigned input partition with lag that has not moved for "
            "NEWS_STALL_TIMEOUT, else 0.", labels=["topic", "partition"])
        consumer = input_consumer(news.app.consumer)
        now = time.monotonic()
        if consumer is not None:
            stuck = {(t, p) for t, p, _lag, _idle in stalled_partitions(news, now)}
            for tp in consumer.placed():
                stalled.add_metric([tp.topic, str(tp.partition)],
                                   1.0 if (tp.topic, tp.partition) in stuck else 0.0)
        yield stalled
        skipped = CounterMetricFamily(
            "news_input_skipped_offsets",
            "Input offsets that held no record when their turn came, by kind: deleted (below "
            "the log start: retention, DeleteRecords; pages lost) or hole (transaction markers, "
            "aborted transactions' records, records compacted away; never a page to process).",
            labels=["topic", "kind"])
        counts: Counter[tuple[str, str]] = Counter(
            {(topic, kind): 0 for topic in input_topics(news) for kind in (DELETED, HOLE)})
        if consumer is not None:
            counts.update(consumer.skipped)
        for (topic, kind), count in sorted(counts.items()):
            skipped.add_metric([topic, kind], count)
        yield skipped


def input_topics(news: NewsApp) -> list[str]:
    return [channel.get_topic_name() for channel in (news.pages, news.stories)
            if hasattr(channel, "get_topic_name")]


class BrokerProbe:
    """A metadata round trip every PROBE_INTERVAL; `health.broker_ok` says how it went."""

    def __init__(self, news: NewsApp) -> None:
        self.news = news
        self._admin: AIOKafkaAdminClient | None = None

    async def probe(self) -> None:
        health = self.news.health
        try:
            if self._admin is None:
                self._admin = self._client()
                await asyncio.wait_for(self._admin.start(), PROBE_TIMEOUT)
            await asyncio.wait_for(self._admin.describe_cluster(), PROBE_TIMEOUT)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure means "not answering"
            if health.broker_ok:
                log.warning("the broker does not answer: %s", exc or type(exc).__name__)
            health.broker_ok, health.broker_error = False, str(exc) or type(exc).__name__
            # A fresh client next time: after an outage this one's metadata may name no
            # node at all ("node id None") and it would never answer again.
            await self._discard()
            return
        if not health.broker_ok:
            log.info("the broker answers again")
        health.broker_ok, health.broker_error = True, ""

    def _client(self) -> AIOKafkaAdminClient:
        settings = self.news.settings
        auth: dict[str, Any] = dict(
            credentials_to_aiokafka_auth(self.news.app.conf.broker_credentials))
        return AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap.split(","),
                                   request_timeout_ms=int(PROBE_TIMEOUT * 1000), **auth)

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    async def _discard(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                await asyncio.wait_for(admin.close(), PROBE_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - it is being thrown away anyway
                log.debug("closing the broker probe's client failed: %s", exc)


def install_health(news: NewsApp) -> None:
    """The broker probe timer and the health metrics."""
    probe = BrokerProbe(news)
    news.metrics.registry.register(HealthMetrics(news))

    @news.app.timer(interval=PROBE_INTERVAL, name="probe_broker")  # type: ignore[untyped-decorator]
    async def probe_broker() -> None:
        await probe.probe()
        news.health.clock.now()  # make sure the loop clock ticks

    async def stop_probe(sender: Any, /, *args: Any, signal: BaseSignalT[Any],
                         **kwargs: Any) -> None:
        await probe.close()
        news.health.clock.stop()

    news.app.on_before_shutdown.connect(stop_probe)
