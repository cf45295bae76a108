"""Extractors under test, each as `func(content, url) -> prediction dict` for the corpus scorer.

A prediction is `{"articleBody", "headline"?, "datePublished"?, "dateModified"?, "author"?}`
(the JSON-lines shape eval_extract.py scores). HTML adapters take the page HTML; `*_on_text`
adapters take the page rendered as plain text.

How plain text is given to HTML extractors (documented in the report): every non-blank line
becomes one escaped `<p>` inside `<html><body>`. jusText and trafilatura classify paragraphs,
so one line = one paragraph is the most favourable framing for them (a single `<pre>` block
would be kept or dropped whole).
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from bench.corpus import FETCHED_AT

Prediction = dict[str, Any]
Adapter = Callable[[str, str], Prediction]


# --- news-worker ---------------------------------------------------------------------------
def _newsworker(record: dict[str, Any], fetched_at: datetime) -> Prediction:
    from worker.pipeline import PipelineOptions, process_page
    from worker.pipeline.types import Rejection, format_instant

    result = process_page(orjson.dumps(record), received_at=fetched_at, options=PipelineOptions())
    if isinstance(result, Rejection):
        return {"articleBody": "", "rejected": result.reason.value}
    # The instant in the offset the page wrote it (the scorer compares the day as written;
    # the wire format gives the same instant in UTC).
    published = result.published_at.isoformat() if result.published_at else None
    return {
        "articleBody": result.body,
        "headline": result.headline,
        "datePublished": published,
        "dateModified": format_instant(result.modified_at),
        "author": list(result.authors) or None,
        "language": result.language,
    }


def newsworker_html(html: str, url: str, fetched_at: datetime = FETCHED_AT) -> Prediction:
    """news-worker end to end (`process_page`) on a raw message carrying the HTML."""
    return _newsworker({"url": url, "html": html, "fetched_at": _stamp(fetched_at)}, fetched_at)


def newsworker_text(text: str, url: str, fetched_at: datetime = FETCHED_AT) -> Prediction:
    """news-worker end to end on a raw message carrying the rendered text (`text` field)."""
    return _newsworker({"url": url, "text": text, "fetched_at": _stamp(fetched_at)}, fetched_at)


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- trafilatura ----------------------------------------------------------------------------
def _trafilatura(html: str, url: str, **kwargs: Any) -> Prediction:
    import trafilatura

    return {"articleBody": trafilatura.extract(html, url=url, include_comments=False, **kwargs)
            or ""}


def trafilatura_default(html: str, url: str) -> Prediction:
    """trafilatura.extract(include_comments=False): the README's reference configuration."""
    return _trafilatura(html, url)


def trafilatura_precision(html: str, url: str) -> Prediction:
    """trafilatura with favor_precision=True."""
    return _trafilatura(html, url, favor_precision=True)


def trafilatura_fast(html: str, url: str) -> Prediction:
    """trafilatura with fast=True (the 2.x name of no_fallback: no readability/jusText fallback)."""
    return _trafilatura(html, url, fast=True)


def trafilatura_with_metadata(html: str, url: str) -> Prediction:
    """trafilatura default body plus its metadata (title, date, author) for --silver-meta."""
    import trafilatura

    out = trafilatura.extract(html, url=url, include_comments=False, output_format="json",
                              with_metadata=True)
    if not out:
        return {"articleBody": ""}
    doc = orjson.loads(out)
    return {
        "articleBody": doc.get("text") or "",
        "headline": doc.get("title"),
        "datePublished": doc.get("date"),
        "author": doc.get("author"),
    }


# --- readability-lxml and jusText -----------------------------------------------------------
def readability_lxml(html: str, url: str) -> Prediction:
    """readability-lxml Document.summary(), as text."""
    import lxml.html
    from readability import Document

    summary = Document(html, url=url).summary(html_partial=True)
    if not summary.strip():
        return {"articleBody": ""}
    return {"articleBody": lxml.html.fromstring(summary).text_content()}


# ISO 639-1 -> jusText stoplist; languages without a stoplist use its language-independent
# mode (empty stoplist, stopword thresholds 0), as jusText's documentation recommends.
_JUSTEXT_STOPLISTS = {
    "en": "English", "ru": "Russian", "pt": "Portuguese", "ko": "Korean", "it": "Italian",
    "id": "Indonesian", "de": "German", "fr": "French", "es": "Spanish", "nl": "Dutch",
    "pl": "Polish", "uk": "Ukrainian", "tr": "Turkish", "sv": "Swedish",
}


def _justext(html: str, sample: str) -> Prediction:
    import justext
    import py3langid

    lang, _ = py3langid.classify(sample[:4000]) if sample.strip() else ("en", 0.0)
    name = _JUSTEXT_STOPLISTS.get(str(lang))
    if name is not None:
        paragraphs = justext.justext(html, justext.get_stoplist(name))
    else:
        paragraphs = justext.justext(html, frozenset(), stopwords_low=0, stopwords_high=0)
    return {"articleBody": "\n\n".join(p.text for p in paragraphs if not p.is_boilerplate)}


def justext_html(html: str, url: str) -> Prediction:
    """jusText with the stoplist of the page's language (detected by py3langid)."""
    import html_text

    return _justext(html, html_text.extract_text(html))


# --- the same tools on plain text -----------------------------------------------------------
def html_from_text(text: str) -> str:
    """Plain text as minimal HTML: one escaped <p> per non-blank line."""
    paragraphs = "".join(
        f"<p>{html_lib.escape(line.strip())}</p>\n" for line in text.splitlines() if line.strip()
    )
    return f"<html><body>\n{paragraphs}</body></html>"


def trafilatura_on_text(text: str, url: str) -> Prediction:
    """trafilatura default on the text wrapped as HTML (one <p> per line)."""
    return trafilatura_default(html_from_text(text), url)


def justext_on_text(text: str, url: str) -> Prediction:
    """jusText on the text wrapped as HTML (one <p> per line)."""
    return _justext(html_from_text(text), text)


def raw_text(text: str, url: str) -> Prediction:
    """The rendered text itself as the body: the floor any text extractor must beat."""
    return {"articleBody": text}


HTML_ADAPTERS: dict[str, Adapter] = {
    "news-worker": newsworker_html,
    "trafilatura (default)": trafilatura_default,
    "trafilatura (favor_precision)": trafilatura_precision,
    "trafilatura (fast)": trafilatura_fast,
    "readability-lxml": readability_lxml,
    "jusText": justext_html,
}
TEXT_ADAPTERS: dict[str, Adapter] = {
    "news-worker (text)": newsworker_text,
    "trafilatura (default, <p> per line)": trafilatura_on_text,
    "jusText (<p> per line)": justext_on_text,
    "raw rendered text": raw_text,
}
