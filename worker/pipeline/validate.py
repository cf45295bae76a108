"""Validate a raw message against schemas/raw_page.v1.json and turn it into a `RawPage`.

Everything here is bounded: the size check runs before JSON parsing, so an oversized or
hostile message costs at most one length comparison.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from worker.errors import PageRejected, RejectReason
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import RawPage

_URL_MAX = 8192
# Control characters other than tab, newline and carriage return: stripped from content.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_CHARS = tuple(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F))


def strip_controls(content: str) -> str:
    """`content` without control characters (lxml refuses them in a document)."""
    # Most pages have none: 30 substring scans are ~3x faster than one regex pass over them.
    if any(char in content for char in _CONTROL_CHARS):
        return _CONTROL.sub("", content)
    return content


def controls_absent(raw: bytes | str) -> bool:
    """True when JSON text `raw` decodes to strings without control characters.

    JSON forbids raw C0 characters in strings (the decoder refuses them), so they can only
    come from escapes (\\u00XX, and \\b, \\f for backspace and form feed); DEL may stand raw.
    A few byte searches instead of scanning every decoded string for 30 characters (0.4 ms on
    a 100 kB page); a false alarm ("\\\\b" in the text) only means the full scan runs.
    """
    return isinstance(raw, bytes) and not any(
        seq in raw for seq in (b"\\u00", b"\\b", b"\\f", b"\x7f"))


def _reject(reason: RejectReason, detail: str) -> PageRejected:
    return PageRejected(reason, detail)


def decode_message(raw: bytes | str, options: PipelineOptions) -> dict[str, Any]:
    """Parse a message into a JSON object, or raise PageRejected."""
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if size > options.max_page_bytes:
        raise _reject(
            RejectReason.TOO_LARGE,
            f"message is {size} bytes, limit is {options.max_page_bytes}",
        )
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # Checked only on this error path: JSON must be UTF-8 (RFC 8259), and orjson's own
        # message for bad bytes ("surrogates not allowed: line 1 column 1") misleads.
        detail = not_utf8(raw) or f"not JSON: {exc}"
        raise _reject(RejectReason.INVALID_JSON, detail) from None
    if not isinstance(value, dict):
        raise _reject(
            RejectReason.INVALID_RECORD, f"expected a JSON object, got {type(value).__name__}"
        )
    return value


def not_utf8(raw: bytes | str) -> str | None:
    """Where `raw` is not UTF-8 ("not UTF-8: byte 0xff at offset 12"), or None when it is."""
    try:
        if isinstance(raw, str):
            raw.encode("utf-8")
        else:
            raw.decode("utf-8")
    except UnicodeEncodeError as exc:  # a str with lone surrogates (undecodable input)
        return f"not UTF-8: an undecodable character at offset {exc.start}"
    except UnicodeDecodeError as exc:
        return (
            f"not UTF-8: byte 0x{exc.object[exc.start]:02x} at offset {exc.start} "
            "(JSON must be UTF-8)"
        )
    return None


def parse_instant(value: str) -> datetime:
    """Parse an RFC 3339 / ISO 8601 timestamp into aware UTC; naive values are taken as UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def check_url(url: object) -> str:
    """An absolute http(s) URL with a host, or PageRejected(invalid_record)."""
    if not isinstance(url, str) or not url.strip():
        raise _reject(RejectReason.INVALID_RECORD, "url is missing or not a string")
    url = url.strip()
    if len(url) > _URL_MAX:
        raise _reject(RejectReason.INVALID_RECORD, f"url longer than {_URL_MAX} characters")
    if _CONTROL.search(url) or any(c.isspace() for c in url):
        raise _reject(RejectReason.INVALID_RECORD, "url contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise _reject(RejectReason.INVALID_RECORD, f"url does not parse: {exc}") from None
    if not parts.scheme:
        raise _reject(
            RejectReason.INVALID_RECORD,
            f"url {url[:200]!r} is not absolute (it must start with http:// or https://)",
        )
    if parts.scheme.lower() not in ("http", "https"):
        raise _reject(
            RejectReason.INVALID_RECORD,
            f"url scheme {parts.scheme!r} is not http or https",
        )
    if not host:
        raise _reject(RejectReason.INVALID_RECORD, "url has no host")
    return url


def _optional_str(record: dict[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name == "id":
        return str(value)  # numeric crawler ids are common and harmless
    if not isinstance(value, str):
        raise _reject(RejectReason.INVALID_RECORD, f"{name} must be a string")
    return value


def validate_record(
    record: dict[str, Any], *, received_at: datetime, options: PipelineOptions,
    controls_absent: bool = False,
) -> RawPage:
    """Check a decoded message against the raw-page contract and build a RawPage.

    `controls_absent`: the caller knows the strings hold no control characters (see
    controls_absent()), so the scan for them is skipped.
    """
    url = check_url(record.get("url"))
    page_id = _optional_str(record, "id")
    html = _optional_str(record, "html")
    text = _optional_str(record, "text")
    if html is None and text is None:
        raise _reject(RejectReason.INVALID_RECORD, "neither html nor text is present")
    if not (html or text or "").strip():
        raise _reject(RejectReason.NO_ARTICLE, "page content is empty")

    status = record.get("status")
    if status is not None:
        if isinstance(status, bool) or not isinstance(status, int):
            raise _reject(RejectReason.INVALID_RECORD, "status must be an integer")
        if status >= 400:
            raise _reject(RejectReason.HTTP_ERROR, f"crawler got HTTP {status}")

    fetched_raw = record.get("fetched_at")
    if fetched_raw is None:
        fetched_at = received_at.astimezone(UTC)
    elif isinstance(fetched_raw, str):
        try:
            fetched_at = parse_instant(fetched_raw)
        except (ValueError, OverflowError):
            raise _reject(
                RejectReason.INVALID_RECORD, f"fetched_at is not RFC 3339: {fetched_raw[:64]!r}"
            ) from None
    else:
        raise _reject(RejectReason.INVALID_RECORD, "fetched_at must be an RFC 3339 string")
    # The one place the fetch time is decided: a crawler's clock ahead of the receive time
    # (the Kafka timestamp, `process --clock`) is clamped, so it cannot age out stories.
    fetched_at = min(fetched_at, received_at.astimezone(UTC) + options.fetch_skew)

    headers_raw = record.get("headers") or {}
    if not isinstance(headers_raw, dict):
        raise _reject(RejectReason.INVALID_RECORD, "headers must be an object")
    headers = {str(k).lower(): str(v) for k, v in headers_raw.items()}
    content_type = headers.get("content-type", "")
    if content_type and not any(
        t in content_type.lower() for t in ("html", "text/plain", "xml")
    ):
        raise _reject(
            RejectReason.UNSUPPORTED_CONTENT, f"content-type {content_type[:80]!r} is not a page"
        )

    crawler = record.get("crawler")
    if crawler is not None and not isinstance(crawler, str):
        crawler = str(crawler)[:200]

    return RawPage(
        url=url,
        fetched_at=fetched_at,
        html=strip_controls(html) if html is not None and not controls_absent else html,
        text=strip_controls(text) if text is not None and not controls_absent else text,
        page_id=page_id,
        status=status,
        headers=headers,
        crawler=crawler,
    )


def known_fields(record: object) -> tuple[str | None, str | None]:
    """(page_id, url) from a record when they are there, for rejection records."""
    if not isinstance(record, dict):
        return None, None
    page_id = record.get("id")
    url = record.get("url")
    return (
        str(page_id)[:500] if isinstance(page_id, (str, int)) else None,
        url[:_URL_MAX] if isinstance(url, str) else None,
    )
