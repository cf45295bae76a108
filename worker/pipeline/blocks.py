"""trafilatura's output as blocks, which of them are the story, and how sure we must be to cut.

    tree --mark_links--> anchor texts wrapped in two rare printable characters
    trafilatura (include_links=False: its own default behaviour) --> body tree, markers kept
    body --blocks_from--> Block(kind, text, link_share, lead_link, group)
    blocks --filter_blocks--> the story (link lists, one-link paragraphs, title headings out)

Why markers rather than `include_links=True`: keeping links changes what trafilatura extracts
(its link handling takes other paths), and on the 2025-26 pages it lost whole sections that
its default run keeps. The markers carry the same information (which text was a link) through
its default run; they are printable because trafilatura drops non-printable characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree
from lxml.html import HtmlElement
from trafilatura.xml import xmltotxt

# U+2E28 / U+2E29 (LEFT / RIGHT DOUBLE PARENTHESIS): printable, and practically never in news
# text. A page that contains either is extracted without markers (every link share 0).
LINK_OPEN, LINK_CLOSE = "\u2e28", "\u2e29"
_MARKERS = re.compile(f"[{LINK_OPEN}{LINK_CLOSE}]")
_INSIDE = re.compile(f"{LINK_OPEN}([^{LINK_CLOSE}]*){LINK_CLOSE}")
_WORD = re.compile(r"\w+")
_STANDFIRST_MAX_WORDS = 40
# A paragraph of this many words, mostly not links, is the story's prose.
_PROSE_WORDS = 20
PROSE_LINE_WORDS = 8  # a line of this many words is prose (fewer: a menu item, a label)


@dataclass(frozen=True, slots=True)
class Block:
    """One unit of trafilatura's output: its kind, text, and how much of it was link text."""

    kind: str  # "head" | "p" | "item" | "quote" | "table" | "other"
    text: str
    link_share: float  # share of the block's visible characters inside links
    group: int  # blocks of one list share a group number
    lead_link: bool = False  # the block's text starts with a link (a card's linked title)
    words: int = -1  # number of words (counted at construction when not given)

    def __post_init__(self) -> None:
        if self.words < 0:
            object.__setattr__(self, "words", len(_WORD.findall(self.text)))


def mark_links(tree: HtmlElement) -> list[tuple[HtmlElement, str | None, str | None]]:
    """Wrap every piece of text inside an anchor in the markers (in place).

    Each text node is wrapped on its own: an anchor can hold block elements (a card's <h3>, a
    teaser <p>) that trafilatura outputs as blocks of their own, and each must carry the mark.
    Returns what unmark_links needs to undo it: each changed element with its text and tail as
    they were (None: left alone), in the order they were changed.
    """
    changed: list[tuple[HtmlElement, str | None, str | None]] = []
    for anchor in tree.iter("a"):
        for el in anchor.iter():
            text = el.text
            tail = el.tail if el is not anchor else None
            text = text if text and text.strip() else None
            tail = tail if tail and tail.strip() else None
            if text is not None:
                el.text = LINK_OPEN + text + LINK_CLOSE
            if tail is not None:
                el.tail = LINK_OPEN + tail + LINK_CLOSE
            if text is not None or tail is not None:
                changed.append((el, text, tail))
    return changed


def unmark_links(changed: list[tuple[HtmlElement, str | None, str | None]]) -> None:
    """Undo mark_links, so later readers of the tree (htmldate, standfirst) see the page: each
    text and tail it wrapped gets its old value back (latest change first: an anchor inside an
    anchor was wrapped twice). trafilatura works on a copy, so nothing else changed them."""
    for el, text, tail in reversed(changed):
        if text is not None:
            el.text = text
        if tail is not None:
            el.tail = tail


def can_mark(html: str) -> bool:
    """False when the page itself contains a marker character (markers would lie)."""
    return LINK_OPEN not in html and LINK_CLOSE not in html


def _link_share(raw: str) -> tuple[float, bool]:
    """(share of non-space characters between markers, whether the text starts in a link)."""
    if LINK_OPEN not in raw:  # no link in it (most paragraphs): nothing to measure
        return 0.0, False
    total = len("".join(strip_markers(raw).split()))
    inside = sum(len("".join(span.split())) for span in _INSIDE.findall(raw))
    return (min(1.0, inside / total) if total else 0.0), raw.lstrip().startswith(LINK_OPEN)


