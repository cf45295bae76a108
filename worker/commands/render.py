"""How `tail` shows a message: one JSON line, or a few readable lines chosen by its schema."""

from __future__ import annotations

from typing import Any

import orjson
from aiokafka import ConsumerRecord

from worker.pipeline.types import DUPLICATE_SCHEMAS, REJECTION_SCHEMAS

_BODY_WIDTH = 120
_BOLD, _DIM, _RED, _YELLOW, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[33m", "\x1b[0m"


def parse_value(value: bytes | None) -> Any:
    """The decoded JSON value, or None when the message is not JSON."""
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return None


def render_json(record: ConsumerRecord[bytes, bytes]) -> str:
    """The message value as one JSON line (a JSON string when the value is not JSON)."""
    if record.value is None:
        return "null"
    try:
        return orjson.dumps(orjson.loads(record.value)).decode()
    except orjson.JSONDecodeError:
        return orjson.dumps(record.value.decode("utf-8", "replace")).decode()


def _first_line(text: object, width: int = _BODY_WIDTH) -> str:
    line = str(text or "").strip().split("\n", 1)[0].strip()
    return line if len(line) <= width else line[: width - 1] + "…"


def _join(*parts: object) -> str:
    return " · ".join(str(p) for p in parts if p not in (None, "", []))


def render_pretty(record: ConsumerRecord[bytes, bytes], *, colour: bool = False) -> str:
    """A few lines a person can scan: articles, rejections, duplicates, anything else."""

    def style(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    where = f"{record.topic}/{record.partition}@{record.offset}"
    data = parse_value(record.value)
    schema = data.get("schema") if isinstance(data, dict) else None
    if isinstance(data, dict) and schema == "article.v1":
        version = data.get("version")
        kind = "update" if isinstance(version, int) and version > 1 else None
        authors = ", ".join(str(a) for a in data.get("authors") or [])
        return "\n".join(
            [
                style(_BOLD, str(data.get("headline") or "(no headline)")),
                "  "
                + _join(
                    f"id {data.get('id')} v{version}",
                    kind,
                    data.get("published_at") or "no date",
                    authors or None,
                    data.get("language"),
                    style(_DIM, where),
                ),
                "  " + str(data.get("url")),
                "  " + style(_DIM, _first_line(data.get("body"))),
            ]
        )
    if isinstance(data, dict) and schema in REJECTION_SCHEMAS:
        source = data.get("source") or {}
        origin = (
            f"{source.get('topic')}/{source.get('partition')}@{source.get('offset')}"
            if "topic" in source
            else _join(source.get("file"), source.get("line"))
        )
        redrive = data.get("redrive") if isinstance(data.get("redrive"), dict) else None
        return "\n".join(
            [
                style(_RED, f"rejected {data.get('reason')}") + f": {data.get('detail')}",
                "  "
                + _join(
                    data.get("url") or "(no url)",
                    f"from {origin}" if origin else None,
                    f"redriven copy of {redrive.get('of')}" if redrive else None,
                    "original omitted (size): redrive reads it from the source"
                    if data.get("original_omitted") else None,
                    data.get("rejected_at"),
                    style(_DIM, where),
                ),
            ]
        )
    if isinstance(data, dict) and schema in DUPLICATE_SCHEMAS:
        version = data.get("version")  # v2: null for a copy on another URL
        return "\n".join(
            [
                style(_YELLOW, "duplicate") + f" {data.get('url')}",
                "  "
                + _join(
                    f"duplicate of {data.get('duplicate_of')}"
                    + (f" v{version}" if version is not None else ""),
                    f"by {data['match']}" if data.get("match") else None,
                    f"fetched {data.get('fetched_at')}",
                    style(_DIM, where),
                ),
            ]
        )
    if isinstance(data, dict) and "url" in data and ("html" in data or "text" in data):
        content = str(data.get("html") or data.get("text") or "")
        return "\n".join(
            [
                style(_BOLD, str(data.get("url"))),
                "  "
                + _join(
                    f"id {data.get('id')}" if data.get("id") else None,
                    data.get("fetched_at"),
                    f"{len(content)} chars",
                    style(_DIM, where),
                ),
            ]
        )
    return style(_DIM, where) + " " + _first_line(render_json(record), 400)
