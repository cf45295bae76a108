"""Rule-based named entities: people, organisations and places, counted per article.

Pure and fast (regular expressions and word lists, no model): precision over recall.

    capitalised runs ("South Korean President Lee Jae Myung", "U.S.-China")
    -> pieces: split at function words, months, weekdays; hyphenated place pairs split
    -> typed mentions: title cue ("President X", "Mr X") = person; gazetteer = place or
       organisation (aliases normalised: "U.S." -> "United States"); organisation words
       ("Ministry", "Inc", "Party"); place words ("Peninsula", "Province"); a known given
       name or "X said" = person; anything else stays untyped
    -> merge: a one-word mention that is the first or last word of a person's full name
       counts for that person ("Trump" -> "Donald Trump"); untyped names are dropped.

Limits: English cues only; only the first 20,000 characters are read; a capitalised word
at the start of a sentence counts only when the gazetteer or a cue vouches for it, or the word
never appears in lower case in the text; names that no cue types (most organisations outside
the list, events, works) are left out; one-word names count only when they shorten a person's
full name found in the same text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from worker.pipeline.gazetteer import (
    DEMONYMS,
    GIVEN_NAMES,
    NOT_NAMES,
    ORG_WORDS,
    ORGANIZATIONS,
    PLACE_WORDS,
    PLACES,
    TITLES,
)
from worker.pipeline.types import Entity

PERSON, ORGANIZATION, PLACE = "person", "organization", "place"
MAX_ENTITIES = 30
# Only the first this many characters are read: bounds the time on very long pages, and
# the people and places of a news story are named early.
MAX_CHARS = 20_000

_UPPER = "".join(chr(c) for c in range(0x41, 0x530) if chr(c).isupper())
# One leading character class (not an alternation) lets the regex engine skip ahead fast.
_TOKEN = rf"[{_UPPER}](?:\.(?:[A-Z]\.)+|[\w'’\-]*)"  # "U.S.", "Trump's", "Jean-Luc"
_CONNECTOR = r"(?:of|for|of\ the|and|&|de|del|da|di|van|von|der|den|bin|al|ibn|le|la|du|dos)"
_RUN = re.compile(rf"{_TOKEN}(?:[ \t]+(?:{_CONNECTOR}[ \t]+)?{_TOKEN})*")
# "Mr. Smith" -> "Mr Smith", so the abbreviation's full stop does not end the run.
_ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "Gen", "Sen", "Rep", "Gov", "Lt", "Col", "Capt", "Sgt",
                  "Prof", "Rev", "St")
_ABBREV_DOT = re.compile(rf"\b({'|'.join(_ABBREVIATIONS)})\.(?=[ \t])")
_SAID_AFTER = re.compile(
    r"[ \t]*,?[ \t]*(?:said|says|told|added|wrote|stated|explained|noted|argued|tweeted)\b"
)
_SAID_BEFORE = re.compile(r"\b(?:said|says|told|according to)[ \t]+$")
_CONNECTORS = frozenset({"of", "for", "the", "and", "&", "de", "del", "da", "di", "van", "von",
                         "der", "den", "bin", "al", "ibn", "le", "la", "du", "dos"})
_NAME_BREAKS = frozenset({"of", "for", "the"})
# Ordinary words that, capitalised before "said", make a title or a body, not a person.
_COMMON_WORDS = frozenset("""
member members ranking official officials spokesman spokeswoman spokesperson minority majority
leader leaders chair committee staff team group board police army office department company
big small high low senior chief deputy assistant general public national federal state city
""".split())
_SENTENCE_END = ".!?:;\n\"“”'‘(["

Mention = tuple[str, str | None]  # (name, type or None when no cue said what it is)


def _known(name: str) -> Mention | None:
    if name in PLACES:
        return PLACES[name], PLACE
    if name in ORGANIZATIONS:
        return ORGANIZATIONS[name], ORGANIZATION
    return None


def _clean_token(token: str) -> str:
    """Strip possessives ("Trump's", "Reuters'") and stray hyphens/quotes at the end."""
    for suffix in ("'s", "’s"):
        if token.endswith(suffix):
            token = token[: -len(suffix)]
    return token.rstrip("'’-")


def _normal_token(token: str) -> str | None:
    """The token as a name word, or None when it cannot be part of a name."""
    token = _clean_token(token)
    if len(token) < 2 or token in NOT_NAMES:
        return None
    letters = token.replace(".", "").replace("-", "")
    if letters.isupper() and letters.isalpha():  # acronyms and shouted headings
        if token in PLACES or token in ORGANIZATIONS or "." in token:
            return token
        titled = token.title()
        return titled if titled in PLACES else None
    return token


def _split_hyphens(tokens: list[str]) -> Iterator[list[str]]:
    """Split "U.S.-China" into its places; keep "Indo-Pacific" and "Jean-Luc" whole."""
    current: list[str] = []
    for token in tokens:
        parts = token.split("-")
        if len(parts) > 1 and _known(token) is None and any(_known(p) for p in parts):
            *heads, last = parts
            if current:
                yield current
            yield from ([h] for h in heads if h[:1].isupper())
            current = [last] if last[:1].isupper() else []  # "Washington-based Council"
        else:
            current.append(token)
    if current:
        yield current


def _strip_connectors(tokens: list[str]) -> list[str]:
    start, end = 0, len(tokens)
    while start < end and tokens[start] in _CONNECTORS:
        start += 1
    while end > start and tokens[end - 1] in _CONNECTORS:
        end -= 1
    return tokens[start:end]


def _person_mentions(tokens: list[str], said: bool) -> Iterator[Mention]:
    """A name after a title: the person, then whatever follows "of"/"for"/"and" in the run."""
    while tokens and tokens[0] in DEMONYMS:
        tokens = tokens[1:]
    for k, token in enumerate(tokens):
        if token in _NAME_BREAKS or token in ("and", "&"):
            yield from _person_mentions(tokens[:k], False)
            yield from _typed_mentions(tokens[k + 1 :], said)
            return
    if tokens:
        name = " ".join(tokens)
        yield _known(name) or (name, PERSON)


def _title_of(tokens: list[str], said: bool) -> Iterator[Mention]:
    """After "<title> of": the office's place or body, then a person from a given name on."""
    first = next((i for i, t in enumerate(tokens) if t in GIVEN_NAMES), None)
    yield from _typed_mentions(tokens[:first], False)
    if first is not None:
        yield from _person_mentions(tokens[first:], said)