def strip_markers(text: str) -> str:
    """The text without link markers."""
    if LINK_OPEN not in text and LINK_CLOSE not in text:  # (two scans beat the regex pass)
        return text
    return _MARKERS.sub("", text)


def blocks_from(body: etree._Element) -> list[Block]:
    """trafilatura's output tree as a flat list of blocks (list items are blocks of their own)."""
    blocks: list[Block] = []
    for group, child in enumerate(body):
        tag = child.tag if isinstance(child.tag, str) else ""
        kind = {"head": "head", "p": "p", "list": "item", "quote": "quote",
                "table": "table"}.get(tag, "other")
        for el in (child.iter("item") if tag == "list" else (child,)):
            if kind == "item":
                raw = " ".join(" ".join(el.itertext()).split())
            else:
                raw = xmltotxt(el, False).strip()
            share, lead = _link_share(raw)
            text = strip_markers(raw).strip()
            if kind == "item":
                text = " ".join(text.split())
            if text:
                blocks.append(Block(kind, text, share, group, lead))
    return blocks


def _is_link_list(items: list[Block]) -> bool:
    """Related stories, tags, story cards: items that start with a link and are mostly links.

    Both conditions, because a list whose items merely contain links is often the story's own
    (a reference list, a table of contents, products with a linked name and a description).
    """
    if len(items) < 2:
        return False
    leading = sum(1 for b in items if b.lead_link)
    chars = sum(len(b.text) for b in items)
    linked = sum(b.link_share * len(b.text) for b in items) / max(1, chars)
    mostly_linked = sum(1 for b in items if b.link_share >= 0.5) >= 0.7 * len(items)
    return leading >= 0.7 * len(items) and (mostly_linked or linked >= 0.3)


def _is_prose(block: Block) -> bool:
    return block.kind == "p" and block.words >= _PROSE_WORDS and block.link_share < 0.3


def filter_blocks(blocks: list[Block]) -> list[Block]:
    """Drop the link lists and linked paragraphs that follow the story; keep the story.

    Link-based cuts apply only after the story's last prose paragraph: measured on both
    corpora, linked lists and paragraphs inside a story (tables of contents, product names,
    references, linked sub-headings) are mostly the story's own, while after it they are
    mostly related stories, tags and promotions.
    """
    last_prose = max((k for k, b in enumerate(blocks) if _is_prose(b)), default=len(blocks))
    groups: dict[int, list[Block]] = {}
    for k, b in enumerate(blocks):
        if b.kind == "item" and k > last_prose:
            groups.setdefault(b.group, []).append(b)
    link_lists = {g for g, items in groups.items() if _is_link_list(items)}
    kept: list[Block] = []
    for k, b in enumerate(blocks):
        if k > last_prose and b.kind == "item" and b.group in link_lists:
            continue
        if k > last_prose and b.kind in ("p", "head", "other") and b.link_share >= 0.9:
            continue  # a paragraph that is one link: "READ MORE: <other story>", a tag line
        kept.append(b)
    # Headings before the first paragraph are the title, kicker and standfirst, which we
    # carry as headline and description; a heading with nothing after it ("Related") goes too.
    # A kicker label above the headline ("Sequía", "Politics") goes with them.
    if (len(kept) >= 2 and kept[0].kind == "p" and kept[1].kind == "head"
            and kept[0].words <= 3):
        kept.pop(0)
    # Paragraphs that are one link, above the headings that open the story, are teasers of
    # other pages (a sidebar card trafilatura put first), as they are after the story.
    first_head = next((k for k, b in enumerate(kept) if b.kind == "head"), None)
    if first_head and all(b.kind in ("p", "other") and b.link_share >= 0.9
                          for b in kept[:first_head]):
        del kept[:first_head]
    # A "heading" of more than a standfirst's length is the story's opening set in large type.
    while kept and kept[0].kind == "head" and kept[0].words <= _STANDFIRST_MAX_WORDS:
        kept.pop(0)
    while kept and kept[-1].kind == "head":
        kept.pop()
    return kept


def prose_share(text: str) -> float:
    """Share of the text in prose lines; a menu dump is mostly one- to three-word lines."""
    lines = text.splitlines()
    prose = sum(len(line) for line in lines if len(line.split()) >= PROSE_LINE_WORDS)
    return prose / max(1, sum(len(line) for line in lines))
