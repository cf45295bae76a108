"""Enrichment: language, hashes, keywords and the article it builds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from worker.errors import PageRejected
from worker.pipeline.enrich import (
    content_hash,
    derive_keywords,
    detect_language,
    enrich_article,
    normalize_language,
    simhash64,
)
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import Entity, Extracted, RawPage

ENGLISH = (
    "The city council voted on Tuesday to approve a new budget for the harbour district, ending "
    "months of debate over how to pay for repairs to the ageing sea wall. Council members said "
    "the plan would cost about 40 million euros over five years."
)
PORTUGUESE = (
    "A câmara municipal aprovou na terça-feira um novo orçamento para o distrito do porto, pondo "
    "fim a meses de debate sobre como pagar as obras no velho paredão. Os vereadores disseram que "
    "o plano custará cerca de 40 milhões de euros ao longo de cinco anos."
)
GERMAN = (
    "Der Stadtrat hat am Dienstag einen neuen Haushalt für das Hafenviertel beschlossen und damit "
    "monatelange Debatten darüber beendet, wie die Reparatur der alten Ufermauer bezahlt werden "
    "soll. Die Kosten liegen nach Angaben der Verwaltung bei etwa 40 Millionen Euro."
)


def _hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


@pytest.mark.parametrize(("tag", "code"), [
    ("en-US", "en"), ("EN", "en"), ("pt_BR", "pt"), ("zh-Hant-TW", "zh"), (" de ", "de"),
    ("iw", "he"), ("english", None), ("", None), (None, None), ("x-klingon", None),
])
def test_normalize_language(tag: str | None, code: str | None) -> None:
    assert normalize_language(tag) == code


@pytest.mark.parametrize(("text", "code"), [(ENGLISH, "en"), (PORTUGUESE, "pt"), (GERMAN, "de")])
def test_language_from_text(text: str, code: str) -> None:
    assert detect_language(text) == code
    # a wrong site-wide declaration does not override a clear text
    assert detect_language(text, hint="ja") == code


def test_long_text_uses_more_than_the_first_look() -> None:
    assert detect_language((PORTUGUESE + "\n\n") * 40, hint="pt-BR") == "pt"


def test_hint_decides_short_or_tied_texts() -> None:
    assert detect_language("Lisboa Porto Coimbra", hint="pt-PT") == "pt"
    assert detect_language("!!! ---", hint="EN") == "en"  # no words at all
    assert detect_language("", hint=None) is None


def test_language_is_always_iso_639_1() -> None:
    for text in (ENGLISH, PORTUGUESE, GERMAN, "12345 67890", "ok"):
        code = detect_language(text, hint="en-GB")
        assert code is not None and len(code) == 2 and code.isalpha() and code.islower()


def test_content_hash_ignores_case_and_whitespace() -> None:
    assert content_hash(ENGLISH) == content_hash("  " + ENGLISH.upper().replace(" ", "\n  "))
    assert content_hash(ENGLISH) != content_hash(GERMAN)


def test_simhash_shape_and_near_duplicates() -> None:
    base = simhash64(ENGLISH * 3)
    assert len(base) == 16 and int(base, 16) >= 0
    assert simhash64(ENGLISH * 3) == base
    edited = simhash64(ENGLISH * 3 + " A late correction was added.")
    assert _hamming(base, edited) <= 10
    assert _hamming(base, simhash64(GERMAN * 3)) > 16
    for tiny in ("", "one", "one two"):
        assert len(simhash64(tiny)) == 16


def test_simhash_is_stable_across_processes() -> None:
    code = "from worker.pipeline.enrich import simhash64; print(simhash64('a b c d e f g'))"
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, check=True)
        outputs.add(result.stdout.strip())
    assert outputs == {simhash64("a b c d e f g")}


def test_derive_keywords_takes_top_entities() -> None:
    entities = tuple(Entity(f"Name {i}", "person", 10 - i) for i in range(8))
    assert derive_keywords(entities) == tuple(f"Name {i}" for i in range(5))
    assert derive_keywords(()) == ()


def _page() -> RawPage:
    return RawPage(url="https://m.example.com/news/story/amp?utm_source=x#top",
                   fetched_at=datetime(2025, 3, 4, 10, tzinfo=UTC), page_id="p1")


def _extracted(**kwargs: object) -> Extracted:
    body = (ENGLISH + " President Donald Trump spoke to reporters in Washington. "
            "Trump said the wall was strong.")
    fields: dict[str, object] = {"body": body, "headline": "Council approves budget",
                                 "language_hint": "en-GB"}
    fields.update(kwargs)
    return Extracted(**fields)  # type: ignore[arg-type]  # test factory: fields vary per case


def test_enrich_article_fields() -> None:
    article = enrich_article(_extracted(), _page(), PipelineOptions())
    assert article.canonical_url == "https://example.com/news/story"
    assert article.language == "en"
    assert article.entities[0] == Entity("Donald Trump", "person", 2)
    assert article.keywords[0] == "Donald Trump"  # derived: the page declared none
    assert article.content_hash == content_hash(article.body)
    assert article.simhash == simhash64(article.body)
    assert article.word_count > 40


def test_declared_keywords_and_tags_stay() -> None:
    article = enrich_article(_extracted(keywords=("harbour",), tags=("Local",)), _page(),
                             PipelineOptions())
    assert article.keywords == ("harbour",)
    assert article.tags == ("Local",)


def test_short_body_and_missing_headline_are_rejected() -> None:
    with pytest.raises(PageRejected):
        enrich_article(_extracted(body="Too short."), _page(), PipelineOptions())
    with pytest.raises(PageRejected):
        enrich_article(_extracted(headline=None), _page(), PipelineOptions())


def _reference_simhash(text: str) -> str:
    """The SimHash spelled out in plain Python integers: what the numpy version must equal."""
    mask = (1 << 64) - 1

    def mix(x: int) -> int:
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)

    def word_hash(word: str) -> int:
        data = word.encode("utf-8")
        poly = sum((b + 1) * pow(0x100000001B3, k, 1 << 64) for k, b in enumerate(data)) & mask
        return mix(poly ^ len(data))

    words = [word_hash(w) for w in re.findall(r"\w+", text.casefold())] or [word_hash("")]
    if len(words) >= 3:
        grams = [mix((a * 0x9E3779B97F4A7C15 + b * 0xC2B2AE3D27D4EB4F + c) & mask)
                 for a, b, c in zip(words, words[1:], words[2:], strict=False)]
    else:
        folded = 0
        for w in words:
            folded ^= (w * 0x9E3779B97F4A7C15) & mask
        grams = [mix(folded)]
    votes = [sum((g >> bit) & 1 for g in grams) for bit in range(64)]
    value = sum(1 << bit for bit in range(64) if 2 * votes[bit] > len(grams))
    return f"{value:016x}"


@pytest.mark.parametrize("text", [
    "", "one", "one two", ENGLISH, PORTUGUESE, "Ünïcödé 東京 Москва words, and more words " * 5,
])
def test_simhash_matches_the_plain_python_reference(text: str) -> None:
    assert simhash64(text) == _reference_simhash(text)
