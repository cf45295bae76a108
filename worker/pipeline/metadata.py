"""What a page declares about itself: JSON-LD, <meta>, <time>, canonical link, <html lang>.

Read from an lxml tree we already parsed (no second parse). Declared values win over guesses:
the extractor only falls back to htmldate for dates when nothing here carries one.
"""

from __future__ import annotations

import html as html_lib
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from worker.pipeline.byline import find_byline
from worker.pipeline.marks import PageMarks
from worker.pipeline.published import (
    find_shown,
    near_headline,
    parse_declared,
    shown_earlier,
    shown_offset,
)

__all__ = ["PageMetadata", "parse_declared", "read_metadata"]

# JSON-LD types that describe the story itself (lower case), best first.
_ARTICLE_TYPES = (
    "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "reviewnewsarticle", "backgroundnewsarticle", "liveblogposting", "article", "blogposting",
    "techarticle", "scholarlyarticle", "socialmediaposting", "posting", "report",
)
_PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "datepublished", "publishdate",
    "pubdate", "publish-date", "article.published", "sailthru.date", "parsely-pub-date",
    "dc.date.issued", "dcterms.created", "dc.date", "date", "cxenseparse:recs:publishtime",
)
_MODIFIED_META = (
    "article:modified_time", "og:article:modified_time", "datemodified", "og:updated_time",
    "lastmod", "last-modified", "article.updated", "dcterms.modified",
)
_MAX_JSONLD_CHARS = 500_000
_AGENCY = re.compile(
    r"^(?:Reuters|Thomson Reuters|AP|Associated Press|AFP|Agence France-Presse|BBC News|BBC|"
    r"Bloomberg|UPI|dpa|ANI|PTI|IANS|Xinhua|Kyodo|Yonhap|EFE|ANSA)$", re.IGNORECASE)
_MAX_LIST = 40
_WORDS = re.compile(r"\w+")
_HEADLINE_WORDS = (2, 30)  # an <h1> outside this is a logo, a label or a paragraph
_LABEL_WORDS = 4  # an <h1> shorter than this beside a longer declared headline is a label
# SEO titles: "Story | Section", "Story - Tagline"; a colon belongs to the headline itself
_SEO_SEPARATORS = (" | ", " - ", " – ", " — ")
_SEO_SEPARATOR = re.compile("|".join(re.escape(s) for s in _SEO_SEPARATORS))
_SPACES = re.compile(r"\s+")
_URLISH = re.compile(r"^(?:https?:)?//|^www\.|\.(?:com|net|org)/", re.IGNORECASE)


@dataclass(slots=True)
class PageMetadata:
    """Everything the page declares; every field optional."""

    headline: str | None = None
    title: str | None = None  # the <title> element, decorations and all
    h1: str | None = None
    description: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    modified_at: datetime | None = None
    date_source: str | None = None
    site_name: str | None = None
    canonical_url: str | None = None
    image_url: str | None = None
    language_hint: str | None = None
    tags: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    article_body: str | None = None  # JSON-LD articleBody, when the page declares one


