"""Plain-text pages (a page as a browser rendered it): line-level boilerplate removal.

    lines -> score each line (prose +, menu/link/furniture -) -> densest run (max-sum segment),
          cut at comments and dated teaser cards -> header above it: headline, standfirst,
          byline, dateline (dates.find_dateline), site name -> body paragraphs

A rendered page is the story wrapped in site furniture: menus, trending and related lists,
cookie and image notices, comments, footers. Story lines are long and end like sentences;
furniture lines are short, come in runs, repeat, or say what they are ("Trending", "© 2025",
"Follow us"). The story is the run of lines with the largest total score, so a few short lines
inside it (subheadings, an ad label) are bridged while a menu of fifty links is not. Rules look
at the shape of a line, never at a site name.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from worker.errors import PageRejected, RejectReason
from worker.pipeline.clean import site_name_from_title
from worker.pipeline.dates import find_dateline, parse_date
from worker.pipeline.mojibake import repair_mojibake
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import Extracted, RawPage

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_SPACES = re.compile(r"[ \t\u00a0\u2009\u200b\ufeff]+")
# A line ends like a sentence (closing quotes and brackets allowed after the stop).
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’»)\]]*$|[:;]$")
_SENTENCE_STOPS = re.compile(r"[.!?。！？](?:\s|$)")
# Lines that are about the page, not the story, whatever their length.
_BOILERPLATE_START = re.compile(
    r"^(?:representative|representational|file|illustrative) (?:image|photo|picture)|"
    r"^\d+ (?:of|/) \d+\b|^\(?(?:image|photo|foto|picture|credit)s?\s*:|"
    r"^©|^\(c\)\s|^copyright\b|^(?:e-?mail|phone|tel|fax)\s*[:.]|^(?:sign up|log ?in|register)\b|"
    r"^(?:trending|most (?:read|popular|viewed|shared)|related(?: articles| stories| news)?|"
    r"latest (?:news|stories)|top stories|recommended|(?:you may|you might) also like|"
    r"read (?:more|also|next)|also read|see also|more from|more stories|advertisement|"
    r"connect (?:with )?us|follow us|share (?:this|on)|give feedback|skip to|"
    r"(?:left |main )?menu|search|home)\b",
    re.IGNORECASE,
)
# Anywhere in the line; only tried when one of _HINTS is in it (the regex is slow).
_BOILERPLATE_ANY = re.compile(
    r"\bcookies?\b.{0,100}(?:\buse|accept|agree|consent|settings|polic|experience|website|"
    r"browser|navega|nutz|zustimm|utilis|utiliz|datenschutz|privacy)|"
    r"(?:\buse|accept|agree|verwend|utilis|utiliz|usamos)\w*\b.{0,40}\bcookies?\b|"
    r"^.{0,60}\b(?:image|photo|picture) (?:credit|courtesy|source)\b|"
    r"\bimage is ai[- ]generated|\bdoes not depict any real|for illustrative purposes only|"
    r"all rights reserved|\bprivacy policy\b|\bterms (?:of|and) (?:use|service|conditions)\b|"
    r"\bsubscribe to (?:our|the)\b.{0,30}newsletter|^.{0,80}\bclick here\b.{0,80}$|"
    r"\((?:[\w .-]{0,30} )?(?:photo|image|foto)s?\b[^)]{0,60}\)(?:\s*less)?$|"
    r"^.{0,80}(?:getty images|shutterstock|ap photo|afp photo)\)?$",
    re.IGNORECASE,
)
# A drop capital rendered apart from its word: "T he Davis Cup began" ("A" and "I" are words).
_DROP_CAP = re.compile(r"^([B-HJ-Z]) ([a-z]{1,12}\b)")
_HINTS = ("cookie", "image", "photo", "picture", "depict", "illustrative", "rights reserved",
          "privacy", "terms", "newsletter", "getty", "shutterstock", "click")


def _is_boilerplate(text: str) -> bool:
    if _BOILERPLATE_START.match(text) or text.endswith(("... more", "…more", "… more")):
        return True
    low = text.casefold()
    return any(hint in low for hint in _HINTS) and _BOILERPLATE_ANY.search(text) is not None


# --- the header: bylines and the site's name ------------------------------------------------
_BYLINE = re.compile(
    r"^(?:by|por|von|par|di|oleh|от|written by|words by|reporting by)\s*:?\s+(?P<name>\S.*)$",
    re.IGNORECASE,
)
# "Devdiscourse News Desk", "Reuters Staff", "Jane Doe": capitalised words, no digits.
_NAME_PART = re.compile(r"^(?:[A-Z][\w.'’-]*\s?){1,5}$")
_INNER_BY = re.compile(r"(?:^|\s)(?:by|von|por|par)\s+(?P<name>[A-Z][^\d|]{2,60})$")
_BY_ALONE = frozenset({"by", "von", "por", "par", "di", "oleh", "written by"})
# Where a name in a byline ends: a handle, a date, a label.
_NAME_STOP = re.compile(
    r"\s(?:@\w|(?:on|am|at)\s+\w+day\b|publiziert|(?:on\s+|at\s+)?\d|"
    r"(?:on\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)"
    r"[a-z]*\.?,?\s+\d|(?:updated|published|posted|last)\b).*$", re.IGNORECASE)
_ROLE = re.compile(
    r"[\s,]+(?:(?:staff|senior|business|contributing|chief|deputy|managing|political|sports?|"
    r"science|tech(?:nology)?|associate|executive|special|guest|foreign|national|health)\s+)*"
    r"(?:writer|columnist|editor(?:-at-large)?|reporter|correspondent|contributor|producer|"
    r"journalist)\b.*$", re.IGNORECASE)
_NOT_NAME_WORDS = frozenset(
    "the a of and in on for to with home follow share video photo more latest read sign "
    "subscribe menu search opinion world business sport sports politics by image enlarge watched "
    "points browser buttons sharing accept article comments print email january february march "
    "april june july august september october november december monday tuesday wednesday "
    "thursday friday saturday sunday jan feb mar apr jun jul aug sep sept oct nov dec".split())
_GENERIC_HOSTS = frozenset({"news", "blog", "blogs", "home", "online", "web", "site", "mobile"})
_COMPANY = re.compile(r",?\s+(?:LLC|Inc|Ltd|Limited|GmbH|AG|Corp|Corporation|S\.?A|plc)\.?$")
_NOT_SITE = re.compile(r"\d|\b(?:all|rights|reserved|designed|powered|hosted|by)\b", re.IGNORECASE)
_COPYRIGHT_NAME = re.compile(
    r"^(?:©|\(c\)|copyright)\s*(?:©|\(c\))?\s*(?:\d{4}(?:\s*[-–]\s*\d{4})?)?[\s,]*"
    r"(?P<name>[^.|,©]{2,60}?)\s*(?:[.|,]|all rights|$)", re.IGNORECASE)

# --- the run: where comments begin, list headers ---------------------------------------------
# Where the comments begin: the story never continues past these.
_COMMENTS = re.compile(
    r"^[\[(]?\s*(?:\d+\s+(?:responses?|comments?|replies|reactions)\b|"
    r"(?:top |all |reader |user |most )?(?:rated |recent )?comments?\s*(?:\(\d+\))?\s*[\])]?$|"
    r"leave a (?:reply|comment)|post a comment|add a comment|join the (?:conversation|discussion)|"
    r"show comments|view comments|(?:\S+\s){0,3}\S+ (?:says|wrote|said):$|reply$|"
    r"comentários|comentarios|kommentare|commentaires|commenti|komentar|комментари)",
    re.IGNORECASE,
)
# Headers of the lists that follow a story ("More from ...", "Related stories"): short lines.
_SECTION = re.compile(
    r"^(?:more\b|related\b|recommended\b|(?:you|we) (?:may|might) (?:also )?like|read (?:more|next|"
    r"also)|also read|most (?:read|popular|viewed|shared)|trending|latest|top stories|popular|"
    r"editor'?s picks|don'?t miss|what to read next|further reading|see also|in other news|"
    r"das könnte sie|mehr zum thema|meistgelesen|leia também|veja também|mais lidas|"
    r"leggi anche|lire aussi|à lire aussi|baca juga|te puede interesar|lo más leído|"
    r"читайте также|по теме)",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_HEADER_WINDOW = 40  # lines above the story searched for the headline and its company


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    key: str  # casefolded words, for comparing lines
    weight: float  # words (CJK characters count half a word each)
    prose: bool  # ends like a sentence
    furniture: bool
    block: int = 0  # blank-line separated block of the rendering (a list is one block)


def _make_line(text: str, block: int = 0) -> _Line:
    words = _WORD.findall(text.casefold())
    weight = float(len(words))
    if not text.isascii():  # CJK characters count half a word each
        weight = max(weight, len(_CJK.findall(text)) / 2.0)
    prose = weight >= 6 and (_SENTENCE_END.search(text) is not None
                             or len(_SENTENCE_STOPS.findall(text)) >= 2)
    furniture = weight <= 60 and _is_boilerplate(text)
    return _Line(text, " ".join(words), weight, prose, furniture, block)


# Line scores, tuned on the aeb-dev corpus rendered as text (tests/unit/test_text_corpus.py).
PROSE_MIN = 12  # words: a prose line this long counts fully, a shorter one half
SHORT_COST = 2.0  # a short non-prose line costs this plus SHORT_WORD_COST per word
SHORT_WORD_COST = 0.5
SECTION_COST = 30.0  # "More from ...", "Related": the story rarely goes on after them
DATE_COST = 10.0  # a date line inside a run (teaser cards: title, author, date, lead)
COMMENT_COST = 1000.0  # "12 Comments", "Leave a Reply"
COMMENTS_AFTER = 50.0  # words of prose before a comments header ends the story
REPEAT_COST = 2.0  # a long line said twice costs this plus its words...
REPEAT_SHARE = 0.6  # ...unless more than this share of long lines repeat (a meal plan)
ANCHOR_SHARE = 0.2  # a run after the headline wins unless under this share of the best
LIST_ITEM_WORDS = 30  # longest item of a list the story announces ("Tour dates:")


def _score(line: _Line) -> float:
    """How much a line looks like story text (positive) or page furniture (negative)."""
    if line.weight <= 6 and _SECTION.match(line.text):
        return -SECTION_COST
    if line.weight <= 10 and _YEAR.search(line.text) and parse_date(line.text) is not None:
        return -DATE_COST  # a date line inside a run: teaser cards (title, author, date, lead)
    if line.furniture:
        return -max(4.0, line.weight)
    if _COMMENTS.match(line.text):
        return -COMMENT_COST

    if line.prose and line.weight >= PROSE_MIN:
        return line.weight
    if line.prose:
        return line.weight * 0.5
    if line.weight >= 30:
        return line.weight * 0.5  # a long paragraph without a final stop
    return -(SHORT_COST + SHORT_WORD_COST * line.weight)  # a menu entry, a link, a short heading


def _densest_run(scores: list[float], offset: int = 0) -> tuple[int, int, float]:
    """[start, end) of the contiguous run with the largest total score (Kadane), and the total."""
    best, best_span = 0.0, (0, 0)
    total, start = 0.0, 0
    for index, score in enumerate(scores):
        if total <= 0:
            total, start = 0.0, index
        total += score
        if total > best:
            best, best_span = total, (start, index + 1)
    return best_span[0] + offset, best_span[1] + offset, best


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _drop_link_runs(lines: list[_Line]) -> list[_Line]:
    """Lines of the story without furniture and runs of 3+ short non-prose lines (link lists)."""
    kept: list[_Line] = []
    run: list[_Line] = []
    for line in [*lines, _Line("", "", 99.0, True, False)]:
        if not line.prose and line.weight < 10 and not line.furniture:
            run.append(line)
            continue
        if len(run) < 3:
            kept.extend(run)
        run = []
        if not line.furniture and line.text:
            kept.append(line)
    return kept


def _title_like(line: _Line) -> bool:
    return (3 <= line.weight <= 30 and not line.furniture and not line.text.endswith((".", ":"))
            and _BYLINE.match(line.text) is None and parse_date(line.text) is None)


def _title_match(line: _Line, title: _Line) -> float:
    """How well a line repeats the page title (0: not at all)."""
    key, words = line.key, len(line.key.split())
    if not key or words < 2:
        return 0.0
    if key == title.key:
        return 3.0
    if key in title.key and words >= 0.4 * len(title.key.split()):
        return 2.0 + words / len(title.key.split())  # the title with a site name around it
    if title.key in key and len(title.key.split()) >= 0.6 * words:
        return 1.5  # a title cut short
    return 0.0


def _title_anchor(lines: list[_Line]) -> int | None:
    """The first line after the title that repeats it (the story's headline), if any."""
    if not lines or lines[0].weight < 4:
        return None
    for index in range(1, len(lines)):
        if _title_match(lines[index], lines[0]) >= 2.0 and _title_like(lines[index]):
            return index
    return None


def _find_headline(lines: list[_Line], start: int, counts: Counter[str]) -> int:
    """Index of the headline.

    The rendering usually begins with the page <title>: the line that repeats it (without the
    site's name) nearest above the story is the headline; else the title itself when it reads
    like one; else the title-like line closest above the story, a repeated one preferred.
    """
    title = lines[0]
    low = max(1, start - 4 * _HEADER_WINDOW)
    best: tuple[float, int] | None = None
    for index in range(low, min(len(lines), start + 3)):
        line = lines[index]
        match = _title_match(line, title)
        match = match if match and _title_like(line) else 0.0
        score = match - 0.001 * abs(start - index)
        if match and (best is None or score > best[0]):
            best = (score, index)
    if best is not None:
        return best[1]
    if _title_like(title) and title.weight >= 4:
        return 0
    window = range(start - 1, max(-1, start - _HEADER_WINDOW), -1)
    for distance, index in enumerate(window):
        line = lines[index]
        if _title_like(line):
            score = -0.1 * distance + (1.0 if counts[line.key] >= 2 else 0.0)
            if best is None or score > best[0]:
                best = (score, index)
    return best[1] if best else 0


def _trim_name(name: str) -> str:
    """'Chaim Gartenberg @cgartenberg Nov 19, 2019' -> 'Chaim Gartenberg'; no 'Staff Writer'."""
    name = re.split(r"\s+[|•·]\s+", name)[0]
    return _ROLE.sub("", _NAME_STOP.sub("", name)).strip(" ,-–—")


def _authors_from(text: str) -> list[str]:
    """Names in a byline ('By Jane Doe, Reuters') or beside a date ('Desk | Updated: ...')."""
    match = _BYLINE.match(text) or _INNER_BY.search(text)
    if match:
        name = _trim_name(match.group("name"))
        return [name] if name else []
    parts = [_trim_name(p) for p in re.split(r"\s+[|•·–—-]\s+", text)]
    if len(parts) < 2:
        return []
    names = [p for p in parts if p and _is_name(p) and parse_date(p) is None
             and not re.search(r"(?i)updated|published|posted|created|min read", p)]
    return names[:1]  # "PTI | New Delhi | Updated: ...": the author comes first, then a place


def _is_name(text: str) -> bool:
    """Capitalised words, not page furniture: 'Jane Doe', 'PTI', 'Devdiscourse News Desk'."""
    return (_NAME_PART.match(text) is not None
            and not any(w.casefold() in _NOT_NAME_WORDS for w in text.split()))


def _lone_name(line: _Line) -> str | None:
    """A line that is only a name ('David Ehrlich', 'Keris Lahiff @kerisalison')."""
    name = _trim_name(line.text)
    if line.furniture or not 2 <= len(name.split()) <= 4 or name.isupper():
        return None
    return name if _is_name(name) else None


def _site_name(lines: list[_Line], url: str, title: str | None) -> str | None:
    """The site's name: the title's decoration, a line naming the host, or the copyright line."""
    named = site_name_from_title(title, url) if title else None
    if named:
        return named
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    label = host.split(".")[0] if host else ""
    for line in lines:
        squashed = line.key.replace(" ", "")
        if len(label) >= 3 and label not in _GENERIC_HOSTS and squashed in (
                label, host.replace(".", "")):
            return line.text
    for line in reversed(lines):
        match = _COPYRIGHT_NAME.match(line.text)
        name = _COMPANY.sub("", match.group("name")).strip() if match else ""
        if name[:1].isupper() and len(name.split()) <= 5 and _NOT_SITE.search(name) is None:
            return name
    return None


def _score_lines(lines: list[_Line]) -> list[float]:
    """Line scores; a line said twice (a teaser card, a headline repeat) counts as furniture
    unless the page repeats itself throughout (a meal plan, a table)."""
    where: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        where.setdefault(line.key, []).append(index)
    long = [line for line in lines if line.weight >= 6]
    penalise = sum(1 for line in long if len(where[line.key]) > 1) <= REPEAT_SHARE * len(long)
    scores = []
    for index, line in enumerate(lines):
        seen = where[line.key]
        # a standfirst repeated as the first paragraph: the last of close copies is the story
        close = len(seen) == 2 and seen[1] - seen[0] <= 8 and index == seen[1]
        repeated = penalise and line.weight >= 6 and len(seen) > 1 and not close
        scores.append(-(REPEAT_COST + line.weight) if repeated else _score(line))
    return scores


def _list_end(lines: list[_Line], end: int) -> int:
    """The end of the story, past a list its last line announces ("Tour dates:")."""
    if not 0 < end < len(lines) or not lines[end - 1].text.endswith(":"):
        return end
    block = lines[end].block
    while (end < len(lines) and lines[end].block == block and not lines[end].furniture
           and lines[end].weight <= LIST_ITEM_WORDS):
        end += 1
    return end


def _teasers_start(lines: list[_Line], scores: list[float], start: int, end: int) -> int:
    """The end of the story when a list header ("More from ...") inside the run is followed by
    teaser cards (their date lines give them away)."""
    prose = 0.0
    for index in range(start, end):
        line = lines[index]
        if prose >= COMMENTS_AFTER and scores[index] == -SECTION_COST:
            dated = sum(1 for i in range(index + 1, end) if scores[i] == -DATE_COST)
            if dated >= 2:
                return index
        if line.prose:
            prose += line.weight
    return end


def _comments_start(lines: list[_Line]) -> int:
    """Where the readers' comments begin (after some prose), or the number of lines."""
    prose = 0.0
    for index, line in enumerate(lines):
        if prose >= COMMENTS_AFTER and _COMMENTS.match(line.text):
            return index
        if line.prose and not line.furniture:
            prose += line.weight
    return len(lines)


def _split_standfirst(
    lines: list[_Line], start: int, end: int, meta: set[int], head_key: str
) -> tuple[str | None, int]:
    """(standfirst, new start) when the run opens with a lead paragraph above header lines."""
    top = range(start, min(end, start + 8))
    for index in top:
        line = lines[index]
        if line.key == head_key or line.furniture or _BYLINE.match(line.text):
            meta.add(index)
    cut = max((i for i in meta if i in top), default=start - 1) + 1
    lead = [i for i in range(start, cut) if i not in meta and lines[i].prose
            and lines[i].weight >= 8]
    if lead and len(lead) <= 2:
        return lines[lead[0]].text, cut
    return None, start


def _find_authors(
    lines: list[_Line], first: int, stop: int, date_lines: set[int], head_index: int
) -> list[str]:
    """Bylines between the headline and the story, and names beside the dateline."""
    authors: list[str] = []
    for index in sorted({*range(first, stop), *date_lines}):
        line = lines[index]
        if line.weight > 20 or index == head_index or line.furniture:
            continue
        if line.key in _BY_ALONE and index + 1 < len(lines):
            authors += _authors_from(f"{line.text} {lines[index + 1].text}")
        elif index in date_lines or _BYLINE.match(line.text):
            authors += _authors_from(line.text)
        elif any(abs(index - d) <= 2 for d in date_lines):
            name = _lone_name(line)
            authors += [name] if name else []
    return authors


def extract_text(page: RawPage, options: PipelineOptions) -> Extracted:
    """Body and metadata of a plain-text page; PageRejected(no_article) when there is none."""
    lines: list[_Line] = []
    block = 0
    for raw in repair_mojibake(page.content).splitlines():
        text = _SPACES.sub(" ", raw).strip()
        if text[1:2] == " ":
            text = _DROP_CAP.sub(r"\1\2", text)
        if not text:
            block += 1
        elif _WORD.search(text):
            lines.append(_make_line(text, block))
    scores = _score_lines(lines)[: _comments_start(lines)]
    start, end, total = _densest_run(scores)
    # The story follows its headline: when a line repeats the page title, a run after it wins
    # over a denser teaser list elsewhere unless it is much poorer.
    anchor = _title_anchor(lines)
    if anchor is not None and not anchor < start <= anchor + _HEADER_WINDOW:
        after = _densest_run(scores[anchor + 1 :], anchor + 1)
        if after[2] >= ANCHOR_SHARE * total and after[0] <= anchor + _HEADER_WINDOW:
            start, end, total = after
    end = _list_end(lines, _teasers_start(lines, scores, start, end))
    if end <= start:
        raise PageRejected(RejectReason.NO_ARTICLE, "no article text found in the page text")
    title = lines[0].text
    head_index = _find_headline(lines, start, Counter(line.key for line in lines))
    # the dateline sits between the headline and the story (or in its first lines); failing
    # that, anywhere in the header above the story
    low = max(0, start - _HEADER_WINDOW)
    near = max(low, min(head_index, start) - 2)
    found = find_dateline([ln.text for ln in lines[near : min(end, start + 10)]],
                          not_after=page.fetched_at)
    if found.published is None and found.modified is None:
        near = low
        found = find_dateline([ln.text for ln in lines[low : min(end, start + 10)]],
                              not_after=page.fetched_at)
    date_lines = {near + i for i in found.indices}
    headline = lines[head_index].text
    head_key = _norm(headline)
    # A dateline, the headline again or an image notice at the top of the run: what comes
    # before them is the standfirst, not the story.
    description, start = _split_standfirst(lines, start, end, set(date_lines), head_key)
    if description is None:
        # from the first showing of the headline: the one nearest the story may be a repeat
        # under the byline (an image's title), with the standfirst above it
        top = next((i for i in range(low, head_index) if lines[i].key == head_key), head_index)
        description = next((lines[i].text for i in range(max(top + 1, low), start)
                            if i not in date_lines and lines[i].prose and lines[i].weight >= 8
                            and not lines[i].furniture and lines[i].key != head_key), None)
    authors = _find_authors(lines, max(head_index, low), min(start + 3, end), date_lines,
                            head_index)
    body_lines = _drop_link_runs(lines[start:end])
    body = "\n\n".join(line.text for line in body_lines if line.key != head_key)
    if not body:
        raise PageRejected(RejectReason.NO_ARTICLE, "no article text found in the page text")
    # a page that shows only "Updated: ..." was published by then; that is the best we know
    published, modified = found.published or found.modified, found.modified
    return Extracted(
        body=body,
        headline=headline,
        description=description,
        authors=tuple(authors),
        published_at=published.instant if published else None,
        modified_at=modified.instant if modified else None,
        site_name=_site_name(lines, page.url, title),
        date_source="dateline" if published else None,
        extractor="text",
    )
