"""Cleaning shared by HTML and text pages: headlines without site names, bodies without furniture.

Body cleaning works on paragraphs (blank-line separated) and removes what is about the page
rather than the story: a repeat of the headline or standfirst, bylines and datelines, photo
credits, calls to action ("Read more", "Sign up", "Follow us"), and trailing copyright or
"contributed to this report" lines. Rules look at the shape of a line, never at a site name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from urllib.parse import urlsplit

from worker.pipeline.dates import is_dateline
from worker.pipeline.dedupe import WIRE_PREFIX
from worker.pipeline.repeats import drop_repeated_runs
from worker.pipeline.safety import KEEP_SHARE, removal_is_proven
from worker.pipeline.safety import words as count_words
from worker.pipeline.types import Extracted, RawPage

_SPACES = re.compile(r"[ \t\u00a0\u2009\u200b]+")
_WORD = re.compile(r"\w+")
_SEPARATORS = (" - ", " | ", " – ", " — ", " :: ", " · ", " » ", " / ")
# A trailing " | Site" part is dropped when it names the site: its words appear in the
# domain or in the declared site name.
_MAX_DECORATION_WORDS = 6

# Lines that are furniture wherever they appear (matched on the start of the line).
_FURNITURE = re.compile(
    r"^(?:read (?:more|also|next)|see (?:more|also)|also read|related(?: articles?| stories| "
    r"coverage| content| roundup)?\s*:|related\s*$|more from|more on this|recommended|"
    r"don'?t miss|you may (?:also )?like|you might (?:also )?like|trending|most (?:read|popular)|"
    r"sign up|subscribe (?:to|now|for|here)|get (?:our|the) .{0,30}newsletter|newsletter|"
    r"follow (?:us|@)|like (?:us|this story)|share (?:this|on)|click here|tap here|"
    r"advertisement|story continues below|continue reading|explore further|order reprints|"
    r"print article|tags?\s*:|tags\s*$|topics?\s*:|filed under|categor(?:y|ies)\s*:|"
    r"listen(?: to)?\s*:|download\s*:|watch\s*:|leia (?:também|mais)|veja também|leggi anche|"
    r"lesen sie auch|lire aussi|baca juga|also on \S+|comments?\s*$|\d+ comments?\s*$|"
    r"tell us what you think|this article (?:has been|was) sent|thank you\s*$|"
    r"an error has occurred|image (?:source|credit)\s*:|photo(?:graph)?s?(?: credit)?\s*:|"
    r"pictures?\s*:|foto\s*:|credit\s*:|source\s*:\s*[^.]{0,50}$|getty images\s*$|more\s*:?\s*$|"
    r"follow\b.{0,80}\b(?:on|at)\s+(?:twitter|facebook|instagram|youtube|linkedin|tiktok|https?:)|"
    r"follow .{0,40}(?:full )?coverage|if you (?:enjoyed|liked) this|if you buy something|"
    r".{0,60}\bmay (?:earn|receive|get) (?:a )?(?:small )?(?:commission|share of the sale)|"
    # the newsletter box's heading in other languages ("Boletín diario", "Unser Newsletter")
    r"(?:boletín|boletim|nieuwsbrief|infolettre|lettre d'information|unser newsletter|"
    r"la (?:nostra )?newsletter|a (?:nossa )?newsletter|la newsletter|le newsletter)\b.{0,40}$)",
    re.IGNORECASE,
)
# A newsletter or subscription pitch: a short paragraph ending in the call to action
# ("... in your inbox. Sign up to our free newsletter.", "... Apúntate gratis.").
_CALL_TO_ACTION = re.compile(
    r"(?:^|[.!?]\s+)(?:sign up|subscribe|register|apúntate|suscríbete|regístrate|inscríbete|"
    r"abonnez-vous|inscrivez-vous|iscriviti|abbonati|registrati|jetzt (?:anmelden|abonnieren|"
    r"registrieren)|melden sie sich|abonnieren sie|registrieren sie sich|inscreva-se|assine|"
    r"cadastre-se|meld je aan|schrijf je in|abonneer je|registreer je)\b[^.!?]{0,60}[.!]?$",
    re.IGNORECASE,
)
# Lines that end a story: everything from the first of them (in the last third) is dropped.
_TAIL = re.compile(
    r"^(?:copyright|©|\(c\) \d{4}|all rights reserved|write to .{0,60}@|this copy is for your|"
    r"\(?(?:additional )?reporting by|\(?(?:writing|editing) by|"
    r".{0,80}contributed to this report|.{0,60}(?:follow (?:him|her|them) on|"
    r"is (?:a|an|the) .{0,40}(?:writer|reporter|editor|correspondent|curator) (?:at|for|of)))",
    re.IGNORECASE,
)
_BYLINE = re.compile(r"^(?:by|por|di|von|par|oleh|от|written by|words by)\s+\S", re.IGNORECASE)
_DATE_WORDS = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july "
    "august september october november december mon tue wed thu fri sat sun monday tuesday "
    "wednesday thursday friday saturday sunday am pm at on published updated posted last "
    "modified publicado atualizado em de às janeiro fevereiro março abril maio junho julho agosto "
    "setembro outubro novembro dezembro segunda terça quarta quinta sexta sábado domingo feira "
    "pubblicato aggiornato il gennaio febbraio marzo aprile maggio giugno luglio settembre ottobre "
    "dicembre veröffentlicht aktualisiert uhr am um januar februar märz juni juli oktober dezember "
    "ist gmt utc est edt pst pdt bst cet cest jst kst hrs date time diterbitkan".split()
)
# A line with this many spaces has well over 40 words: no furniture rule can match it.
_LONG_LINE_SPACES = 60
_YEAR_OR_CLOCK = re.compile(r"\b(?:19|20)\d\d\b|\b\d{1,2}[:.]\d\d\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


_HOST_SUFFIXES = frozenset(
    "com net org co uk gov edu info biz ac au in br de fr it jp es ru ca".split())
_GENERIC_SITE_WORDS = frozenset({"news", "blog", "online", "daily", "times", "the", "and"})


def _site_words(site_name: str | None, url: str | None) -> set[str]:
    """Distinctive words naming the site: from its declared name and its host name."""
    words = set(_norm(site_name or "").split())
    if site_name:
        words.add("".join(_norm(site_name).split()))
    if url:
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        words.add(host.replace(".", ""))
        # the registrable label ("bbc" in www.bbc.co.uk) names the site even when short
        labels = [w for w in host.split(".") if w not in _HOST_SUFFIXES]
        words |= {w for w in labels[-1:] if len(w) >= 3}
        words |= {w for w in re.split(r"[.\-]", host) if len(w) >= 4}
    return {w for w in words if len(w) >= 3} - _GENERIC_SITE_WORDS


def _is_decoration(part: str, site_words: set[str]) -> bool:
    """True when a headline part ('The Beachbody Blog', 'Express.co.uk') names the site."""
    words = _norm(part).split()
    if not words or len(words) > _MAX_DECORATION_WORDS:
        return False
    squashed = "".join(words)
    # the site's words must be most of the part: "BBC News" for bbc.co.uk, not "ABC fined ..."
    return any((w in squashed and len(w) >= 0.4 * len(squashed))
               or (len(squashed) >= 4 and squashed in w) for w in site_words)


def _split_decoration(text: str, site_words: set[str]) -> tuple[str, str | None]:
    """(headline, the first part removed because it names the site)."""
    removed: str | None = None
    for _ in range(2):  # "Story | Section | Site"
        for sep in _SEPARATORS:
            head, found, tail = text.rpartition(sep)
            if found and head.strip() and _is_decoration(tail, site_words):
                text, removed = head.strip(), removed or tail.strip()
                break
            head, found, tail = text.partition(sep)
            if found and tail.strip() and _is_decoration(head, site_words):
                text, removed = tail.strip(), removed or head.strip()
                break
    return text, removed


def clean_headline(headline: str, site_name: str | None, url: str | None = None) -> str:
    """Remove wire prefixes and a ' - SiteName' / 'SiteName | ' decoration."""
    text = WIRE_PREFIX.sub("", _SPACES.sub(" ", headline).strip())
    text, _ = _split_decoration(text, _site_words(site_name, url))
    return text.strip() or headline.strip()


def site_name_from_title(title: str, url: str) -> str | None:
    """The site's name as its <title> decoration gives it ('Story | Lakeside Post')."""
    _, removed = _split_decoration(_SPACES.sub(" ", title).strip(), _site_words(None, url))
    return removed


