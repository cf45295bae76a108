"""Story identity: which story a page belongs to, and whether it is that story's next version.

Pure: entries go in as values and come out as values (worker/pipeline/state.py stores them).
Three kinds of state, each with exactly one writer, the owner of its key's partition:

  URL entry     key: the article id (hash of the canonical URL). The URL is bound to a story,
                as the story's own URL or as a copy of another story. Only this entry assigns
                versions, so every version of a story comes from its own URL's entry.
  headline and  key: the headline key / the body key. Stories registered under that key (id,
  body index    anchor time, SimHash); a page of a URL seen for the first time is matched there.

`decide_url` is the URL stage. A URL already bound decides at once:
  * bound as a copy of story A -> a duplicate of A (copies never make versions);
  * a page declaring another site's URL as canonical -> a duplicate of the story (never a
    version);
  * the same input message again (origin), when it produced the latest version -> nothing
    published if the re-extracted record has the same hash (a crash replay: its article is on
    the broker already; route.py says why it is not sent again); from the story's own URL
    with another hash, the next version (so (id, version) never gets a second content);
  * the latest version's article refused for good (`UrlEntry.refused`: a refused version keeps
    its number, route.py) -> a page of another message with that very content publishes that
    version again, identical (the refused page redriven); another content not older than it
    and not an earlier version's is the next version (a duplicate would point at a version
    consumers may never get);
  * a newer page whose material body or headline changed, and not back to an earlier
    version's exact (headline, body) -> the next version; anything else -> a duplicate.
A URL not bound (never seen, or its entry expired after `identity_horizon`) needs the content
indexes: the URL's entry becomes *pending* and the caller probes the body index, then the
headline index (`probe_body`, `probe_headline`), and calls `decide_url` again with the result:
a match on another story makes the URL a copy of it (duplicate); no match makes it a new
story, version 1. Pages of a pending URL are *parked* behind the probe (their records kept
under their own keys) and decided, in arrival order, as soon as the probe's verdict binds the
URL: one probe per URL at a time, so a re-crawl never races its URL's first verdict. At most
MAX_PARKED pages wait behind one probe (the next is rejected, with a reason).

A probe can be lost (a hop the broker refused for good, a hop record that failed routing): a
URL waiting longer than `dedupe_window` of data time for its probe is *stalled*, and so is one
whose verdict could not be published (`released`). The sweep finds stalled URLs and sends them
a `release` record: the first page waiting (the probing one if its record is kept, else the
first parked) probes again, with its record kept until its verdict returns; after MAX_PROBES
probes the pages still waiting are rejected. A URL is never wedged for good, and a page parked
behind a probe gets a record or a rejection. A probe that was only slow is harmless: its late
verdict finds the URL bound (decided against it), or waiting again and then, being the first
verdict back, binds it (`_late_verdict`; the re-probing page goes back in the queue).

Because only one probe per URL is in flight (after a release, two can be: the first verdict
back decides), its verdict cannot be overruled: the headline index (the probe's last)
registers the page at once, as the new story it will be or as an alias of the story it
copies, and has the body index register it too. A copy probing right
behind the first sighting of its story finds it, and every story id an index names is, or is
about to be, published as version 1, except after a stale hop (a probe's hop decided again
after its story aged out of the index registers the page's own id although its URL is bound
as a copy): so a copy's verdict passes its target's URL key first (route.py `_resolve`) and
names the story that URL is bound to. Versions (`_next_version`) register their new headline
and body keys after the decision.

"Newer": by `modified_at` when both pages declare different ones, else by fetch time (and at
the same fetch time, by a declared modification later than the version's content time).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from worker.pipeline.fingerprint import Fingerprint, hamming
from worker.pipeline.options import PipelineOptions

# SimHash bits two bodies may differ by and still be one story. Measured on corpus bodies:
# unrelated pairs differ by >= 16 bits (321 aeb-dev and wcxb-dev bodies, 51,360 pairs; >= 17
# on the 121 aeb-dev ones `make bench` uses); a copy with another dateline, credit line,
# furniture line or one more paragraph by <= 12 (98-100 %; bench/state.py).
HEADLINE_DISTANCE = 12  # same headline and time: the body only has to be near-identical
BODY_DISTANCE = 8  # same body key but another headline: stricter
MAX_ORIGINS = 8  # input positions remembered per URL, to recognise a crash replay
MAX_SEEN = 4  # earlier versions' (headline, body) remembered per URL
MAX_INDEXED = 16  # stories kept per index key (a generic headline must not grow without bound)
MAX_PARKED = 32  # pages waiting behind one probe (a live page crawled every 5 min: 2.7 h)
MAX_PROBES = 3  # probes of one URL's waiting pages before they are rejected


class Action(StrEnum):
    """What the URL stage does with a page."""

    DECIDED = "decided"  # the verdict is set
    PROBE = "probe"  # a first sighting: probe the content indexes; the URL is now pending
    PARK = "park"  # a probe for this URL is in flight: wait behind it
    WAIT = "wait"  # this very page is already probing or parked (a replay): nothing to do
    FULL = "full"  # MAX_PARKED pages wait behind the probe already: reject this one


class Verdict(StrEnum):
    NEW = "new"
    UPDATE = "update"
    DUPLICATE = "duplicate"
    # The very message that produced the latest version, delivered again (a crash replay):
    # recognised, and nothing is published (its article is on the broker already).
    REDELIVERY = "redelivery"


class MatchBy(StrEnum):
    """Why a page is a duplicate of a story."""

    URL = "url"  # its URL is bound to the story (a re-crawl, or a copy's URL again)
    CANONICAL = "canonical"  # it declares the story's URL (on another site) as canonical
    HEADLINE = "headline"  # another URL: same headline, time and near-identical body
    BODY = "body"  # another URL: same body key, time and (stricter) near-identical body


@dataclass(frozen=True, slots=True)
class Match:
    """A story a page matched in a content index."""

    story: str
    by: MatchBy


@dataclass(frozen=True, slots=True)
class Probe:
    """What the content indexes said about a first sighting."""

    match: Match | None


@dataclass(frozen=True, slots=True)
class Registration:
    """Register `story` under an index key (`index` "h" or "b")."""

    index: str
    key: str
    story: str


@dataclass(slots=True)
class UrlEntry:
    """What we remember of one canonical URL (times in epoch seconds)."""

    story: str  # "" while the URL's first probe is in flight (pending)
    own: bool
    version: int = 0  # latest version published (own URLs only)
    record: str = ""  # record hash of that version
    body: str = ""  # its material body hash
    headline: str = ""  # its headline key
    modified: int | None = None
    fetched: int = 0
    last_seen: int = 0
    seen: list[list[str]] = field(default_factory=list)  # earlier [headline, body] pairs
    origins: dict[str, int] = field(default_factory=dict)  # input position -> version (0: dup)
    pending: str | None = None  # the origin of the page whose probe is in flight
    # [origin, page id] of the pages waiting behind it, in arrival order
    parked: list[list[str]] = field(default_factory=list)
    since: int = 0  # data time the pending probe started (0: released, stalled at once)
    probes: int = 0  # probes of this URL's waiting pages since its first one (releases)
    kept: bool = False  # the pending page's record is kept under its parked key (re-probes)
    # Origins of the pages the verdict sent back to this key (route.py), not decided yet: their
    # original records, replayed after a crash, wait for the copies sent back (see decide_url).
    sent: list[str] = field(default_factory=list)
    # [origin, record hash] of copies of the probing page's own message (redeliveries with
    # another hash) that waited while it probed: answered by its verdict, so a replay of one
    # publishes nothing (it published nothing the first time; see decide_url).
    waited: list[list[str]] = field(default_factory=list)
    # [origin, record hash] of the page whose article, as `version`, the broker refused for
    # good (route.py: the refused record's fallback); [] once that version is known to be out
    # or superseded. The number stays taken: the broker may hold that article already (it
    # accepted it before a crash lost this entry's writes, then refused the replay), so only
    # that content may ever be `version` (see _known_url).
    refused: list[str] = field(default_factory=list)

    @property
    def bound(self) -> bool:
        return bool(self.story)

    @property
    def waiting(self) -> bool:
        """A probe is in flight or pages wait behind it: not forgotten meanwhile."""
        return not self.bound and (self.pending is not None or bool(self.parked))

    def expires_at(self, options: PipelineOptions) -> int:
        """When the sweep acts on it: forgets a URL, or releases a waiting one (stalled)."""
        if self.waiting:
            if self.pending is None:
                return 0
            return self.since + int(options.dedupe_window.total_seconds())
        return self.last_seen + int(options.identity_horizon.total_seconds())

    def stalled(self, clock: int, options: PipelineOptions) -> bool:
        """Waiting for a probe that is presumed lost (or whose verdict was not published)."""
        return self.waiting and clock > self.expires_at(options)

    def probe(self) -> list[Any]:
        """Which wait this is (the probing page, since when, how many probes): a release
        names it, so it acts on that wait only (route.py `_release`)."""
        return [self.pending, self.since, self.probes]

    def released(self) -> UrlEntry | None:
        """This entry once its probe is given up (None: nothing waits, forget it)."""
        if not self.parked:
            return None
        return UrlEntry("", False, last_seen=self.last_seen, parked=list(self.parked),
                        probes=self.probes)

    def to_dict(self) -> dict[str, Any]:
        return {"s": self.story, "own": self.own, "v": self.version, "rh": self.record,
                "mh": self.body, "hk": self.headline, "m": self.modified, "f": self.fetched,
                "l": self.last_seen, "seen": self.seen, "o": self.origins, "p": self.pending,
                "pk": self.parked, "ps": self.since, "pn": self.probes, "pr": self.kept,
                "sb": self.sent, "wd": self.waited, "rf": self.refused}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UrlEntry:
        return cls(
            story=str(data["s"]), own=bool(data["own"]), version=int(data["v"]),
            record=str(data["rh"]), body=str(data["mh"]), headline=str(data["hk"]),
            modified=None if data["m"] is None else int(data["m"]), fetched=int(data["f"]),
            last_seen=int(data["l"]), seen=[[str(h), str(b)] for h, b in data["seen"]],
            origins={str(k): int(v) for k, v in data["o"].items()},
            pending=None if data.get("p") is None else str(data["p"]),
            parked=[[str(o), str(i)] for o, i in data.get("pk") or ()],
            # Entries written before the probe timeout: their probe started by last_seen.
            since=int(data.get("ps", data["l"])), probes=int(data.get("pn", 0)),
            kept=bool(data.get("pr", False)), sent=[str(o) for o in data.get("sb") or ()],
            waited=[[str(o), str(h)] for o, h in data.get("wd") or ()],
            refused=[str(v) for v in data.get("rf") or ()],
        )


@dataclass(slots=True)
class IndexedStory:
    """One story registered under an index key."""

    story: str
    anchor: int
    declared: bool
    simhash: int
    last_seen: int

    def to_list(self) -> list[Any]:
        return [self.story, self.anchor, self.declared, f"{self.simhash:016x}", self.last_seen]

    @classmethod
    def from_list(cls, data: list[Any]) -> IndexedStory:
        story, anchor, declared, simhash, last_seen = data
        return cls(str(story), int(anchor), bool(declared), int(str(simhash), 16),
                   int(last_seen))


@dataclass(slots=True)
class IndexEntry:
    """The stories registered under one headline key or body key."""

    stories: list[IndexedStory] = field(default_factory=list)

    def expires_at(self, options: PipelineOptions) -> int:
        """When the first of its stories can be dropped."""
        window = int(options.dedupe_window.total_seconds())
        return min((s.last_seen for s in self.stories), default=0) + window

    def to_dict(self) -> dict[str, Any]:
        return {"st": [s.to_list() for s in self.stories]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexEntry:
        return cls([IndexedStory.from_list(s) for s in data["st"]])


@dataclass(frozen=True, slots=True)
class UrlDecision:
    """The URL stage's answer for one page (`verdict` and after: DECIDED only)."""

    action: Action
    entry: UrlEntry | None  # the entry to store (None: leave the key as it is)
    verdict: Verdict | None = None
    story: str = ""  # the story the page belongs to
    version: int | None = None  # published version, or the story's latest for a duplicate
    by: MatchBy | None = None  # duplicates: why
    registrations: tuple[Registration, ...] = ()
    drain: tuple[str, ...] = ()  # origins of parked pages to decide now, in order


