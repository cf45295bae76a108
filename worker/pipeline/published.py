"""When an HTML page says its story was published: declared values first, then what it shows.

    1. declared: JSON-LD, <meta>, <time datetime>      (metadata.py reads them, in order)
       ... unless the headline's block shows a date 2+ days earlier (shown_earlier);
       kept, it is written in the offset the page shows it in (shown_offset)
    2. microdata: itemprop="datePublished" on any element (content / datetime / its text)
    3. beside the headline: the short lines around the <h1>
    4. a dateline: elements whose class or id names a date, time, byline or publication
    5. a labelled date ("Posted on ...") anywhere outside comments and sidebars; failing that,
       a labelled month ("Last Updated: June 2022") as its first day
    -> (published, modified, source); None when the page shows no date at all

Declared instants keep the offset the page wrote them in (the same instant; the wire format is
UTC either way), so a consumer or a scorer can read the day as the page's readers saw it.
A visible date may be a day without a time: it is kept as that day (00:00 UTC). `date_source`
keeps the article schema's words: microdata is "meta" (declared markup), a shown date
"dateline".
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dateutil import parser as date_parser
from lxml import etree
from lxml.html import HtmlElement

from worker.pipeline.dates import (
    ParsedDate,
    find_dateline,
    labelled_month,
    parse_date,
    starts_with_label,
)
from worker.pipeline.marks import PageMarks

# Zone abbreviations seen in datelines and meta tags, as UTC offsets in hours.
_ZONES = {
    "UTC": 0, "GMT": 0, "Z": 0, "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3, "MSK": 3,
    "IST": 5.5, "PKT": 5, "ICT": 7, "WIB": 7, "SGT": 8, "HKT": 8, "AWST": 8, "KST": 9, "JST": 9,
    "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
    "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "AST": -4, "ADT": -3, "BRT": -3, "ART": -3,
    "AMT": 4, "WAT": 1, "CAT": 2, "EAT": 3, "SAST": 2,
}
_TZINFOS = {k: int(v * 3600) for k, v in _ZONES.items()}
_YEAR_RANGE = (1990, 2100)
# "02-12-2025", "2.12.25": dateutil reads these month first unless told (it reads "2025/02/12"
# day first when told, so only values that do not start with their year are told)
_DAY_MONTH_YEAR = re.compile(r"^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}(?!\d)")


def parse_declared(text: str, month_first: bool | None = None,
                   not_after: datetime | None = None) -> datetime | None:
    """A declared timestamp, aware (ISO 8601, RFC 2822, common prose forms), or None.

    It keeps the offset the page wrote (the wire format converts to UTC); a value without a
    zone is read as UTC: the page gave no better information. A numeric date that does not
    start with its year is day first ("02-12-2025" is 2 December), as dates.parse_date reads
    shown dates, unless `month_first` (a US English page) says otherwise or that reading is
    after `not_after` (the fetch time) and the other is not ("03-09-2026" fetched in April
    2026 is 9 March).
    """
    text = text.strip()[:80]
    if not text or not any(c.isdigit() for c in text):
        return None
    value: datetime | None = None
    try:
        # fromisoformat keeps the page's offset (parse_instant would convert to UTC)
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except OverflowError:  # an ISO value at the edge of the calendar: not a real date
        return None
    except ValueError:
        try:  # RFC 2822 and prose forms ("November 19, 2019 07:47 PM EST")
            day_first = not month_first and _DAY_MONTH_YEAR.match(text) is not None
            value = date_parser.parse(text, tzinfos=_TZINFOS, fuzzy=False, dayfirst=day_first)
            if day_first and not_after is not None and _after(value, not_after):
                other = date_parser.parse(text, tzinfos=_TZINFOS, fuzzy=False)
                value = value if _after(other, not_after) else other
        except (ValueError, OverflowError, TypeError, LookupError):
            return None
    if value is None or not _YEAR_RANGE[0] <= value.year <= _YEAR_RANGE[1]:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        value.astimezone(UTC)  # the instant must exist in UTC too (year 9999 + offset)
    except (OverflowError, ValueError):
        return None
    return value  # in the offset the page wrote: the same instant, the page's own day

def _after(value: datetime, not_after: datetime) -> bool:
    """Later than `not_after` by more than a day (the slack a zone-less value needs)."""
    return value.replace(tzinfo=value.tzinfo or UTC) > not_after + timedelta(days=1)


# Visible date lines: elements whose class or id names a date or a byline.
_DATELINE_CLASS = re.compile(r"date|time|byline|publish|posted|updated")
_DATE_PROPERTIES = frozenset({"datePublished", "dateCreated", "dateModified"})
_MAX_LINE = 200  # characters; a longer text is a paragraph, not a date line
_PIECE_CHARS = 4 * _MAX_LINE  # of a text node read (a page may hold megabytes in one)
_DATELINE_LINES = 24  # date/byline elements read, at most
_DATELINE_ELEMENTS = 96  # of which these are looked at to find those after the headline
_FOLLOWING = etree.XPath("following::*[@class or @id]")
_HEADLINE_LEVELS = 3  # how far up from the <h1> the headline's block may reach
_HEADLINE_LINES = 12
_PAGE_PIECES = 3000  # text pieces read for a labelled date when no date is found elsewhere
_NOT_THE_STORY = re.compile(r"comment|sidebar|related|footer|respond|reply|widget")
_EARLIER = 2  # days a shown date must precede the declared one to replace it (zones: 1)
_SPACES = re.compile(r"\s+")
_BARE_LABEL = re.compile(
    r"^(?:first |originally |last )?(?:published|posted|updated|modified|created|date)"
    r"(?: on| at)?\s*:?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Shown:
    """A date the page shows, where it was found."""

    published: datetime | None
    modified: datetime | None
    source: str | None


def _line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _microdata(marks: PageMarks, not_after: datetime, day_first: bool | None) -> Shown:
    published = modified = None
    dated = [el for el in marks.properties() if el.get("itemprop") in _DATE_PROPERTIES]
    for el in dated[:6]:
        declared = el.get("content") or el.get("datetime")
        value = parse_declared(declared, day_first is False, not_after) if declared else None
        if value is None:
            text = declared or _line(el.text_content())[:_MAX_LINE]
            value = _instant(parse_date(text, day_first=day_first, not_after=not_after))
        if value is None or value > not_after + timedelta(days=1):
            continue
        if (el.get("itemprop") or "") == "dateModified":
            modified = modified or value
        else:
            published = published or value
    return Shown(published, modified, "meta" if published else None)  # declared markup


def _from_lines(lines: Iterable[str], not_after: datetime, day_first: bool | None,
                source: str) -> Shown:
    found = find_dateline([x for x in lines if 0 < len(x) <= _MAX_LINE], not_after=not_after,
                          day_first=day_first)
    published = found.published or found.modified  # shown only "Updated: ...": published by then
    return Shown(_instant(published), _instant(found.modified), source if published else None)


def _instant(value: ParsedDate | None) -> datetime | None:
    return value.instant if value is not None else None


def _dateline(marks: PageMarks, h1: HtmlElement | None, not_after: datetime,
              day_first: bool | None) -> Shown:
    """A date in an element named for a date or a byline; those after the headline first.

    A story's date follows its headline; the ones before it are the header's, a menu's or
    other stories' cards (wcxb-dev: eight "Mar 13, 2026" teaser cards before the <h1>, the
    story's "October 24, 2024" just after it)."""
    elements = list(marks.classed(_DATELINE_CLASS, _DATELINE_ELEMENTS))
    if h1 is not None:
        after = {id(el) for el in _FOLLOWING(h1)}
        elements.sort(key=lambda el: id(el) not in after)  # stable: document order in each
    lines = (_line(el.text_content()) for el in elements[:_DATELINE_LINES])
    return _from_lines(lines, not_after, day_first, "dateline")