def _and_split(tokens: list[str]) -> int | None:
    """Where "and"/"&" joins two names, or None when a known name spans it ("Bosnia and
    Herzegovina", "Securities and Exchange Commission") or there is none."""
    for k, token in enumerate(tokens):
        if token not in ("and", "&"):
            continue
        spanned = any(_known(" ".join(tokens[i:j])) is not None
                      for i in range(max(0, k - 4), k)
                      for j in range(k + 2, min(len(tokens), k + 5) + 1))
        if not spanned:
            return k
    return None


def _typed_mentions(tokens: list[str], said: bool) -> Iterator[Mention]:
    """Mentions in one capitalised piece (no function words inside, sentence start handled)."""
    tokens = _strip_connectors(tokens)
    if not tokens:
        return
    for k, token in enumerate(tokens[:-1]):
        if token.rstrip(".") in TITLES and tokens[k + 1].rstrip(".") not in TITLES:
            names = [t for t in tokens[k + 1 :] if t.rstrip(".") not in TITLES]
            head = names[: next((i for i, t in enumerate(names) if t in _NAME_BREAKS),
                                len(names))]
            if any(t in ORG_WORDS for t in head):  # "Justice Department", "General Motors"
                break
            if names[0] in _NAME_BREAKS:  # "Secretary of State Mike Pompeo", "Founder of X"
                if k:
                    yield from _typed_mentions(tokens[:k], False)
                yield from _title_of(names[1:], said)
                return
            if k:
                yield from _typed_mentions(tokens[:k], False)
            yield from _person_mentions(_strip_connectors(names), said)
            return
    if tokens[-1].rstrip(".") in TITLES:  # "the President", "Foreign Minister": no name
        yield from _typed_mentions(tokens[:-1], False)
        return
    whole = " ".join(tokens)
    known = _known(whole)
    if known is not None:
        yield known
        return
    cut = _and_split(tokens)
    if cut is not None:  # "Jeremy Corbyn and Boris Johnson", "Gannett and GateHouse Media"
        yield from _typed_mentions(tokens[:cut], False)
        yield from _typed_mentions(tokens[cut + 1 :], said)
        return
    if len(tokens) >= 2 and any(t in ORG_WORDS for t in tokens):
        brk = next((i for i, t in enumerate(tokens) if t in _NAME_BREAKS), None)
        if (brk is not None and tokens[0] in GIVEN_NAMES
                and not any(t in ORG_WORDS for t in tokens[:brk])):
            # "Penelope Abernathy of the University of North Carolina": a person, then where
            yield " ".join(tokens[:brk]), PERSON
            yield from _typed_mentions(tokens[brk + 1 :], False)
            return
        yield whole, ORGANIZATION
        return
    if len(tokens) >= 2 and tokens[-1] in PLACE_WORDS and tokens[0] not in DEMONYMS:
        yield whole, PLACE
        return
    yield from _gazetteer_scan(tokens, said)