def live_url(entry: UrlEntry | None, clock: int, options: PipelineOptions) -> UrlEntry | None:
    """The entry, unless its URL has not been seen within `identity_horizon` of `clock`
    (an entry with a probe in flight or pages parked behind it is kept until released)."""
    if entry is None or (not entry.waiting and clock > entry.expires_at(options)):
        return None
    return entry


def live_index(entry: IndexEntry | None, clock: int, options: PipelineOptions) -> IndexEntry:
    """The stories of an index entry seen within `dedupe_window` of `clock`."""
    window = int(options.dedupe_window.total_seconds())
    stories = entry.stories if entry is not None else []
    return IndexEntry([s for s in stories if clock - s.last_seen <= window])


def decide_url(
    entry: UrlEntry | None, page: Fingerprint, clock: int, options: PipelineOptions, *,
    origin: str, probe: Probe | None = None, page_id: str | None = None,
    sent_back: bool = False,
) -> UrlDecision:
    """The URL stage for one page (see the module docstring).

    `probe` is None when the page arrives from extraction, the indexes' verdict when it comes
    back from them. `sent_back`: the record is a parked page's, sent back by the verdict.
    """
    known = live_url(entry, clock, options)
    if known is not None and known.bound and origin in known.sent:
        # A page parked behind the probe, sent back by the verdict and not decided yet: only
        # that copy decides it. Its original record comes here again only in a replay after
        # a crash; decided here, it would jump ahead of pages decided after the verdict the
        # first time (a later crawl's version 2 out, then this page's: two contents for v2).
        if not sent_back:
            return UrlDecision(Action.WAIT, None)
        known.sent = [o for o in known.sent if o != origin]
        decision = _known_url(known, page, origin, clock)
        if known.sent or not known.parked:
            return decision
        # The last page the verdict sent back: the pages that arrived meanwhile and parked
        # behind those copies are sent back in turn, in order (route.py), and so on.
        drain = tuple(o for o, _ in known.parked)
        known.parked = []
        return replace(decision, drain=drain)
    if known is not None and known.bound and known.sent and origin not in known.origins:
        # A later crawl while pages sent back by the verdict are still on their way: it waits
        # behind them, or it would be decided first (its version 2 out before the parked
        # page's, which then counted as older: crawl order lost, tests/integration/
        # test_rebalance.py). A replay of a decided page (its origin known) is answered below.
        return _park(known, origin, page_id, clock)
    if known is not None and known.bound:
        # A replayed verdict of a page already decided lands here too (its origin is known).
        return _known_url(known, page, origin, clock)
    if known is not None and probe is not None and known.pending != origin:
        return _late_verdict(known, page, origin, probe, clock)
    if known is not None and (probe is None or known.pending != origin):
        # Pending: this URL's first probe is in flight. Wait behind it, once.
        if origin == known.pending:
            # A copy of the probing page's own message. Remembered when its hash differs (a
            # re-extraction): once the verdict binds the URL, a replay of this copy must again
            # publish nothing, not be "v1's message with another hash", the next version
            # (after a crash that lost a later version's writes, a second content for it).
            if [origin, page.record] in known.waited:
                return UrlDecision(Action.WAIT, None)
            known.waited = [*known.waited, [origin, page.record]][-MAX_ORIGINS:]
            return UrlDecision(Action.WAIT, known)
        return _park(known, origin, page_id, clock)
    if probe is None:
        pending = UrlEntry(story="", own=False, last_seen=clock, pending=origin, since=clock)
        return UrlDecision(Action.PROBE, pending)
    parked = tuple(o for o, _ in known.parked) if known is not None else ()
    decision = _first_sighting(page, origin, probe, clock)
    if known is not None and decision.entry is not None:
        decision.entry.waited = [w for w in known.waited if w[0] == origin]
    return UrlDecision(decision.action, decision.entry, decision.verdict, decision.story,
                       decision.version, decision.by, decision.registrations, parked)


