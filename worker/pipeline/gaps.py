"""Story parts trafilatura dropped from the middle of the story's own container.

    blocks (trafilatura's output) --find their elements in the page--> the story's container
    (the element whose children hold most of the extracted words)
    its children between the first and the last extracted one, not extracted, content-like
    (p, lists, headings, quotes, tables), few links, not furniture by class, not a repeat
    --> inserted as blocks where they stand in the page

trafilatura sometimes leaves out lists, headings or tables that sit between the paragraphs it
kept (its list and heading rules, a table it cannot convert): on the 2025-26 pages this cost
recall on a tenth of the pages. Only the span between extracted parts of one container is
filled, never its edges, so related-story blocks and footers after a story are not pulled in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml.html import HtmlElement

from worker.pipeline.blocks import Block

_WORD = re.compile(r"\w+")
# Blocks are located by paragraphs and headings only: list items and cells are numerous (menus)
# and a list the story holds is found through its neighbours anyway.
_TEXT_TAGS = ("p", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre")
_CONTENT = {"p": "p", "pre": "p", "ul": "item", "ol": "item", "dl": "item", "h2": "head",
            "h3": "head", "h4": "head", "h5": "head", "h6": "head", "blockquote": "quote",
            "table": "table"}
_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "button", "select",
                   "form", "iframe", "textarea"})
# Children whose class or id says they are not the story (captions, share bars, promotions).
_FURNITURE_CLASS = re.compile(
    r"caption|credit|figure|gallery|photo|image|share|social|related|newsletter|subscribe|"
    r"promo|advert|\bads?\b|sponsor|comment|author|byline|breadcrumb|\btoc\b|table-of-contents|"
    r"\bnav|menu|footer|sidebar|widget|popup|modal|cookie|signup|\bcta\b", re.IGNORECASE)
_STRUCTURE = frozenset({"li", "ul", "ol", "dl", "dd", "dt", "td", "th", "tr", "tbody", "thead",
                        "tfoot"})
_MIN_CHARS = 15  # shorter texts match too many elements to locate a block
_CONTAINER_SHARE = 0.2  # a container must hold this share of the extracted words
_MAX_LINK_SHARE = 0.5
_REPEAT_SHARE = 0.5  # a candidate with this share of its 4-grams already in the body repeats it
_OPENING_WORDS = 12  # fill_opening: a story's opening line is prose, not a label


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _texts(el: HtmlElement) -> Iterator[str]:
    """The element's text, without script/style/form content."""
    if not isinstance(el.tag, str) or el.tag in _SKIP:
        return
    if el.text:
        yield el.text
    for child in el:
        yield from _texts(child)
        if child.tail:
            yield child.tail


def _text(el: HtmlElement) -> str:
    return " ".join(" ".join(_texts(el)).split())


def shingles(text: str) -> set[tuple[str, ...]]:
    """The text's word 4-grams (case-folded); a shorter text is its one n-gram."""
    words = _WORD.findall(text.casefold())
    if len(words) < 4:
        return {tuple(words)} if words else set()
    # zip (shorter tails end it: one 4-gram per start) instead of a slice per 4-gram
    return set(zip(words, words[1:], words[2:], words[3:], strict=False))


def _link_share(el: HtmlElement, text: str) -> float:
    return sum(len(_text(a)) for a in el.iter("a")) / max(1, len(text))


def page_texts(tree: HtmlElement) -> list[tuple[HtmlElement, str]]:
    """The page's paragraphs and headings with their text, read once (before link marking):
    the extractor measures the page's prose with them and fill_gaps locates blocks in them."""
    return [(el, el.text_content()) for el in tree.iter(*_TEXT_TAGS)]


def _locate(texts: list[tuple[HtmlElement, str]], blocks: list[Block]
            ) -> list[HtmlElement | None]:
    """For each block, the page element holding exactly its text (None when not found)."""
    keys = [_norm(b.text) for b in blocks]
    wanted = {key for key, b in zip(keys, blocks, strict=True)
              if len(b.text) >= _MIN_CHARS and b.kind in ("p", "head", "quote", "other")}
    found: dict[str, HtmlElement] = {}
    for el, text in texts:
        if len(text) >= _MIN_CHARS:
            key = _norm(text)
            if key in wanted and key not in found:
                found[key] = el
    return [found.get(key) for key in keys]


def _looks_like_content(child: HtmlElement) -> bool:
    """A content element (paragraph, list, heading, quote, table) not marked as furniture."""
    if not isinstance(child.tag, str) or child.tag not in _CONTENT:
        return False
    return not _FURNITURE_CLASS.search(f"{child.get('class', '')} {child.get('id', '')}")


def _is_repeat(text: str, body: _Body) -> bool:
    """True when the text is already in the body (the same line, or most of its 4-grams)."""
    if _norm(text) in body.keys:
        return True
    grams = shingles(text)
    return len(grams & body.shingles) >= _REPEAT_SHARE * len(grams)


def _candidate(child: HtmlElement, group: int, body: _Body) -> list[Block]:
    """The child as blocks when it is story content trafilatura left out, else []."""
    kind = _CONTENT[child.tag]
    text = _text(child)
    if not text or _link_share(child, text) > _MAX_LINK_SHARE:
        return []
    if kind != "item":
        return [] if _is_repeat(text, body) else [Block(kind, text, _link_share(child, text),
                                                         group)]
    items = [(t, li) for li in child.iter("li", "dt", "dd") if (t := _text(li))]
    fresh = [(t, li) for t, li in items if not _is_repeat(t, body)]
    if len(fresh) < 0.5 * len(items):
        return []  # trafilatura kept this list (in another shape)
    return [Block("item", t, _link_share(li, t), group) for t, li in fresh]


