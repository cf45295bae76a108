"""Enrichment: language, entities, counts and hashes that make an article event useful downstream."""

from __future__ import annotations

import hashlib
import math
import re

import py3langid
import trafilatura

from worker.errors import PageRejected, RejectReason
from worker.pipeline.dedupe import make_dedupe_key
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import Article, Entity, Extracted, RawPage
from worker.pipeline.urls import canonicalize_url, make_article_id, source_domain

_WORD = re.compile(r"\w+", re.UNICODE)
EXTRACTOR = {"name": "news-worker", "version": "0.1.0", "trafilatura": trafilatura.__version__}


def detect_language(text: str, hint: str | None = None) -> str | None:
    """ISO 639-1 code of the text; the page's own declaration only breaks near-ties."""
    sample = text[:4000]
    if not _WORD.search(sample):
        return hint
    lang, _score = py3langid.classify(sample)
    return str(lang)


def content_hash(body: str) -> str:
    """Hash of the body's words, insensitive to whitespace and case."""
    words = " ".join(_WORD.findall(body.casefold()))
    return hashlib.blake2b(words.encode("utf-8"), digest_size=16).hexdigest()


def simhash64(body: str) -> str:
    """64-bit SimHash over word 3-grams, as 16 hex digits (near-duplicate detection)."""
    words = _WORD.findall(body.casefold())
    grams = [" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))]
    weights = [0] * 64
    for gram in grams:
        h = int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if (h >> bit) & 1 else -1
    value = sum(1 << bit for bit in range(64) if weights[bit] > 0)
    return f"{value:016x}"


def find_entities(text: str) -> tuple[Entity, ...]:
    """People, organisations and places mentioned in the text (placeholder: none)."""
    return ()


def enrich_article(extracted: Extracted, page: RawPage, options: PipelineOptions) -> Article:
    """Turn cleaned extraction output into the article event (version 1, before dedupe)."""
    if not extracted.headline:
        raise PageRejected(RejectReason.NO_ARTICLE, "no headline found")
    words = len(_WORD.findall(extracted.body))
    if words < options.min_body_words:
        raise PageRejected(
            RejectReason.NO_ARTICLE, f"body has {words} words, fewer than {options.min_body_words}"
        )
    canonical = canonicalize_url(extracted.canonical_url or page.url)
    return Article(
        id=make_article_id(canonical),
        version=1,
        page_id=page.page_id,
        url=page.url,
        canonical_url=canonical,
        source_domain=source_domain(canonical),
        site_name=extracted.site_name,
        headline=extracted.headline,
        description=extracted.description,
        body=extracted.body,
        authors=extracted.authors,
        published_at=extracted.published_at,
        modified_at=extracted.modified_at,
        fetched_at=page.fetched_at,
        language=detect_language(extracted.body, extracted.language_hint),
        image_url=extracted.image_url,
        tags=extracted.tags,
        keywords=extracted.keywords,
        entities=find_entities(extracted.body),
        word_count=words,
        reading_time_seconds=math.ceil(words * 60 / options.words_per_minute),
        content_hash=content_hash(extracted.body),
        simhash=simhash64(extracted.body),
        dedupe_key=make_dedupe_key(extracted.headline),
        date_source=extracted.date_source,
        extractor={**EXTRACTOR, "mode": extracted.extractor},
    )