def seed_url(entry: UrlEntry | None, story: str, version: int, modified: int | None,
             last_seen: int, clock: int, options: PipelineOptions) -> UrlEntry | None:
    """A URL entry carrying over a story's latest version from the previous release.

    The previous release kept versions per headline and knew the story's id (its first URL's)
    and latest version, not its content's hashes: the entry gets that version with unknown
    hashes, so the URL's next newer page is the next version and version 1 is never published
    again. None: leave the key as it is (already known at that version or later, or pending).
    """
    known = live_url(entry, clock, options)
    if known is not None and (not known.bound or known.version >= version):
        return None
    return UrlEntry(story=story, own=True, version=version, modified=modified,
                    fetched=last_seen, last_seen=max(last_seen, clock))


def _park(entry: UrlEntry, origin: str, page_id: str | None, clock: int) -> UrlDecision:
    """The page waits behind `entry`'s parked pages (a replay of a parked one: once)."""
    if any(o == origin for o, _ in entry.parked):
        return UrlDecision(Action.WAIT, None)
    if len(entry.parked) >= MAX_PARKED:
        return UrlDecision(Action.FULL, None)
    entry.parked.append([origin, page_id or ""])
    entry.last_seen = max(entry.last_seen, clock)
    return UrlDecision(Action.PARK, entry)


