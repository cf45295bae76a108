"""The pure pipeline: a raw message in, an `Article` or a `Rejection` out.

    validate -> extract (HTML or plain text) -> clean -> enrich        (this module)
    -> dedupe.decide(entry, article)                                   (caller keeps the state)

No Kafka, no environment, no clock, no network: callers pass the receive time and options.
`process_page` is the one boundary where `PageRejected` (and any unexpected error) becomes a
`Rejection` value, so nothing raises out of the pipeline.

The extraction stages (trafilatura, numpy, py3langid: ~0.4 s of imports) are imported on the
first page, not with this package: the processes that only route and decide (`process`'s
parent, the CLI tools) import `worker.pipeline.*` modules without paying for them.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from worker.errors import PageRejected, RejectReason
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import Article, RawPage, Rejection, Source
from worker.pipeline.validate import (
    controls_absent,
    decode_message,
    known_fields,
    validate_record,
)

__all__ = ["PipelineOptions", "build_article", "process_page", "looks_like_html"]

log = logging.getLogger(__name__)
_TAG = re.compile(r"<\s*(?:html|head|body|p|div|article|title|meta|span|br|a)\b", re.IGNORECASE)


def looks_like_html(content: str) -> bool:
    """True when the content has HTML markup (crawlers sometimes put text in `html`)."""
    return _TAG.search(content[:20000]) is not None


def build_article(page: RawPage, options: PipelineOptions) -> Article:
    """Extract, clean and enrich a page from validate_record; PageRejected when no article."""
    from worker.pipeline.clean import clean_extracted
    from worker.pipeline.enrich import enrich_article
    from worker.pipeline.extract import extract_html
    from worker.pipeline.text import extract_text

    content = page.content
    if page.html is not None and looks_like_html(content):
        extracted = extract_html(page, options, validated=True)
    else:
        extracted = extract_text(page, options)
    return enrich_article(clean_extracted(extracted, page), page, options)


def process_page(
    message: bytes | str,
    *,
    received_at: datetime,
    options: PipelineOptions,
    source: Source | None = None,
) -> Article | Rejection:
    """Run the whole pipeline on one raw message; never raises."""
    source = source or Source()
    record: object = None
    try:
        record = decode_message(message, options)
        page = validate_record(record, received_at=received_at, options=options,
                               controls_absent=controls_absent(message))
        return build_article(page, options)
    except PageRejected as exc:
        page_id, url = known_fields(record)
        return Rejection(exc.reason, exc.detail, message, page_id, url, source, received_at)
    except RecursionError:
        page_id, url = known_fields(record)
        detail = "page structure is nested too deeply to parse"
        return Rejection(RejectReason.UNSUPPORTED_CONTENT, detail, message, page_id, url, source,
                         received_at)
    except Exception as exc:  # the boundary: an unexpected bug becomes a rejection, not a crash
        log.exception("pipeline failed on a page")
        page_id, url = known_fields(record)
        detail = f"{type(exc).__name__}: {str(exc)[:300]}"
        return Rejection(RejectReason.INTERNAL_ERROR, detail, message, page_id, url, source,
                         received_at)
