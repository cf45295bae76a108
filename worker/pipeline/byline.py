"""Who wrote the story, as the page shows it: the visible byline.

    specific markup   rel=author, itemprop=author (its name), class *author-name* / *authorname*
    generic markup    class or id naming an author, byline, writer or "posted by"
    -> the first short text that reads like names ("By Jane Doe | March 3" -> "Jane Doe")

metadata.py uses it when a page declares no author, and when the declared author is only an
organisation (the site itself, a brand) while the byline names a person. Comment threads,
related-story cards, sidebars and footers are not bylines of this story.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator

from lxml.html import HtmlElement

from worker.pipeline.marks import PageMarks
from worker.pipeline.published import headline_block

_SPECIFIC_CLASS = re.compile(r"author[-_]?name|byline__name")
_GENERIC_CLASS = re.compile(r"byline|author|writer|posted-by|submitted-by")
# Not this story's byline: comments, other stories, page furniture.
_ELSEWHERE = re.compile(
    r"comment|related|sidebar|footer|widget|recommend|popular|newsletter|share|social|"
    r"author-bio|about-the-author|reviewer|review-by|medically", re.IGNORECASE)
_LABEL = re.compile(
    r"^(?:(?:written|posted|published|reported|article|story|recipe|words|text|analysis|"
    r"photos?|edited)\s+)?(?:by|von|por|par|di)\b\s*:?\s*|^(?:authors?|writer|written by|"
    r"posted by)\s*:\s*", re.IGNORECASE)
# Where a byline's names end: a date, "Updated", a separator before other information.
_END = re.compile(
    r"\s+(?:[|•·]|—|–|-\s|on\s+\w+\s+\d|updated|published|last updated|posted|\d{1,2}\s*min|"
    r"reviewed|fact[- ]checked|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d|"
    r"\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|today|yesterday|\d+\s+(?:hours?|days?)\s+ago)"
    r"|\s*\d{1,2}[/.]\d{1,2}[/.]\d{2,4}", re.IGNORECASE)
_BY = re.compile(r"^(?:(?:written|posted|article|story|recipe|words)\s+)?by\s*:?$", re.IGNORECASE)
_NAME_WORD = re.compile(r"^(?:[A-ZÀ-ÞĀ-Ž][\w'’.-]*|(?:de|da|van|von|der|del|la|le|bin|al)\b)$")
_MAX_WORDS = 8
_HEADLINE_PIECES = 16  # text pieces after the headline looked at (and 4 before it)


def _outside_story(el: HtmlElement) -> bool:
    for node in (el, *el.iterancestors()):
        marks = f"{node.get('class', '')} {node.get('id', '')}"
        if marks.strip() and _ELSEWHERE.search(marks):
            return True
    return False


def _names_text(raw: str) -> str | None:
    """The names in a byline text, or None when it does not read like names."""
    text = " ".join(raw.split())
    text = _LABEL.sub("", text)
    end = _END.search(text)
    text = (text[: end.start()] if end else text).strip(" ,:;|-–—")
    words = text.replace(",", " ").split()
    if not words or len(words) > _MAX_WORDS:
        return None
    named = sum(1 for w in words if _NAME_WORD.match(w) or w.lower() in ("and", "&"))
    return text if named >= 0.6 * len(words) else None


def _text(el: HtmlElement) -> str:
    """The element's text with its pieces kept apart ("By" + <a>Name</a>, "Name<br>Date")."""
    return " ".join(" ".join(el.itertext()).split())


def _first_names(elements: Iterable[HtmlElement]) -> str | None:
    for el in elements:
        if not _outside_story(el):
            names = _names_text(_text(el))
            if names:
                return names
    return None


def _by_properties(marks: PageMarks) -> Iterator[HtmlElement]:
    """rel=author links, and itemprop=author elements (their itemprop=name when they have one)."""
    for el in marks.properties():
        if el.get("rel") == "author":
            yield el
        elif el.get("itemprop") == "author":
            named = [n for n in el.iter() if n.get("itemprop") == "name"]
            yield from named or [el]


def _beside_headline(h1: HtmlElement | None) -> str | None:
    """A 'By ...' line in the block that holds the headline."""
    if h1 is None:
        return None
    pieces = [t for t in (" ".join(x.split()) for x in headline_block(h1).itertext()) if t]
    title = " ".join(h1.text_content().split())
    at = next((k for k, piece in enumerate(pieces) if piece and piece in title), 0)
    pieces = pieces[max(0, at - 4): at + _HEADLINE_PIECES]
    for k, piece in enumerate(pieces):
        if _BY.match(piece) and k + 1 < len(pieces):
            piece = f"by {pieces[k + 1]}"  # "By" and the name set in two elements
        if _BY.match(piece.split(" ", 1)[0]) and len(piece.split()) > 1:
            names = _names_text(piece)
            if names:
                return names
    return None


def find_byline(marks: PageMarks, h1: HtmlElement | None, meta: dict[str, str]) -> str | None:
    """The visible byline's names (one string, as shown), or None."""
    found = (_first_names(itertools.islice(_by_properties(marks), 8))
             or _first_names(marks.classed(_SPECIFIC_CLASS, 8)))
    if found is None:
        # Yoast's reading-time card: twitter:label1 "Written by", twitter:data1 the name
        for k in "12":
            if meta.get(f"twitter:label{k}", "").lower() in ("written by", "author", "by"):
                found = _names_text(meta.get(f"twitter:data{k}", ""))
                break
    return found or _beside_headline(h1) or _first_names(marks.classed(_GENERIC_CLASS, 16))