class _Body:
    """What the body already holds: its lines and its 4-grams (built when first needed)."""

    def __init__(self, blocks: list[Block]) -> None:
        self.keys = {_norm(b.text) for b in blocks}
        self.shingles: set[tuple[str, ...]] = set().union(*(shingles(b.text) for b in blocks))

    def add(self, blocks: list[Block]) -> None:
        for b in blocks:
            self.keys.add(_norm(b.text))
            self.shingles |= shingles(b.text)


def fill_gaps(texts: list[tuple[HtmlElement, str]], blocks: list[Block]) -> list[Block]:
    """The blocks, with the content children trafilatura skipped inside the story's span.

    A story can be split over several containers (rich-text sections around an image or a
    call to action): each one holding a fair share of the extracted words is filled.
    """
    if len(blocks) < 2:
        return blocks
    owners = _locate(texts, blocks)
    weight: dict[HtmlElement, int] = {}
    for block, el in zip(blocks, owners, strict=True):
        parent = _unit(el).getparent() if el is not None else None
        if parent is not None:
            weight[parent] = weight.get(parent, 0) + block.words
    total = sum(b.words for b in blocks)
    containers = [c for c, w in weight.items() if w >= _CONTAINER_SHARE * total]
    body: _Body | None = None  # built when a candidate needs it
    group = max((b.group for b in blocks), default=0)
    for container in containers:
        children = list(container)
        position = {id(c): k for k, c in enumerate(children)}
        # each block's index among the container's children (a list: its <ul>)
        index = [_child_index(el, container, position) for el in owners]
        inserts: dict[int, list[Block]] = {}  # after which child index -> new blocks
        present = sorted({k for k in index if k is not None})
        previous = present[0]
        for k in range(present[0] + 1, present[-1] if len(present) >= 2 else 0):
            if k in present:
                previous = k
                continue
            child = children[k]
            if not _looks_like_content(child):
                continue
            body = body or _Body(blocks)
            group += 1
            new = _candidate(child, group, body)
            if new:
                inserts.setdefault(previous, []).extend(new)
                body.add(new)
        if inserts:
            blocks, owners = _insert(blocks, owners, index, inserts)
    return blocks


def _insert(blocks: list[Block], owners: list[HtmlElement | None], index: list[int | None],
            inserts: dict[int, list[Block]]) -> tuple[list[Block], list[HtmlElement | None]]:
    """Blocks (and their elements) with each insert after the last block of its child."""
    out: list[Block] = []
    out_owners: list[HtmlElement | None] = []
    last_block = {k: n for n, k in enumerate(index) if k is not None}
    for n, block in enumerate(blocks):
        out.append(block)
        out_owners.append(owners[n])
        child = index[n]
        if child is not None and last_block[child] == n and child in inserts:
            new = inserts.pop(child)  # collected in page order
            out.extend(new)
            out_owners.extend([None] * len(new))
    return out, out_owners


def _unit(el: HtmlElement) -> HtmlElement:
    """The block-level unit holding a located element: a list item's list, a cell's table."""
    while el.tag in _STRUCTURE:
        parent = el.getparent()
        if parent is None:
            break
        el = parent
    return el


def _child_index(el: HtmlElement | None, container: HtmlElement, position: dict[int, int]
                 ) -> int | None:
    """Index of the container's child that is `el` or holds it."""
    while el is not None:
        parent = el.getparent()
        if parent is container:
            return position.get(id(el))
        el = parent
    return None


def _opening(el: HtmlElement, br: HtmlElement) -> tuple[str, float] | None:
    """(text, link share) of the element before its first <br>, when no prose stands between
    that text and `br`: only <br>s, images, short captions or labels (the block after `br` is
    then the story's second paragraph)."""
    parts, linked = [el.text or ""], 0
    children = list(el)
    k = 0
    while k < len(children) and children[k].tag != "br":
        child = children[k]
        text = _text(child)
        parts.extend((text, child.tail or ""))
        linked += sum(len(_text(a)) for a in child.iter("a"))
        k += 1
    while k < len(children) and children[k] is not br:
        between = children[k]
        if (len(_WORD.findall(_text(between))) >= _OPENING_WORDS
                or (between.tail or "").strip()):
            return None
        k += 1
    text = " ".join(" ".join(parts).split())
    return (text, linked / max(1, len(text))) if k < len(children) else None


def fill_opening(tree: HtmlElement, blocks: list[Block]) -> list[Block]:
    """The blocks, with the opening line of a <br>-separated story when trafilatura skipped it.

    In a story written as one element with <br>s between its paragraphs, trafilatura's default
    run can leave out the text before the first <br> (seen with a link inside that line). When
    a block is the text after an element's first <br>s, and the text before them is prose
    (_OPENING_WORDS words or more, few links) the body does not hold, it goes before it.
    """
    after_br: dict[str, HtmlElement] = {}
    for br in tree.iter("br"):
        tail = _norm(br.tail or "")
        if len(tail) >= _MIN_CHARS:
            after_br.setdefault(tail[:80], br)
    if not after_br:
        return blocks
    for k, block in enumerate(blocks):
        br = after_br.get(_norm(block.text)[:80]) if block.kind == "p" else None
        parent = br.getparent() if br is not None else None
        if br is None or parent is None:
            continue
        found = _opening(parent, br)
        if found is None:
            continue
        opening, link_share = found
        if (len(_WORD.findall(opening)) < _OPENING_WORDS or link_share > _MAX_LINK_SHARE
                or _is_repeat(opening, _Body(blocks))):
            continue
        return [*blocks[:k], Block("p", opening, link_share, block.group), *blocks[k:]]
    return blocks
