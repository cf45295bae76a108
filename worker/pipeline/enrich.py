"""Enrichment: language, entities, keywords, counts and hashes for the article event.

Language: py3langid on the first ~400 characters, up to 4000 when unsure; the page's
`<html lang>` (normalised to ISO 639-1) wins only on near-ties and very short texts.
SimHash: 64 bits over word 3-grams, numpy-vectorised, stable across processes.
Keywords: the page's own when it declares any, else its most mentioned entity names.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

import numpy as np
import numpy.typing as npt
import py3langid
import trafilatura

from worker.errors import PageRejected, RejectReason
from worker.pipeline.dedupe import make_dedupe_key
from worker.pipeline.entities import find_entities
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import Article, Entity, Extracted, RawPage
from worker.pipeline.urls import (
    canonicalize_url,
    make_article_id,
    source_domain,
    usable_canonical,
)

_WORD = re.compile(r"\w+", re.UNICODE)
EXTRACTOR = {"name": "news-worker", "version": "0.1.0", "trafilatura": trafilatura.__version__}

# Language: a first look at this many characters settles most pages; unsure pages get more.
_LANG_FIRST, _LANG_MAX = 400, 4000
_LANG_SURE = 0.95  # probability of the best language that ends the first look
_LANG_NEAR_TIE = 0.2  # the page's declared language wins when this close to the best
_LANG_SHORT = 200  # below this many characters the declaration wins when plausible at all
_LANG_ALIASES = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}
_ISO_639_1 = re.compile(r"^[a-z]{2}$")
# SimHash: splitmix64 finaliser constants and the multipliers that combine a 3-gram's words.
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GRAM1, _GRAM2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_POLY = np.uint64(0x100000001B3)  # FNV-64 prime: odd, so invertible mod 2**64
_POLY_INVERSE = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_ONE = np.uint64(1)  # byte values are hashed as b + 1, so zero bytes still count
# Keywords derived when the page declares none: at most this many entity names.
MAX_DERIVED_KEYWORDS = 5


def normalize_language(tag: str | None) -> str | None:
    """ISO 639-1 code of a language tag ("en-US", "EN", "pt_BR" -> "en", "en", "pt")."""
    if not tag:
        return None
    code = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    code = _LANG_ALIASES.get(code, code)
    return code if _ISO_639_1.match(code) else None


class _Language:
    identifier: Any = None  # a py3langid LanguageIdentifier; None: py3langid's own


def use_language_identifier(identifier: Any) -> None:
    """Score languages with this py3langid LanguageIdentifier (the extraction processes pass
    the same model loaded faster: worker/stream/langmodel.py); None: py3langid's own."""
    _Language.identifier = identifier


def _language_scores(sample: str) -> dict[str, float]:
    """Probability per language (py3langid's raw scores, softmax at its calibrated temperature)."""
    identifier = _Language.identifier
    ranked = identifier.rank(sample) if identifier is not None else py3langid.rank(sample)
    scale = 1.0 / math.sqrt(len(sample.encode("utf-8")) or 1)
    top = ranked[0][1] * scale
    weights = {str(lang): math.exp(score * scale - top) for lang, score in ranked}
    total = sum(weights.values())
    return {lang: weight / total for lang, weight in weights.items()}


def _sample(text: str, limit: int) -> str:
    """The first `limit` characters, cut back to a word boundary."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", limit // 2, limit)
    return text[: cut if cut > 0 else limit]


def detect_language(text: str, hint: str | None = None) -> str | None:
    """ISO 639-1 code of the text; the page's declaration only breaks near-ties or short texts."""
    declared = normalize_language(hint)
    if not _WORD.search(text[:_LANG_MAX]):
        return declared
    sample = _sample(text, _LANG_FIRST)
    scores = _language_scores(sample)
    best = max(scores, key=scores.__getitem__)
    if scores[best] < _LANG_SURE and len(text) > len(sample):
        sample = _sample(text, _LANG_MAX)
        scores = _language_scores(sample)
        best = max(scores, key=scores.__getitem__)
    if declared is not None and declared != best and declared in scores:
        margin = scores[best] - scores[declared]
        short = len(sample.strip()) < _LANG_SHORT and scores[declared] > 0.01
        if short or margin < _LANG_NEAR_TIE:
            return declared
    if _ISO_639_1.match(best):
        return best
    return declared


