"""The stream: page -> article | duplicate | rejection. The only code that awaits, sends or
writes the table.

    extract_articles  (pages topic, one page at a time per partition set)
        raw bytes -> PageExecutor (off the loop, time-limited) -> Article | Rejection
        route_result:  Rejection -> rejected topic               # (page id | url, rejection.v2)
                       Article   -> stories topic, u:<id>       # (the page's URL key)
    identify_stories  (stories topic, co-partitioned with the `identity` table)
        identity_step (worker/pipeline/route.py) on the record's partition:
          u:  URL stage: a bound URL decides here -> articles    # (article id, article.v1)
                                                  -> duplicates  # (duplicate_of, duplicate.v2)
              a first sighting -> b:<body key> -> h:<headline key> -> u: again, decided
          registrations (h:/b:) keep the content indexes current
        {"sweep": ...} markers: expire a slice of the partition's state (worker/stream/sweep.py)
    sweep_identity    (timer) -> a sweep marker into each assigned stories partition

At-least-once, in order: each agent processes an input partition strictly in offset order
from its committed offset (worker/stream/consumer.py drops and re-reads what Faust skips around
rebalances), and an input offset is committed only after the broker acknowledged everything
it produced, table writes included (worker/stream/publish.py: outputs first, then the state
writes, so the state never runs ahead of what was published). Every agent runs with
concurrency 1 (faust-streaming #606 commits past in-flight messages otherwise); with several
extraction processes the extract agent takes batches and publishes a batch in input order. An
error while routing a record is tried again and then becomes an `internal_error` rejection
(worker/stream/guard.py), so one record can never stop a worker; only a broken producer
does (the process exits, and a new worker reads the uncommitted input again).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from faust.types import ChannelT, EventT, StreamT, TopicT
from mode.types.signals import BaseSignalT

from worker.inputs import utc_now
from worker.logs import fields
from worker.pipeline.identity import Verdict
from worker.pipeline.route import (
    ARTICLE,
    DUPLICATE,
    REJECTION,
    STORIES,
    MalformedRecord,
    Routed,
    Step,
    identity_record,
    route_result,
)
from worker.pipeline.state import IdentityState, Staged
from worker.pipeline.types import Article, Rejection, Source
from worker.stream.app import NewsApp
from worker.stream.consumer import input_consumer
from worker.stream.executor import PageExecutor
from worker.stream.guard import exit_when_broken, route
from worker.stream.publish import Item, Origin, Output
from worker.stream.store import event_context
from worker.stream.sweep import Sweeps, handle_sweep, is_sweep, sweep_marker

log = logging.getLogger(__name__)
# The identity agent takes up to this many stories records, waiting at most this long for
# more once one is there (each hop of a first sighting may wait that long when idle).
_STORIES_BATCH, _STORIES_WITHIN = 64, 0.003
_BATCH_WITHIN = 0.02  # seconds the extract agent waits to fill a batch of pages


def install_agents(news: NewsApp, executor: PageExecutor) -> None:
    """Register the agents and the expiry timer on `news.app`."""
    app = news.app
    sweeps = Sweeps(news)
    news.metrics.consumer_lag.source = lambda: consumer_lag(news)
    news.metrics.dedupe_entries.source = sweeps.entries
    news.metrics.extraction_pool.source = executor.pids
    executor.on_restart = lambda cause: news.metrics.extract_restarts.labels(cause).inc()

    @app.agent(news.pages, name="extract_articles")
    async def extract_articles(stream: StreamT[bytes]) -> None:
        await declare_outputs(news)
        async with exit_when_broken():
            if executor.processes <= 1:
                async for event in stream.events():
                    if await admit(news, event):
                        await _pages(news, executor, [event])
                return
            # take_events acks a batch after the loop body; only published events commit.
            batches = stream.take_events(  # type: ignore[attr-defined]  # missing from StreamT
                executor.processes, within=_BATCH_WITHIN
            )
            async for events in batches:
                admitted = [e for e in events if await admit(news, e)]
                if admitted:
                    await _pages(news, executor, admitted)

    @app.agent(news.stories, name="identify_stories")
    async def identify_stories(stream: StreamT[bytes]) -> None:
        async with exit_when_broken():
            # Batches: one wait for the broker's acknowledgements covers all of them.
            batches = stream.take_events(  # type: ignore[attr-defined]  # missing from StreamT
                _STORIES_BATCH, within=_STORIES_WITHIN
            )
            async for events in batches:
                admitted = [e for e in events if await admit(news, e)]
                if admitted:
                    await handle_identity(news, admitted, sweeps)

    @app.timer(  # type: ignore[untyped-decorator]  # faust's timer decorator is untyped
        interval=news.settings.dedupe_sweep_interval, name="sweep_identity"
    )
    async def sweep_identity() -> None:
        for partition in sweeps.due(utc_now()):
            await news.stories.send(key=b"sweep", value=sweep_marker(utc_now()),
                                     partition=partition)

    for name in ("extract_articles", "identify_stories"):
        news.metrics.add_agent(name)

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


async def declare_outputs(news: NewsApp) -> None:
    """Create the output topics (our partitions and record size) unless they exist."""
    for channel in news.outputs:
        if isinstance(channel, TopicT):
            await channel.maybe_declare()


def _received_at(event: EventT[bytes], skew: float) -> datetime:
    # The broker's timestamp, not our clock: a replayed page gets the same fetch-time fallback,
    # so it yields the same article (and identity decision) as the first time. But a
    # producer's CreateTime far ahead of ours (a crawler with a bad clock, on a pages topic
    # without message.timestamp.after.max.ms) is bounded by our clock, so it cannot move a
    # stories partition's data time ahead and age out its stories.
    stamp = event.message.timestamp
    now = utc_now()
    if not stamp:
        return now
    return min(datetime.fromtimestamp(stamp, UTC), now + timedelta(seconds=skew))


async def extract_page(
    news: NewsApp, executor: PageExecutor, event: EventT[bytes]
) -> Article | Rejection:
    """Run the pipeline on one pages-topic event, off the event loop."""
    msg = event.message
    news.metrics.pages.inc()
    value = msg.value if isinstance(msg.value, bytes) else b""  # a tombstone is not JSON
    started = time.perf_counter()
    received = _received_at(event, news.options.fetch_skew.total_seconds())
    result = await executor.process(value, received, Source(msg.topic, msg.partition, msg.offset))
    duration = time.perf_counter() - started
    news.metrics.extraction.observe(duration)
    log.debug("page extracted", extra=fields(
        "page.extracted", page_id=getattr(result, "page_id", None), topic=msg.topic,
        partition=msg.partition, offset=msg.offset, duration=round(duration, 4)))
    return result


def page_outputs(news: NewsApp, event: EventT[bytes],
                 result: Article | Rejection) -> list[Output]:
    """The extract stage's outputs for one page: rejected topic, or the page's URL key."""
    msg = event.message
    news.metrics.observe_key(msg.key, result.url)

    def finish(rejection: Rejection) -> Rejection:
        # The key, headers and timestamp go into the rejection, so redrive restores them.
        rejection = rejection.with_message(msg.key, msg.headers, msg.timestamp)
        return replace(rejection, rejected_at=utc_now())

    routed = route_result(
        result, f"{msg.topic}:{msg.partition}:{msg.offset}", msg.timestamp,
        msg.key if isinstance(msg.key, bytes) else None, news.max_record_bytes,
        original=msg.value if isinstance(msg.value, bytes) else b"", finish=finish,
    )
    return outputs_of(news, routed)


async def _pages(news: NewsApp, executor: PageExecutor, events: list[EventT[bytes]]) -> None:
    """Extract a batch in parallel, then publish every page's outputs in input order."""
    results = await asyncio.gather(*(extract_page(news, executor, e) for e in events))
    items = []
    for event, result in zip(events, results, strict=True):
        origin = Origin.of(event, getattr(result, "page_id", None), getattr(result, "url", None))

        async def compute(event: EventT[bytes] = event,
                          result: Article | Rejection = result) -> list[Output]:
            return page_outputs(news, event, result)

        outputs = await route(news, "extract_articles", event, compute, origin)
        items.append(Item(event, outputs, origin))
    await news.publisher.publish_many(items)