def _is_dateline(line: str) -> bool:
    """A short line that is mostly a date: 'Published 18 November 2019', '22/01/2018 às 0:13'."""
    if not _YEAR_OR_CLOCK.search(line):  # (the cheap test first: most lines have no date)
        return False
    words = _WORD.findall(line.casefold())
    if not words or len(words) > 14:
        return False
    datey = sum(1 for w in words if w.isdigit() or w in _DATE_WORDS)
    return datey >= 0.6 * len(words) or is_dateline(line)


def _is_byline(line: str, author_keys: frozenset[str]) -> bool:
    """'By Jane Doe', or a line that is one of the authors' names (`author_keys`: their _norm)."""
    by = _BYLINE.match(line) is not None
    if not by and not author_keys:  # (the cheap tests first: most lines are neither)
        return False
    words = len(_WORD.findall(line))
    if words > 16:
        return False
    if by and (words <= 10 or "|" in line or _YEAR_OR_CLOCK.search(line)):
        return True
    return bool(author_keys) and _norm(line) in author_keys


def _is_furniture(line: str) -> bool:
    # the patterns first: most lines match neither, and then need no word count
    return (_FURNITURE.match(line) is not None or _CALL_TO_ACTION.search(line) is not None
            ) and len(_WORD.findall(line)) <= 40


