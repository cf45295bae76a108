"""The stream: page -> article | duplicate | rejection. The only code that awaits, sends or
writes the table.

    extract_articles  (pages topic, one page at a time per partition set)
        raw bytes -> PageExecutor (off the loop, time-limited) -> Article | Rejection
        Rejection -> rejected topic                              # (page id | url, rejection.v1)
        Article   -> stories topic                               # (dedupe_key, story record)
    drop_duplicates   (stories topic, co-partitioned with the `dedupe` table)
        decide(entry, article, origin="pages-topic:partition:offset")
        NEW / UPDATE / REDELIVERY -> articles topic             # (article id, article.v1)
        DUPLICATE                 -> duplicates topic           # (duplicate_of, duplicate.v1)
    sweep_dedupe      (timer) -> a sweep marker into each assigned stories partition, so the
                      agent owning that partition deletes keys expired as of the latest fetch
                      time it has seen (capped by the clock), tombstones included

At-least-once: an input offset is acked only after everything it produced has been handed to
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
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson
from faust.types import ChannelT, EventT, StreamT, TopicT
from mode.types.signals import BaseSignalT

from worker.app import NewsApp
from worker.errors import RejectReason
from worker.executor import PageExecutor
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
from worker.positions import Positions, key_partition
from worker.wire import (
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


def install_agents(news: NewsApp, executor: PageExecutor) -> None:
    """Register the agents and the expiry timer on `news.app`."""
    app = news.app
    positions = Positions()
    inputs = input_topics(news)
    news.metrics.consumer_lag.source = lambda: consumer_lag(news, positions, inputs)

    @app.agent(news.pages, name="extract_articles")
    async def extract_articles(stream: StreamT[bytes]) -> None:
        await declare_outputs(news)
        if executor.processes <= 1:
            async for event in stream.events():
                await _or_exit(_page(news, executor, event, positions))
            return
        # take_events acks a batch only after the loop body has routed all of it.
        batches = stream.take_events(  # type: ignore[attr-defined]  # missing from StreamT
            executor.processes, within=_BATCH_WITHIN
        )
        async for events in batches:
            await _or_exit(_pages(news, executor, events, positions))

    @app.agent(news.stories, name="drop_duplicates")
    async def drop_duplicates(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            await _or_exit(handle_story(news, event, positions))

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

    async def on_rebalanced(sender: Any, /, *args: Any, signal: BaseSignalT[Any],
                            **kwargs: Any) -> None:
        await rewind_uncommitted(news, positions)

    app.on_rebalance_complete.connect(on_rebalanced)


async def rewind_uncommitted(news: NewsApp, positions: Positions) -> None:
    """Start every input partition at its committed offset, or its earliest when none.

    During table recovery the consumer already fetches the (paused) input partitions, and
    the stream buffers are cleared when recovery ends; Faust then seeks back to the committed
    offsets, but aiokafka's `seek_to_committed` skips offsets of None or 0. So a partition
    nobody has committed yet (a new group, or a worker killed before its first commit) would
    skip what was prefetched: we seek those to their earliest offset. The start positions also
    seed the agents' check for skipped offsets (worker/positions.py).
    """
    consumer = news.app.consumer
    inputs = input_topics(news)
    tps = [tp for tp in consumer.assignment() if tp.topic in inputs]
    positions.forget(tps)
    if not tps:
        return
    committed = await consumer.seek_to_committed()  # type: ignore[attr-defined]  # on Consumer
    fresh = [tp for tp in tps if not committed.get(tp)]
    earliest = await consumer.earliest_offsets(*fresh) if fresh else {}
    if fresh:
        await consumer.seek_wait({tp: earliest[tp] for tp in fresh})
        log.info("rewound %s never-committed input partitions to their start", len(fresh))
    for tp in tps:
        positions.start_at(tp, earliest[tp] if tp in earliest else committed[tp])


async def _check_position(news: NewsApp, positions: Positions, event: EventT[bytes]) -> None:
    msg = event.message
    skipped = positions.handled(msg.tp, msg.offset)
    if skipped is not None:
        log.warning("consumer skipped %s:%s..%s; seeking back to re-read them", msg.topic,
                    msg.partition, msg.offset - 1, extra=fields(
                        "input.rewind", topic=msg.topic, partition=msg.partition,
                        offset=skipped))
        await news.app.consumer.seek(msg.tp, skipped)


def input_topics(news: NewsApp) -> set[str]:
    """Names of the topics the agents read (in-memory channels have none)."""
    return {c.get_topic_name() for c in (news.pages, news.stories) if isinstance(c, TopicT)}


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


async def _page(
    news: NewsApp, executor: PageExecutor, event: EventT[bytes], positions: Positions
) -> None:
    await route_page(news, event, await extract_page(news, executor, event))
    await _check_position(news, positions, event)


async def _pages(
    news: NewsApp, executor: PageExecutor, events: list[EventT[bytes]], positions: Positions
) -> None:
    results = await asyncio.gather(*(extract_page(news, executor, e) for e in events))
    for event, result in zip(events, results, strict=True):  # input order, per partition
        await route_page(news, event, result)
        await _check_position(news, positions, event)


async def handle_story(news: NewsApp, event: EventT[bytes], positions: Positions) -> None:
    """Decide one article against the table and publish the article or duplicate record."""
    msg = event.message
    await _check_position(news, positions, event)
    try:
        data = orjson.loads(msg.value or b"")
        if "sweep" in data:
            # Expire by data time, never ahead of the clock: replayed old pages keep their
            # stories as long as `process` would, and a crawler's future date expires nothing.
            if positions.data_time is not None:
                wall = datetime.fromisoformat(data["sweep"])
                await sweep_partition(news, msg.partition, min(wall, positions.data_time))
            return
        article = article_from_wire(data["article"])
        origin, input_ts = str(data["origin"]), data.get("ts")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        # Only this worker writes the stories topic: a foreign record has no page to reject.
        log.error("skipping a malformed stories record at %s:%s: %s", msg.tp, msg.offset, exc)
        return
    if positions.data_time is None or article.fetched_at > positions.data_time:
        positions.data_time = article.fetched_at
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


def consumer_lag(
    news: NewsApp, positions: Positions, inputs: set[str]
) -> Iterator[tuple[str, int, int]]:
    """Consumer lag per assigned input partition (nothing before the consumer starts)."""
    try:
        yield from positions.lag(news.app.consumer, inputs)
    except Exception:  # noqa: BLE001 - not started or mid-rebalance: no lag to report
        return
