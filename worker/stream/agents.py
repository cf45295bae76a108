"""The stream: page -> article | duplicate | rejection. The only code that awaits, sends or
writes the table.

    extract_articles  (pages topic, one page at a time per partition set)
        raw bytes -> PageExecutor (off the loop, time-limited) -> Article | Rejection
        Rejection -> rejected topic                              # (page id | url, rejection.v2)
        Article   -> stories topic                               # (dedupe_key, story record)
    drop_duplicates   (stories topic, co-partitioned with the `dedupe` table)
        decide(entry, article, origin="pages-topic:partition:offset")
        NEW / UPDATE / REDELIVERY -> articles topic             # (article id, article.v1)
        DUPLICATE                 -> duplicates topic           # (duplicate_of, duplicate.v1)
    sweep_dedupe      (timer) -> a sweep marker into each assigned stories partition, so the
                      agent owning that partition deletes keys expired as of the latest fetch
                      time it has seen (capped by the clock), tombstones included

At-least-once, in order: each agent processes an input partition strictly in offset order
from its committed offset (worker/stream/consumer.py drops and re-reads what Faust skips around
rebalances), an input offset is acked only after everything it produced has been handed to
the producer, and Faust flushes the producer before it commits. Every agent runs with
concurrency 1 (faust-streaming #606 commits past in-flight messages otherwise); with several
extraction processes the extract agent takes batches and acks a batch after routing all of it.
An unexpected error while routing (a bug, a broken producer) must not ack the page, so the
process exits at once and the uncommitted pages are replayed by the restarted worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from faust.types import ChannelT, EventT, StreamT, TopicT
from mode.types.signals import BaseSignalT

from worker.errors import RejectReason
from worker.inputs import utc_now
from worker.logs import fields
from worker.pipeline.dedupe import DedupeEntry, Verdict, decide, expire_entry
from worker.pipeline.types import (
    ARTICLE_SCHEMA,
    DUPLICATE_SCHEMA,
    REJECTION_SCHEMA,
    Article,
    Rejection,
    Source,
)
from worker.stream.app import NewsApp
from worker.stream.consumer import input_consumer
from worker.stream.executor import PageExecutor
from worker.stream.positions import key_partition
from worker.stream.wire import (
    SCHEMA_HEADER,
    article_from_wire,
    encode_rejection,
    encode_story,
    encode_sweep,
)

log = logging.getLogger(__name__)
EXIT_SOFTWARE = 70  # sysexits: internal software error
_BATCH_WITHIN = 0.02  # seconds the extract agent waits to fill a batch of pages
_SWEEP_YIELD = 500  # keys between yields to the event loop during a sweep


@dataclass
class DataClock:
    """Latest article fetch time the dedupe agent has handled: the sweep's notion of "now"."""

    data_time: datetime | None = None