def _is_label(line: str) -> bool:
    """A kicker or section label: one to three words, not a sentence ('Sequía', 'Politics')."""
    return len(_WORD.findall(line)) <= 3 and not line.rstrip().endswith((".", "!", "?", ":"))


def _near(norm: str, other: str) -> bool:
    """Equal, or one a truncation of the other ('... auditors say …' as og:description)."""
    if not norm or not other:
        return False
    short, long = sorted((norm, other), key=len)
    return long.startswith(short) and len(short) >= 0.8 * len(long)


def clean_body(
    body: str,
    headline: str | None,
    description: str | None = None,
    authors: tuple[str, ...] = (),
) -> str:
    """Paragraphs separated by one blank line, without page furniture around the story."""
    paragraphs = [_SPACES.sub(" ", p).strip() for p in re.split(r"\n\s*\n|\n", body)]
    paragraphs = [p for p in paragraphs if p and _WORD.search(p)]
    head = _norm(headline or "")
    lead = _norm(description or "")
    author_keys = frozenset(_norm(a) for a in authors)

    def is_header(index: int) -> bool:
        line = paragraphs[index]
        return _norm(line) == head or _is_byline(line, author_keys) or _is_dateline(line)

    # The top of the page: headline repeats, bylines, datelines; a kicker label above them and
    # the standfirst (the description) among them. A paragraph equal to the description with
    # story text right after it is not dropped: many sites make og:description from the lede.
    start = 0
    while start < len(paragraphs) and start < 6:
        following = start + 1 < len(paragraphs) and is_header(start + 1)
        if is_header(start) or (following and (
                _is_label(paragraphs[start]) or _near(_norm(paragraphs[start]), lead))):
            start += 1
            continue
        break
    kept: list[str] = []
    repeat_headline = len(head.split()) >= 4
    for line in paragraphs[start:]:
        # Furniture, datelines and bylines are short (<= 40 words): prose skips the checks.
        if line.count(" ") < _LONG_LINE_SPACES:
            if _is_furniture(line) or _is_dateline(line) or _is_byline(line, author_keys):
                continue
            if repeat_headline and _norm(line) == head:
                continue  # the headline again, in a share box or a related card
        kept.append(line)
    # The end of the story: copyright, "write to", author bios.
    cut = len(kept)
    for index in range(len(kept) - 1, max(0, (2 * len(kept)) // 3 - 1), -1):
        if _TAIL.match(kept[index]) and len(_WORD.findall(kept[index])) <= 60:
            cut = index
    return "\n\n".join(kept[:cut] if cut > 0 else kept)


_AUTHOR_SPLIT = re.compile(r"\s+(?:and|und|et|e|y|&)\s+|\s*[,;|/]\s*|\s+-\s+", re.IGNORECASE)
_AUTHOR_PREFIX = re.compile(
    r"^(?:[\w-]+\s+){0,2}?(?:by|por|di|von|par|oleh|от)\s*:?\s+",
    re.IGNORECASE,
)
_NOT_A_NAME = re.compile(
    r"@|https?:|www\.|\d|^(?:staff|editor|admin|guest|contributor|reporter|correspondent|"
    r"updated|published|posted|more|follow|view all.*|and)$|\b(?:editor|writer|correspondent|"
    r"reporter|columnist|contributor|editor-at-large|producer|analyst|manager|director|"
    r"founder|co-founder|ceo|cto|cmo|consultant|strategist|specialist|attorney|lawyer|"
    r"engineer|developer|president|officer|coordinator|head of|senior|associate)\b",
    re.IGNORECASE,
)
_URL_OR_MAIL = re.compile(r"https?:|www\.|\.com/|@")
# Letters after a name: degrees and licences (MD, PhD, RDN, PA-C, CPP).
_CREDENTIAL = re.compile(r"^(?:[A-Z]{2,5}(?:-[A-Z])?|Ph\.?D\.?|M\.?D\.?|Dr\.?P\.?H\.?)$")
# "WASHINGTON (Reuters) -": the agency of a wire story that names no author.
_WIRE_DATELINE = re.compile(
    r"^[A-Z][\w .,'/-]{0,40}\((Reuters|AP|AFP|Bloomberg|UPI|dpa|ANI|PTI|IANS|Xinhua)\)\s*[-—–:]")


def clean_authors(authors: tuple[str, ...] | list[str], body: str = "") -> tuple[str, ...]:
    """Author names and agencies: split 'By X and Y', no 'By', no duplicates, no junk."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in authors:
        if _URL_OR_MAIL.search(raw):
            continue  # a profile link or an address, not a name
        text = _AUTHOR_PREFIX.sub("", _SPACES.sub(" ", raw).strip())
        for part in _AUTHOR_SPLIT.split(text):
            name = _AUTHOR_PREFIX.sub("", part.strip(" .:-–—()")).strip()
            key = _norm(name)
            if (not key or key in seen or len(key.split()) > 5 or len(name) > 60
                    or _NOT_A_NAME.search(name)):
                continue
            if out and _CREDENTIAL.match(name):
                out[-1] = f"{out[-1]}, {name}"  # "Jane Doe, MS, RDN": one author, as shown
                continue
            seen.add(key)
            out.append(name)
    if not out and body:
        match = _WIRE_DATELINE.match(body)
        if match:
            out.append(match.group(1))
    return tuple(out[:12])


def clean_extracted(extracted: Extracted, page: RawPage) -> Extracted:
    """Apply headline and body cleaning to what extraction found."""
    headline = (clean_headline(extracted.headline, extracted.site_name, page.url)
                if extracted.headline else None)
    authors = clean_authors(extracted.authors, extracted.body)
    body = clean_body(extracted.body, headline, extracted.description, authors) or extracted.body
    source = extracted.unfiltered
    if source is not None and not removal_is_proven(source, count_words(body)):
        # The safety rule (safety.py): no proof for cutting most of what trafilatura found.
        lines = clean_body(source.text, headline, extracted.description, authors)
        body = lines if count_words(lines) >= KEEP_SHARE * source.words else source.text
    # after the safety rule: a repeated copy holds no word the body does not keep once
    body = drop_repeated_runs(body)
    return replace(extracted, headline=headline, body=body, authors=authors)