def _gazetteer_scan(tokens: list[str], said: bool) -> Iterator[Mention]:
    """Longest gazetteer matches left to right; the words between are judged on their own."""
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        for j in range(min(len(tokens), i + 5), i, -1):
            known = _known(" ".join(tokens[i:j]))
            if known is not None:
                yield from _untyped_mentions(rest, False)
                rest = []
                if j == i + 1 and tokens[i] in GIVEN_NAMES:  # "Jordan Smith", not Jordan
                    end = i + 1
                    while (end < min(len(tokens), i + 3) and _known(tokens[end]) is None
                           and tokens[end] not in _CONNECTORS):
                        end += 1
                    if end > i + 1:
                        known, j = (" ".join(tokens[i:end]), PERSON), end
                yield known
                i = j
                break
        else:
            rest.append(tokens[i])
            i += 1
    yield from _untyped_mentions(rest, said)


def _name_like(tokens: list[str]) -> bool:
    """No word of the name is an ordinary word ("Ranking Member said" is not a person)."""
    return not any(t.lower() in _COMMON_WORDS for t in tokens)


def _untyped_mentions(tokens: list[str], said: bool) -> Iterator[Mention]:
    """A name no list knows: a person when it starts with a given name or says something."""
    tokens = _strip_connectors([t for t in tokens if t not in DEMONYMS])
    if not tokens:
        return
    name = " ".join(tokens)
    if 2 <= len(tokens) <= 4 and (tokens[0] in GIVEN_NAMES or (said and _name_like(tokens))):
        yield name, PERSON
    else:
        yield name, None


def _starts_sentence(text: str, start: int) -> bool:
    before = text[max(0, start - 4) : start]
    head = before.rstrip(" \t")
    if not head:
        return start < 4 or not text[: start].strip()
    return head[-1] in _SENTENCE_END or before.endswith("\n")


def _is_common_word(word: str, text: str) -> bool:
    """True when the word also appears in lower case (so capitalised, it opens a sentence)."""
    lower = word.lower()
    if lower == word:
        return False
    at = text.find(lower)
    while at >= 0:
        end = at + len(lower)
        starts = at == 0 or not text[at - 1].isalnum()
        if starts and (end == len(text) or not text[end].isalnum()):
            return True
        at = text.find(lower, end)
    return False