def _text(value: object) -> str | None:
    """A clean one-line string from a JSON-LD / attribute value, or None."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    if not isinstance(value, str):
        return None
    text = _SPACES.sub(" ", html_lib.unescape(value)).strip()
    return text or None


def _names(value: object, depth: int = 0) -> list[str]:
    """Names of JSON-LD persons / organisations (strings, objects with `name`, lists)."""
    if depth > 4 or value is None:
        return []
    if isinstance(value, str):
        text = _text(value)
        return [text] if text else []
    if isinstance(value, dict):
        return _names(value.get("name"), depth + 1)
    if isinstance(value, list):
        return [n for v in value[:_MAX_LIST] for n in _names(v, depth + 1)]
    return []


def _walk(obj: object, depth: int = 0) -> Iterator[dict[str, Any]]:
    """JSON-LD objects, descending into @graph / mainEntity / lists."""
    if depth > 6:
        return
    if isinstance(obj, list):
        for item in obj[:_MAX_LIST * 5]:
            yield from _walk(item, depth + 1)
    elif isinstance(obj, dict):
        yield obj
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if isinstance(obj.get(key), (dict, list)):
                yield from _walk(obj[key], depth + 1)


def _types(obj: dict[str, Any]) -> list[str]:
    value = obj.get("@type", [])
    return [str(t).lower() for t in (value if isinstance(value, list) else [value])]


def _jsonld_objects(tree: HtmlElement) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        raw = (script.text or "").strip()
        if not raw or len(raw) > _MAX_JSONLD_CHARS:
            continue
        raw = raw.removeprefix("<!--").removesuffix("-->").strip().rstrip(";")
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue
        out.extend(_walk(data))
    return out


def _pick_article(objects: list[dict[str, Any]], title: str | None) -> dict[str, Any] | None:
    """The JSON-LD object describing this story: an article type, headline closest to <title>."""
    title_words = set((title or "").lower().split())
    best: tuple[int, int, int] | None = None
    chosen = None
    for index, obj in enumerate(objects):
        types = _types(obj)
        rank = next((len(_ARTICLE_TYPES) - _ARTICLE_TYPES.index(t) for t in types
                     if t in _ARTICLE_TYPES), 0)
        if not rank:
            continue
        headline = _text(obj.get("headline")) or ""
        overlap = len(set(headline.lower().split()) & title_words)
        key = (overlap > 0, rank, -index)
        if best is None or key > best:
            best, chosen = key, obj
    return chosen


def _meta_tags(tree: HtmlElement) -> tuple[dict[str, str], dict[str, list[str]]]:
    """First content per meta key (property / name / itemprop), and all values per key."""
    first: dict[str, str] = {}
    every: dict[str, list[str]] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = _text(meta.get("content"))
        if not key or not content:
            continue
        first.setdefault(key.strip(), content)
        values = every.setdefault(key.strip(), [])
        if len(values) < _MAX_LIST:
            values.append(content)
    return first, every


def _split_list(values: list[str]) -> list[str]:
    """Comma-separated keyword strings into one de-duplicated list."""
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        for part in re.split(r"[,;]", value):
            item = part.strip()
            if item and item.casefold() not in seen and len(item) <= 80:
                seen.add(item.casefold())
                out.append(item)
    return out[:_MAX_LIST]


def _image(value: object, depth: int = 0) -> str | None:
    if depth > 3:
        return None
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return _image(value.get("url") or value.get("contentUrl"), depth + 1)
    if isinstance(value, list) and value:
        return _image(value[0], depth + 1)
    return None


def _first_date(candidates: list[tuple[object, str]], month_first: bool | None,
                not_after: datetime) -> tuple[datetime | None, str | None]:
    for value, source in candidates:
        text = _text(value)
        parsed = parse_declared(text, month_first, not_after) if text else None
        if parsed is not None:
            return parsed, source
    return None, None


def _time_elements(tree: HtmlElement) -> tuple[str | None, str | None]:
    """(published, modified) datetime attributes of <time> elements, first of each kind."""
    published = modified = None
    for el in tree.iter("time"):
        value = el.get("datetime")
        if not value:
            continue
        marks = " ".join(filter(None, (el.get("itemprop"), el.get("class"), el.get("pubdate"))))
        marks = marks.lower()
        if "modif" in marks or "updat" in marks:
            modified = modified or value
        elif published is None:
            published = value
    return published, modified


def _heading_text(el: HtmlElement) -> str:
    """The heading's text with its line breaks as spaces ('WEEKEND<br>CODING<br>AGENT' is three
    words; text_content() glues them into 'WEEKENDCODING AGENT')."""
    if el.find(".//br") is None:
        return str(el.text_content())
    parts: list[str] = []
    for event, node in etree.iterwalk(el, events=("start", "end")):
        if event == "start":
            parts.append(" " if node.tag == "br" else node.text or "")
        elif node is not el:
            parts.append(node.tail or "")
    return "".join(parts)


def _organisations(value: object) -> set[str]:
    """Names of the JSON-LD authors typed as organisations."""
    items = value if isinstance(value, list) else [value]
    return {n for v in items[:_MAX_LIST] if isinstance(v, dict)
            and {"organization", "newsmediaorganization", "corporation"} & set(_types(v))
            for n in _names(v)}


def _is_site(name: str, site: list[str]) -> bool:
    """The name is the site's own (its declared name, publisher, or host)."""
    key = "".join(_words(name))
    return len(key) >= 3 and any(key in "".join(_words(s)) for s in site if s)


def _authors(marks: PageMarks, art: dict[str, Any], every: dict[str, list[str]],
             site: list[str], h1: HtmlElement | None, meta: dict[str, str]) -> list[str]:
    """The declared authors; the visible byline when there are none, or when the declared ones
    are only organisations (the site itself, a brand) and the byline names someone."""
    value = art.get("author") or art.get("creator")
    authors = _names(value)
    if not authors:
        authors = [a for a in every.get("author", []) + every.get("article:author", [])
                   + every.get("sailthru.author", []) + every.get("parsely-author", [])]
    authors = [a for a in authors if not _URLISH.search(a)]
    orgs = _organisations(value)
    if not authors or all(a in orgs or _is_site(a, site) for a in authors):
        shown = find_byline(marks, h1, meta)
        # replacing a declared organisation needs a byline that is not the site again
        if shown and not (authors and _is_site(shown, site)):
            return [shown]
    if not authors and any(_AGENCY.search(n) for n in site):
        return [n for n in site if _AGENCY.search(n)][:1]  # a wire story: the agency
    return authors


