"""Values that flow through the pipeline: a validated page in, an article (or rejection) out.

Plain frozen dataclasses with no I/O. `to_dict()` gives the wire shape of schemas/*.v1.json;
datetimes are always timezone-aware UTC and serialise as RFC 3339 with a `Z`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from worker.errors import RejectReason

ARTICLE_SCHEMA = "article.v1"
REJECTION_SCHEMA = "rejection.v1"
DUPLICATE_SCHEMA = "duplicate.v1"
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

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (
            ("topic", self.topic), ("partition", self.partition), ("offset", self.offset),
            ("file", self.file), ("line", self.line),
        ) if v is not None}


def encode_original(original: bytes | str) -> tuple[str, str]:
    """The original message as (text, encoding): utf-8 when it decodes, else base64."""
    if isinstance(original, str):
        return original, "utf-8"
    try:
        return original.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(original).decode("ascii"), "base64"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A page that yields no article, with the complete original (schemas/rejection.v1.json)."""

    reason: RejectReason
    detail: str
    original: bytes | str
    page_id: str | None = None
    url: str | None = None
    source: Source = field(default_factory=Source)
    rejected_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        text, encoding = encode_original(self.original)
        return {
            "schema": REJECTION_SCHEMA,
            "reason": self.reason.value,
            "detail": self.detail,
            "page_id": self.page_id,
            "url": self.url,
            "original": text,
            "original_encoding": encoding,
            "source": self.source.to_dict(),
            "rejected_at": format_instant(self.rejected_at),
        }


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A page that repeats a story already published (schemas/duplicate.v1.json)."""

    page_id: str | None
    url: str
    duplicate_of: str
    version: int
    dedupe_key: str
    content_hash: str
    fetched_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": DUPLICATE_SCHEMA,
            "page_id": self.page_id,
            "url": self.url,
            "duplicate_of": self.duplicate_of,
            "version": self.version,
            "dedupe_key": self.dedupe_key,
            "content_hash": self.content_hash,
            "fetched_at": format_instant(self.fetched_at),
        }


