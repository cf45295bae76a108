"""Values that flow through the pipeline: a validated page in, an article (or rejection) out.

Plain frozen dataclasses with no I/O. `to_dict()` gives the wire shape of schemas/*.json
(article.v1, rejection.v2, duplicate.v1); datetimes are always timezone-aware UTC and
serialise as RFC 3339 with a `Z`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from worker.errors import RejectReason

ARTICLE_SCHEMA = "article.v1"
REJECTION_SCHEMA = "rejection.v2"
# Every rejection schema a reader must still understand: v1 records stay on topics until
# retention removes them (v1 has no key, headers, timestamp or redrive marker).
REJECTION_SCHEMAS = ("rejection.v1", "rejection.v2")
DUPLICATE_SCHEMA = "duplicate.v2"
DUPLICATE_SCHEMAS = ("duplicate.v1", "duplicate.v2")
RAW_PAGE_SCHEMA = "raw_page.v1"


def format_instant(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a trailing Z (seconds precision), or None."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class RawPage:
    """A crawler's page after validation (schemas/raw_page.v1.json)."""

    url: str
    fetched_at: datetime
    html: str | None = None
    text: str | None = None
    page_id: str | None = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    crawler: str | None = None

    @property
    def content(self) -> str:
        """The page content, HTML or text, whichever the crawler sent."""
        return self.html if self.html is not None else (self.text or "")


@dataclass(frozen=True, slots=True)
class Entity:
    """A named entity found in the article text."""

    name: str
    type: str  # "person" | "organization" | "place"
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "count": self.count}


@dataclass(frozen=True, slots=True)
class Unfiltered:
    """trafilatura's text before our block cuts, and the linked words among the blocks cut.

    Carried from extraction to cleaning for the safety rule (safety.py); never on the wire.
    """

    text: str
    words: int
    cut_words: int  # words in the blocks filter_blocks / drop_standfirst removed
    cut_link_words: float  # of those, words inside links


@dataclass(frozen=True, slots=True)
class Extracted:
    """What extraction found on a page, before cleaning and enrichment.

    Every field is optional except the body: extraction raises `PageRejected(NO_ARTICLE)`
    rather than return an empty body.
    """

    body: str
    headline: str | None = None
    description: str | None = None
    authors: tuple[str, ...] = ()
    published_at: datetime | None = None
    modified_at: datetime | None = None
    site_name: str | None = None
    canonical_url: str | None = None
    image_url: str | None = None
    language_hint: str | None = None
    tags: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    # Where published_at came from: "jsonld", "meta", "time", "dateline", "htmldate", ...
    date_source: str | None = None
    extractor: str = "html"
    # HTML pages: what trafilatura found before our cuts (the safety rule's reference).
    unfiltered: Unfiltered | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """The article event (schemas/article.v1.json)."""

    id: str
    version: int
    page_id: str | None
    url: str
    canonical_url: str
    source_domain: str
    site_name: str | None
    headline: str
    description: str | None
    body: str
    authors: tuple[str, ...]
    published_at: datetime | None
    modified_at: datetime | None
    fetched_at: datetime
    language: str | None
    image_url: str | None
    tags: tuple[str, ...]
    keywords: tuple[str, ...]
    entities: tuple[Entity, ...]
    word_count: int
    reading_time_seconds: int
    content_hash: str
    simhash: str
    dedupe_key: str
    date_source: str | None
    extractor: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": ARTICLE_SCHEMA,
            "id": self.id,
            "version": self.version,
            "page_id": self.page_id,
            "url": self.url,
            "canonical_url": self.canonical_url,
            "source_domain": self.source_domain,
            "site_name": self.site_name,
            "headline": self.headline,
            "description": self.description,
            "body": self.body,
            "authors": list(self.authors),
            "published_at": format_instant(self.published_at),
            "modified_at": format_instant(self.modified_at),
            "fetched_at": format_instant(self.fetched_at),
            "language": self.language,
            "image_url": self.image_url,
            "tags": list(self.tags),
            "keywords": list(self.keywords),
            "entities": [e.to_dict() for e in self.entities],
            "word_count": self.word_count,
            "reading_time_seconds": self.reading_time_seconds,
            "content_hash": self.content_hash,
            "simhash": self.simhash,
            "dedupe_key": self.dedupe_key,
            "date_source": self.date_source,
            "extractor": dict(self.extractor),
        }


