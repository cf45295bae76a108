"""One routing step for the worker and `process`: a stage's input -> what it publishes, keyed how.

    route_result(result, origin, ts, input_key, limit)  extract stage: an Article goes to the
        stories topic at its URL key; a Rejection (or an article too large to forward) to the
        rejected topic, keyed by page id, URL or the input's key
    identity_step(value, partition, state)              identity stage: one record of the
        internal stories topic against the state of its partition

Both return `Routed` outputs: `kind` "stories" (back into the stories topic, at `key`),
"article", "duplicate" or "rejection". The worker sends them (worker/stream/agents.py);
`process` runs identity outputs through `identity_step` itself (worker/pipeline/engine.py).

Records on the stories topic (JSON), in the order a page's records go:
    {"step": "url", "origin", "ts", "fp", "article"}                       key u:<article id>
      URL bound: decided here. Not bound: pending, on to the body index. Pending: parked.
    {"step": "body", ...}                                                  key b:<body key>
    {"step": "headline", ..., "match"}                                     key h:<headline key>
      registers the verdict here, and sends the body index its registration:
    {"step": "register", "index", "key", "story", "fp"}                    key h: / b:<key>
    {"step": "resolve", ..., "match"}                                      key u:<matched id>
      a copy's verdict passes its target's URL key first: bound there as a copy of another
      story, the verdict names that story instead (the matched id was never published)
    {"step": "decide", ..., "match"}                                       key u:<article id>
      binds the URL, then sends the pages parked behind it back to it ("url"), in order
    {"step": "seed", "story", "version", "modified", "last_seen"}          key u:<article id>
      a story's version carried over from the previous release (news-worker migrate)
    {"step": "release", "story", "probe"}                                  key u:<article id>
      the sweep found the URL stalled (its probe presumed lost): its waiting pages probe again;
      "probe" names the wait it found ([pending origin, since, probes]): only that is released
`origin` is the pages-topic position ("topic:partition:offset") or "file:line"; `ts` the input
message's timestamp (publish-lag metric); `fp` the page's `Fingerprint`; `article` the
article (records.article_to_wire). Every record advances its partition's data clock to the
page's fetch time before it is decided.

`identity_record` also says which of a record's table writes depend on what (`Step`): the
writes hold only if output `needs` (the decision's primary output: the article or duplicate,
or the probe's next hop) reached the broker as itself; if it was refused for good (the page is
rejected instead), `fallback` is written in their place: for an article (a version), the
writes with the version marked refused (a refused version keeps its number: `_url_stage`);
for a URL's own verdict of a duplicate, the URL released (its parked pages probe again); for
a page the verdict sent back, its URL's queue moved on without it; else nothing (the record
never happened).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from worker.errors import RejectReason
from worker.pipeline.fingerprint import Fingerprint
from worker.pipeline.identity import (
    MAX_PARKED,
    MAX_PROBES,
    Action,
    Match,
    MatchBy,
    Probe,
    Registration,
    UrlDecision,
    UrlEntry,
    Verdict,
    decide_url,
    live_url,
    probe_body,
    probe_headline,
    register,
    seed_url,
)
from worker.pipeline.records import article_from_wire, article_to_wire, encode_rejection
from worker.pipeline.state import (
    IdentityState,
    SweepProgress,
    encode,
    index_key,
    parked_key,
    url_key,
)
from worker.pipeline.types import (
    ARTICLE_SCHEMA,
    DUPLICATE_SCHEMA,
    REJECTION_SCHEMA,
    Article,
    Duplicate,
    Rejection,
    Source,
)

STORIES, ARTICLE, DUPLICATE, REJECTION = "stories", "article", "duplicate", "rejection"
HOP_HEADROOM = 1024  # bytes: a hop's growth (step, match: < 200) plus the broker's framing


class MalformedRecord(ValueError):
    """An stories-topic record this code cannot read (not one the worker wrote)."""


@dataclass(frozen=True, slots=True)
class Routed:
    """One record to publish: where (`kind`), its key and value, its schema header."""

    kind: str
    key: bytes | None
    value: bytes
    schema: str | None = None
    verdict: Verdict | None = None  # article and duplicate outputs: the decision
    by: MatchBy | None = None  # duplicates: what matched
    ts: float | None = None  # the input message's timestamp
    rejection: Rejection | None = None  # rejection outputs: the record itself (logs, metrics)
    partition: int | None = None  # stories records sent to a given partition (sweep markers)


@dataclass(frozen=True, slots=True)
class Step:
    """One stories record's outputs, and what its table writes depend on (module docstring)."""

    outputs: list[Routed]
    needs: int | None = None  # index of the output the writes need (None: they always hold)
    fallback: dict[bytes, bytes | None] = field(default_factory=dict)  # None: delete the key
    replayed: bool = False  # a replay of its story's latest version (nothing published)


