"""`news-worker redrive`: re-publish rejected originals to the pages topic after a fix.

Reads the rejected topic from its beginning to its end as it is at start, keeps the
rejections that match --reason and the --since/--until window (on `rejected_at`, or the
message timestamp when that is missing), and sends each `original` (base64-decoded when
`original_encoding` is base64) to the pages topic keyed by its URL. Removes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import re
import sys
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError

from worker.commands.render import parse_value
from worker.errors import ConfigError, RejectReason, ToolError
from worker.inputs import utc_now
from worker.kafka_client import (
    CONNECT_TIMEOUT,
    offset_range,
    open_consumer,
    open_producer,
    read_records,
    require_topic,
    topic_partitions,
)
from worker.pipeline.validate import parse_instant
from worker.settings import get_settings

REDRIVE_HEADER = "news-redrive-of"  # "<topic>/<partition>@<offset>" of the rejection
_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_IN_FLIGHT = 1000
STALL_AFTER = 30.0  # seconds without a record before the end: report, don't hang
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rejection chosen for redrive: what to send and under which key."""

    reason: str
    value: bytes
    key: bytes | None
    origin: str


def register(sub: Any) -> None:
    reasons = [r.value for r in RejectReason]
    parser = sub.add_parser(
        "redrive",
        help="re-publish rejected originals to the pages topic",
        description="Send the original message of matching rejections back to the pages "
        "topic (keyed by URL). Reads the rejected topic up to its current end; removes "
        "nothing; prints what it sent per reason.",
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
        "--to", default=None, metavar="TOPIC", help="target topic (default: NEWS_TOPIC_PAGES)"
    )
    parser.add_argument(
        "--from",
        dest="source",
        default=None,
        metavar="TOPIC",
        help="rejected topic to read (default: NEWS_TOPIC_REJECTED)",
    )
    parser.add_argument(
        "--bootstrap", default=None, help="Kafka bootstrap servers (default: NEWS_KAFKA_BOOTSTRAP)"
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=CONNECT_TIMEOUT,
        metavar="SECONDS",
        help="give up when the broker does not answer "
        f"within this time (default: {CONNECT_TIMEOUT:g})",
    )
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


def choose(
    record: ConsumerRecord[bytes, bytes],
    reasons: set[str] | None,
    since: datetime | None,
    until: datetime | None,
) -> Candidate | str | None:
    """A Candidate to send, None when filtered out, or why the rejection is unusable."""
    data = parse_value(record.value)
    origin = f"{record.topic}/{record.partition}@{record.offset}"
    if not isinstance(data, dict) or not isinstance(data.get("original"), str):
        return "not a rejection record"
    reason = str(data.get("reason"))
    if reasons is not None and reason not in reasons:
        return None
    at = _rejected_at(data.get("rejected_at"), record.timestamp)
    if (since is not None and at < since) or (until is not None and at >= until):
        return None
    original: str = data["original"]
    if data.get("original_encoding") == "base64":
        try:
            value = base64.b64decode(original, validate=True)
        except (binascii.Error, ValueError):
            return "original is not valid base64"
    else:
        value = original.encode("utf-8")
    url = data.get("url")
    if not isinstance(url, str) or not url:
        url = _url_of(value)
    key = url.encode("utf-8") if url else record.key
    return Candidate(reason, value, key, origin)


def _rejected_at(value: object, timestamp_ms: int) -> datetime:
    if isinstance(value, str):
        try:
            return parse_instant(value)
        except ValueError:
            pass
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)


def _url_of(value: bytes) -> str | None:
    data = parse_value(value)
    url = data.get("url") if isinstance(data, dict) else None
    return url if isinstance(url, str) and url else None


