"""The input contract: every malformed message becomes a typed rejection, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import article_html, message, raw_page
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


# --- wording: a rejection's detail says what a crawler team has to fix ---------------------


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        # The reported case: orjson said "str is not valid UTF-8: surrogates not allowed".
        (b'{"url": "https://a.example/x", "html": "caf\xe9"}',
         "not UTF-8: byte 0xe9 at offset 43 (JSON must be UTF-8)"),
        (b"\xff\xfe\x00garbage", "not UTF-8: byte 0xff at offset 0 (JSON must be UTF-8)"),
        (orjson.dumps({"url": "/news/2025/03/04/story", "html": "<p>x</p>"}),
         "url '/news/2025/03/04/story' is not absolute (it must start with http:// or https://)"),
        (orjson.dumps({"url": "//cdn.example/x", "html": "<p>x</p>"}),
         "url '//cdn.example/x' is not absolute (it must start with http:// or https://)"),
        (orjson.dumps({"url": "javascript:alert(1)", "html": "<p>x</p>"}),
         "url scheme 'javascript' is not http or https"),
        (b'{"url": "https://a.example/x", "html": "<p>trunc',
         "not JSON: unexpected end of data: line 1 column 49 (char 48)"),
    ],
)
def test_rejection_details_say_what_is_wrong_and_where(data: bytes, detail: str) -> None:
    result = run(data)
    assert isinstance(result, Rejection)
    assert result.detail == detail


def test_html_wins_when_both_html_and_text_are_sent() -> None:
    """Documented in the input contract: `html` is used and `text` ignored when both come."""
    both = run(message(html=article_html(),
                       text="A completely different plain text story about tram fares " * 10))
    html_only = run(message())
    assert isinstance(both, Article) and isinstance(html_only, Article)
    assert both.body == html_only.body and both.extractor["mode"] == "html"


def test_the_url_comes_from_a_url_key_when_the_value_cannot_be_read() -> None:
    unreadable = run(b"\xff\xfe not json")
    assert isinstance(unreadable, Rejection) and unreadable.url is None
    keyed = unreadable.with_message(b"https://a.example/x", [("h", b"v")], 1_741_082_400.5)
    assert keyed.url == "https://a.example/x" and keyed.key == b"https://a.example/x"
    assert keyed.source.timestamp == 1_741_082_400_500
    # A key that is not a URL is kept as the key, never taken for the URL.
    other = unreadable.with_message(b"crawler-7:page-9", [], None)
    assert other.url is None and other.key == b"crawler-7:page-9"
    # A URL read from the value wins over the key.
    known = run(message(status=404)).with_message(b"https://other.example/y", [], None)
    assert isinstance(known, Rejection) and known.url == raw_page()["url"]


@given(st.text(max_size=200), st.sampled_from([True, False]))
@settings(max_examples=300, deadline=None)
def test_the_byte_level_shortcut_never_lets_a_control_character_through(
    content: str, ensure_ascii: bool
) -> None:
    """controls_absent(raw) may skip the per-string scan only when no control char can be in
    any decoded string: whatever the content and however the JSON escapes it, the page's
    content is what the full scan gives."""
    import json

    from worker.pipeline.validate import (
        controls_absent,
        decode_message,
        strip_controls,
        validate_record,
    )

    record = {"url": "https://example.com/a", "html": content or " x"}
    raw = json.dumps(record, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")
    try:
        decoded = decode_message(raw, OPTIONS)
    except Exception:  # lone surrogates: not UTF-8, rejected before this question arises
        return
    try:
        page = validate_record(decoded, received_at=RECEIVED, options=OPTIONS,
                               controls_absent=controls_absent(raw))
    except Exception:
        return  # empty content etc.: a rejection, not this property
    assert page.html == strip_controls(record["html"])
