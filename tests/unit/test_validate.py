"""The input contract: every malformed message becomes a typed rejection, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from tests.factories import message, raw_page
from worker.errors import RejectReason
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.types import Article, Rejection, Source

RECEIVED = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
OPTIONS = PipelineOptions()


def run(data: bytes | str) -> Article | Rejection:
    return process_page(
        data,
        received_at=RECEIVED,
        options=OPTIONS,
        source=Source(topic="pages.raw", partition=0, offset=7),
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not json at all", RejectReason.INVALID_JSON),
        (b'{"url": "https://a.example/x", "html": "<p>trunc', RejectReason.INVALID_JSON),
        (b"[1, 2, 3]", RejectReason.INVALID_RECORD),
        (b'"just a string"', RejectReason.INVALID_RECORD),
        (orjson.dumps({"html": "<p>x</p>"}), RejectReason.INVALID_RECORD),
        (orjson.dumps({"url": "https://a.example/x"}), RejectReason.INVALID_RECORD),
        (orjson.dumps({"url": 42, "html": "<p>x</p>"}), RejectReason.INVALID_RECORD),
        (
            orjson.dumps({"url": "file:///etc/passwd", "html": "<p>x</p>"}),
            RejectReason.INVALID_RECORD,
        ),
        (
            orjson.dumps({"url": "javascript:alert(1)", "html": "<p>x</p>"}),
            RejectReason.INVALID_RECORD,
        ),
        (orjson.dumps({"url": "https://", "html": "<p>x</p>"}), RejectReason.INVALID_RECORD),
        (orjson.dumps({"url": "https://a.example/x", "html": 5}), RejectReason.INVALID_RECORD),
        (message(fetched_at="yesterday"), RejectReason.INVALID_RECORD),
        (message(status="200"), RejectReason.INVALID_RECORD),
        (message(status=404), RejectReason.HTTP_ERROR),
        (message(status=503), RejectReason.HTTP_ERROR),
        (message(headers={"Content-Type": "application/pdf"}), RejectReason.UNSUPPORTED_CONTENT),
        (message(html="   "), RejectReason.NO_ARTICLE),
        (b"\xff\xfe\x00garbage", RejectReason.INVALID_JSON),
    ],
)
def test_bad_messages_are_rejected_with_their_reason(data: bytes, reason: RejectReason) -> None:
    result = run(data)
    assert isinstance(result, Rejection), result
    assert result.reason is reason
    record = result.to_dict()
    assert record["source"] == {"topic": "pages.raw", "partition": 0, "offset": 7}
    if record["original_encoding"] == "utf-8":
        assert record["original"].encode() == data
    else:
        import base64

        assert base64.b64decode(record["original"]) == data


def test_oversized_message_is_rejected_before_parsing() -> None:
    small = PipelineOptions(max_page_bytes=2048)
    data = message(html="<p>" + "x" * 5000 + "</p>")
    result = process_page(data, received_at=RECEIVED, options=small)
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.TOO_LARGE
    assert "limit is 2048" in result.detail


def test_rejection_keeps_page_id_and_url_when_known() -> None:
    result = run(message(status=410, page_id="crawl-9"))
    assert isinstance(result, Rejection)
    assert result.page_id == "crawl-9"
    assert result.url == raw_page()["url"]


def test_fetched_at_defaults_to_the_receive_time_and_zones_become_utc() -> None:
    defaulted = run(message(fetched_at=None))
    assert isinstance(defaulted, Article)
    assert defaulted.fetched_at == RECEIVED
    zoned = run(message(fetched_at="2025-03-04T12:00:00+02:00"))
    assert isinstance(zoned, Article)
    assert zoned.fetched_at == datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def test_unknown_fields_are_ignored_and_numeric_ids_accepted() -> None:
    result = run(message(page_id=None, id=12345, something_new={"a": 1}))
    assert isinstance(result, Article)
    assert result.page_id == "12345"


def test_strip_controls_keeps_tabs_and_newlines() -> None:
    from worker.pipeline.validate import strip_controls

    assert strip_controls("a\x00b\x1bc\x7f\td\r\ne") == "abc\td\r\ne"
    text = "plain text\nwith lines"
    assert strip_controls(text) is text