async def handle_identity(news: NewsApp, events: Sequence[EventT[bytes]],
                          sweeps: Sweeps) -> None:
    """Stories-topic records, in order: stages of pages' identities, or sweep markers.

    The table writes a record causes are held back (`Staged`: the batch's later records read
    them) and handed to the publisher, which applies each record's writes, in its own event's
    context (its partition's store and changelog), only after every output of the batch was
    acknowledged, and only if the record's primary output landed (else its fallback:
    route.Step): the state never runs ahead of what was published, so if the worker dies in
    between, the replayed records are decided again from the state before them and publish
    the same records. A record that read what an earlier record of the batch wrote is decided
    again after that one's writes are settled (the batch so far is published first), and so
    is a sweep marker: a decision only ever rests on writes that hold.
    """
    staged = Staged(sweeps.store)
    state = IdentityState(staged, news.options, sweeps.unreadable)
    items: list[Item] = []
    for event in events:
        msg = event.message
        value = msg.value if isinstance(msg.value, bytes) else b""
        if is_sweep(value):
            if items:  # the sweep reads the table itself: settle the batch so far first
                items = await _settle(news, staged, items)
            with event_context(event):
                staged.begin(event)
                routed = handle_sweep(news, sweeps, msg.partition, value, state)
            # Its deletes hold whatever lands (no output depends on them); they go out with
            # its outputs, through the publisher, like every identity write.
            items.append(Item(event, outputs_of(news, routed), None,
                              staged.writes_for(event, None, {}, event_context)))
            continue
        item = await _identity_item(news, state, staged, event, value)
        if item is None:  # it read writes of the batch that may not hold: settle them first
            items = await _settle(news, staged, items)
            item = await _identity_item(news, state, staged, event, value)
            assert item is not None  # noqa: S101 - nothing else waits in `staged` now
        items.append(item)
    if items:
        await _settle(news, staged, items)