def route_result(result: Article | Rejection, origin: str, ts: float | None,
                 input_key: bytes | None, limit: int, *, original: bytes = b"",
                 finish: Callable[[Rejection], Rejection] | None = None) -> list[Routed]:
    """The extract stage's output for one page.

    `original` is the input message (quoted by a too-large rejection); `finish` completes a
    rejection before it is encoded (the worker adds the input's key, headers and the time).
    """
    if isinstance(result, Article):
        fp = Fingerprint.of(result)
        value = orjson.dumps({"step": "url", "origin": origin, "ts": ts, "fp": fp.to_dict(),
                              "article": article_to_wire(result)})
        # The probe's hops re-send the record a little larger, and the broker counts the
        # batch and record framing against its limit too.
        if len(value) + HOP_HEADROOM <= limit:
            return [Routed(STORIES, url_key(result.id), value, ts=ts)]
        result = Rejection(
            RejectReason.TOO_LARGE, f"article record is {len(value)} bytes, limit is {limit}",
            original, result.page_id, result.url, _source(origin),
        )
    if finish is not None:
        result = finish(result)
    return [route_rejection(result, ts, input_key, limit)]


def route_rejection(rejection: Rejection, ts: float | None, input_key: bytes | None,
                    limit: int) -> Routed:
    """A rejection record, keyed by page id, else URL, else the input's own key."""
    text_key = rejection.page_id or rejection.url
    key = text_key.encode("utf-8") if text_key else input_key
    return Routed(REJECTION, key, encode_rejection(rejection, limit), REJECTION_SCHEMA, ts=ts,
                  rejection=rejection)


def _source(origin: str) -> Source:
    head, _, tail = origin.rpartition(":")
    topic, _, partition = head.rpartition(":")
    if topic and partition.isdigit() and tail.isdigit():
        return Source(topic, int(partition), int(tail))
    return Source(file=head or None, line=int(tail) if tail.isdigit() else None)


def identity_step(value: bytes, partition: int, state: IdentityState) -> list[Routed]:
    """Run one stories-topic record of `partition`; raises MalformedRecord on a foreign one."""
    return identity_record(value, partition, state).outputs


