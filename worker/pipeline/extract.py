"""HTML pages: trafilatura for the body plus our own metadata, translated at this adapter.

    html --parse once (lxml, bounded)--> tree
    tree --metadata.read_metadata--> what the page declares (JSON-LD, meta, <time>, ...)
    tree --trafilatura (its default run, link text marked)--> blocks (blocks.py)
    blocks --gaps.fill_gaps--> plus story parts it skipped inside the story's container
    blocks --blocks.filter_blocks--> without the link lists and links after the story
    --> body text (clean.py does the line work)

trafilatura copies the tree it is given, so the one parse serves metadata, body and htmldate.
"""

from __future__ import annotations

import itertools
import logging
import re
from datetime import UTC, datetime, timedelta

import htmldate
import lxml.html
import trafilatura
from lxml import etree
from lxml.html import HtmlElement

from worker.errors import PageRejected, RejectReason
from worker.pipeline.blocks import (
    Block,
    blocks_from,
    can_mark,
    filter_blocks,
    mark_links,
    prose_share,
    strip_markers,
    unmark_links,
)
from worker.pipeline.clean import site_name_from_title
from worker.pipeline.fallback import prefer_readability, readability_text
from worker.pipeline.gaps import fill_gaps, fill_opening, page_texts, shingles
from worker.pipeline.metadata import PageMetadata, read_metadata
from worker.pipeline.mojibake import repair_mojibake
from worker.pipeline.options import PipelineOptions
from worker.pipeline.safety import removal_is_proven, unfiltered, words
from worker.pipeline.types import Extracted, RawPage, Unfiltered

log = logging.getLogger(__name__)
EXTRACTOR = f"trafilatura/{trafilatura.__version__}"