def _late_verdict(known: UrlEntry, page: Fingerprint, origin: str, probe: Probe,
                  clock: int) -> UrlDecision:
    """The verdict of an earlier probe of this URL, presumed lost but only slow, reaching it
    while another page probes again (or waits for the sweep to have it probe): the first
    verdict back binds the URL, as if it had come in time.

    Its headline hop registered what the page will be (the URL's own id when nothing
    matched): parked behind the re-probe, as it was, the re-probe's verdict could bind the
    URL as a copy of another story, and a copy that had matched the registered id meanwhile
    pointed at an id never published (deep state machine, traced 2026-11-30). The
    re-probing page (its record is kept) goes back in the queue, first, with the pages
    parked behind it; its own verdict, later, finds the URL bound (decided against it)."""
    queue = [o for o, _ in known.parked]
    if known.pending is not None and known.kept:
        queue.insert(0, known.pending)
    decision = _first_sighting(page, origin, probe, clock)
    if decision.entry is not None:  # copies of the probing page's message that waited
        decision.entry.waited = list(known.waited)
    return replace(decision, drain=tuple(o for o in queue if o != origin))


def _remember(entry: UrlEntry, origin: str, version: int) -> None:
    entry.origins.pop(origin, None)
    entry.origins[origin] = version
    while len(entry.origins) > MAX_ORIGINS:  # oldest first (dicts keep order)
        del entry.origins[next(iter(entry.origins))]


