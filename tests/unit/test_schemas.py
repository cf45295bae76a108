"""Records the pipeline emits match the JSON Schemas published in schemas/."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import orjson
import pytest

from tests.factories import article_html, message, raw_page
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.dedupe import decide
from worker.pipeline.types import Article, Rejection

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
RECEIVED = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_article_event_matches_schema() -> None:
    result = process_page(message(), received_at=RECEIVED, options=PipelineOptions())
    assert isinstance(result, Article)
    validator("article.v1.json").validate(result.to_dict())


def test_rejection_matches_schema_for_text_and_binary_originals() -> None:
    check = validator("rejection.v2.json")
    for data in (b"not json", b"\xff\xfe binary"):
        result = process_page(data, received_at=RECEIVED, options=PipelineOptions())
        assert isinstance(result, Rejection)
        check.validate(result.to_dict())


def test_duplicate_matches_schema() -> None:
    options = PipelineOptions()
    first = process_page(message(), received_at=RECEIVED, options=options)
    again = process_page(message(page_id="page-2"), received_at=RECEIVED, options=options)
    assert isinstance(first, Article) and isinstance(again, Article)
    entry = decide(None, first, options).entry
    decision = decide(entry, again, options)
    assert decision.duplicate is not None
    validator("duplicate.v1.json").validate(decision.duplicate.to_dict())


@pytest.mark.parametrize(
    "record",
    [
        raw_page(),
        raw_page(text="Plain text page", html=None),
        raw_page(page_id=None, fetched_at=None),
        {"url": "http://a.example/x", "html": article_html(), "id": 7, "status": 200,
         "headers": {"content-type": "text/html"}, "crawler": "c1", "extra": True},
    ],
)
def test_valid_raw_pages_pass_the_raw_page_schema(record: dict[str, object]) -> None:
    validator("raw_page.v1.json").validate(record)


@pytest.mark.parametrize(
    "record",
    [
        {"html": "<p>x</p>"},
        {"url": "https://a.example/x"},
        {"url": "ftp://a.example/x", "html": "<p>x</p>"},
        {"url": "https://a.example/x", "html": "<p>x</p>", "status": "200"},
    ],
)
def test_schema_and_validator_agree_on_invalid_records(record: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validator("raw_page.v1.json").validate(record)
    result = process_page(orjson.dumps(record), received_at=RECEIVED, options=PipelineOptions())
    assert isinstance(result, Rejection)