@dataclass(frozen=True, slots=True)
class Source:
    """Where a message came from: a topic position, or a file line."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    file: str | None = None
    line: int | None = None
    timestamp: int | None = None  # the Kafka message timestamp, ms since the epoch

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (
            ("topic", self.topic), ("partition", self.partition), ("offset", self.offset),
            ("timestamp", self.timestamp), ("file", self.file), ("line", self.line),
        ) if v is not None}

    @property
    def position(self) -> str | None:
        """`topic/partition@offset` for a topic position, else None."""
        if self.topic is None or self.partition is None or self.offset is None:
            return None
        return f"{self.topic}/{self.partition}@{self.offset}"


def encode_original(original: bytes | str) -> tuple[str, str]:
    """The original message as (text, encoding): utf-8 when it decodes, else base64."""
    if isinstance(original, str):
        return original, "utf-8"
    try:
        return original.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(original).decode("ascii"), "base64"


def original_bytes(original: bytes | str) -> bytes:
    """The original message as the bytes that were received."""
    if isinstance(original, bytes):
        return original
    return original.encode("utf-8", "surrogatepass")


# Headers `news-worker redrive` puts on the copies it sends: which rejection the copy came
# from, and where the original was first consumed (the same through any number of redrives).
REDRIVE_OF_HEADER = "news-redrive-of"
REDRIVE_ORIGIN_HEADER = "news-redrive-origin"

Headers = tuple[tuple[str, bytes | None], ...]


def _header_text(headers: Headers, name: str) -> str | None:
    for key, value in headers:
        if key == name and value is not None:
            return value.decode("utf-8", "replace")
    return None


def _absolute_url(key: bytes | None) -> str | None:
    """The key as a URL when it reads as an absolute http(s) URL (crawlers key by URL)."""
    if not key or len(key) > 8192:
        return None
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lowered = text.lower()
    return text if lowered.startswith(("http://", "https://")) and len(text) > 8 else None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A page that yields no article, with the complete original (schemas/rejection.v2.json).

    The pipeline knows only the message value; the stream adds the Kafka key, headers and
    timestamp with `with_message` so redrive can restore the message as it was.
    """

    reason: RejectReason
    detail: str
    original: bytes | str
    page_id: str | None = None
    url: str | None = None
    source: Source = field(default_factory=Source)
    rejected_at: datetime | None = None
    key: bytes | None = None
    headers: Headers = ()

    def with_message(self, key: object, headers: Any, timestamp: float | None) -> Rejection:
        """This rejection with the input message's key, headers and timestamp (seconds).

        When the value could not be read (not JSON, too large) the URL comes from the key,
        which the input contract says is the page URL.
        """
        raw_key = key if isinstance(key, bytes) else None
        # aiokafka gives a sequence of (name, bytes) pairs; Faust may hand over a mapping.
        items = list(headers.items()) if isinstance(headers, Mapping) else list(headers or ())
        pairs = tuple(
            (str(name), value if value is None or isinstance(value, bytes) else str(value).encode())
            for name, value in items
        )
        stamp = round(timestamp * 1000) if timestamp else None
        return replace(
            self,
            key=raw_key,
            headers=pairs,
            url=self.url or _absolute_url(raw_key),
            source=replace(self.source, timestamp=stamp),
        )

    def redrive_marker(self) -> dict[str, str] | None:
        """{"of", "origin"} when the rejected message was a copy sent by `redrive`."""
        of = _header_text(self.headers, REDRIVE_OF_HEADER)
        if of is None:
            return None
        origin = _header_text(self.headers, REDRIVE_ORIGIN_HEADER) or of
        return {"of": of, "origin": origin}

    def to_dict(self) -> dict[str, Any]:
        text, encoding = encode_original(self.original)
        key_text, key_encoding = (
            encode_original(self.key) if self.key is not None else (None, None)
        )
        headers = []
        for name, value in self.headers:
            value_text, value_encoding = (
                encode_original(value) if value is not None else (None, None)
            )
            headers.append({"name": name, "value": value_text, "encoding": value_encoding})
        return {
            "schema": REJECTION_SCHEMA,
            "reason": self.reason.value,
            "detail": self.detail,
            "page_id": self.page_id,
            "url": self.url,
            "original": text,
            "original_encoding": encoding,
            "original_bytes": len(original_bytes(self.original)),
            "original_omitted": None,
            "key": key_text,
            "key_encoding": key_encoding,
            "headers": headers,
            "source": self.source.to_dict(),
            "redrive": self.redrive_marker(),
            "rejected_at": format_instant(self.rejected_at),
        }


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A page that repeats a story already published (schemas/duplicate.v2.json)."""

    page_id: str | None
    url: str
    canonical_url: str
    duplicate_of: str
    # The story's latest version when the page was decided, known when the page came from
    # the story's own URL (or declared it canonical); None for a copy on another URL.
    version: int | None
    match: str  # "url" | "canonical" | "headline" | "body": what made it a duplicate
    dedupe_key: str
    content_hash: str
    fetched_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": DUPLICATE_SCHEMA,
            "page_id": self.page_id,
            "url": self.url,
            "canonical_url": self.canonical_url,
            "duplicate_of": self.duplicate_of,
            "version": self.version,
            "match": self.match,
            "dedupe_key": self.dedupe_key,
            "content_hash": self.content_hash,
            "fetched_at": format_instant(self.fetched_at),
        }