def _first_sighting(page: Fingerprint, origin: str, probe: Probe, clock: int) -> UrlDecision:
    """The probe's verdict binds the URL (the indexes registered it already)."""
    match = probe.match
    if match is not None and match.story != page.story_id:
        entry = UrlEntry(story=match.story, own=False, last_seen=clock, origins={origin: 0})
        return UrlDecision(Action.DECIDED, entry, Verdict.DUPLICATE, match.story, None,
                           match.by)
    entry = UrlEntry(
        story=page.story_id, own=True, version=1, record=page.record, body=page.material,
        headline=page.headline_key, modified=page.modified, fetched=page.fetched,
        last_seen=clock, origins={origin: 1},
    )
    return UrlDecision(Action.DECIDED, entry, Verdict.NEW, page.story_id, 1)


def _known_url(entry: UrlEntry, page: Fingerprint, origin: str, clock: int) -> UrlDecision:
    entry.last_seen = max(entry.last_seen, clock)
    if not entry.own:
        _remember(entry, origin, 0)
        return UrlDecision(Action.DECIDED, entry, Verdict.DUPLICATE, entry.story, None,
                           MatchBy.URL)
    produced = entry.origins.get(origin)
    if produced is not None and produced == entry.version:
        if page.record == entry.record or [origin, page.record] in entry.waited:
            return UrlDecision(Action.DECIDED, entry, Verdict.REDELIVERY, entry.story,
                               entry.version)
        if page.own_url:
            # Re-extracted differently: (id, version) must not get a second content.
            return _next_version(entry, page, origin)
    if produced is None and entry.refused and page.record == entry.refused[1]:
        # The latest version's article was refused for good, and this is its content from
        # another message (the refused page redriven, the same content crawled again): that
        # version once more, identical to what the broker may already hold. (The refused
        # record itself, replayed, is a REDELIVERY above: its rejection answered it, and a
        # later version may be out already if a crash lost its writes.)
        return _republish(entry, page, origin)
    if produced is None:
        # A page declaring this URL as canonical from another site is a copy: no versions.
        if page.own_url and (_is_update(entry, page) or _after_refused(entry, page)):
            return _next_version(entry, page, origin)
        _remember(entry, origin, 0)
    by = MatchBy.URL if page.own_url else MatchBy.CANONICAL
    return UrlDecision(Action.DECIDED, entry, Verdict.DUPLICATE, entry.story, entry.version, by)


