"""Record encodings the stream uses, re-exported from the pure `worker.pipeline.records`."""

from __future__ import annotations

from worker.pipeline.records import (
    ARTICLE_FIELDS,
    SCHEMA_HEADER,
    article_from_wire,
    article_to_wire,
    encode_rejection,
)

__all__ = ["ARTICLE_FIELDS", "SCHEMA_HEADER", "article_from_wire", "article_to_wire",
           "encode_rejection"]