def content_hash(body: str) -> str:
    """Hash of the body's words, insensitive to whitespace and case."""
    return _words_hash(_WORD.findall(body.casefold()))


def _words_hash(words: list[str]) -> str:
    return hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=16).hexdigest()


def _mix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser: spreads every input bit over the whole word (wraps mod 2**64)."""
    x = (x ^ (x >> _S30)) * _MIX1
    x = (x ^ (x >> _S27)) * _MIX2
    return x ^ (x >> _S31)


def simhash64(body: str) -> str:
    """64-bit SimHash over word 3-grams, as 16 hex digits (near-duplicate detection)."""
    return _simhash_words(_WORD.findall(body.casefold()))


def _word_hashes(words: list[str]) -> npt.NDArray[np.uint64]:
    """A 64-bit hash per word, all at once: polynomial hashes from prefix sums, then mixed.

    Stable across processes (no `hash()`); sum(b[k] * P**k) over a word's bytes, shifted to
    the word's start by P's inverse, all mod 2**64 (numpy's uint64 arithmetic wraps).
    """
    data = np.frombuffer((" ".join(words) + " ").encode("utf-8"), dtype=np.uint8)
    ends = np.flatnonzero(data == 32)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    powers = np.full(len(data), _POLY, dtype=np.uint64)
    powers[0] = 1
    np.cumprod(powers, out=powers)
    inverse = np.full(len(data), _POLY_INVERSE, dtype=np.uint64)
    inverse[0] = 1
    np.cumprod(inverse, out=inverse)
    prefix = np.zeros(len(data) + 1, dtype=np.uint64)
    np.cumsum((data.astype(np.uint64) + _ONE) * powers, out=prefix[1:])
    spans = (prefix[ends] - prefix[starts]) * inverse[starts]
    return _mix64(spans ^ (ends - starts).astype(np.uint64))


def _simhash_words(words: list[str]) -> str:
    # Every word 3-gram votes on each of the 64 bits with the mix of its three word hashes.
    hashes = _word_hashes(words or [""])
    if len(hashes) >= 3:
        grams = _mix64(hashes[:-2] * _GRAM1 + hashes[1:-1] * _GRAM2 + hashes[2:])
    else:  # fewer than three words: one shingle of all of them
        grams = _mix64(np.bitwise_xor.reduce(hashes * _GRAM1, keepdims=True))
    bits = np.unpackbits(grams.astype("<u8").view(np.uint8).reshape(-1, 8), axis=1,
                         bitorder="little")
    majority = bits.sum(axis=0, dtype=np.int64) * 2 > len(grams)
    value = int(np.packbits(majority, bitorder="little").view("<u8")[0])
    return f"{value:016x}"


def derive_keywords(entities: tuple[Entity, ...]) -> tuple[str, ...]:
    """Keywords for a page that declares none: its most mentioned entity names."""
    return tuple(e.name for e in entities[:MAX_DERIVED_KEYWORDS])


def enrich_article(extracted: Extracted, page: RawPage, options: PipelineOptions) -> Article:
    """Turn cleaned extraction output into the article event (version 1, before dedupe)."""
    if not extracted.headline:
        raise PageRejected(RejectReason.NO_ARTICLE, "no headline found")
    words_folded = _WORD.findall(extracted.body.casefold())
    # Case folding can split a word ("İ" -> "i̇"); only ASCII text is sure to count the same.
    words = len(words_folded) if extracted.body.isascii() else len(_WORD.findall(extracted.body))
    if words < options.min_body_words:
        raise PageRejected(
            RejectReason.NO_ARTICLE, f"body has {words} words, fewer than {options.min_body_words}"
        )
    canonical = canonicalize_url(usable_canonical(extracted.canonical_url, page.url) or page.url)
    entities = find_entities(extracted.body)
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
        keywords=extracted.keywords or derive_keywords(entities),
        entities=entities,
        word_count=words,
        reading_time_seconds=math.ceil(words * 60 / options.words_per_minute),
        content_hash=_words_hash(words_folded),
        simhash=_simhash_words(words_folded),
        dedupe_key=make_dedupe_key(extracted.headline),
        date_source=extracted.date_source,
        extractor={**EXTRACTOR, "mode": extracted.extractor},
    )
