"""Records the worker writes, as bytes: article events on internal topics, rejection records.

Pure (no Kafka): shared by the streaming worker (worker/stream/) and `news-worker process`.
`article_to_wire` keeps datetimes to the microsecond, so a stage that reads an article back
from the internal topic decides on exactly the values the extract stage (or `process`) had.
"""

from __future__ import annotations

import base64
from dataclasses import MISSING, fields
from datetime import datetime
from typing import Any

import orjson

from worker.pipeline.types import Article, Entity, Rejection, original_bytes

_INSTANTS = ("published_at", "modified_at", "fetched_at")
_TUPLES = ("authors", "tags", "keywords")
ARTICLE_FIELDS = frozenset(f.name for f in fields(Article))
_DEFAULTS = {f.name: f.default for f in fields(Article) if f.default is not MISSING}
SCHEMA_HEADER = "schema"


def article_to_wire(article: Article) -> dict[str, Any]:
    """The article as a JSON-ready dict that `article_from_wire` turns back into an equal one."""
    data = {name: getattr(article, name) for name in ARTICLE_FIELDS}
    for name in _INSTANTS:
        value = data[name]
        data[name] = value.isoformat() if value is not None else None
    data["entities"] = [e.to_dict() for e in article.entities]
    for name in _TUPLES:
        data[name] = list(data[name])
    return data


def article_from_wire(data: dict[str, Any]) -> Article:
    """Inverse of `article_to_wire`; raises KeyError/TypeError/ValueError on a bad record.

    Fields another release added are ignored; a field this release has and the record lacks
    takes its default when it has one (a record written before it existed).
    """
    values = {name: data[name] if name in data or name not in _DEFAULTS else _DEFAULTS[name]
              for name in ARTICLE_FIELDS}
    for name in _INSTANTS:
        raw = values[name]
        values[name] = datetime.fromisoformat(raw) if raw is not None else None
    for name in _TUPLES:
        values[name] = tuple(values[name])
    values["entities"] = tuple(
        Entity(name=e["name"], type=e["type"], count=int(e["count"])) for e in values["entities"]
    )
    values["extractor"] = dict(values["extractor"])
    return Article(**values)


def encode_rejection(rejection: Rejection, limit: int) -> bytes:
    """The rejection record as JSON, no larger than `limit` bytes whenever that is possible.

    JSON escaping can multiply a hostile page's size (quotes, backslashes), so an original
    that makes the record too big goes base64 (bounded at 4/3). If even that does not fit
    (an output the broker refused, a limit smaller than the page), the original is left out:
    `original` null, `original_omitted: "size"`, and `news-worker redrive` fetches it from
    `source`; as a last resort the key and headers go too (`headers` null), redrive reads
    them from `source` as well. `original_bytes` always says how big the original was.
    """
    data = rejection.to_dict()
    value = orjson.dumps(data)
    if len(value) > limit and data.get("original_encoding") == "utf-8":
        data["original"] = base64.b64encode(original_bytes(rejection.original)).decode("ascii")
        data["original_encoding"] = "base64"
        value = orjson.dumps(data)
    if len(value) > limit:
        data.update(original=None, original_encoding=None, original_omitted="size")
        value = orjson.dumps(data)
    if len(value) > limit:
        data.update(key=None, key_encoding=None, headers=None)
        value = orjson.dumps(data)
    return value