def read_metadata(tree: HtmlElement, url: str, not_after: datetime) -> PageMetadata:
    """Everything a parsed page declares about its story (dates no later than `not_after`)."""
    meta, every = _meta_tags(tree)
    objects = _jsonld_objects(tree)
    title_el = tree.find(".//title")
    title = _text(title_el.text_content()) if title_el is not None else None
    h1s = [(el, text) for el in itertools.islice(tree.iter("h1"), 5)
           if (text := _text(_heading_text(el)))]
    h1_el, h1 = next(((el, text) for el, text in h1s if _HEADLINE_WORDS[0]
                      <= len(_WORDS.findall(text)) <= _HEADLINE_WORDS[1]), (None, None))
    art = _pick_article(objects, title) or {}
    # Some pages put the dates on the WebPage object that wraps the story.
    webpage = next((o for o in objects if {"webpage", "itempage"} & set(_types(o))), {})
    publisher = art.get("publisher")
    org = next((o for o in objects if {"organization", "newsmediaorganization"} & set(_types(o))),
               None)

    md = PageMetadata(title=title, h1=h1)
    declared = _declared_headline(_text(art.get("headline")), meta.get("og:title")
                                  or meta.get("twitter:title"), h1, title)
    if not declared and _is_site_heading(h1, title):  # the logo: the <title>'s head says more
        md.headline = _SEO_SEPARATOR.split(title or "", maxsplit=1)[0].strip() or h1
    else:
        md.headline = _cut_labels(choose_headline(declared, h1, title, [t for _, t in h1s]))
    md.description = (meta.get("og:description") or meta.get("description")
                      or _text(art.get("description")) or meta.get("twitter:description"))
    names = _names(publisher) + (_names(org) if org else [])
    md.site_name = meta.get("og:site_name") or (names[0] if names else None) or meta.get(
        "application-name")

    host = (urlsplit(url).hostname or "").removeprefix("www.")
    marks = PageMarks(tree)  # one pass over marked elements, made only if a lookup needs it
    md.authors = _authors(marks, art, every, [*names, md.site_name or "", host], h1_el, meta)

    time_pub, time_mod = _time_elements(tree)
    md.language_hint = _language_hint(tree, meta, art)
    md.published_at, md.date_source = _first_date(
        [(art.get("datePublished"), "jsonld"), (art.get("dateCreated"), "jsonld"),
         (webpage.get("datePublished"), "jsonld")]
        + [(meta.get(k), "meta") for k in _PUBLISHED_META]
        + [(time_pub, "time")], _month_first(md.language_hint), not_after
    )
    md.modified_at, _ = _first_date(
        [(art.get("dateModified"), "jsonld"), (webpage.get("dateModified"), "jsonld")]
        + [(meta.get(k), "meta") for k in _MODIFIED_META]
        + [(time_mod, "time")], _month_first(md.language_hint), not_after
    )
    if md.published_at is not None:
        near = near_headline(h1_el)
        earlier = shown_earlier(md.published_at, near, not_after, _month_first(md.language_hint))
        if earlier is not None:
            md.published_at, md.date_source = earlier, "dateline"
        else:
            md.published_at = shown_offset(md.published_at, tree, near)
    else:
        shown = find_shown(marks, h1_el, not_after, month_first=_month_first(md.language_hint))
        md.published_at, md.date_source = shown.published, shown.source
        md.modified_at = md.modified_at or shown.modified

    canonical = next((link.get("href") for link in tree.iter("link")
                      if "canonical" in (link.get("rel") or "").lower().split()
                      and link.get("href")), None)
    canonical = canonical or meta.get("og:url") or _text(art.get("url"))
    md.canonical_url = _absolute(canonical, url)
    md.image_url = _absolute(meta.get("og:image") or meta.get("twitter:image")
                             or _image(art.get("image")), url)
    md.tags = _split_list(every.get("article:tag", []) + _strings(art.get("keywords"))
                          + _strings(art.get("articleSection")))
    md.keywords = _split_list(every.get("keywords", []) + every.get("news_keywords", []))
    body = art.get("articleBody")
    md.article_body = body if isinstance(body, str) and body.strip() else None
    return md


def _words(text: str | None) -> list[str]:
    return _WORDS.findall((text or "").casefold())


def _contains(longer: str, shorter: str) -> bool:
    """The shorter headline's words, in order, make most of the longer one."""
    long, short = " ".join(_words(longer)), " ".join(_words(shorter))
    return bool(short) and short in long and len(short.split()) >= 0.6 * len(long.split())


def _same(a: str | None, b: str | None) -> bool:
    return bool(a and b) and _words(a) == _words(b)


