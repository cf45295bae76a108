"""Story-level dedupe: is this article new, an update of a story we published, or a duplicate?

Pure: state goes in as a value and comes out as a value. The streaming worker keeps one
`DedupeEntry` per dedupe key in a changelog-backed Faust table (partitioned by that key);
`news-worker process` keeps the same entries in a dict. Both call `decide()`, so they make the
same decisions on the same input.

Two pages are one story when their normalised headlines match (so they share a dedupe key) and
their anchor times are close: the declared publication time within `dedupe_tolerance`, or the
fetch time within the wider `dedupe_fallback_tolerance` when either page declares none.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import Article, Duplicate, format_instant
from worker.pipeline.validate import parse_instant

# Wire-service prefixes such as "UPDATE 1-", "EXCLUSIVE-", "CORRECTED-", "WRAPUP 2-".
WIRE_PREFIX = re.compile(
    r"^\s*(?:(?:UPDATE|REFILE|CORRECTED|EXCLUSIVE|WRAPUP|ANALYSIS|INSIGHT|FACTBOX|BREAKINGVIEWS|"
    r"RPT|CORRECTION|BREAKING|LIVE|VIDEO|WATCH|UPDATED)(?:\s*\d+)?\s*[-:|–—]+\s*)+",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
# How many source positions we remember per story, to recognise a re-delivered message.
_MAX_ORIGINS = 16


def normalize_headline(headline: str) -> str:
    """Case-, punctuation- and Unicode-insensitive form of a (cleaned) headline."""
    text = unicodedata.normalize("NFKC", headline)
    text = WIRE_PREFIX.sub("", text)
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", text).split())


def make_dedupe_key(headline: str) -> str:
    """Stable key of a story's headline; the partitioning key of the dedupe table."""
    digest = hashlib.blake2b(normalize_headline(headline).encode("utf-8"), digest_size=10)
    return digest.hexdigest()


class Verdict(StrEnum):
    NEW = "new"
    UPDATE = "update"
    DUPLICATE = "duplicate"
    # The very message that produced a published version, delivered again (a crash replay):
    # the same (id, version) is published again, identical, so nothing is lost.
    REDELIVERY = "redelivery"


@dataclass(slots=True)
class StoryRecord:
    """What we remember of one published story."""

    article_id: str
    version: int
    anchor: datetime
    declared: bool
    content_hash: str
    modified_at: datetime | None
    last_seen: datetime
    # Input position ("topic:partition:offset", "file:line") -> the version it produced.
    origins: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.article_id,
            "v": self.version,
            "a": format_instant(self.anchor),
            "d": self.declared,
            "h": self.content_hash,
            "m": format_instant(self.modified_at),
            "s": format_instant(self.last_seen),
            "o": dict(self.origins),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoryRecord:
        return cls(
            article_id=data["id"],
            version=int(data["v"]),
            anchor=parse_instant(data["a"]),
            declared=bool(data["d"]),
            content_hash=data["h"],
            modified_at=parse_instant(data["m"]) if data.get("m") else None,
            last_seen=parse_instant(data["s"]),
            origins={str(k): int(v) for k, v in (data.get("o") or {}).items()},
        )


@dataclass(slots=True)
class DedupeEntry:
    """All stories sharing one dedupe key (usually one; daily columns give several)."""

    stories: list[StoryRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"stories": [s.to_dict() for s in self.stories]}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DedupeEntry:
        if not data:
            return cls()
        return cls([StoryRecord.from_dict(s) for s in data.get("stories", [])])


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict for one article, what to publish, and the entry to store back."""

    verdict: Verdict
    entry: DedupeEntry
    article: Article | None = None  # NEW, UPDATE, REDELIVERY: the article event to publish
    duplicate: Duplicate | None = None  # DUPLICATE: the duplicate record to publish


def _anchor(article: Article) -> tuple[datetime, bool]:
    if article.published_at is not None:
        return article.published_at, True
    return article.fetched_at, False


def _same_story(
    story: StoryRecord, anchor: datetime, declared: bool, opts: PipelineOptions
) -> bool:
    tolerance = (
        opts.dedupe_tolerance if (declared and story.declared) else opts.dedupe_fallback_tolerance
    )
    return abs(story.anchor - anchor) <= tolerance


def expire_entry(entry: DedupeEntry, now: datetime, options: PipelineOptions) -> DedupeEntry:
    """Drop stories not seen within the dedupe window of `now` (keeps state bounded)."""
    keep = [s for s in entry.stories if now - s.last_seen <= options.dedupe_window]
    return DedupeEntry(keep)


def decide(
    entry: DedupeEntry | None,
    article: Article,
    options: PipelineOptions,
    *,
    origin: str | None = None,
) -> Decision:
    """Classify `article` against the stories already stored under its dedupe key.

    `origin` identifies the input message ("topic:partition:offset", "file:line"); when the
    message that produced a version is seen again, the same version is re-published.
    """
    entry = expire_entry(entry or DedupeEntry(), article.fetched_at, options)
    anchor, declared = _anchor(article)
    story = next((s for s in entry.stories if _same_story(s, anchor, declared, options)), None)
    if story is None:
        record = StoryRecord(
            article_id=article.id,
            version=1,
            anchor=anchor,
            declared=declared,
            content_hash=article.content_hash,
            modified_at=article.modified_at,
            last_seen=article.fetched_at,
            origins={origin: 1} if origin else {},
        )
        published = replace(article, version=1)
        return Decision(Verdict.NEW, DedupeEntry([*entry.stories, record]), article=published)

    produced = story.origins.get(origin) if origin is not None else None
    if produced == story.version:
        # A crash replay of the message that produced the latest version: publish it again,
        # identical, so a send lost in the crash is not lost for good.
        replay = replace(article, id=story.article_id, version=story.version)
        return Decision(Verdict.REDELIVERY, entry, article=replay)
    if produced is not None:
        # A replay of an older version: republishing it would put stale content after the
        # newer version on a compacted topic. The newer version supersedes it: a duplicate.
        return Decision(Verdict.DUPLICATE, entry, duplicate=_duplicate_of(story, article))

    story.last_seen = max(story.last_seen, article.fetched_at)
    changed = article.content_hash != story.content_hash
    later = article.modified_at is not None and (
        story.modified_at is None or article.modified_at > story.modified_at
    )
    if changed and later:
        story.version += 1
        story.content_hash = article.content_hash
        story.modified_at = article.modified_at
        if origin:
            story.origins[origin] = story.version
            while len(story.origins) > _MAX_ORIGINS:  # oldest first (dicts keep order)
                del story.origins[next(iter(story.origins))]
        updated = replace(article, id=story.article_id, version=story.version)
        return Decision(Verdict.UPDATE, entry, article=updated)

    return Decision(Verdict.DUPLICATE, entry, duplicate=_duplicate_of(story, article))


def _duplicate_of(story: StoryRecord, article: Article) -> Duplicate:
    return Duplicate(
        page_id=article.page_id,
        url=article.url,
        duplicate_of=story.article_id,
        version=story.version,
        dedupe_key=article.dedupe_key,
        content_hash=article.content_hash,
        fetched_at=article.fetched_at,
    )
