"""Property tests: whatever arrives, the pipeline returns an Article or a Rejection, never raises,
and what it returns matches the published schema. Moderate example counts keep the suite fast.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import article_html
from worker.errors import RejectReason
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.enrich import detect_language, simhash64
from worker.pipeline.entities import find_entities
from worker.pipeline.types import Article, Rejection
from worker.pipeline.urls import canonicalize_url, make_article_id, source_domain

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
RECEIVED = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
OPTIONS = PipelineOptions()
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / name).read_text()))


ARTICLE = _validator("article.v1.json")
REJECTION = _validator("rejection.v2.json")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children,
                                                                      max_size=4),
    max_leaves=12,
)
FIELDS = ["id", "url", "html", "text", "fetched_at", "status", "headers", "crawler",
          "content_type"]
records = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=len(FIELDS))
urls = st.sampled_from([
    "https://www.example.com/news/2025/03/04/story", "http://m.example.org/a/b/amp?utm_source=x",
    "https://news.example.net/story.amp.html#top",
])
tags = st.sampled_from(["p", "div", "article", "h1", "title", "span", "script", "style", "li",
                        "table", "meta", "br", "a", "main", "section", "!--", "![CDATA["])
markup = st.lists(
    st.tuples(tags, st.text(max_size=40), st.booleans()).map(
        lambda t: f"<{t[0]}>{t[1]}</{t[0]}>" if t[2] else f"<{t[0]} x='{t[1]}'>"),
    max_size=30,
).map("".join)
paragraph = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]),
                    min_size=0, max_size=300)
words = st.lists(st.sampled_from([
    "The", "council", "President", "Donald", "Trump", "said", "U.S.-China", "South", "Korea",
    "Mr.", "Lee", "in", "Seoul", "on", "Monday", "of", "Bank", "England", "Inc", "'s", ".",
    "\n\n", "élan", "東京", "Москва", "—", "ABC", "-", "Jean-Luc", "al", "von",
]), min_size=0, max_size=120).map(" ".join)


def _check(result: Article | Rejection) -> None:
    assert isinstance(result, Article | Rejection)
    if isinstance(result, Article):
        ARTICLE.validate(result.to_dict())
    else:
        REJECTION.validate(result.to_dict())
        # a Rejection with INTERNAL_ERROR means a bug escaped a stage: never expected
        assert result.reason is not RejectReason.INTERNAL_ERROR, result.detail


def _dumps(value: Any) -> bytes:
    """JSON as a crawler might send it (stdlib: big integers and all)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _run(record: dict[str, Any] | bytes) -> Article | Rejection:
    raw = record if isinstance(record, bytes) else _dumps(record)
    result = process_page(raw, received_at=RECEIVED, options=OPTIONS)
    _check(result)
    return result


@SETTINGS
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    _run(data)


@SETTINGS
@given(json_values)
def test_arbitrary_json(value: Any) -> None:
    _run(_dumps(value))


@SETTINGS
@given(records)
def test_arbitrary_records(record: dict[str, Any]) -> None:
    _run(record)


@SETTINGS
@given(urls, markup)
def test_arbitrary_markup(url: str, html: str) -> None:
    _run({"url": url, "html": html, "fetched_at": "2025-03-04T10:00:00Z"})


@SETTINGS
@given(urls, st.text(max_size=3000))
def test_arbitrary_text(url: str, text: str) -> None:
    _run({"url": url, "text": text, "fetched_at": "2025-03-04T10:00:00Z"})


@SETTINGS
@given(urls, st.text(min_size=1, max_size=120), st.lists(paragraph | words, min_size=1,
                                                         max_size=8), st.sampled_from(
                                                             ["en", "EN-us", "pt_BR", "", "xx"]))
def test_article_pages_with_arbitrary_content(url: str, headline: str, paragraphs: list[str],
                                              lang: str) -> None:
    html = article_html(headline=headline, paragraphs=paragraphs, lang=lang)
    result = _run({"url": url, "html": html, "fetched_at": "2025-03-04T10:00:00Z"})
    if isinstance(result, Article):
        assert result.language is None or re.fullmatch(r"[a-z]{2}", result.language)


@SETTINGS
@given(st.text(max_size=2000) | words)
def test_enrichment_functions_on_any_text(text: str) -> None:
    entities = find_entities(text)
    assert all(e.count >= 1 and e.type in ("person", "organization", "place") and e.name
               for e in entities)
    assert [(-e.count, e.name) for e in entities] == sorted((-e.count, e.name) for e in entities)
    assert re.fullmatch(r"[0-9a-f]{16}", simhash64(text))
    language = detect_language(text, hint="en-US")
    assert language is None or re.fullmatch(r"[a-z]{2}", language)


@SETTINGS
@given(st.text(max_size=200) | urls.map(lambda u: u + "?utm_medium=x&fbclid=y#frag"))
def test_url_functions_on_any_string(url: str) -> None:
    canonical = canonicalize_url(url)
    assert canonicalize_url(canonical) == canonical  # idempotent
    assert re.fullmatch(r"[0-9a-f]{24}", make_article_id(canonical))
    assert isinstance(source_domain(url), str)
