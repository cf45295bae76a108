"""`news-worker redrive`: re-publish rejected originals to the pages topic after a fix.

Reads the rejected topic from its beginning to its end as it is at start, twice: the first
pass learns the chains (worker/commands/rejections.py: which rejections were already
redriven, the last rejection of each original), the second sends. Each chosen original goes
back as it was received: its value, Kafka key, headers and timestamp (rejection.v2), plus two
marker headers (`news-redrive-of`, `news-redrive-origin`). A v1 rejection kept only the value:
it is sent keyed by its URL. An original left out of its rejection for its size is read from
its source position; when retention already removed it, that is said and counted as failed.
Removes nothing; prints what it sent and skipped per reason. `--dry-run` makes the same
choices and checks the same source positions, and sends nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from worker.commands.rejections import (
    SKIP_LABELS,
    Chains,
    Filters,
    Headers,
    Stored,
    outgoing_headers,
    plan,
    read_rejection,
    url_of,
)
from worker.errors import ConfigError, RejectReason, ToolError
from worker.inputs import utc_now
from worker.kafka_client import (
    add_broker_options,
    offset_range,
    open_consumer,
    open_producer,
    read_records,
    require_topic,
    topic_partitions,
)
from worker.pipeline.types import REDRIVE_OF_HEADER
from worker.pipeline.validate import parse_instant
from worker.settings import get_settings

__all__ = ["REDRIVE_OF_HEADER", "parse_time", "register", "run"]

_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_IN_FLIGHT = 1000
STALL_AFTER = 30.0  # seconds without a record before the end: report, don't hang
FETCH_WITHIN = 15.0  # seconds to read one original back from its source position
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Room around the largest page for key, headers and the record envelope; the worker creates
# the pages topic with the same margin (worker/stream/app.py).
_ENVELOPE = 256 * 1024


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send: the original as it was received, with the redrive markers."""

    reason: str
    origin: str  # the rejection it comes from, for messages
    value: bytes | None
    key: bytes | None
    headers: Headers
    timestamp_ms: int | None


def register(sub: Any) -> None:
    reasons = [r.value for r in RejectReason]
    parser = sub.add_parser(
        "redrive",
        help="re-publish rejected originals to the pages topic",
        description="Send the original message of matching rejections back to the pages "
        "topic as it was received (value, key, headers, timestamp; a rejection.v1 original "
        "keyed by its URL), marked with news-redrive-of/news-redrive-origin headers. Each "
        "original at most once per run, from its latest rejection. Reads the rejected topic "
        "up to its current end; removes nothing; prints what it sent and skipped.",
    )
    parser.add_argument(
        "--reason",
        action="append",
        choices=reasons,
        default=None,
        metavar="R",
        help="only this reason (repeatable; default: all). One of: " + ", ".join(reasons),
    )
    parser.add_argument(
        "--since",
        type=parse_time,
        default=None,
        metavar="T",
        help="rejected at or after T: RFC 3339, or an age like 30m, 2h, 1d",
    )
    parser.add_argument(
        "--until",
        type=parse_time,
        default=None,
        metavar="T",
        help="rejected before T (same forms as --since)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="count what would be sent, send nothing"
    )
    parser.add_argument(
        "--again",
        action="store_true",
        help="also send originals that were redriven before and rejected again "
        "(by default they are skipped, so a failed fix cannot multiply rejections)",
    )
    parser.add_argument(
        "--to", default=None, metavar="TOPIC", help="target topic (default: NEWS_TOPIC_PAGES)"
    )
    parser.add_argument(
        "--from",
        dest="source",
        default=None,
        metavar="TOPIC",
        help="rejected topic to read (default: NEWS_TOPIC_REJECTED)",
    )
    add_broker_options(parser)
    parser.set_defaults(run=run)


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """An aware UTC instant from RFC 3339 or an age (`90s`, `30m`, `2h`, `1d`, `1w`)."""
    match = _AGO.match(text.strip())
    if match:
        amount, unit = float(match.group(1)), match.group(2)
        return (now or utc_now()) - timedelta(**{_UNITS[unit]: amount})
    try:
        return parse_instant(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (use RFC 3339 like 2025-03-04T09:30:00Z, or 30m, 2h, 1d)"
        ) from None


