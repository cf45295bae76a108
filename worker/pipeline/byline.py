"""Who wrote the story, as the page shows it: the visible byline.

    specific markup   rel=author, itemprop=author (its name), class *author-name* / *authorname*
    generic markup    class or id naming an author, byline, writer or "posted by"
    -> the first short text that reads like names ("By Jane Doe | March 3" -> "Jane Doe")

metadata.py uses it when a page declares no author, and when the declared author is only an
organisation (the site itself, a brand) while the byline names a person. Comment threads,
related-story cards, sidebars and footers are not bylines of this story.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

from worker.pipeline.published import headline_block

_LOWER = ("translate(concat(@class, ' ', @id), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
          "'abcdefghijklmnopqrstuvwxyz')")
_SPECIFIC = etree.XPath(
    "(//*[@rel='author'] | //*[@itemprop='author']//*[@itemprop='name']"
    " | //*[@itemprop='author'][not(.//*[@itemprop='name'])]"
    f" | //*[contains({_LOWER}, 'author-name') or contains({_LOWER}, 'authorname')"
    f" or contains({_LOWER}, 'author_name') or contains({_LOWER}, 'byline__name')])"
    "[position() <= 8]"
)
_GENERIC = etree.XPath(
    f"(//*[contains({_LOWER}, 'byline') or contains({_LOWER}, 'author')"
    f" or contains({_LOWER}, 'writer') or contains({_LOWER}, 'posted-by')"
    f" or contains({_LOWER}, 'submitted-by')])[position() <= 16]"
)
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


def _in_markup(tree: HtmlElement, xpath: etree.XPath) -> str | None:
    for el in xpath(tree):
        if isinstance(el, HtmlElement) and not _outside_story(el):
            names = _names_text(_text(el))
            if names:
                return names
    return None


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


def find_byline(tree: HtmlElement, h1: HtmlElement | None, meta: dict[str, str]) -> str | None:
    """The visible byline's names (one string, as shown), or None."""
    found = _in_markup(tree, _SPECIFIC)
    if found is None:
        # Yoast's reading-time card: twitter:label1 "Written by", twitter:data1 the name
        for k in "12":
            if meta.get(f"twitter:label{k}", "").lower() in ("written by", "author", "by"):
                found = _names_text(meta.get(f"twitter:data{k}", ""))
                break
    return found or _beside_headline(h1) or _in_markup(tree, _GENERIC)
