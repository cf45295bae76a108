"""The safety rule: our filters may not throw away most of what trafilatura found without proof.

    trafilatura's text (plus gap fill)  --filter_blocks, drop_standfirst, clean_body-->  body
    body keeps >= half of its words                       -> the body
    else, what was cut is >= 80 % link text               -> the body (a link list, an index)
    else                                                  -> the text cleaned line by line only
                                                             (no block cuts), or as found

Why: our block and line rules were tuned on news pages; on other pages (listicles, guides,
reviews, product round-ups) a list that looks like related links can be the story. A cut of
most of the text is accepted only on the one evidence measured to be reliable on both corpora:
the removed text was links. Line-level cleaning (bylines, datelines, furniture lines) has no
such proof of its own, so a cleaning that removes most of the text is not trusted either.
"""

from __future__ import annotations

import re

from worker.pipeline.blocks import Block
from worker.pipeline.types import Unfiltered

_WORD = re.compile(r"\w+")
# A result keeping less than this share of trafilatura's words must have evidence.
KEEP_SHARE = 0.5
# The evidence: at least this share of the removed words were inside links.
LINK_EVIDENCE = 0.8


def words(text: str) -> int:
    """Number of words."""
    return len(_WORD.findall(text))


def unfiltered(before: list[Block], after: list[Block]) -> Unfiltered:
    """What the block filters started from and what they removed."""
    kept = {id(b) for b in after}
    cut = [b for b in before if id(b) not in kept]
    return Unfiltered(
        text="\n\n".join(b.text for b in before),
        words=sum(b.words for b in before),
        cut_words=sum(b.words for b in cut),
        cut_link_words=sum(b.words * b.link_share for b in cut),
    )


def removal_is_proven(source: Unfiltered, body_words: int) -> bool:
    """True when the body keeps most of trafilatura's words, or what went was links."""
    if source.words == 0 or body_words >= KEEP_SHARE * source.words:
        return True
    removed = source.words - body_words
    # Only block cuts carry link shares; words removed by line cleaning count as not links.
    return source.cut_link_words >= LINK_EVIDENCE * removed