def _modified_later(entry: UrlEntry, page: Fingerprint) -> bool | None:
    """Is the page later by declared modification time? None when that does not decide (one
    of them declares none, or both the same)."""
    if page.modified is not None and entry.modified is not None and (
            page.modified != entry.modified):
        return page.modified > entry.modified
    return None


def _newer(entry: UrlEntry, page: Fingerprint) -> bool:
    """Is the page's content later than the latest version's?"""
    if (later := _modified_later(entry, page)) is not None:
        return later
    if page.fetched != entry.fetched:
        return page.fetched > entry.fetched
    # Fetched at the same instant: a declared modification after the version's content time.
    content_time = entry.modified if entry.modified is not None else entry.fetched
    return page.modified is not None and page.modified > content_time


def _is_update(entry: UrlEntry, page: Fingerprint) -> bool:
    if page.material == entry.body and page.headline_key == entry.headline:
        return False
    if [page.headline_key, page.material] in entry.seen:
        return False  # an earlier version's content again: a stale copy, not news
    return _newer(entry, page)


def _after_refused(entry: UrlEntry, page: Fingerprint) -> bool:
    """While the latest version's article is marked refused (maybe never out), a page with
    another content is the next version unless it is older or an earlier version's content
    again: as a duplicate it would point at a version consumers may never get (the refused
    page redriven through a changed extractor, the same story re-crawled with another
    description)."""
    if not entry.refused or [page.headline_key, page.material] in entry.seen:
        return False
    if (later := _modified_later(entry, page)) is not None:
        return later
    return page.fetched >= entry.fetched


def _next_version(entry: UrlEntry, page: Fingerprint, origin: str) -> UrlDecision:
    entry.seen = [*entry.seen, [entry.headline, entry.body]][-MAX_SEEN:]
    entry.version += 1
    entry.refused = []  # a refused version superseded: its number stays a gap
    entry.record, entry.body, entry.headline = page.record, page.material, page.headline_key
    entry.modified, entry.fetched = page.modified, page.fetched
    return _version(entry, page, origin, Verdict.UPDATE)


def _republish(entry: UrlEntry, page: Fingerprint, origin: str) -> UrlDecision:
    """The refused latest version published again, with the content it was refused with."""
    entry.refused = []
    return _version(entry, page, origin, Verdict.NEW if entry.version == 1 else Verdict.UPDATE)


