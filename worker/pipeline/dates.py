"""Dates and times as pages show them, parsed into aware UTC instants that say how exact they are.

    parse_date("Updated: 23-08-2025 06:18 IST")  -> ParsedDate(2025-08-23 00:48Z, True, True)
    parse_date("2024-03-03")                     -> ParsedDate(2024-03-03 00:00Z, False, False)
    find_dateline(lines)                         -> Dateline(published, modified, indices)
    labelled_month("Last Updated: June 2022")    -> ParsedDate(2022-06-01 00:00Z, False, False)

Accepted: ISO 8601 / RFC 3339, RFC 2822, and visible datelines ("Published 14:02 GMT, 3 March
2024", "March 3, 2024 2:02 p.m. ET", "3 Mar 2024, 14:02 CET", "2024/03/03 14:02 JST", month
names in a dozen languages, CJK 年月日). A value without a zone keeps its wall-clock time as if
it were UTC and says `has_zone=False`: callers must not present it as an exact instant.
Numeric dates are day-first (DD-MM-YYYY) unless a part > 12 says otherwise or a US zone
(ET, PST, ...) is attached; `not_after` (the fetch time) breaks the remaining ties.
Pure: no clock, no environment, no tz database (US daylight saving is computed here).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

__all__ = ["Dateline", "ParsedDate", "ZONE_OFFSETS", "find_dateline", "labelled_month",
           "parse_date", "parse_zone"]


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """An instant in UTC, and whether the source gave a time of day and a zone."""

    instant: datetime
    has_time: bool
    has_zone: bool

    @property
    def exact(self) -> bool:
        """True when the source pinned the instant to the minute (time and zone)."""
        return self.has_time and self.has_zone


@dataclass(frozen=True, slots=True)
class Dateline:
    """What labelled date lines say: publication, last modification, and which lines they are."""

    published: ParsedDate | None = None
    modified: ParsedDate | None = None
    indices: tuple[int, ...] = ()


def _h(hours: float) -> timedelta:
    return timedelta(hours=hours)


# Fixed-offset abbreviations as news sites use them. Ambiguous ones take the reading that news
# pages mean: IST is India (not Irish/Israel), CST is US Central (not China), BST is British Summer.
ZONE_OFFSETS: dict[str, timedelta] = {
    "UTC": _h(0), "GMT": _h(0), "UT": _h(0), "Z": _h(0), "WET": _h(0), "WEST": _h(1),
    "BST": _h(1), "IST": _h(5.5), "CET": _h(1), "CEST": _h(2), "MEZ": _h(1), "MESZ": _h(2),
    "EET": _h(2), "EEST": _h(3), "MSK": _h(3), "EST": _h(-5), "EDT": _h(-4), "CST": _h(-6),
    "CDT": _h(-5), "MST": _h(-7), "MDT": _h(-6), "PST": _h(-8), "PDT": _h(-7), "AKST": _h(-9),
    "AKDT": _h(-8), "HST": _h(-10), "AST": _h(-4), "ADT": _h(-3), "NST": _h(-3.5),
    "JST": _h(9), "KST": _h(9), "HKT": _h(8), "SGT": _h(8), "PHT": _h(8), "AWST": _h(8),
    "WIB": _h(7), "WITA": _h(8), "WIT": _h(9), "ICT": _h(7), "PKT": _h(5), "NPT": _h(5.75),
    "AEST": _h(10), "AEDT": _h(11), "ACST": _h(9.5), "ACDT": _h(10.5), "NZST": _h(12),
    "NZDT": _h(13), "GST": _h(4), "EAT": _h(3), "CAT": _h(2), "WAT": _h(1), "SAST": _h(2),
    "BRT": _h(-3), "ART": _h(-3), "IDT": _h(3), "TRT": _h(3),
}
# US zones written without S/D ("2:02 p.m. ET"): standard offset, daylight saving computed.
_US_GENERIC = {"ET": -5, "CT": -6, "MT": -7, "PT": -8}
_US_ZONES = frozenset({*_US_GENERIC, "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT"})

_MONTH_NAMES = (
    "january jan januar janvier janv enero ene janeiro gennaio gen januari январь января янв",
    "february feb februar février fevrier févr fevr febrero febr fevereiro fev febbraio februari"
    " февраль февраля фев",
    "march mar märz maerz mär mars marzo março marco maret maart mrt март марта",
    "april apr avril avr abril abr aprile апрель апреля",
    "may mai mayo maio maggio mag mei май мая",
    "june jun juni juin junio junho giugno giu июнь июня",
    "july jul juli juillet juil julio julho luglio lug июль июля",
    "august aug août aout agosto ago agustus agu agt augustus август августа авг",
    "september sep sept septembre septiembre setiembre setembro set settembre сентябрь"
    " сентября сен",
    "october oct oktober octobre octubre outubro out ottobre ott okt октябрь октября окт",
    "november nov novembre noviembre novembro ноябрь ноября ноя",
    "december dec dezember décembre decembre déc diciembre dic dezembro dez dicembre desember"
    " des декабрь декабря дек",
)
_MONTHS = {name: n for n, names in enumerate(_MONTH_NAMES, 1) for name in names.split()}
_ENGLISH = frozenset(_MONTH_NAMES[n].split()[k] for n in range(12) for k in range(2)) | {"sept"}
_MONTH_RE = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))

_F = re.IGNORECASE | re.UNICODE
_DAY = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th|er)?"
_DATE_PATTERNS = (
    # 2024-03-03, 2024/03/03, 2024.03.03 (year first is always Y-M-D)
    re.compile(r"(?<![\d.])(?P<y>(?:19|20)\d\d)(?P<sep>[-/.])(?P<m>[01]?\d)(?P=sep)(?P<d>[0-3]?\d)"
               r"(?![\d])"),
    # 2024年3月3日, 2024년 3월 3일
    re.compile(r"(?P<y>(?:19|20)\d\d)\s*[年년]\s*(?P<m>[01]?\d)\s*[月월]\s*(?P<d>[0-3]?\d)\s*[日일]?"),
    # 23-08-2025, 08/23/2025, 23.08.25: day/month order decided later
    re.compile(r"(?<![\d.,])(?P<a>[0-3]?\d)(?P<sep>[-/.])(?P<b>[0-3]?\d)(?P=sep)"
               r"(?P<y>(?:19|20)\d\d|\d\d)(?![\d])"),
    # 3 March 2024, 3. März 2024, 23 de novembro de 2019, 3rd Mar. 2024
    re.compile(rf"(?<!\w){_DAY}\.?\s*(?:de\s+|-)?(?P<mn>{_MONTH_RE})\.?,?\s*(?:de\s+|-)?"
               r"(?P<y>(?:19|20)\d\d)(?!\d)", _F),
    # March 3, 2024; Mar. 3rd 2024
    re.compile(rf"(?<!\w)(?P<mn>{_MONTH_RE})\.?\s+{_DAY},?\s+(?P<y>(?:19|20)\d\d)(?!\d)", _F),
)
_TIME = re.compile(
    r"(?<![\d:.])(?P<ampm1>오전|오후|午前|午後)?\s*(?P<H>[0-2]?\d)(?:[:h時시]\s*(?P<M>[0-5]\d)"
    r"(?::(?P<S>[0-5]\d)(?:\.\d+)?)?\s*(?:分|분)?|(?=\s*[ap]\.?\s?m\b))\s*"
    r"(?P<ampm>[ap]\.?\s?m\.?(?![a-z]))?", _F)
_ZONE = re.compile(
    r"^[\s,(\[]*(?:(?P<utc>GMT|UTC)?\s*(?P<sign>[+\-−])\s*(?P<oh>\d{1,2})(?::?(?P<om>\d\d))?"
    r"|(?P<abbr>[A-Z]{1,5})\b)")
_ISO_LIKE = re.compile(r"^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d.*)?$|^\d{8}T\d{4}")
_LABELS = re.compile(
    r"(?P<label>(?:first\s+|originally\s+)?(?:published|posted|created|released|date|publicado|"
    r"publié|veröffentlicht|pubblicato|diterbitkan|dipublikasikan|опубликовано|"
    r"(?:last\s+)?(?:updated|modified|edited)|actualizado|atualizado|mis\s+à\s+jour|aktualisiert|"
    r"aggiornato|diperbarui|обновлено))(?:\s+(?:on|at|el|em|le|am|il|pada))?\s*:?\s*", _F)
_GAP_AFTER = re.compile(
    r"[\s,|/@(\-–—T]*(?:at|um|às|a las|a la|alle|à|pukul|в)?[\s,:|(\-–—]*", _F)
_GAP_BEFORE = re.compile(r"[\s,|/)\-–—]*(?:on|le|am|el|il)?[\s,]*", _F)
_MODIFIED = re.compile(r"updat|modif|edit|actualiz|atualiz|jour|aktual|aggiorn|diperbar|обновл", _F)


def _us_offset(abbr: str, local: datetime) -> timedelta:
    """Offset of a generic US zone ("ET") at a local time: DST from 2nd Sun Mar to 1st Sun Nov."""
    std = _US_GENERIC[abbr]
    year = local.year
    march = date(year, 3, 8)
    start = datetime(year, 3, 8 + (6 - march.weekday()) % 7, 2, tzinfo=UTC)
    nov = date(year, 11, 1)
    end = datetime(year, 11, 1 + (6 - nov.weekday()) % 7, 2, tzinfo=UTC)
    return _h(std + 1) if start <= local.replace(tzinfo=UTC) < end else _h(std)


def parse_zone(text: str) -> tuple[str, timedelta | None] | None:
    """(matched zone text, fixed offset or None for generic US zones) at the start of `text`."""
    m = _ZONE.match(text)
    if m is None:
        return None
    if m.group("abbr"):
        abbr = m.group("abbr")
        if abbr in _US_GENERIC:
            return abbr, None
        return (abbr, ZONE_OFFSETS[abbr]) if abbr in ZONE_OFFSETS else None
    hours, minutes = int(m.group("oh")), int(m.group("om") or 0)
    if hours > 14 or minutes >= 60 or (not m.group("utc") and not m.group("om")):
        return None  # a bare "+3" is not an offset; "GMT+3", "+0300", "+03:00" are
    sign = -1 if m.group("sign") in "-−" else 1
    return m.group(0).strip(" ,([").upper(), sign * timedelta(hours=hours, minutes=minutes)


def _parse_strict(text: str) -> ParsedDate | None:
    """ISO 8601 / RFC 3339, then RFC 2822."""
    if _ISO_LIKE.match(text):
        iso = text[:-1] + "+00:00" if text[-1:] in "Zz" else text
        try:
            value = datetime.fromisoformat(iso)
        except ValueError:
            value = None
        if value is not None:
            has_time = len(text) > 10
            if value.tzinfo is None:
                return ParsedDate(value.replace(tzinfo=UTC), has_time, False)
            return ParsedDate(value.astimezone(UTC), has_time, True)
    if "," in text[:5] or re.match(r"^\d{1,2} \w{3} \d{4} \d\d:\d\d", text):
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if value.tzinfo is not None:
            return ParsedDate(value.astimezone(UTC), True, True)
    return None


def _make_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _order_numeric(
    a: int, b: int, y: int, day_first: bool, not_after: datetime | None
) -> date | None:
    """The date a-b-y means: day-first or month-first, whichever is valid and not in the future."""
    first, second = (_make_date(y, b, a), _make_date(y, a, b))
    if not day_first:
        first, second = second, first
    if first is None or second is None:
        return first or second
    if not_after is not None and first > (not_after + _h(24)).date() >= second:
        return second
    return first


def _find_time(text: str, start: int, end: int) -> tuple[re.Match[str], int] | None:
    """A time of day right after the date (or right before it), with where its zone would begin."""
    after = _TIME.search(text, end, min(len(text), end + 24))
    if after and _GAP_AFTER.fullmatch(text[end : after.start()]):
        return after, after.end()
    for before in reversed(list(_TIME.finditer(text, max(0, start - 32), start))):
        gap = text[before.end() : start]
        zone = _ZONE.match(gap) if parse_zone(gap) else None
        rest = gap[zone.end() :] if zone else gap
        if (before.group("M") or before.group("ampm")) and _GAP_BEFORE.fullmatch(rest):
            return before, before.end()
    return None


def _search(text: str, day_first: bool | None, not_after: datetime | None) -> ParsedDate | None:
    found = (pattern.search(text) for pattern in _DATE_PATTERNS)
    for m in sorted((m for m in found if m is not None), key=lambda m: m.start()):
        groups = m.groupdict()
        year = int(groups["y"])
        year += 2000 if year < 100 else 0
        timed = _find_time(text, m.start(), m.end())
        zone = parse_zone(text[timed[1] :]) if timed else None
        if groups.get("mn"):
            day = _make_date(year, _MONTHS[groups["mn"].lower()], int(groups["d"]))
        elif groups.get("a"):
            us = zone is not None and zone[0] in _US_ZONES
            first = day_first if day_first is not None else not us
            day = _order_numeric(int(groups["a"]), int(groups["b"]), year, first, not_after)
        else:
            day = _make_date(year, int(groups["m"]), int(groups["d"]))
        if day is None:
            continue
        if timed is None:
            return ParsedDate(datetime(day.year, day.month, day.day, tzinfo=UTC), False, False)
        t = timed[0]
        hour, minute, second = int(t.group("H")), int(t.group("M") or 0), int(t.group("S") or 0)
        marker = (t.group("ampm") or t.group("ampm1") or "").lower()
        if marker and hour > 12:
            marker = ""
        if marker.startswith(("p", "오후", "午後")) and hour < 12:
            hour += 12
        elif marker.startswith(("a", "오전", "午前")) and hour == 12:
            hour = 0
        if hour > 23:
            return ParsedDate(datetime(day.year, day.month, day.day, tzinfo=UTC), False, False)
        # wall-clock time, labelled UTC until the zone (if any) says otherwise
        local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)
        if zone is None:
            return ParsedDate(local, True, False)
        offset = zone[1] if zone[1] is not None else _us_offset(zone[0], local)
        return ParsedDate(local.replace(tzinfo=timezone(offset)).astimezone(UTC), True, True)
    return None


def parse_date(
    text: str, *, day_first: bool | None = None, not_after: datetime | None = None
) -> ParsedDate | None:
    """The first date (with its time and zone when given) in `text`, or None.

    `day_first` forces the order of numeric dates (None: day-first unless a US zone says
    otherwise); `not_after` (aware, e.g. the fetch time) picks the non-future reading of an
    ambiguous numeric date.
    """
    text = text.strip()[:400]
    if not text:
        return None
    return _parse_strict(text) or _search(text, day_first, not_after)


def find_dateline(
    lines: Sequence[str], *, not_after: datetime | None = None, limit: int = 400,
    day_first: bool | None = None,
) -> Dateline:
    """Labelled dates ("Updated: 23-08-2025 06:18 IST | Created: ...") in the first `limit` lines.

    The first labelled publication and modification dates win (a date leading a labelled line,
    "3 Dec 2025. Updated: 7 Dec 2025", is the publication); a short line holding a date is
    taken as the publication date when no label names one and it comes before any labelled
    line. `day_first` as for parse_date. Dates after `not_after` (plus a day of slack for
    zone-less values) are ignored.
    """
    published: ParsedDate | None = None
    modified: ParsedDate | None = None
    bare: tuple[int, ParsedDate] | None = None
    indices: list[int] = []
    ceiling = not_after + _h(24) if not_after is not None else None
    for index, line in enumerate(lines[:limit]):
        if len(line) > 300 or not any(c.isdigit() for c in line):
            continue
        labels = list(_LABELS.finditer(line))
        found = False
        if labels and labels[0].start() > 0 and published is None:
            # "December 3, 2025. Updated: December 7, 2025": the unlabelled date leads
            value = parse_date(line[: labels[0].start()], day_first=day_first,
                               not_after=not_after)
            if value is not None and (ceiling is None or value.instant <= ceiling):
                published, found = value, True
        for k, label in enumerate(labels):
            stop = labels[k + 1].start() if k + 1 < len(labels) else len(line)
            value = parse_date(line[label.end() : stop], day_first=day_first,
                               not_after=not_after)
            if value is None or (ceiling is not None and value.instant > ceiling):
                continue
            found = True
            if _MODIFIED.search(label.group("label")):
                modified = modified or value
            else:
                published = published or value
        if found:
            indices.append(index)
        elif bare is None and len(line.split()) <= 12:
            value = parse_date(line, day_first=day_first, not_after=not_after)
            if value is not None and (ceiling is None or value.instant <= ceiling):
                bare = (index, value)
        if published and modified:
            break
    # a bare date after a labelled one ("Updated: ..." then a quoted tweet's date) is not it
    if published is None and bare is not None and (not indices or bare[0] < indices[0]):
        published = bare[1]
        indices.append(bare[0])
    return Dateline(published, modified, tuple(sorted(indices)))


_MONTH_YEAR = re.compile(rf"(?P<mn>{_MONTH_RE})\.?,?\s+(?P<y>(?:19|20)\d\d)", _F)


def labelled_month(text: str, not_after: datetime | None = None) -> ParsedDate | None:
    """A labelled line that gives only a month and a year ("Last Updated: June 2022") as the
    first of that month (no time, no zone): the day the page itself cannot be more exact than.
    Only the whole line counts (a month in prose is not a date), and never a month after
    `not_after`."""
    label = _LABELS.match(text.strip())
    found = _MONTH_YEAR.fullmatch(text.strip()[label.end():].strip()) if label else None
    if found is None:
        return None
    value = datetime(int(found.group("y")), _MONTHS[found.group("mn").lower()], 1, tzinfo=UTC)
    return None if not_after is not None and value > not_after else ParsedDate(value, False, False)


def starts_with_label(text: str) -> bool:
    """The text opens with a date label ("Posted on", "Last updated:", "Publié le")."""
    return _LABELS.match(text) is not None


def is_dateline(text: str) -> bool:
    """A labelled date and little else, in any language dates parse in:
    'Publié le 5 décembre 2025 à 8h00', 'Veröffentlicht am 2. Oktober 2025, 06:30 Uhr'."""
    text = text.strip(" |·•-–—()[]")
    label = _LABELS.match(text)
    if label is None or len(text) > 120 or parse_date(text[label.end() :]) is None:
        return False
    rest = text[label.end() :]
    for pattern in _DATE_PATTERNS:
        rest = pattern.sub(" ", rest)
    # what may remain: a connective ("à", "um"), "Uhr", a zone
    return len(re.findall(r"\w+", _TIME.sub(" ", rest))) <= 3