def run(args: argparse.Namespace) -> int:
    if args.since and args.until and args.since >= args.until:
        raise ConfigError("--since must be earlier than --until")
    if args.connect_timeout <= 0:
        raise ConfigError("--connect-timeout must be positive")
    tally = asyncio.run(_redrive(args))
    print(f"news-worker redrive: {tally.summary(dry_run=args.dry_run)}", file=sys.stderr)
    if tally.stalled:
        raise ToolError(f"stopped before the end of the rejected topic: {tally.stalled}")
    return 1 if tally.failed else 0


@dataclass
class Tally:
    """What a redrive did: sent (or matched, when dry) per reason, failures, unusable."""

    sent: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    unusable: int = 0
    stalled: str = ""  # partitions not read to their end (nothing arrived for STALL_AFTER s)

    def summary(self, *, dry_run: bool) -> str:
        """One line: `sent 5 (no_article 3, timeout 2), failed 0, unusable 0`."""
        verb = "would send" if dry_run else "sent"
        per_reason = ", ".join(f"{r} {n}" for r, n in sorted(self.sent.items()))
        detail = f" ({per_reason})" if per_reason else ""
        return (
            f"{verb} {sum(self.sent.values())}{detail}, failed {self.failed}, "
            f"unusable {self.unusable}"
        )


async def _redrive(args: argparse.Namespace) -> Tally:
    settings = get_settings()
    source = args.source or settings.topic_rejected
    target = args.to or settings.topic_pages
    reasons = set(args.reason) if args.reason else None
    tally = Tally()
    # Large originals are legal up to max_page_bytes; the broker, not the client, judges size.
    max_request = max(1_048_576, settings.max_page_bytes + 65_536)
    async with AsyncExitStack() as stack:
        consumer = await stack.enter_async_context(
            open_consumer(settings, args.bootstrap, timeout=args.connect_timeout)
        )
        parts = await topic_partitions(consumer, source)
        producer = None
        if not args.dry_run:
            producer = await stack.enter_async_context(
                open_producer(
                    settings,
                    args.bootstrap,
                    timeout=args.connect_timeout,
                    max_request_size=max_request,
                )
            )
            await require_topic(producer, target)
        consumer.assign(parts)
        begin, end = await offset_range(consumer, parts)
        for tp in parts:
            consumer.seek(tp, begin[tp])
        pending: list[tuple[Candidate, asyncio.Future[Any]]] = []
        async for record in read_records(consumer, parts, end, STALL_AFTER):
            outcome = choose(record, reasons, args.since, args.until)
            if isinstance(outcome, str):
                tally.unusable += 1
                print(
                    f"news-worker redrive: skipped {record.topic}/{record.partition}@"
                    f"{record.offset}: {outcome}",
                    file=sys.stderr,
                )
            elif outcome is not None and producer is None:
                tally.sent[outcome.reason] += 1
            elif outcome is not None and producer is not None:
                try:
                    future = await producer.send(
                        target,
                        outcome.value,
                        key=outcome.key,
                        headers=[(REDRIVE_HEADER, outcome.origin.encode())],
                    )
                    pending.append((outcome, future))
                except KafkaError as exc:
                    _failed(tally, outcome, exc)
                if len(pending) >= _IN_FLIGHT:
                    await _settle(pending, tally)
        await _settle(pending, tally)
        short = [
            f"{tp.partition}@{await consumer.position(tp)}<{end[tp]}"
            for tp in parts
            if await consumer.position(tp) < end[tp]
        ]
        tally.stalled = ", ".join(short)
    return tally


async def _settle(pending: list[tuple[Candidate, asyncio.Future[Any]]], tally: Tally) -> None:
    """Wait for the sends in flight and count each one as sent or failed."""
    for item, future in pending:
        try:
            await future
            tally.sent[item.reason] += 1
        except KafkaError as exc:
            _failed(tally, item, exc)
    pending.clear()


def _failed(tally: Tally, item: Candidate, exc: KafkaError) -> None:
    tally.failed += 1
    print(
        f"news-worker redrive: {item.origin}: not sent: {type(exc).__name__}: {exc}",
        file=sys.stderr,
    )