def identity_record(value: bytes, partition: int, state: IdentityState) -> Step:
    """`identity_step`, with what its writes depend on."""
    try:
        data = orjson.loads(value)
        if isinstance(data, dict) and "step" not in data and "article" in data:
            return Step([_upgrade(data)])
        if isinstance(data, dict) and data.get("step") == "seed":
            return Step(_seed(data, partition, state))
        if isinstance(data, dict) and data.get("step") == "release":
            return _release(str(data["story"]), partition, state, _wait(data.get("probe")))
        step = data["step"]
        fp = Fingerprint.from_dict(data["fp"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise MalformedRecord(f"not a stories record: {exc}") from None
    clock = state.advance_clock(partition, fp.fetched)
    try:
        if step == "url":
            return _url_stage(data, fp, clock, state, None)
        if step == "decide":
            probe = Probe(_match(data.get("match")))
            return _url_stage(data, fp, clock, state, probe)
        if step == "body":  # the index writes hold only if the probe goes on
            return Step(_body_index(data, fp, clock, state), needs=0)
        if step == "headline":
            return Step(_headline_index(data, fp, clock, state), needs=0)
        if step == "resolve":
            return Step([_resolve(data, fp, clock, state)], needs=0)
        if step == "register":
            index, key = str(data["index"]), str(data["key"])
            entry = register(state.index(index, key), str(data["story"]), fp, clock,
                             state.options)
            state.put_index(index, key, entry)
            return Step([])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedRecord(f"bad {step!r} record: {exc}") from None
    raise MalformedRecord(f"unknown step {step!r}")


def _upgrade(data: dict[str, Any]) -> Routed:
    """A record the previous release left on the stories topic (keyed by headline): on to
    its URL key as a first-stage record, so pages in flight across an upgrade are not lost."""
    article = article_from_wire(data["article"])
    record = {"step": "url", "origin": str(data["origin"]), "ts": data.get("ts"),
              "fp": Fingerprint.of(article).to_dict(), "article": data["article"]}
    return Routed(STORIES, url_key(article.id), orjson.dumps(record), ts=data.get("ts"))


def seed_record(story: str, version: int, modified: int | None, last_seen: int) -> Routed:
    """A record carrying a story's version over from the previous release (news-worker migrate)."""
    record = {"step": "seed", "story": story, "version": version, "modified": modified,
              "last_seen": last_seen}
    return Routed(STORIES, url_key(story), orjson.dumps(record))


def _seed(data: dict[str, Any], partition: int, state: IdentityState) -> list[Routed]:
    try:
        story, version = str(data["story"]), int(data["version"])
        modified = None if data.get("modified") is None else int(data["modified"])
        last_seen = int(data["last_seen"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedRecord(f"bad seed record: {exc}") from None
    clock = state.advance_clock(partition, last_seen)
    entry = seed_url(state.url(story), story, version, modified, last_seen, clock, state.options)
    if entry is not None:
        state.put_url(story, entry)
    return []


def _match(data: Any) -> Match | None:
    return None if data is None else Match(str(data["story"]), MatchBy(data["by"]))


def _forward(data: dict[str, Any], key: bytes, step: str, **extra: Any) -> Routed:
    return Routed(STORIES, key, orjson.dumps({**data, "step": step, **extra}), ts=data.get("ts"))


def _body_index(data: dict[str, Any], fp: Fingerprint, clock: int,
                state: IdentityState) -> list[Routed]:
    match, entry = probe_body(state.index("b", fp.body_key), fp, clock, state.options)
    if entry is not None:
        state.put_index("b", fp.body_key, entry)
    found = None if match is None else {"story": match.story, "by": match.by.value}
    return [_forward(data, index_key("h", fp.headline_key), "headline", match=found)]


def _headline_index(data: dict[str, Any], fp: Fingerprint, clock: int,
                    state: IdentityState) -> list[Routed]:
    earlier = _match(data.get("match"))
    probe, entry, body = probe_headline(state.index("h", fp.headline_key), fp, clock,
                                        state.options, earlier)
    state.put_index("h", fp.headline_key, entry)
    found = None if probe.match is None else {"story": probe.match.story,
                                              "by": probe.match.by.value}
    if probe.match is not None and probe.match.story != fp.story_id:
        # A copy: its verdict goes by way of the matched story's URL key (`_resolve`).
        outputs = [_forward(data, url_key(probe.match.story), "resolve", match=found)]
    else:
        outputs = [_forward(data, url_key(fp.story_id), "decide", match=found)]
    if body is not None:
        outputs.append(_registration(body, data))
    return outputs


def _resolve(data: dict[str, Any], fp: Fingerprint, clock: int,
             state: IdentityState) -> Routed:
    """A copy's verdict at the matched story's URL key, on its way to the copy's own.

    An index can name an id whose URL is bound as a copy of another story, never published:
    a probe's hop decided again after its partition's data time moved past the window (a
    crash replay), when the story it matched the first time had aged out, registers the
    page's own id although its URL is a copy already. A copy matching that id is made a
    duplicate of the story the URL is bound to instead: a duplicate never points at an id
    never published. A target not bound (its URL's probe still in flight, or forgotten) is
    trusted, as before: its verdict, on its way, publishes it."""
    match = _match(data.get("match"))
    if match is not None:
        entry = live_url(state.url(match.story), clock, state.options)
        if entry is not None and entry.bound and entry.story != match.story:
            data = {**data, "match": {"story": entry.story, "by": match.by.value}}
    return _forward(data, url_key(fp.story_id), "decide")


def _registration(reg: Registration, data: dict[str, Any]) -> Routed:
    record = {"step": "register", "index": reg.index, "key": reg.key, "story": reg.story,
              "fp": data["fp"]}
    return Routed(STORIES, index_key(reg.index, reg.key), orjson.dumps(record),
                  ts=data.get("ts"))


def _url_stage(data: dict[str, Any], fp: Fingerprint, clock: int, state: IdentityState,
               probe: Probe | None) -> Step:
    origin = str(data["origin"])
    before = state.url(fp.story_id)
    waiting = {o: i for o, i in before.parked} if before is not None else {}
    if not _readable(data):
        return _unreadable(data, fp, before, state, probe, clock)
    known = live_url(before, clock, state.options)
    # A page the verdict sent back, decided here: taken before decide_url updates the entry
    # (the fallback below needs the entry as it was).
    queued = (UrlEntry.from_dict(known.to_dict()) if known is not None and known.bound
              and data.get("sent_back") and origin in known.sent else None)
    decision = decide_url(before, fp, clock, state.options, origin=origin, probe=probe,
                          page_id=(data.get("article") or {}).get("page_id"),
                          sent_back=bool(data.get("sent_back")))
    if decision.action is Action.PARK:
        # The parked record before the entry that names it: torn by a crash, the writes
        # leave at worst a record nobody names, and the replayed page parks again.
        state.park(fp.story_id, origin, orjson.dumps({**data, "step": "url"}))
        state.put_url(fp.story_id, decision.entry or UrlEntry("", False))
        return Step([])
    if decision.action is Action.WAIT:
        if decision.entry is not None:
            state.put_url(fp.story_id, decision.entry)
        if origin in waiting and not state.is_parked(fp.story_id, origin):
            state.park(fp.story_id, origin, orjson.dumps({**data, "step": "url"}))  # torn
        return Step([])
    if decision.action is Action.FULL:
        article = data.get("article") or {}
        return Step([_not_kept(origin, article.get("page_id"), f"{MAX_PARKED} pages of its URL "
                               "already wait behind the URL's first probe", article.get("url"))])
    if decision.entry is not None:
        state.put_url(fp.story_id, decision.entry)
    if decision.action is Action.PROBE:
        # A hop that does not land leaves the URL as it was (the page is rejected).
        return Step([_forward(data, index_key("b", fp.body_key), "body")], needs=0)
    fallback: dict[bytes, bytes | None] = {}
    own_verdict = before is not None and not before.bound and probe is not None and (
        before.pending == origin)
    if before is not None and own_verdict:
        # This URL's own verdict: if it cannot be published, the URL is released instead
        # (a duplicate; a version 1 keeps its number, below).
        released = before.released()
        fallback[url_key(fp.story_id)] = None if released is None else encode(
            released, state.options)
        if before.kept:  # a re-probe: its record is no longer needed (the page is rejected)
            state.unpark(fp.story_id, origin)
            fallback[parked_key(fp.story_id, origin)] = None
    elif probe is not None and before is not None and not before.bound and origin in waiting:
        # A late verdict binding the URL (identity._late_verdict) whose page had also parked
        # (its record replayed meanwhile): decided here, so that record goes. If the verdict
        # cannot be published, nothing of this record holds (the URL waits as it was).
        state.unpark(fp.story_id, origin)
    outputs = _decided(decision, data)
    replayed = decision.verdict is Verdict.REDELIVERY
    sent: list[str] = []
    for parked in decision.drain:  # the pages that waited behind this probe, in order
        record = state.unpark(fp.story_id, parked)
        waited = orjson.loads(record) if record is not None else None
        if waited is None or not _readable(waited):
            outputs.append(_not_kept(parked, waiting.get(parked), "its record, parked behind "
                                     "its URL's first probe, is not in the identity state"))
            continue
        # Sent back to the URL's key, decided there as its next records once this verdict's
        # writes hold: a record never publishes two versions of one id. (Decided here, a crash
        # between these outputs and the writes made the replayed verdict publish v1 again
        # after the parked page's v2.) They keep their order: one partition, one producer.
        outputs.append(_forward(waited, url_key(fp.story_id), "url", sent_back=True))
        sent.append(parked)
    if sent and decision.entry is not None:  # their original records wait for these copies
        decision.entry.sent = sent
        state.put_url(fp.story_id, decision.entry)
    if decision.verdict in (Verdict.NEW, Verdict.UPDATE) and decision.entry is not None:
        # A refused version keeps its number. If the broker refuses this article for good, it
        # may still hold it: it accepted this very record before a crash lost its writes, and
        # refuses the replay (an ACL or a size limit changed in between). The state cannot
        # tell that from a first refusal, so the fallback is this record's writes as they are
        # (the version counted, the queue moved on) with the URL entry marking the version
        # refused: only this content may ever be that version (the page redriven publishes
        # it again, identical; this record replayed publishes nothing: identity._known_url),
        # and the next crawl is the one after. Dropping the writes instead (the fallback
        # until 2026-11-30) gave the next crawl the same number with another content: two
        # contents for one (id, version).
        # The cost: after a first refusal, a gap in the numbers, which the page's rejection
        # explains and its redrive fills while that version is still the latest.
        kept = replace(decision.entry, refused=[origin, fp.record])
        fallback = {parked_key(fp.story_id, o): None for o in decision.drain}
        if before is not None and own_verdict and before.kept:
            fallback[parked_key(fp.story_id, origin)] = None  # a re-probe's own record
        fallback[url_key(fp.story_id)] = encode(kept, state.options)
    elif queued is not None:
        # If this page's own output is refused (the page is rejected instead), the URL's queue
        # must still move on: the copy was the page's turn, and the copies sent back in this
        # record go out whatever happens to it. Dropping the record's writes whole left the
        # entry waiting for this copy for good, and every page behind it parked with no
        # record (deep state machine, "pages without a record").
        queued.sent = [o for o in queued.sent if o != origin]
        if decision.drain:
            queued.parked, queued.sent = [], sent
            fallback.update(dict.fromkeys(parked_key(fp.story_id, o) for o in decision.drain))
        fallback[url_key(fp.story_id)] = encode(queued, state.options)
    # A replay publishes nothing: its writes (last seen) hold whatever else lands.
    return Step(outputs, needs=0 if outputs else None, fallback=fallback, replayed=replayed)


def release_records(progress: SweepProgress) -> list[Routed]:
    """The sweep's requests to release the URLs a slice found stalled (their probes presumed
    lost), each naming the wait it found (UrlEntry.probe), so only that one is released."""
    return [Routed(STORIES, url_key(story), orjson.dumps(
        {"step": "release", "story": story, "probe": wait}))
        for story, wait in progress.stalled.items()]


def _wait(data: Any) -> list[Any] | None:
    if data is None:
        return None  # a release record of an earlier release: the clock decides
    if not isinstance(data, list) or len(data) != 3:
        raise ValueError("a release's probe is [pending, since, probes]")
    return [None if data[0] is None else str(data[0]), int(data[1]), int(data[2])]


def _release(story: str, partition: int, state: IdentityState,
             wait: list[Any] | None) -> Step:
    """A stalled URL: the first page still waiting probes again (its record kept this time,
    so a lost probe can be repeated); after MAX_PROBES, every waiting page is rejected.

    Only the wait the sweep found stalled is released (its probing page, since when, its
    probe count): decided again on a replay after a crash, the record must do what it did the
    first time. Judged by the partition's data clock instead, a replay saw a later clock (the
    state is ahead of the offsets after a crash) and released a newer probe that the first
    pass had left alone - whose verdict had already published its page as version 1: the
    page re-probed in its place was then version 1 again, with another content."""
    clock = state.clock(partition) or 0
    entry = state.url(story)
    if entry is None or not entry.waiting:
        return Step([])  # answered (or released) meanwhile
    if wait is None:  # a release written before releases named their wait: the clock decides
        if not entry.stalled(clock, state.options):
            return Step([])  # not stalled (yet)
    elif entry.probe() != wait:
        return Step([])  # another wait than the one the sweep found stalled
    queue = [[entry.pending, ""]] if entry.pending is not None and entry.kept else []
    return _reprobe(story, entry, [*queue, *entry.parked], entry.probes + 1, clock, state)


def _reprobe(story: str, entry: UrlEntry, queue: list[list[str]], probes: int, clock: int,
             state: IdentityState) -> Step:
    """The first page of `queue` (origins of pages whose records are parked) probes; pages
    whose record is missing or unreadable, or all of them past MAX_PROBES, are rejected."""
    outputs: list[Routed] = []
    dropped: dict[bytes, bytes | None] = {}  # parked records of pages rejected here
    while queue:
        (origin, page_id), rest = queue[0], queue[1:]
        record = state.raw.get(parked_key(story, origin))
        waited = orjson.loads(record) if record is not None else None
        if waited is not None and _readable(waited) and probes <= MAX_PROBES:
            # It probes again; its record stays parked until its verdict comes back.
            state.put_url(story, UrlEntry("", False, last_seen=entry.last_seen, pending=origin,
                                          since=clock, probes=probes, kept=True, parked=rest))
            hop = _forward(waited, index_key("b", Fingerprint.from_dict(waited["fp"]).body_key),
                           "body")
            # Not landed: the URL stays released (the next sweep tries again), the pages
            # rejected here stay rejected.
            left = UrlEntry("", False, last_seen=entry.last_seen, probes=probes,
                            parked=[[origin, page_id], *rest])
            return Step([hop, *outputs], needs=0,
                        fallback={**dropped, url_key(story): encode(left, state.options)})
        if waited is None or not _readable(waited):
            why = ("its record, parked behind its URL's first probe, is not in the identity "
                   "state or cannot be read back")
        else:
            why = f"its URL's first probe did not come back ({MAX_PROBES} tries)"
            page_id = str((waited.get("article") or {}).get("page_id") or page_id)
        outputs.append(_not_kept(origin, page_id, why))
        state.raw.delete(parked_key(story, origin))
        dropped[parked_key(story, origin)] = None
        queue = rest
    state.delete_url(story)
    return Step(outputs)


def _readable(data: dict[str, Any]) -> bool:
    """Whether the record's article can be read back (a newer release may have written it)."""
    try:
        article_from_wire(data["article"])
        Fingerprint.from_dict(data["fp"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    return True


def _unreadable(data: dict[str, Any], fp: Fingerprint, entry: UrlEntry | None,
                state: IdentityState, probe: Probe | None, clock: int) -> Step:
    """A page whose article cannot be read back: rejected (redrive sends it again), and its
    URL released when it was the one probing, so the pages parked behind it go on."""
    origin = str(data["origin"])
    found = data.get("article")
    article: dict[str, Any] = found if isinstance(found, dict) else {}
    rejected = _not_kept(origin, article.get("page_id"), "its stories record could not be "
                         "read back (written by another release?)", article.get("url"))
    if probe is None or entry is None or entry.bound or entry.pending != origin:
        return Step([rejected])  # nothing of this URL waits on it
    gone: dict[bytes, bytes | None] = {}
    if entry.kept:
        state.unpark(fp.story_id, origin)
        gone[parked_key(fp.story_id, origin)] = None
    after = _reprobe(fp.story_id, entry, list(entry.parked), entry.probes, clock, state)
    return Step([*after.outputs, rejected], needs=after.needs,
                fallback={**gone, **after.fallback})


def _not_kept(origin: str, page_id: str | None, why: str, url: str | None = None) -> Routed:
    """A rejection of the page at `origin` whose original this stage no longer has."""
    rejection = Rejection(RejectReason.INTERNAL_ERROR, f"identity stage: {why}; redrive sends "
                          "it again from its source", b"", page_id or None, url,
                          _source(origin))
    record = rejection.to_dict()
    record.update(original=None, original_encoding=None, original_bytes=None,
                  original_omitted="not_kept", key=None, key_encoding=None, headers=None)
    key = (page_id or url or origin).encode("utf-8")
    return Routed(REJECTION, key, orjson.dumps(record), REJECTION_SCHEMA, rejection=rejection)


def _decided(decision: UrlDecision, data: dict[str, Any]) -> list[Routed]:
    """The published record of a decided page, then its index registrations.

    A replay of the message that produced its story's latest version (REDELIVERY) publishes
    nothing: the state says so only after that article was acknowledged, so it is on the
    broker already, and sending it again could put it after a later version. That happens
    when a crash loses the state writes of a later version whose article did land: the
    replay from the committed offset reaches this message first, with the state still at
    its version (v1, v2, then v1 again: versions would go down).
    """
    if decision.verdict is Verdict.REDELIVERY:
        return []
    return [_publish(decision, data), *(_registration(r, data) for r in decision.registrations)]


def _publish(decision: UrlDecision, data: dict[str, Any]) -> Routed:
    article = article_from_wire(data["article"])
    ts = data.get("ts")
    if decision.verdict is Verdict.DUPLICATE:
        duplicate = Duplicate(
            page_id=article.page_id, url=article.url, canonical_url=article.canonical_url,
            duplicate_of=decision.story, version=decision.version,
            match=(decision.by or MatchBy.URL).value, dedupe_key=article.dedupe_key,
            content_hash=article.content_hash, fetched_at=article.fetched_at,
        )
        return Routed(DUPLICATE, decision.story.encode("ascii"),
                      orjson.dumps(duplicate.to_dict()), DUPLICATE_SCHEMA, decision.verdict,
                      decision.by, ts)
    published = replace(article, id=decision.story, version=decision.version or 1)
    return Routed(ARTICLE, decision.story.encode("ascii"), orjson.dumps(published.to_dict()),
                  ARTICLE_SCHEMA, decision.verdict, None, ts)
