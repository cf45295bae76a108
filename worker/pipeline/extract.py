"""HTML pages: trafilatura for the body plus our own metadata, translated at this adapter."""

from __future__ import annotations

import trafilatura

from worker.errors import PageRejected, RejectReason
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import Extracted, RawPage


def extract_html(page: RawPage, options: PipelineOptions) -> Extracted:
    """Body and metadata of an HTML page; PageRejected(no_article) when there is none."""
    html = page.html or ""
    doc = trafilatura.bare_extraction(
        html, url=page.url, include_comments=False, with_metadata=True, as_dict=False
    )
    body = getattr(doc, "text", None) if doc is not None else None
    if not body or not body.strip():
        raise PageRejected(RejectReason.NO_ARTICLE, "no article text found in the HTML")
    return Extracted(
        body=body,
        headline=getattr(doc, "title", None),
        description=getattr(doc, "description", None),
        authors=tuple(a.strip() for a in (getattr(doc, "author", None) or "").split(";") if a.strip()),
        site_name=getattr(doc, "sitename", None),
        image_url=getattr(doc, "image", None),
        extractor="html",
    )