def _declared_headline(jsonld: str | None, og: str | None, h1: str | None, title: str | None
                       ) -> str | None:
    """The declared headline (JSON-LD, else og:title), unless the page's other statements of
    its headline outvote it: the <h1> and <title> (its SEO tail cut) agree with each other and
    with og:title against JSON-LD (3 to 1; wcxb-dev: a JSON-LD "headline" that is the
    description, the section's name, or an older wording), or, with no JSON-LD headline,
    against og:title (2 to 1; an og:title written for sharing, or the site's name).

    A tie keeps the declared one: news pages write the <h1> and <title> for readers and
    JSON-LD = og:title for sharing ('Julian Assange: Sweden drops rape investigation' shown,
    'Sweden drops Assange rape investigation' declared), and that is the headline they declare.
    An og:title made only of the <h1>'s words ('15 Tips to Overcome Binge Eating' beside '15
    Helpful Tips ...') is the same headline shortened by the site, not another one: kept.
    """
    head = _SEO_SEPARATOR.split(title or "", maxsplit=1)[0]
    if h1 and _same(head, h1) and not _same(jsonld or og, h1):
        if jsonld and _same(og, h1):
            return og
        if not jsonld and og and not set(_words(og)) <= set(_words(h1)):
            return h1
    return jsonld or og


def _is_site_heading(h1: str | None, title: str | None) -> bool:
    """The <h1> is the <title>'s last part, after an SEO separator: the site's name set as a
    heading (a logo), not the story's headline ('Playful Tones' beside the <title>
    'Reflections on Building a Pixel-Perfect UI Pipeline in JUCE Applications - Part 1 |
    Playful Tones'; wcxb-dev 0202, which declares no headline)."""
    parts = _SEO_SEPARATOR.split(title or "")
    return len(parts) > 1 and _same(parts[-1], h1) and not _same(parts[0], h1)


def _cut_labels(headline: str | None) -> str | None:
    """'Story | Patient Education | UC Davis Children's Hospital' -> 'Story': a pipe followed
    only by short labels (a section, the site) is the <title> copied into the <h1>; a longer
    part after a pipe is the headline's own ('Milan Design Week 2018 | Michael Anastassiades'
    light installation for FLOS')."""
    if not headline or " | " not in headline:
        return headline
    head, *tail = headline.split(" | ")
    if len(_words(head)) >= 3 and all(len(t.split()) <= _LABEL_WORDS for t in tail):
        return head.strip()
    return headline


def choose_headline(declared: str | None, h1: str | None, title: str | None,
                    h1s: list[str]) -> str | None:
    """The headline readers see: the page's <h1> when it is the declared headline without its
    decoration, or when the declared one is an SEO title ('X | Y', 'X - Y') about the same
    thing and the <h1> is not a label (under _LABEL_WORDS words); else the declared headline
    with an SEO tail cut, else the <h1>, else <title>.

    Measured on both corpora: human-checked headlines (wcxb-dev) are the <h1>; og:title and
    JSON-LD often carry a second clause for search engines.
    """
    if not declared:
        return h1 or title
    if h1 is not None:
        if _contains(declared, h1):
            return h1
        seen = set(_words(declared)) | set(_words(title))
        overlap = sum(1 for w in _words(h1) if w in seen) / max(1, len(_words(h1)))
        # ... unless the <h1> is a label ("Index funds" beside "Index Funds: How to Invest |
        # Vanguard"): then the declared headline, its tail cut, says more and is the headline
        if (_SEO_SEPARATOR.search(declared) and overlap >= 0.5
                and len(_words(h1)) >= _LABEL_WORDS):
            return h1
    if any(" ".join(_words(declared)) == " ".join(_words(x)) for x in h1s):
        return declared
    for separator in _SEO_SEPARATORS:
        head, found, _ = declared.partition(separator)
        if found and len(_words(head)) >= 3:
            return head.strip()
    return declared


def _language_hint(tree: HtmlElement, meta: dict[str, str], art: dict[str, Any]) -> str | None:
    lang = tree.get("lang") or tree.get("xml:lang") or meta.get("content-language")
    lang = lang or _text(art.get("inLanguage")) or meta.get("og:locale")
    return lang.strip().replace("_", "-")[:16] if lang and lang.strip() else None


def _month_first(language: str | None) -> bool | None:
    """US English pages write numeric dates month first (3/4/2025 is March 4); others: unknown."""
    return True if language and language.lower() in ("en-us", "en_us") else None


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value[:_MAX_LIST] if isinstance(v, str)]
    return []


def _absolute(href: str | None, base: str) -> str | None:
    """An absolute http(s) URL, or None for anything else (javascript:, data:, garbage)."""
    if not href:
        return None
    try:
        absolute = urljoin(base, href.strip())
    except ValueError:
        return None
    return absolute if absolute.startswith(("http://", "https://")) else None
