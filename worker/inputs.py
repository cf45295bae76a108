"""Reading raw-page messages from files: JSON lines (`-` is stdin) and WARC response records.

Shared by `process` and `replay`. Each yielded `InputMessage` is the exact bytes a crawler
would have put on the pages topic, plus where it came from (file and line / record number).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from worker.errors import ToolError


@dataclass(frozen=True, slots=True)
class InputMessage:
    """One raw message and its position in its file."""

    data: bytes
    file: str
    line: int
    key: bytes | None = None  # the URL when known (Kafka key for replay)


def url_key(data: bytes) -> bytes | None:
    """The message's `url` as bytes (its Kafka key), None when it has none or is not JSON."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    url = value.get("url") if isinstance(value, dict) else None
    return url.encode("utf-8") if isinstance(url, str) else None


def read_jsonl(path: str, *, keys: bool = True) -> Iterator[InputMessage]:
    """Non-blank lines of a JSON-lines file (or stdin for `-`), bytes untouched.

    `keys=False`: no `key` (None); finding the URL decodes the whole message, about 1 ms for a
    200 kB page, which `process` needs only for the rare rejection without id or URL.
    """
    try:
        stream = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise ToolError(f"cannot read {path}: {exc.strerror or exc}") from None
    with stream:
        for number, raw in enumerate(stream, start=1):
            line = raw.rstrip(b"\r\n")
            if line.strip():
                yield InputMessage(line, path, number, url_key(line) if keys else None)


def read_warc(path: str) -> Iterator[InputMessage]:
    """WARC `response` records as raw-page messages (url, html, status, fetched_at, id)."""
    from warcio.archiveiterator import ArchiveIterator  # optional input format, loaded lazily

    try:
        stream = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise ToolError(f"cannot read {path}: {exc.strerror or exc}") from None
    with stream:
        number = 0
        try:
            for record in ArchiveIterator(stream):
                if record.rec_type != "response":
                    continue
                number += 1
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                date = record.rec_headers.get_header("WARC-Date")
                status = None
                content_type = ""
                if record.http_headers is not None:
                    code = record.http_headers.get_statuscode()
                    status = int(code) if code and code.isdigit() else None
                    content_type = record.http_headers.get_header("Content-Type") or ""
                body = record.content_stream().read()
                message: dict[str, object] = {
                    "url": url,
                    "html": body.decode("utf-8", "replace"),
                    "id": record.rec_headers.get_header("WARC-Record-ID"),
                    "crawler": "warc",
                }
                if status is not None:
                    message["status"] = status
                if content_type:
                    message["headers"] = {"content-type": content_type}
                if date:
                    message["fetched_at"] = date
                yield InputMessage(orjson.dumps(message), path, number, url.encode("utf-8"))
        except Exception as exc:  # warcio raises assorted errors on a damaged archive
            raise ToolError(f"cannot read WARC {path}: {exc}") from None


def read_inputs(paths: list[str], *, keys: bool = True) -> Iterator[InputMessage]:
    """Every message of every input, in order; WARC by file name, JSON lines otherwise.

    `keys=False`: JSON lines come without their `key` (read_jsonl); WARC records keep theirs.
    """
    for path in paths or ["-"]:
        if path != "-" and not Path(path).is_file():
            raise ToolError(f"cannot read {path}: no such file")
        if path.endswith((".warc", ".warc.gz")):
            yield from read_warc(path)
        else:
            yield from read_jsonl(path, keys=keys)


def utc_now() -> datetime:
    """The I/O shell's clock (the pipeline never reads one)."""
    return datetime.now(UTC)