def install_agents(news: NewsApp, executor: PageExecutor) -> None:
    """Register the agents and the expiry timer on `news.app`."""
    app = news.app
    clock = DataClock()
    news.metrics.consumer_lag.source = lambda: consumer_lag(news)
    news.metrics.extraction_pool.source = executor.pids

    @app.agent(news.pages, name="extract_articles")
    async def extract_articles(stream: StreamT[bytes]) -> None:
        await declare_outputs(news)
        if executor.processes <= 1:
            async for event in stream.events():
                if await admit(news, event):
                    await _or_exit(_page(news, executor, event))
            return
        # take_events acks a batch only after the loop body has routed all of it.
        batches = stream.take_events(  # type: ignore[attr-defined]  # missing from StreamT
            executor.processes, within=_BATCH_WITHIN
        )
        async for events in batches:
            admitted = [e for e in events if await admit(news, e)]
            if admitted:
                await _or_exit(_pages(news, executor, admitted))

    @app.agent(news.stories, name="drop_duplicates")
    async def drop_duplicates(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            if await admit(news, event):
                await _or_exit(handle_story(news, event, clock))

    @app.timer(  # type: ignore[untyped-decorator]  # faust's timer decorator is untyped
        interval=news.settings.dedupe_sweep_interval, name="sweep_dedupe"
    )
    async def sweep_dedupe() -> None:
        topic = news.stories.get_topic_name()
        now = encode_sweep(utc_now())
        for tp in sorted(app.assignor.assigned_actives()):
            if tp.topic == topic:
                await news.stories.send(key=b"sweep", value=now, partition=tp.partition)

    def on_assigned(sender: Any, /, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
        news.health.assigned = True

    app.on_partitions_assigned.connect(on_assigned)


async def admit(news: NewsApp, event: EventT[bytes]) -> bool:
    """Whether this input event is the next of its partition (else it is dropped, unbooked).

    The consumer (worker/stream/consumer.py) keeps each partition in order from its committed
    offset: records Faust skipped around a rebalance are read again before later ones.
    """
    consumer = input_consumer(news.app.consumer)
    return True if consumer is None else await consumer.admit(event.message)


async def _or_exit(step: Awaitable[None]) -> None:
    try:
        await step
    except Exception:
        # Acking now would lose the page; exiting leaves its offset uncommitted.
        log.critical("cannot route a message; exiting so it is replayed", exc_info=True)
        logging.shutdown()
        os._exit(EXIT_SOFTWARE)


async def declare_outputs(news: NewsApp) -> None:
    """Create the output topics (our partitions and record size) unless they exist."""
    for channel in news.outputs:
        if isinstance(channel, TopicT):
            await channel.maybe_declare()


def _received_at(event: EventT[bytes]) -> datetime:
    # The broker's timestamp, not our clock: a replayed page gets the same fetch-time fallback,
    # so it yields the same article (and dedupe decision) as the first time.
    stamp = event.message.timestamp
    return datetime.fromtimestamp(stamp, UTC) if stamp else utc_now()


async def extract_page(
    news: NewsApp, executor: PageExecutor, event: EventT[bytes]
) -> Article | Rejection:
    """Run the pipeline on one pages-topic event, off the event loop."""
    msg = event.message
    news.metrics.pages.inc()
    value = msg.value if isinstance(msg.value, bytes) else b""  # a tombstone is not JSON
    started = time.perf_counter()
    restarts = executor.restarts
    result = await executor.process(
        value, _received_at(event), Source(msg.topic, msg.partition, msg.offset)
    )
    duration = time.perf_counter() - started
    news.metrics.extraction.observe(duration)
    log.debug("page extracted", extra=fields(
        "page.extracted", page_id=getattr(result, "page_id", None), topic=msg.topic,
        partition=msg.partition, offset=msg.offset, duration=round(duration, 4)))
    if executor.restarts != restarts:
        cause = "timeout" if isinstance(result, Rejection) and (
            result.reason is RejectReason.TIMEOUT) else "died"
        news.metrics.extract_restarts.labels(cause).inc(executor.restarts - restarts)
    return result


async def route_page(news: NewsApp, event: EventT[bytes], result: Article | Rejection) -> None:
    """Send a rejection to the rejected topic, or an article on to its dedupe partition."""
    msg = event.message
    news.metrics.observe_key(msg.key, result.url)
    if isinstance(result, Article):
        origin = f"{msg.topic}:{msg.partition}:{msg.offset}"
        value = encode_story(result, origin, msg.timestamp)
        if len(value) <= news.max_record_bytes:
            await news.stories.send(key=result.dedupe_key.encode("utf-8"), value=value)
            return
        result = Rejection(
            RejectReason.TOO_LARGE,
            f"article record is {len(value)} bytes, limit is {news.max_record_bytes}",
            msg.value if isinstance(msg.value, bytes) else b"",
            result.page_id, result.url, Source(msg.topic, msg.partition, msg.offset),
        )
    # The key, headers and timestamp go into the rejection, so redrive restores them.
    result = result.with_message(msg.key, msg.headers, msg.timestamp)
    await publish_rejection(news, result, msg.timestamp, msg.key)


async def publish_rejection(
    news: NewsApp, rejection: Rejection, input_ts: float | None, input_key: Any = None
) -> None:
    """Rejection record to the rejected topic, keyed by page id, URL or the input's key."""
    rejection = replace(rejection, rejected_at=utc_now())
    text_key = rejection.page_id or rejection.url
    key = text_key.encode("utf-8") if text_key else (
        input_key if isinstance(input_key, bytes) else None)
    value = encode_rejection(rejection, news.max_record_bytes)
    news.metrics.rejections.labels(rejection.reason.value).inc()
    source = rejection.source
    log.info("page rejected: %s (%s)", rejection.reason.value, rejection.detail[:200],
             extra=fields("page.rejected", page_id=rejection.page_id, url=rejection.url,
                          topic=source.topic, partition=source.partition, offset=source.offset))
    await _publish(news, news.rejected, key, value, REJECTION_SCHEMA, "rejection", input_ts)


async def _page(news: NewsApp, executor: PageExecutor, event: EventT[bytes]) -> None:
    await route_page(news, event, await extract_page(news, executor, event))


async def _pages(news: NewsApp, executor: PageExecutor, events: list[EventT[bytes]]) -> None:
    results = await asyncio.gather(*(extract_page(news, executor, e) for e in events))
    for event, result in zip(events, results, strict=True):  # input order, per partition
        await route_page(news, event, result)


async def handle_story(news: NewsApp, event: EventT[bytes], clock: DataClock) -> None:
    """Decide one article against the table and publish the article or duplicate record."""
    msg = event.message
    try:
        data = orjson.loads(msg.value or b"")
        if "sweep" in data:
            # Expire by data time, never ahead of the clock: replayed old pages keep their
            # stories as long as `process` would, and a crawler's future date expires nothing.
            if clock.data_time is not None:
                wall = datetime.fromisoformat(data["sweep"])
                await sweep_partition(news, msg.partition, min(wall, clock.data_time))
            return
        article = article_from_wire(data["article"])
        origin, input_ts = str(data["origin"]), data.get("ts")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        # Only this worker writes the stories topic: a foreign record has no page to reject.
        log.error("skipping a malformed stories record at %s:%s: %s", msg.tp, msg.offset, exc)
        return
    if clock.data_time is None or article.fetched_at > clock.data_time:
        clock.data_time = article.fetched_at
    key = article.dedupe_key.encode("utf-8")
    raw = news.dedupe.get(key)
    entry = DedupeEntry.from_dict(orjson.loads(raw)) if raw else None
    decision = decide(entry, article, news.options, origin=origin)
    news.dedupe[key] = orjson.dumps(decision.entry.to_dict())
    if decision.duplicate is not None:
        news.metrics.duplicates.inc()
        await _publish(news, news.duplicates, decision.duplicate.duplicate_of.encode("utf-8"),
                       orjson.dumps(decision.duplicate.to_dict()), DUPLICATE_SCHEMA,
                       "duplicate", input_ts)
        return
    if decision.article is None:  # pragma: no cover - decide() always sets one or the other
        raise AssertionError(f"decision without output: {decision.verdict}")
    counter = {
        Verdict.NEW: news.metrics.articles,
        Verdict.UPDATE: news.metrics.updates,
        Verdict.REDELIVERY: news.metrics.redeliveries,
    }[decision.verdict]
    counter.inc()
    await _publish(news, news.articles, decision.article.id.encode("utf-8"),
                   orjson.dumps(decision.article.to_dict()), ARTICLE_SCHEMA, "article", input_ts)


async def _publish(
    news: NewsApp, channel: ChannelT[bytes], key: bytes | None, value: bytes, schema: str,
    output: str, input_ts: float | None,
) -> None:
    histogram = news.metrics.publish_lag.labels(output)

    def delivered(_fut: Any) -> None:
        if input_ts:
            histogram.observe(max(0.0, time.time() - input_ts))

    await channel.send(key=key, value=value, headers={SCHEMA_HEADER: schema.encode()},
                       callback=delivered)


async def sweep_partition(news: NewsApp, partition: int, now: datetime) -> None:
    """Delete (or trim) the dedupe entries of `partition` not seen within the window."""
    table, partitions, removed = news.dedupe, news.settings.topic_partitions, 0
    # A snapshot of the keys: the table may hold other partitions (standbys), and only the
    # owner of a partition may write its changelog.
    keys = [k for k in list(table.keys()) if key_partition(k, partitions) == partition]
    for index, key in enumerate(keys):
        if index % _SWEEP_YIELD == 0:
            await asyncio.sleep(0)
        raw = table.get(key)
        if raw is None:
            continue
        entry = DedupeEntry.from_dict(orjson.loads(raw))
        kept = expire_entry(entry, now, news.options)
        if not kept.stories:
            del table[key]
            removed += 1
        elif len(kept.stories) != len(entry.stories):
            table[key] = orjson.dumps(kept.to_dict())
    news.metrics.expired.inc(removed)
    if removed:
        log.info("dedupe sweep removed %s expired keys from partition %s", removed, partition)


def consumer_lag(news: NewsApp) -> Iterator[tuple[str, int, int]]:
    """Consumer lag per assigned input partition (nothing before the consumer starts)."""
    try:
        consumer = input_consumer(news.app.consumer)
        if consumer is not None:
            yield from consumer.lag()
    except Exception:  # noqa: BLE001 - not started or mid-rebalance: no lag to report
        return
