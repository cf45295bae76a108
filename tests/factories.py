"""Factories for test records: realistic article pages and raw-page messages.

The pages are made up here (never copied from ../shared), with the furniture real sites
have: navigation, related links, newsletter box, footer, JSON-LD.
"""

from __future__ import annotations

import html as html_lib
from typing import Any

import orjson

_PARAGRAPH_BANK = [
    "The city council voted on Tuesday to approve a new budget for the harbour district, "
    "ending months of debate over how to pay for repairs to the ageing sea wall.",
    "Council members said the plan would cost about 40 million euros over five years, with "
    "most of the money coming from a regional infrastructure fund set up last spring.",
    "Residents who attended the meeting said they were relieved that work would finally "
    "begin, although several questioned whether the timetable was realistic.",
    "Engineers warned last year that parts of the wall could fail during a severe storm, "
    "putting hundreds of homes and the old fish market at risk of flooding.",
    "The mayor said construction crews would start with the most damaged sections near the "
    "ferry terminal, and that the harbour would stay open throughout the work.",
    "Opposition councillors argued that the budget should have included money for new "
    "housing, saying the district had been neglected for more than a decade.",
]


def article_html(
    *,
    headline: str = "Council approves harbour budget after months of debate",
    site_name: str = "Harbour Gazette",
    paragraphs: list[str] | None = None,
    published: str | None = "2025-03-04T09:30:00+01:00",
    modified: str | None = None,
    author: str = "Maria Jensen",
    canonical: str | None = None,
    lang: str = "en",
) -> str:
    """A full news page with menus, related links, footer and JSON-LD."""
    paragraphs = paragraphs if paragraphs is not None else _PARAGRAPH_BANK
    esc = html_lib.escape
    ld: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": headline,
        "author": {"@type": "Person", "name": author},
        "publisher": {"@type": "Organization", "name": site_name},
    }
    if published:
        ld["datePublished"] = published
    if modified:
        ld["dateModified"] = modified
    body = "\n".join(f"<p>{esc(p)}</p>" for p in paragraphs)
    canonical_tag = f'<link rel="canonical" href="{esc(canonical)}">' if canonical else ""
    meta_pub = (
        f'<meta property="article:published_time" content="{esc(published)}">' if published else ""
    )
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<title>{esc(headline)} - {esc(site_name)}</title>
<meta property="og:site_name" content="{esc(site_name)}">
<meta property="og:title" content="{esc(headline)}">
{meta_pub}
{canonical_tag}
<script type="application/ld+json">{orjson.dumps(ld).decode()}</script>
</head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/opinion">Opinion</a></li></ul></nav></header>
<main><article>
<h1>{esc(headline)}</h1>
<p class="byline">By {esc(author)}</p>
{body}
</article>
<aside><h3>Related stories</h3><ul>
<li><a href="/news/1">Ferry timetable changes announced for the summer season</a></li>
<li><a href="/news/2">Local football club signs two new players before the derby</a></li>
</ul></aside>
<div class="newsletter">Sign up for our morning newsletter and never miss a story.</div>
</main>
<footer><p>&copy; 2025 {esc(site_name)}. All rights reserved.</p>
<a href="/privacy">Privacy policy</a> <a href="/contact">Contact us</a></footer>
</body></html>"""


def raw_page(
    *,
    url: str = "https://www.harbourgazette.example/news/2025/03/04/council-budget",
    html: str | None = None,
    text: str | None = None,
    page_id: str | None = "page-1",
    fetched_at: str | None = "2025-03-04T10:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    """A raw_page.v1 record (defaults: a valid HTML article page)."""
    record: dict[str, Any] = {"url": url}
    if html is None and text is None:
        html = article_html()
    if html is not None:
        record["html"] = html
    if text is not None:
        record["text"] = text
    if page_id is not None:
        record["id"] = page_id
    if fetched_at is not None:
        record["fetched_at"] = fetched_at
    record.update(extra)
    return record


def message(**kwargs: Any) -> bytes:
    """A raw_page.v1 record as the JSON bytes a crawler would send."""
    return orjson.dumps(raw_page(**kwargs))