def _segments(el: HtmlElement, mark: HtmlElement | None, limit: int = 1 << 30,
              skip: re.Pattern[str] | None = None) -> tuple[list[str], int, int]:
    """The element's text pieces in document order (at most `limit`, leaving out elements whose
    class or id matches `skip`), and where `mark`'s own pieces begin and end among them; a bare
    label joins the piece after it ("Published:" + "October 29, 2024", set in two spans)."""
    pieces: list[str] = []
    begin = end = 0
    walk = etree.iterwalk(el, events=("start", "end"))
    for event, node in walk:
        if node is mark:
            begin, end = (len(pieces), end) if event == "start" else (begin, len(pieces))
        text = node.text if event == "start" else (node.tail if node is not el else None)
        if event == "start" and node.tag in ("script", "style"):
            continue  # its code; the text after it (its tail, at "end") counts
        if event == "start" and skip is not None and skip.search(
                f"{node.get('class', '')} {node.get('id', '')}".lower()):
            walk.skip_subtree()
            continue
        if text and text.strip():
            text = _line(text[:_PIECE_CHARS])  # longer pieces are paragraphs: never read whole
            if pieces and _BARE_LABEL.match(pieces[-1]):
                pieces[-1] = f"{pieces[-1]} {text}"
            elif len(pieces) < limit:
                pieces.append(text)
            else:
                break
    return pieces, begin, end


def headline_block(h1: HtmlElement) -> HtmlElement:
    """The block around the <h1> that holds its kicker, byline and date: up to three levels up
    (callers look only at the pieces of text next to the headline in it)."""
    block = h1
    for _ in range(_HEADLINE_LEVELS):
        parent = block.getparent()
        if parent is None or parent.tag in ("body", "html"):
            break
        block = parent
    return block


