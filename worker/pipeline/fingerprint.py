"""What story identity looks at in an article: its keys, its content hashes, its times.

    Fingerprint.of(article)
      story_id        the article id (hash of the canonical URL): the URL stage's key
      headline_key    hash of the normalised headline (dedupe.make_dedupe_key): headline index key
      body_key        one-permutation MinHash of the body's word 5-grams: body index key
      simhash         the article's 64-bit SimHash, as an int (near-duplicate distance)
      material        hash of the body's material paragraphs (>= MATERIAL_WORDS words)
      record          hash of the published record minus its delivery-only fields
      anchor          declared publication time, else the fetch time (declared tells which)
      own_url         the page was fetched from its canonical URL's own site

`record` is what "one (id, version), one content" compares: every field of the article event
except `schema`, `id`, `version` and the delivery-only `page_id`, `url` and `fetched_at` (which
crawl of which URL variant brought the content). `material` is what "materially changed"
compares: paragraphs shorter than MATERIAL_WORDS words are left out, so page furniture that
flips between crawls ("Advertisement", "Updated 5 min ago", a photo credit) is not an update.

The body key is the minimum hash over the body's word 5-grams: two bodies share it with
probability equal to the Jaccard similarity of their 5-gram sets, so a syndicated copy with
another dateline or credit line keeps it (97-100 % on perturbed corpus pages, bench/state.py)
while unrelated bodies almost never share it (0 of 321 corpus pages; 4-grams: 7).
Everything here is pure and deterministic across processes (no `hash()`).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import orjson

from worker.pipeline.dedupe import make_dedupe_key
from worker.pipeline.types import Article
from worker.pipeline.urls import source_domain

_WORD = re.compile(r"\w+", re.UNICODE)
# A paragraph with fewer words than this is furniture for "materially changed" (measured:
# 5 % of corpus body words are in such paragraphs; tweets' bylines, links, "Photos").
MATERIAL_WORDS = 6
SHINGLE = 5  # words per body-key shingle (5-grams: fewer shared stock phrases than 4-grams)
_DELIVERY_FIELDS = ("schema", "id", "version", "page_id", "url", "fetched_at")
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser (wraps mod 2**64)."""
    x = (x ^ (x >> _S30)) * _MIX1
    x = (x ^ (x >> _S27)) * _MIX2
    return x ^ (x >> _S31)


def _hash_text(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def body_key(body: str) -> str:
    """One-permutation MinHash of the body's word 5-grams, 16 hex digits."""
    words = _WORD.findall(body.casefold())
    if not words:
        return "0" * 16
    hashes = _mix64(np.fromiter((zlib.crc32(w.encode("utf-8")) for w in words),
                                dtype=np.uint64, count=len(words)))
    width = min(SHINGLE, len(hashes))
    grams = hashes[: len(hashes) - width + 1].copy()
    with np.errstate(over="ignore"):
        for k in range(1, width):  # combine a word with its followers, position-dependent
            grams = _mix64(grams * _GOLDEN + hashes[k: len(hashes) - width + 1 + k])
    return f"{int(grams.min()):016x}"


def material_hash(body: str) -> str:
    """Hash of the body's paragraphs of at least MATERIAL_WORDS words (all, if none is)."""
    paragraphs = [_WORD.findall(p.casefold()) for p in body.split("\n\n")]
    kept = [p for p in paragraphs if len(p) >= MATERIAL_WORDS] or paragraphs
    return _hash_text("\n".join(" ".join(p) for p in kept))


def record_hash(article: Article) -> str:
    """Hash of the published record without its delivery-only fields."""
    content = article.to_dict()
    for name in _DELIVERY_FIELDS:
        content.pop(name, None)
    return hashlib.blake2b(orjson.dumps(content, option=orjson.OPT_SORT_KEYS),
                           digest_size=8).hexdigest()


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes."""
    return (a ^ b).bit_count()


def _seconds(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The identity-relevant facts of one article (times in epoch seconds)."""

    story_id: str
    headline_key: str
    body_key: str
    simhash: int
    material: str
    record: str
    anchor: int
    declared: bool
    modified: int | None
    fetched: int
    own_url: bool

    @classmethod
    def of(cls, article: Article) -> Fingerprint:
        """The fingerprint of an article as the pipeline made it."""
        published = _seconds(article.published_at)
        fetched = int(article.fetched_at.timestamp())
        return cls(
            story_id=article.id,
            headline_key=make_dedupe_key(article.headline),
            body_key=body_key(article.body),
            simhash=int(article.simhash, 16),
            material=material_hash(article.body),
            record=record_hash(article),
            anchor=published if published is not None else fetched,
            declared=published is not None,
            modified=_seconds(article.modified_at),
            fetched=fetched,
            own_url=source_domain(article.url) == source_domain(article.canonical_url),
        )

    def to_dict(self) -> dict[str, object]:
        return {"id": self.story_id, "hk": self.headline_key, "bk": self.body_key,
                "sh": f"{self.simhash:016x}", "mh": self.material, "rh": self.record,
                "a": self.anchor, "d": self.declared, "m": self.modified, "f": self.fetched,
                "own": self.own_url}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Fingerprint:
        """Inverse of `to_dict`; raises KeyError/TypeError/ValueError on a bad record."""
        modified = data["m"]
        return cls(
            story_id=str(data["id"]), headline_key=str(data["hk"]), body_key=str(data["bk"]),
            simhash=int(str(data["sh"]), 16), material=str(data["mh"]), record=str(data["rh"]),
            anchor=_int(data["a"]), declared=bool(data["d"]),
            modified=None if modified is None else _int(modified), fetched=_int(data["f"]),
            own_url=bool(data["own"]),
        )
