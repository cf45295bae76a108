"""A section of the story printed twice in the page is kept once.

Some pages carry the whole story (or a long part of it) two or three times in their HTML: the
same text in a desktop and a mobile layout, in tabs, in a print view. trafilatura keeps every
copy, and so did we: wcxb-dev 0040 (a remodeling cost guide, 18,500 characters) came out as
54,800, its F1 0.50 for a body with every word of the story in it.

The rule: a run of paragraphs that repeats, word for word, a run earlier in the body, is dropped
when the repeat is long (_MIN_CHARS). Short repeats stay: a story may repeat a line, a call to
action, a pull quote, a pattern of table lines; a meal plan repeats its day's meals (aeb-dev: a
repeated run of 1,567 characters, part of the truth; the longest repeat on any other page of
either corpus is 738). Nothing unique is ever dropped, so the safety rule (safety.py: no cut of
most of trafilatura's words without evidence) is not asked: each dropped word is kept once.
"""

from __future__ import annotations

import re

_PARAGRAPHS = re.compile(r"\n\s*\n")
_WORD = re.compile(r"\w+")
_RUN = 2  # paragraphs that must repeat in a row for a position to count as a repeat
_MIN_CHARS = 2000  # of a repeated run, to be dropped


def _key(paragraph: str) -> str:
    return " ".join(_WORD.findall(paragraph.casefold()))


def drop_repeated_runs(body: str) -> str:
    """The body without the later copies of long runs of paragraphs it already holds."""
    if len(body) < 2 * _MIN_CHARS:  # no room for a long run and its copy
        return body
    paragraphs = _PARAGRAPHS.split(body)
    if len(paragraphs) < 2 * _RUN:
        return body
    keys = [_key(p) for p in paragraphs]
    first: dict[tuple[str, ...], int] = {}
    repeated = [False] * len(paragraphs)
    for start in range(len(keys) - _RUN + 1):
        run = tuple(keys[start: start + _RUN])
        if not all(run):
            continue
        seen = first.setdefault(run, start)
        if seen + _RUN <= start:  # an earlier copy that ends before this one begins
            for index in range(start, start + _RUN):
                repeated[index] = True
    drop: set[int] = set()
    index = 0
    while index < len(paragraphs):
        if not repeated[index]:
            index += 1
            continue
        end = index
        while end < len(paragraphs) and repeated[end]:
            end += 1
        if sum(len(paragraphs[i]) for i in range(index, end)) >= _MIN_CHARS:
            drop.update(range(index, end))
        index = end
    if not drop:
        return body
    return "\n\n".join(p for i, p in enumerate(paragraphs) if i not in drop)
