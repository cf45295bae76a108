"""Records the pipeline emits match the JSON Schemas published in schemas/."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import orjson
import pytest

from tests.factories import article_html, message, raw_page
from tests.stories import T0, Feed, article, body, paragraph
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.types import Article, Rejection

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
URL = "https://www.harbourgazette.example/news/2025/11/03/storm-floods-city"
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


def test_identity_outputs_match_their_schemas() -> None:
    """Every kind of duplicate (and the article versions) the identity stage makes."""
    article_check, duplicate_check = validator("article.v1.json"), validator("duplicate.v2.json")
    old = validator("duplicate.v1.json")
    feed = Feed()
    outputs = [
        feed.one(article()),
        feed.one(article(url=URL + "?utm_source=x", page_id="p2")),  # url, version 1
        feed.one(article(url="https://copy.example/s", page_id="p3")),  # headline, version null
        feed.one(article(url="https://edit.example/s", headline="Storm soaks the city",
                         page_id="p4")),  # body
        feed.one(article(url="https://agg.example/1", canonical=URL, page_id="p5")),  # canonical
        feed.one(article(text=body(1) + "\n\n" + paragraph(7), page_id="p6",
                         fetched=T0 + timedelta(hours=2))),  # version 2
    ]
    assert {o.get("match") for o in outputs} == {None, "url", "headline", "body", "canonical"}
    for output in outputs:
        record = {k: v for k, v in output.items() if not k.startswith("_")}
        if output["_kind"] == "article":
            article_check.validate(record)
        else:
            duplicate_check.validate(record)
            assert record["schema"] == "duplicate.v2"
    # v1 required an integer version: a copy's duplicate (version null) is not valid v1.
    copy = {k: v for k, v in outputs[2].items() if not k.startswith("_")}
    assert copy["version"] is None
    with pytest.raises(jsonschema.ValidationError):
        old.validate({**copy, "schema": "duplicate.v1"})


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