def _version(entry: UrlEntry, page: Fingerprint, origin: str, verdict: Verdict) -> UrlDecision:
    """The entry's latest version published from this page; its headline and body keys
    registered to the story."""
    _remember(entry, origin, entry.version)
    registrations = (Registration("h", page.headline_key, entry.story),
                     Registration("b", page.body_key, entry.story))
    return UrlDecision(Action.DECIDED, entry, verdict, entry.story, entry.version, None,
                       registrations)


# --- the content indexes ---------------------------------------------------------------------
def _close_in_time(story: IndexedStory, page: Fingerprint, options: PipelineOptions) -> bool:
    tolerance = (options.dedupe_tolerance if story.declared and page.declared
                 else options.dedupe_fallback_tolerance)
    return abs(story.anchor - page.anchor) <= tolerance.total_seconds()


def _lookup(entry: IndexEntry, page: Fingerprint, options: PipelineOptions,
            by: MatchBy) -> IndexedStory | None:
    """The closest story in time tolerance and SimHash distance; the earliest on a tie."""
    limit = HEADLINE_DISTANCE if by is MatchBy.HEADLINE else BODY_DISTANCE
    best: IndexedStory | None = None
    best_distance = limit + 1
    for story in entry.stories:
        distance = hamming(story.simhash, page.simhash)
        if distance < best_distance and _close_in_time(story, page, options):
            best, best_distance = story, distance
    return best


def register(entry: IndexEntry | None, story: str, page: Fingerprint, clock: int,
             options: PipelineOptions) -> IndexEntry:
    """`entry` with `story` registered (or refreshed) from `page`."""
    stories = live_index(entry, clock, options).stories
    current = next((s for s in stories if s.story == story), None)
    if current is None:
        stories.append(IndexedStory(story, page.anchor, page.declared, page.simhash, clock))
    else:  # the latest content is what the next copy most likely repeats
        current.anchor, current.declared, current.simhash = page.anchor, page.declared, (
            page.simhash)
        current.last_seen = max(current.last_seen, clock)
    if len(stories) > MAX_INDEXED:  # keep the most recently seen
        stories = sorted(stories, key=lambda s: -s.last_seen)[:MAX_INDEXED]
    return IndexEntry(stories)


def probe_body(entry: IndexEntry | None, page: Fingerprint, clock: int,
               options: PipelineOptions) -> tuple[Match | None, IndexEntry | None]:
    """Body index lookup: (match, entry to store or None when unchanged)."""
    live = live_index(entry, clock, options)
    found = _lookup(live, page, options, MatchBy.BODY)
    if found is None:
        return None, None
    found.last_seen = max(found.last_seen, clock)  # a sighting keeps it matchable
    return Match(found.story, MatchBy.BODY), live


def probe_headline(
    entry: IndexEntry | None, page: Fingerprint, clock: int, options: PipelineOptions,
    earlier: Match | None,
) -> tuple[Probe, IndexEntry, Registration | None]:
    """The probe's last index: look up, and register what the page will be.

    Returns the probe's verdict, the headline entry to store, and the registration the body
    index still needs (None when the body index itself matched).
    """
    live = live_index(entry, clock, options)
    found = _lookup(live, page, options, MatchBy.HEADLINE)
    if earlier is not None:  # the body index matched; say "headline" when this one agrees
        by = MatchBy.HEADLINE if found is not None and found.story == earlier.story else (
            MatchBy.BODY)
        return (Probe(Match(earlier.story, by)),
                register(live, earlier.story, page, clock, options), None)
    if found is not None:  # a copy: its body key will lead to the story too
        found.last_seen = max(found.last_seen, clock)
        return (Probe(Match(found.story, MatchBy.HEADLINE)), live,
                Registration("b", page.body_key, found.story))
    # Nothing matched: the URL stage will make it a new story, under the page's own id.
    return (Probe(None), register(live, page.story_id, page, clock, options),
            Registration("b", page.body_key, page.story_id))