def near_headline(h1: HtmlElement | None) -> list[str]:
    """The short lines of text just after (and the three before) the <h1> in its block: its
    kicker, byline, date."""
    if h1 is None:
        return []
    # where the headline's text begins: found by position, not by words ("Docs", a menu
    # entry before it, is also a word of "... Managing Docs, ...")
    pieces, begin, end = _segments(headline_block(h1), h1)
    near = pieces[end: end + _HEADLINE_LINES] + pieces[max(0, begin - 3): begin]
    return [p for p in near if len(p.split()) <= 14]


def _beside_headline(near: list[str], not_after: datetime, day_first: bool | None) -> Shown:
    """A date among the short lines of the block that holds the headline (a kicker, a byline)."""
    return _from_lines(near, not_after, day_first, "dateline")


def shown_earlier(declared: datetime, near: list[str], not_after: datetime,
                  month_first: bool | None = None) -> datetime | None:
    """The publication date shown beside the headline (`near`: near_headline's lines) when it
    is _EARLIER days or more before the declared one: the declared date is then a later stamp
    (a re-publication, a move to a new CMS, a copy on another site), the shown one the story's
    own.

    wcxb-dev: a paper shown "24 Apr 2000" declared 2025-12-01, a blog post shown "Dec 30, 2013"
    re-hosted 2024-08-07, "On 8 Oct 2022" declared 2022-10-24. A shown date one day off is a
    zone (a declared UTC instant, the local day shown) and changes nothing; a shown date later
    than the declared one is an update (kept in `modified`), never the first publication.
    """
    shown = _beside_headline(near, not_after, False if month_first else None)
    if shown.published is None or shown.published == shown.modified:  # only "Updated ..."
        return None
    gap = declared.date() - shown.published.date()
    return shown.published if gap >= timedelta(days=_EARLIER) else None


_ISO_SHOWN = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)")
_SAME_INSTANT = timedelta(minutes=1)
_SHOWN_STAMPS = 40  # <time> elements read for the offset the page shows


def shown_offset(declared: datetime, tree: HtmlElement, near: list[str]) -> datetime:
    """The declared instant written in the offset the page itself shows it in.

    A page may declare its story's instant in UTC (article:published_time 2025-12-19T03:05Z)
    and show it to readers in its own zone (<time datetime="2025-12-18T19:05:00-08:00">December
    18, 2025</time>), or the other way round (declared -05:00, shown "Posted
    2024-01-12T00:30:27+00:00"). The instant is the same either way; the day its readers saw is
    the shown one (wcxb-dev 0215, 0237). Read: the page's <time datetime> values and the stamps
    in the lines beside the headline (`near`, from near_headline). Only a shown stamp of the
    same instant, to the minute, with a zone, counts: another <time> on the page is another
    story's or a comment's.
    """
    stamps: list[str] = []
    for el in itertools.islice(tree.iter("time"), _SHOWN_STAMPS):
        if value := el.get("datetime"):
            stamps.append(value)
    for line in near:  # the lines beside the headline (near_headline)
        if "T" in line:
            stamps.extend(_ISO_SHOWN.findall(line))
    for stamp in stamps:
        stamp = stamp.strip()
        shown = parse_declared(stamp) if _ISO_SHOWN.fullmatch(stamp) else None  # with a zone
        if (shown is not None and shown.utcoffset() != declared.utcoffset()
                and abs(shown - declared) < _SAME_INSTANT):
            return declared.astimezone(shown.tzinfo)
    return declared


def _labelled(tree: HtmlElement, not_after: datetime, day_first: bool | None) -> Shown:
    """A labelled date anywhere in the page's first _PAGE_PIECES pieces of text ("Posted on" +
    "Nov 21, 2018" in two unnamed spans, far from the headline): only labelled lines count,
    never a bare date (the page's text is full of dates that are not its own), and none from
    comments, sidebars or other stories' cards ("Posted on ..." by a commenter)."""
    body = tree.find("body")
    pieces, _, _ = _segments(body if body is not None else tree, None, _PAGE_PIECES,
                             _NOT_THE_STORY)
    labelled = [p for p in pieces if starts_with_label(p)]
    shown = _from_lines(labelled, not_after, day_first, "dateline")
    if shown.published is None:  # only a month ("Last Updated: June 2022"): its first day
        month = next(filter(None, (labelled_month(p, not_after) for p in labelled)), None)
        if month is not None:
            return Shown(month.instant, None, "dateline")
    return shown


def find_shown(marks: PageMarks, h1: HtmlElement | None, not_after: datetime,
               month_first: bool | None = None) -> Shown:
    """The publication (and modification) date the page shows, best evidence first.

    Beside the headline before anywhere else a class names a date: pages carry other dates in
    such elements (today's date in the header, other stories' cards, comments).
    """
    day_first = False if month_first else None
    shown = _microdata(marks, not_after, day_first)
    if shown.published is None:
        shown = _beside_headline(near_headline(h1), not_after, day_first)
    if shown.published is None:
        shown = _dateline(marks, h1, not_after, day_first)
    if shown.published is None:
        shown = _labelled(marks.tree, not_after, day_first)
    return shown