def outgoing(item: Stored, record: ConsumerRecord[bytes, bytes] | None) -> Outgoing:
    """What to send for `item`; `record` is the original read from its source when the
    rejection does not hold it whole."""
    if record is not None:
        key, value, headers = record.key, record.value, tuple(record.headers)
        timestamp: int | None = record.timestamp
    elif item.v1:
        # v1 kept no key: the contract's key is the URL (else the rejection's own key).
        url = url_of(item.value)
        key, value, headers, timestamp = (url.encode() if url else None), item.value, (), None
    else:
        key, value, headers, timestamp = item.key, item.value, item.headers or (), item.timestamp_ms
    return Outgoing(
        item.reason, item.position, value, key,
        outgoing_headers(headers, item.position, item.origin), timestamp,
    )


def run(args: argparse.Namespace) -> int:
    if args.since and args.until and args.since >= args.until:
        raise ConfigError("--since must be earlier than --until")
    if args.connect_timeout <= 0:
        raise ConfigError("--connect-timeout must be positive")
    tally = asyncio.run(_redrive(args))
    for kind, count in sorted(tally.skipped.items()):
        print(f"news-worker redrive: skipped {count} {SKIP_LABELS[kind]}", file=sys.stderr)
    print(f"news-worker redrive: {tally.summary(dry_run=args.dry_run)}", file=sys.stderr)
    if tally.stalled:
        raise ToolError(f"stopped before the end of the rejected topic: {tally.stalled}")
    return 1 if tally.failed else 0


@dataclass
class Tally:
    """What a redrive did: sent (or matched, when dry) per reason, failures, unusable, skips."""

    sent: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    unusable: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    stalled: str = ""  # partitions not read to their end (nothing arrived for STALL_AFTER s)

    def summary(self, *, dry_run: bool) -> str:
        """One line: `sent 5 (no_article 3, timeout 2), failed 0, unusable 0[, skipped 2]`."""
        verb = "would send" if dry_run else "sent"
        per_reason = ", ".join(f"{r} {n}" for r, n in sorted(self.sent.items()))
        detail = f" ({per_reason})" if per_reason else ""
        skipped = sum(self.skipped.values())
        return (
            f"{verb} {sum(self.sent.values())}{detail}, failed {self.failed}, "
            f"unusable {self.unusable}" + (f", skipped {skipped}" if skipped else "")
        )


def _say(text: str) -> None:
    print(f"news-worker redrive: {text}", file=sys.stderr)


async def _read_to_end(
    consumer: AIOKafkaConsumer, parts: list[TopicPartition], begin: dict[TopicPartition, int],
    end: dict[TopicPartition, int],
) -> Any:
    """Every record of `parts` from `begin` to `end` (one pass)."""
    for tp in parts:
        consumer.seek(tp, begin[tp])
    async for record in read_records(consumer, parts, end, STALL_AFTER):
        yield record


async def _short(
    consumer: AIOKafkaConsumer, parts: list[TopicPartition], end: dict[TopicPartition, int]
) -> str:
    """The partitions a pass did not read to their end, e.g. `0@12<40`."""
    short = []
    for tp in parts:
        position = await consumer.position(tp)
        if position < end[tp]:
            short.append(f"{tp.partition}@{position}<{end[tp]}")
    return ", ".join(short)