async def _settle(news: NewsApp, staged: Staged, items: list[Item]) -> list[Item]:
    """Publish `items` (their writes applied as the publisher decides); none is left waiting."""
    await news.publisher.publish_many(items)
    staged.clear()  # writes the publisher did not apply (an item it dropped) never will be
    return []


async def _identity_item(news: NewsApp, state: IdentityState, staged: Staged,
                         event: EventT[bytes], value: bytes) -> Item | None:
    """One stories record decided (None: it depends on another record's unsettled writes)."""
    msg = event.message
    origin = story_origin(value)
    steps: list[Step] = []

    async def compute() -> list[Output]:
        staged.begin(event)  # each attempt from the state before the record
        step = identity_record(value, msg.partition, state)
        outputs = outputs_of(news, step.outputs, count=False)
        steps.append(step)
        return outputs

    with event_context(event):
        # A record this code cannot read (MalformedRecord) is rejected at once, with the
        # page's position when it names one: only this worker writes the stories topic.
        outputs = await route(news, "identify_stories", event, compute, origin,
                              permanent=(MalformedRecord,))
    if not steps:
        staged.discard(event)
        return Item(event, outputs, origin)
    if staged.depends(event):
        staged.discard(event)
        return None
    step = steps[-1]
    for record in step.outputs:
        _count(news, record)
    if step.replayed:
        news.metrics.redeliveries.inc()
    return Item(event, outputs, origin,
                staged.writes_for(event, step.needs, step.fallback, event_context))


def story_origin(value: bytes) -> Origin | None:
    """The page a stories-topic record came from (for a rejection of it), if it says."""
    try:
        data = orjson.loads(value)
        topic, partition, offset = str(data["origin"]).rsplit(":", 2)
        article = data.get("article") or {}
        return Origin(Source(topic, int(partition), int(offset)), b"",
                      timestamp=data.get("ts"), page_id=article.get("page_id"),
                      url=article.get("url"), kept=False)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None


def _channel(news: NewsApp, kind: str) -> ChannelT[bytes]:
    return {STORIES: news.stories, ARTICLE: news.articles, DUPLICATE: news.duplicates,
            REJECTION: news.rejected}[kind]


def _count(news: NewsApp, record: Routed) -> None:
    metrics = news.metrics
    if record.kind == ARTICLE:
        {Verdict.NEW: metrics.articles, Verdict.UPDATE: metrics.updates,
         Verdict.REDELIVERY: metrics.redeliveries}[record.verdict or Verdict.NEW].inc()
    elif record.kind == DUPLICATE:
        metrics.duplicates.inc()
        if record.by is not None:
            metrics.duplicate_matches.labels(record.by.value).inc()
    elif record.kind == REJECTION and record.rejection is not None:
        rejection, source = record.rejection, record.rejection.source
        metrics.rejections.labels(rejection.reason.value).inc()
        log.info("page rejected: %s (%s)", rejection.reason.value, rejection.detail[:200],
                 extra=fields("page.rejected", page_id=rejection.page_id, url=rejection.url,
                              topic=source.topic, partition=source.partition,
                              offset=source.offset))


def outputs_of(news: NewsApp, routed: Sequence[Routed], *, count: bool = True) -> list[Output]:
    """The pure step's records as outputs for the publisher (counted as they are made)."""
    outputs = []
    for record in routed:
        if count:
            _count(news, record)
        kind = "story" if record.kind == STORIES else record.kind
        outputs.append(Output(_channel(news, record.kind), record.key, record.value,
                              record.schema, kind, record.partition))
    return outputs


def consumer_lag(news: NewsApp) -> Iterator[tuple[str, int, int]]:
    """Consumer lag per assigned input partition (nothing before the consumer starts)."""
    try:
        consumer = input_consumer(news.app.consumer)
        if consumer is not None:
            yield from consumer.lag()
    except Exception:  # noqa: BLE001 - not started or mid-rebalance: no lag to report
        return
