"""Plain-text pages (a page as a browser rendered it): line-level boilerplate removal."""

from __future__ import annotations

from worker.errors import PageRejected, RejectReason
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import Extracted, RawPage


def extract_text(page: RawPage, options: PipelineOptions) -> Extracted:
    """Body and metadata of a plain-text page; PageRejected(no_article) when there is none."""
    lines = [ln.strip() for ln in (page.content).splitlines()]
    paragraphs = [ln for ln in lines if len(ln.split()) >= 12]
    if not paragraphs:
        raise PageRejected(RejectReason.NO_ARTICLE, "no article text found in the page text")
    headline = next((ln for ln in lines if 3 <= len(ln.split()) <= 25), None)
    return Extracted(body="\n\n".join(paragraphs), headline=headline, extractor="text")
