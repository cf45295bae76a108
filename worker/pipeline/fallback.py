"""readability-lxml as a second opinion, on the pages where trafilatura's result looks like a miss.

    trafilatura's fast run misses the story (extract._needs_full_cascade, ~7 % of pages)
    --> readability-lxml on a copy of the page --> its text, paragraph by paragraph
    --> prefer_readability(ours, theirs): one of two rules, both stated on 4-gram shingles:
        * trim: readability kept only our text (>= 95 % of its shingles are ours) and cut
          between a tenth and a half of it: the rest was page furniture around the story
          (a landing page's cards, a product grid);
        * extend: readability holds our text (>= 80 % of our prose is in it), is at least twice
          as long (trafilatura's own "much longer" threshold for its readability port), and
          reads as prose (>= 80 % of its characters in lines of 8+ words, not a list of items).
      otherwise our text stays.

Why readability-lxml and not more rules of our own: it scores the page's containers by their
text, commas and class names and keeps the best one with its siblings, which finds the story
on pages whose paragraphs trafilatura's XPath rules skip (the story in divs, a card layout).
On wcxb-dev it finds what both trafilatura and we miss on 0053 (0.00 -> 0.75 F1) and keeps
only the story on 0132 (0.41 -> 0.98). It is only asked on pages whose result already looks
like a miss, because it costs about 1.4x trafilatura's fast run and, on pages where we are
right, it is often worse (it keeps one container: 0007 0.97 -> 0.33).
"""

from __future__ import annotations

import copy
import logging

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from worker.pipeline.blocks import PROSE_LINE_WORDS, prose_share
from worker.pipeline.gaps import shingles

log = logging.getLogger(__name__)

# trim: readability's text lies within ours and keeps this share of our shingles or more ...
TRIM_INSIDE = 0.95
TRIM_KEEP = (0.5, 0.9)  # ... and between half and nine tenths of ours
# extend: readability's text holds this share of ours, and is this many times longer ...
EXTEND_HOLDS = 0.8
EXTEND_RATIO = 2.0
EXTEND_PROSE = 0.8  # ... with this share of its characters in prose lines
_BLOCKS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "td", "th",
           "blockquote", "pre", "dd", "dt", "section", "article", "ul", "ol", "table")


def summary_text(summary: HtmlElement) -> str:
    """readability's summary as text: one paragraph per block element, captions left out
    (figure captions are not the story; readability keeps them inside the container)."""
    etree.strip_elements(summary, "figcaption", with_tail=False)
    for el in summary.iter(_BLOCKS):
        el.tail = "\n" + (el.tail or "")
        if el.tag != "br":
            el.text = "\n" + (el.text or "")
    lines = (" ".join(line.split()) for line in summary.text_content().splitlines())
    return "\n\n".join(line for line in lines if line)


def readability_text(tree: HtmlElement) -> str:
    """The story's text by readability-lxml ("" when it finds none or fails); `tree` is not
    changed (readability drops hidden elements from the tree it is given: it gets a copy)."""
    from readability import Document
    from readability.readability import Unparseable

    try:
        html = Document(copy.deepcopy(tree)).summary(html_partial=True)
        if not html.strip():
            return ""
        return summary_text(lxml.html.fromstring(html))
    except (Unparseable, etree.ParserError, ValueError, RecursionError) as exc:
        log.debug("readability failed: %s", exc)
        return ""


def prefer_readability(ours: str, theirs: str) -> bool:
    """True when readability's text should replace ours (the trim or the extend rule)."""
    mine, other = shingles(ours), shingles(theirs)
    if not mine or not other:
        return False
    shared = len(mine & other)
    if shared >= TRIM_INSIDE * len(other) and TRIM_KEEP[0] <= shared / len(mine) < TRIM_KEEP[1]:
        return True
    # "holds ours" is measured on our prose lines: breadcrumbs, dates and labels that our text
    # kept above the story are not the story readability must hold
    prose = shingles("\n".join(line for line in ours.splitlines()
                                if len(line.split()) >= PROSE_LINE_WORDS)) or mine
    return (len(prose & other) >= EXTEND_HOLDS * len(prose)
            and len(other) >= EXTEND_RATIO * len(mine) and prose_share(theirs) >= EXTEND_PROSE)