def _run_mentions(run: str, text: str, opener: bool, said: bool) -> list[Mention]:
    """Mentions in one capitalised run; `opener`: it starts a sentence; `said`: "X said"."""
    if " " not in run and "\t" not in run and "-" not in run:  # one word: the fast path
        token = _normal_token(run)
        if token is None or token in DEMONYMS or token.rstrip(".") in TITLES:
            return []
        known = _known(token)
        if known is not None:
            return [known]
        if token in GIVEN_NAMES or (opener and _is_common_word(token, text)):
            return []
        return [(token, None)]
    pieces: list[list[str]] = [[]]
    for raw in run.split():
        token = raw if raw in _CONNECTORS else _normal_token(raw)
        if token is None:
            pieces.append([])
            continue
        pieces[-1].append(token)
        if raw.endswith(("'s", "’s")):  # "Justice Katju's Remarks": the name ends here
            pieces.append([])
    pieces = [p for p in pieces if p]
    if not pieces:
        return []
    first = pieces[0][0]
    if (opener and run.startswith(first) and _known(first) is None
            and first.rstrip(".") not in TITLES and first not in GIVEN_NAMES
            and _is_common_word(first, text)):
        pieces[0] = pieces[0][1:]
    said = said and len(pieces[-1]) > 1
    found: list[Mention] = []
    for n, piece in enumerate(pieces):
        last = n == len(pieces) - 1
        for part in _split_hyphens(piece):
            found.extend(_typed_mentions(part, said and last))
    return found


def _mentions(text: str) -> Iterator[Mention]:
    if any(f"{abbrev}. " in text for abbrev in _ABBREVIATIONS):
        text = _ABBREV_DOT.sub(r"\1", text)
    seen: dict[tuple[str, bool, bool], list[Mention]] = {}  # runs repeat: "Trump", "U.S."
    for match in _RUN.finditer(text):
        run = match.group()
        if run in NOT_NAMES:  # most runs: "The", "He", "In", "However"
            continue
        start = match.start()
        opener = _starts_sentence(text, start)
        said = (" " in run or "\t" in run) and (
            _SAID_AFTER.match(text, match.end()) is not None
            or _SAID_BEFORE.search(text, max(0, start - 16), start) is not None
        ) and not any(_is_common_word(w, text) for w in run.split()[1:])
        key = (run, opener, said)
        found = seen.get(key)
        if found is None:
            found = seen[key] = _run_mentions(run, text, opener, said)
        yield from found


def find_entities(text: str) -> tuple[Entity, ...]:
    """People, organisations and places named in the text, most mentioned first."""
    votes: dict[str, Counter[str]] = {}
    untyped: Counter[str] = Counter()
    if len(text) > MAX_CHARS:
        cut = text.rfind("\n", MAX_CHARS // 2, MAX_CHARS)
        if cut < 0:
            cut = text.rfind(" ", MAX_CHARS // 2, MAX_CHARS)
        text = text[: cut if cut > 0 else MAX_CHARS]
    for name, kind in _mentions(text):
        if kind is None:
            untyped[name] += 1
        else:
            votes.setdefault(name, Counter())[kind] += 1
    counts = {name: sum(v.values()) + untyped.pop(name, 0) for name, v in votes.items()}
    kinds = {name: v.most_common(1)[0][0] for name, v in votes.items()}
    _merge_short_names(counts, kinds, untyped)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(Entity(name, kinds[name], count) for name, count in ranked[:MAX_ENTITIES])


def _merge_short_names(counts: dict[str, int], kinds: dict[str, str],
                       untyped: Counter[str]) -> None:
    """Count "Trump" and "Mr Trump" for "Donald Trump" when exactly one full name fits."""
    full = [n for n, k in kinds.items() if k == PERSON and " " in n]
    # A full name no cue typed becomes a person when a titled short form points at it.
    full += [n for n in untyped if " " in n and 2 <= n.count(" ") + 1 <= 4]
    owners: dict[str, set[str]] = {}
    for name in full:
        words = name.split()
        for word in {words[0], words[-1]}:
            owners.setdefault(word, set()).add(name)
    shorts = [(n, counts[n]) for n, k in kinds.items() if k == PERSON and " " not in n]
    shorts += [(n, c) for n, c in untyped.items() if " " not in n]
    for short, count in shorts:
        candidates = owners.get(short, set())
        if len(candidates) != 1:
            continue
        (owner,) = candidates
        if owner not in kinds:
            if short not in kinds:  # an untyped word can't vouch for an untyped name
                continue
            kinds[owner] = PERSON
            counts[owner] = untyped[owner]
        counts[owner] += count
        counts.pop(short, None)
        kinds.pop(short, None)
