"""Rejection records read back from the rejected topic (rejection.v1 and rejection.v2).

    read_rejection(record) -> Stored | str (why the record is unusable)
    plan(stored, ...)      -> Send | Skip       what redrive does with one rejection

Pure: no Kafka calls. `worker/commands/redrive.py` reads the topic and sends; `render.py`
shows the same records on `tail`.

v2 keeps the message as it was (value, key, headers, timestamp, position); v1 kept only the
value, so a v1 original is sent keyed by its URL (the input contract's key) without headers.
Every rejection names its *origin*, the position where the original was first consumed: the
redrive marker's `origin` for a redriven copy, else its own `source`. Rejections of one origin
form a chain (a re-delivery after a crash, or a redriven copy rejected again); redrive sends
each origin at most once per run, and only from the last rejection of its chain.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord

from worker.commands.render import parse_value
from worker.pipeline.types import REDRIVE_OF_HEADER, REDRIVE_ORIGIN_HEADER, REJECTION_SCHEMAS
from worker.pipeline.validate import parse_instant

Headers = tuple[tuple[str, bytes | None], ...]
_MARKERS = (REDRIVE_OF_HEADER, REDRIVE_ORIGIN_HEADER)


@dataclass(frozen=True, slots=True)
class Stored:
    """One rejection as redrive needs it."""

    position: str  # where this rejection is: "<rejected topic>/<partition>@<offset>"
    order: tuple[datetime, int, int]  # (rejected_at, partition, offset): later is greater
    reason: str
    rejected_at: datetime
    value: bytes | None  # the original value; None when it was omitted for its size
    size: int  # bytes of the original value
    key: bytes | None
    headers: Headers | None  # None: not recorded (v1) or omitted with the original
    timestamp_ms: int | None
    source: tuple[str, int, int] | None  # (topic, partition, offset) of the original
    redrive_of: str | None  # set when the rejected message was a redriven copy
    origin: str  # identity of the original across redrives and re-deliveries
    v1: bool

    @property
    def complete(self) -> bool:
        """Whether the record holds the whole message (else redrive reads it from source)."""
        return self.value is not None and (self.v1 or self.headers is not None)


def _decode(text: object, encoding: object) -> bytes | None:
    """Bytes from a (text, encoding) pair of the wire format; ValueError when broken."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError("not a string")
    if encoding == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
    return text.encode("utf-8", "surrogatepass")


def _headers(value: object) -> Headers | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError("headers is not a list")
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError("a header has no name")
        out.append((item["name"], _decode(item.get("value"), item.get("encoding"))))
    return tuple(out)


def _rejected_at(value: object, timestamp_ms: int) -> datetime:
    if isinstance(value, str):
        try:
            return parse_instant(value)
        except ValueError:
            pass
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)


def _source(data: dict[str, Any]) -> tuple[str, int, int] | None:
    source = data.get("source")
    if not isinstance(source, dict):
        return None
    topic, partition, offset = source.get("topic"), source.get("partition"), source.get("offset")
    if isinstance(topic, str) and isinstance(partition, int) and isinstance(offset, int):
        return topic, partition, offset
    return None


def read_rejection(record: ConsumerRecord[bytes, bytes]) -> Stored | str:
    """The rejection in `record`, or why it cannot be used."""
    data = parse_value(record.value)
    position = f"{record.topic}/{record.partition}@{record.offset}"
    if not isinstance(data, dict) or "original" not in data or "reason" not in data:
        return "not a rejection record"
    schema = data.get("schema", "rejection.v1")
    if schema not in REJECTION_SCHEMAS:
        return f"unknown schema {str(schema)[:40]!r}"
    v1 = schema == "rejection.v1"
    try:
        value = _decode(data.get("original"), data.get("original_encoding"))
        key = None if v1 else _decode(data.get("key"), data.get("key_encoding"))
        headers = None if v1 else _headers(data.get("headers"))
    except ValueError as exc:
        return f"original, key or headers unreadable: {exc}"
    source = _source(data)
    if value is None and (v1 or data.get("original_omitted") is None):
        return "original is missing"
    if value is None and source is None:
        return "original omitted and no source position to fetch it from"
    size = data.get("original_bytes")
    marker = data.get("redrive")
    redrive: dict[str, Any] = marker if isinstance(marker, dict) else {}
    redrive_of = redrive.get("of") if isinstance(redrive.get("of"), str) else None
    origin = redrive.get("origin") if isinstance(redrive.get("origin"), str) else None
    timestamp = (data.get("source") or {}).get("timestamp")
    rejected_at = _rejected_at(data.get("rejected_at"), record.timestamp)
    return Stored(
        position=position,
        order=(rejected_at, record.partition, record.offset),
        reason=str(data.get("reason")),
        rejected_at=rejected_at,
        value=value,
        size=size if isinstance(size, int) else len(value or b""),
        key=key,
        headers=headers,
        timestamp_ms=timestamp if isinstance(timestamp, int) and not v1 else None,
        source=source,
        redrive_of=redrive_of,
        origin=origin or (f"{source[0]}/{source[1]}@{source[2]}" if source else position),
        v1=v1,
    )


@dataclass(frozen=True, slots=True)
class Filters:
    """What the operator asked for."""

    reasons: set[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    again: bool = False  # also originals redriven before and rejected again
    max_bytes: int | None = None  # NEWS_MAX_PAGE_BYTES: larger originals would fail again


@dataclass
class Chains:
    """What the first pass over the topic learned: which rejections were redriven (their copy
    was rejected again), and the last rejection of each origin."""

    redriven: set[str] = field(default_factory=set)
    last: dict[str, tuple[datetime, int, int]] = field(default_factory=dict)  # origin -> order

    def add(self, item: Stored) -> None:
        """Take one rejection into account (in any order)."""
        if item.redrive_of:
            self.redriven.add(item.redrive_of)
        if item.origin not in self.last or self.last[item.origin] < item.order:
            self.last[item.origin] = item.order


SKIP_LABELS = {
    "superseded": "superseded by a later rejection of the same original",
    "redriven": "redriven before and rejected again (--again sends them)",
    "too_large": "over NEWS_MAX_PAGE_BYTES (the worker would reject them again)",
}


def plan(item: Stored, filters: Filters, chains: Chains) -> str | None:
    """None to send `item`, "filtered" when the operator's filters leave it out, else the
    key of SKIP_LABELS saying why it is not sent."""
    if filters.reasons is not None and item.reason not in filters.reasons:
        return "filtered"
    if (filters.since is not None and item.rejected_at < filters.since) or (
        filters.until is not None and item.rejected_at >= filters.until
    ):
        return "filtered"
    if item.position in chains.redriven:
        return "superseded"
    if chains.last.get(item.origin, item.order) != item.order:
        return "superseded"
    if item.redrive_of is not None and not filters.again:
        return "redriven"
    if filters.max_bytes is not None and item.size > filters.max_bytes:
        return "too_large"
    return None


def url_of(value: bytes | None) -> str | None:
    """The `url` field of a raw-page value, when it has one."""
    data = parse_value(value)
    url = data.get("url") if isinstance(data, dict) else None
    return url if isinstance(url, str) and url else None


def outgoing_headers(headers: Headers | None, of: str, origin: str) -> Headers:
    """The original headers (minus older redrive markers) plus this redrive's markers."""
    kept = tuple((k, v) for k, v in headers or () if k not in _MARKERS)
    return (*kept, (REDRIVE_OF_HEADER, of.encode()), (REDRIVE_ORIGIN_HEADER, origin.encode()))