# A parsed page with more elements than this is not a news page (generated or hostile markup);
# trafilatura's cost grows with the element count. libxml2 itself caps nesting at 256 levels.
MAX_ELEMENTS = 50_000
# trafilatura's comparison with readability/jusText costs about as much as its fast run and
# only changes results that miss the story (see _needs_full_cascade); a result shorter than
# this many characters is "short".
FULL_CASCADE_BELOW = 1500
# When trafilatura's default run and its cascade keep nothing at all (its size check discards
# the whole result) on a page with at least this many characters of <p> text, its recall mode
# runs once more: on wcxb-dev it recovered a 12,000-character list article (F1 0 -> 0.99) and
# changed no other page of either corpus; pages without paragraphs (index pages, forms) never
# pay for it.
RECALL_PAGE_CHARS = 1500
# A result that is one line of at least this many characters is not an extraction but
# trafilatura's last resort, the whole page's text run together (menus, the story, the footer):
# its recall mode, which keeps the page's paragraphs, is asked once more (see _is_run_together).
RUN_TOGETHER_CHARS = 1500
_RUN_TOGETHER_LINES = 3  # lines the recall result must have to be taken instead
SECTION_SHARE = 0.25
SHORT_SHARE = 0.5
VISIBLE_SHARE = 0.15
_HIDDEN = ("script", "style", "noscript")
_PARSER = lxml.html.HTMLParser(
    collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True,
    no_network=True, huge_tree=False,
)
# The element classes lxml.html gives each tag (HtmlElementClassLookup), looked up in C:
# lxml.html's own lookup is a Python method called for every element proxy lxml creates (about
# 5,000 a page between trafilatura's copies and walks of the tree and ours); this table gives
# each tag the same class (test_extract_html.py compares it with lxml.html's).
HTML_CLASSES: dict[str, type[HtmlElement]] = {
    "form": lxml.html.FormElement, "input": lxml.html.InputElement,
    "select": lxml.html.SelectElement, "textarea": lxml.html.TextareaElement,
    "label": lxml.html.LabelElement,
}
_LOOKUP = etree.ElementNamespaceClassLookup(etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity))
_LOOKUP.get_namespace(None).update(HTML_CLASSES)
_PARSER.set_element_class_lookup(_LOOKUP)
_WORD = re.compile(r"\w+")
# A paragraph shorter than this is a link, a label or a headline, not prose.
_PROSE_MIN_WORDS = 12
_STANDFIRST_MAX_WORDS = 40
_ENCODING_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
# libxml2 stops at a NUL; other C0 controls are never text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def parse_html(html: str, *, validated: bool = False) -> HtmlElement:
    """One lxml parse of the page, bounded; PageRejected when it is not usable HTML.

    `validated`: the content came through validate_record, which removed control characters,
    and from JSON, which holds no lone surrogates: the scan for them is skipped (0.6 ms).
    """
    html = repair_mojibake(_ENCODING_DECL.sub("", html, count=1))
    if not validated:
        html = _CONTROL.sub("", html)
    try:
        tree = lxml.html.fromstring(html, parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        detail = f"HTML does not parse: {exc}"
        raise PageRejected(RejectReason.UNSUPPORTED_CONTENT, detail) from None
    if tree is None:
        raise PageRejected(RejectReason.NO_ARTICLE, "HTML has no elements")
    # Counting is only needed when the markup could hold that many tags at all.
    if (len(html) > 3 * MAX_ELEMENTS and html.count("<") > MAX_ELEMENTS
            and sum(1 for _ in tree.iter()) > MAX_ELEMENTS):
        raise PageRejected(
            RejectReason.UNSUPPORTED_CONTENT,
            f"HTML has more than {MAX_ELEMENTS} elements; not a news page",
        )
    if tree.tag != "html":  # a fragment: wrap it so trafilatura sees a document
        wrapper = lxml.html.Element("html")
        body = etree.SubElement(wrapper, "body")
        body.append(tree)
        tree = wrapper
    return tree


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _element_with_text(tree: HtmlElement, key: str) -> HtmlElement | None:
    """The first text block (p, heading, div) of the page whose words are exactly `key`."""
    for el in tree.iter("p", "h2", "h3", "h4", "h5", "h6", "div", "span"):
        text = el.text_content()
        if len(text) <= 2 * len(key) + 200 and _key(text) == key:
            return el
    return None


def drop_standfirst(tree: HtmlElement, blocks: list[Block], description: str | None
                    ) -> list[Block]:
    """Without a first block that is the standfirst: the description's text in an element
    beside the story's container (a child of an ancestor of the next paragraph's parent),
    not a lede inside it that the site copied into og:description."""
    if not description or len(blocks) < 2 or blocks[0].kind not in ("p", "head"):
        return blocks
    key = _key(blocks[0].text)
    # a standfirst is a sentence or two; a longer paragraph beside the story is its opening
    if key != _key(description) or not 6 <= len(key.split()) <= _STANDFIRST_MAX_WORDS:
        return blocks
    first, second = _element_with_text(tree, key), _element_with_text(tree, _key(blocks[1].text))
    if first is None or second is None:
        return blocks
    outer, inner = first.getparent(), second.getparent()
    if outer is None or inner is None or outer is inner:
        return blocks
    return blocks[1:] if any(a is outer for a in inner.iterancestors()) else blocks


def prefer_declared_body(extracted: str, declared: str | None) -> str:
    """The page's JSON-LD articleBody when it clearly holds the whole story we only partly found."""
    if not declared or len(declared) < 1.3 * len(extracted):
        return extracted  # (cheap test first: it must be clearly longer to hold more)
    ours, theirs = shingles(extracted), shingles(declared)
    if not theirs or len(theirs) < 1.4 * max(1, len(ours)) or len(theirs) < 50:
        return extracted
    if len(ours & theirs) < 0.8 * max(1, len(ours)):
        return extracted  # the declared body is another text (a teaser, a different story)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n|(?<=[.!?\"”])\s{2,}", declared)]
    return "\n\n".join(p for p in paragraphs if p)


def _fallback_date(tree: HtmlElement, page: RawPage) -> datetime | None:
    """htmldate's guess (a day, no time) when the page neither declares nor shows a date."""
    latest = page.fetched_at.astimezone(UTC) + timedelta(days=1)
    try:
        found = htmldate.find_date(
            # extensive_search runs dateparser over free text: seconds of locale set-up in a
            # fresh process and tens of ms per page, for one more right date in 53 (wcxb-dev)
            tree, url=page.url, original_date=True, extensive_search=False,
            max_date=latest.strftime("%Y-%m-%d"),
        )
    except (ValueError, TypeError, RecursionError) as exc:
        log.debug("htmldate failed on %s: %s", page.url, exc)
        return None
    if not found:
        return None
    try:
        return datetime.strptime(found, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def prose_words(body: str, enough: int | None = None) -> int:
    """Words in paragraphs long enough to be prose (index pages and forms have none); counting
    stops once `enough` are found (the caller only compares with it)."""
    total = 0
    for paragraph in body.splitlines():
        words = _WORD.findall(paragraph)
        # CJK text has no spaces: count two characters as a word
        weight = max(len(words), sum(len(w) for w in words if not w.isascii()) // 2)
        if weight >= _PROSE_MIN_WORDS:
            total += weight
            if enough is not None and total >= enough:
                break
    return total


def has_words(text: str, wanted: int) -> bool:
    """True when the text has at least `wanted` words (stops reading there: a body's words
    are counted in full only once, in enrich)."""
    return wanted <= 0 or next(itertools.islice(_WORD.finditer(text), wanted - 1, None),
                               None) is not None


def _mostly_links(body: str, tree: HtmlElement) -> bool:
    """True when most lines of the body are the text of links on the page."""
    anchors = {" ".join(a.text_content().split()).casefold() for a in tree.iter("a")}
    lines = [" ".join(line.split()).casefold() for line in body.splitlines() if line.strip()]
    return sum(1 for line in lines if line in anchors) >= 0.5 * max(1, len(lines))


def _visible_chars(tree: HtmlElement) -> int:
    """Characters of the page's visible text (scripts and styles are gone by now)."""
    body = tree.find("body")
    root = body if body is not None else tree
    return len(" ".join(etree.tostring(root, method="text", encoding="unicode").split()))


def _needs_full_cascade(text: str, length: int, tree: HtmlElement, page_chars: int) -> bool:
    """True when the fast result looks like trafilatura missed the story.

    Mostly menu lines; or little of the page's <p> text (under half for a short result, under a
    quarter for a long one: it picked one section); or, short, under a seventh of all the
    page's visible text (the story sits in <div>s, not <p>s). On both corpora the full cascade
    changed nothing on the other pages, and costs about as much again as the fast run (once
    almost two seconds: readability on a large page).
    """
    if prose_share(text) < 0.5:
        return True
    if length >= FULL_CASCADE_BELOW:
        return length < SECTION_SHARE * page_chars
    return length < SHORT_SHARE * page_chars or length < VISIBLE_SHARE * _visible_chars(tree)


def _run_trafilatura(tree: HtmlElement, marked: bool, page_chars: int
                     ) -> tuple[etree._Element | None, bool]:
    """trafilatura's body tree (link markers in its text when `marked`): the fast run, then
    the full cascade (readability/jusText comparison) when _needs_full_cascade, then its
    recall mode when the cascade kept nothing of a page with paragraphs (RECALL_PAGE_CHARS).
    Also whether the fast result missed the story (the cascade ran)."""
    body = None
    missed = False
    for fast in (True, False):
        body, text = _bare_extraction(tree, fast=fast)
        length = len(strip_markers(text)) if marked else len(text)
        if not fast or not _needs_full_cascade(text, length, tree, page_chars):
            break
        missed = True
    if page_chars >= RECALL_PAGE_CHARS and (body is None or _is_run_together(text)):
        recall_body, recall_text = _bare_extraction(tree, favor_recall=True)
        if body is None or (recall_body is not None
                            and recall_text.count("\n") + 1 >= _RUN_TOGETHER_LINES):
            body = recall_body
    return body, missed


def _bare_extraction(tree: HtmlElement, *, fast: bool = False, favor_recall: bool = False
                     ) -> tuple[etree._Element | None, str]:
    """trafilatura's body tree and text in one mode (fast, the full cascade, recall)."""
    doc = trafilatura.bare_extraction(
        tree, url=None, include_comments=False, include_links=False, include_tables=True,
        with_metadata=False, fast=fast, favor_recall=favor_recall,
    )
    if doc is None:
        return None, ""
    return getattr(doc, "body", None), getattr(doc, "text", None) or ""


def _is_run_together(text: str) -> bool:
    """trafilatura's last resort: the page's whole text as one line (wcxb-dev 0188: 39,700
    characters of menus, story and footer in one line; its recall mode keeps the story's 143
    paragraphs). One line that long is never a story's own paragraph structure."""
    return len(text) >= RUN_TOGETHER_CHARS and "\n" not in text


def extract_html(page: RawPage, options: PipelineOptions, *, validated: bool = False
                 ) -> Extracted:
    """Body and metadata of an HTML page; PageRejected(no_article) when there is none.

    `validated`: the page came from validate_record (no control characters; see parse_html).
    """
    html = page.html or ""
    tree = parse_html(html, validated=validated)
    md: PageMetadata = read_metadata(tree, page.url, page.fetched_at)
    # Scripts and styles are read (JSON-LD): every later step would skip them, and copying and
    # walking them costs trafilatura about 1.3 ms a page (its output is the same without them).
    etree.strip_elements(tree, *_HIDDEN, with_tail=False)
    texts = page_texts(tree)
    page_chars = sum(len(text) for el, text in texts if el.tag == "p")
    marked = mark_links(tree) if can_mark(html) else None
    try:
        postbody, missed = _run_trafilatura(tree, marked is not None, page_chars)
    finally:
        if marked is not None:
            unmark_links(marked)
    found = (fill_opening(tree, fill_gaps(texts, blocks_from(postbody)))
             if postbody is not None else [])
    blocks = drop_standfirst(tree, filter_blocks(found), md.description)
    source = unfiltered(found, blocks)
    if not removal_is_proven(source, sum(b.words for b in blocks)):
        blocks = found  # the safety rule (safety.py): no proof for cutting most of it
    body = "\n\n".join(b.text for b in blocks)
    if missed:  # a second opinion only where the fast result looked like a miss (fallback.py)
        theirs = readability_text(tree)
        if prefer_readability(body, theirs):
            body = theirs
            source = Unfiltered(text=theirs, words=words(theirs), cut_words=0, cut_link_words=0)
    body = prefer_declared_body(body, md.article_body)
    if not has_words(body, options.min_body_words):
        raise PageRejected(RejectReason.NO_ARTICLE, "no article text found in the HTML")
    wanted = options.min_body_words
    if prose_words(body, wanted) < wanted and _mostly_links(body, tree):
        raise PageRejected(RejectReason.NO_ARTICLE, "the page is a list of links (an index page)")

    published, date_source = md.published_at, md.date_source
    if published is None:
        published = _fallback_date(tree, page)
        date_source = "htmldate" if published else None
    return Extracted(
        body=body,
        headline=md.headline,
        description=md.description,
        authors=tuple(md.authors),
        published_at=published,
        modified_at=md.modified_at,
        site_name=md.site_name or (site_name_from_title(md.title, page.url) if md.title else None),
        canonical_url=md.canonical_url,
        image_url=md.image_url,
        language_hint=md.language_hint,
        tags=tuple(md.tags),
        keywords=tuple(md.keywords),
        date_source=date_source,
        extractor="html",
        unfiltered=source,
    )
