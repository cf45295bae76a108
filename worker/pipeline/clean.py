"""Cleaning shared by HTML and text pages: headlines without site names, bodies without furniture."""

from __future__ import annotations

import re
from dataclasses import replace

from worker.pipeline.dedupe import WIRE_PREFIX
from worker.pipeline.types import Extracted, RawPage

_SPACES = re.compile(r"[ \t\u00a0]+")


def clean_headline(headline: str, site_name: str | None) -> str:
    """Remove wire prefixes and a ' - SiteName' / 'SiteName | ' decoration."""
    text = WIRE_PREFIX.sub("", _SPACES.sub(" ", headline).strip())
    if site_name:
        for sep in (" - ", " | ", " – ", " — ", " :: ", " · "):
            if text.endswith(sep + site_name):
                text = text[: -len(sep + site_name)]
            if text.startswith(site_name + sep):
                text = text[len(site_name + sep):]
    return text.strip()


def clean_body(body: str, headline: str | None) -> str:
    """Paragraphs separated by one blank line, without a leading repeat of the headline."""
    paragraphs = [_SPACES.sub(" ", p).strip() for p in re.split(r"\n\s*\n|\n", body)]
    paragraphs = [p for p in paragraphs if p]
    if headline and paragraphs and paragraphs[0].casefold() == headline.casefold():
        paragraphs = paragraphs[1:]
    return "\n\n".join(paragraphs)


def clean_extracted(extracted: Extracted, page: RawPage) -> Extracted:
    """Apply headline and body cleaning to what extraction found."""
    headline = clean_headline(extracted.headline, extracted.site_name) if extracted.headline else None
    return replace(extracted, headline=headline, body=clean_body(extracted.body, headline))