async def _redrive(args: argparse.Namespace) -> Tally:
    settings = get_settings()
    source = args.source or settings.topic_rejected
    target = args.to or settings.topic_pages
    filters = Filters(
        reasons=set(args.reason) if args.reason else None,
        since=args.since,
        until=args.until,
        again=args.again,
        max_bytes=settings.max_page_bytes,
    )
    tally = Tally()
    # Originals are legal up to max_page_bytes; the producer must take that, key and headers.
    max_request = max(1_048_576, settings.max_page_bytes + _ENVELOPE)
    async with AsyncExitStack() as stack:

        async def consumer_() -> AIOKafkaConsumer:
            return await stack.enter_async_context(
                open_consumer(settings, args.bootstrap, timeout=args.connect_timeout)
            )

        consumer = await consumer_()
        parts = await topic_partitions(consumer, source)
        producer = None
        if not args.dry_run:
            producer = await stack.enter_async_context(
                open_producer(
                    settings, args.bootstrap, timeout=args.connect_timeout,
                    max_request_size=max_request,
                )
            )
            await require_topic(producer, target)
        consumer.assign(parts)
        begin, end = await offset_range(consumer, parts)

        # Pass 1: the chains. Nothing is sent unless the whole topic was read.
        chains = Chains()
        async for record in _read_to_end(consumer, parts, begin, end):
            item = read_rejection(record)
            if isinstance(item, str):
                tally.unusable += 1
                _say(f"skipped {record.topic}/{record.partition}@{record.offset}: {item}")
            else:
                chains.add(item)
        tally.stalled = await _short(consumer, parts, end)
        if tally.stalled:
            return tally

        # Pass 2: send (or count) what the plan chooses, in topic order per partition.
        fetcher: AIOKafkaConsumer | None = None
        pending: list[tuple[Outgoing, asyncio.Future[Any]]] = []
        async for record in _read_to_end(consumer, parts, begin, end):
            item = read_rejection(record)
            if isinstance(item, str):
                continue
            verdict = plan(item, filters, chains)
            if verdict == "filtered":
                continue
            if verdict is not None:
                tally.skipped[verdict] += 1
                continue
            original = None
            if not item.complete:
                fetcher = fetcher or await consumer_()
                found = await fetch_original(fetcher, item, read=producer is not None)
                if isinstance(found, str):
                    tally.failed += 1
                    _say(f"{item.position}: not sent: {found}")
                    continue
                original = found
            message = outgoing(item, original)
            if producer is None:
                tally.sent[message.reason] += 1
                continue
            try:
                future = await producer.send(
                    target, message.value, key=message.key,
                    headers=list(message.headers),
                    timestamp_ms=message.timestamp_ms,
                )
                pending.append((message, future))
            except KafkaError as exc:
                _failed(tally, message, exc)
            if len(pending) >= _IN_FLIGHT:
                await _settle(pending, tally)
        await _settle(pending, tally)
        tally.stalled = await _short(consumer, parts, end)
    return tally


async def fetch_original(
    consumer: AIOKafkaConsumer, item: Stored, *, read: bool
) -> ConsumerRecord[bytes, bytes] | None | str:
    """The original of `item` from its source position (None when only checked, `read`
    False), or why it cannot be had: retention removed it, the topic is gone, ..."""
    assert item.source is not None  # noqa: S101 - read_rejection refuses omitted ones without
    topic, partition, offset = item.source
    where = f"{topic}/{partition}@{offset}"
    tp = TopicPartition(topic, partition)
    try:
        parts = await topic_partitions(consumer, topic)
    except ToolError:
        return f"the original is not inline and its topic {topic!r} no longer exists"
    if tp not in parts:
        return f"the original is not inline and {topic} has no partition {partition}"
    consumer.assign([tp])
    first, last = await offset_range(consumer, [tp])
    if offset < first[tp]:
        return (
            f"the original is not inline and no longer on {where}: retention removed it "
            f"(the partition now starts at offset {first[tp]})"
        )
    if offset >= last[tp]:
        return f"the original is not inline and {where} is past the end of the partition"
    if not read:
        return None
    consumer.seek(tp, offset)
    deadline = time.monotonic() + FETCH_WITHIN
    while time.monotonic() < deadline:
        try:
            batch = await consumer.getmany(tp, timeout_ms=500, max_records=1)
        except KafkaError as exc:
            return f"cannot read the original at {where}: {exc}"
        for record in batch.get(tp, []):
            if record.offset == offset:
                return record
            return f"the original is not inline and {where} was removed (compaction?)"
    return f"cannot read the original at {where} within {FETCH_WITHIN:g} s"


async def _settle(pending: list[tuple[Outgoing, asyncio.Future[Any]]], tally: Tally) -> None:
    """Wait for the sends in flight and count each one as sent or failed."""
    for item, future in pending:
        try:
            await future
            tally.sent[item.reason] += 1
        except KafkaError as exc:
            _failed(tally, item, exc)
    pending.clear()


def _failed(tally: Tally, item: Outgoing, exc: KafkaError) -> None:
    tally.failed += 1
    _say(f"{item.origin}: not sent: {type(exc).__name__}: {exc}")
