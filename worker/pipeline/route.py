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
    {"step": "decide", ..., "match"}                                       key u:<article id>
      binds the URL, then decides the pages parked behind it, in order
    {"step": "seed", "story", "version", "modified", "last_seen"}          key u:<article id>
      a story's version carried over from the previous release (news-worker migrate)
`origin` is the pages-topic position ("topic:partition:offset") or "file:line"; `ts` the input
message's timestamp (publish-lag metric); `fp` the page's `Fingerprint`; `article` the
article (records.article_to_wire). Every record advances its partition's data clock to the
page's fetch time before it is decided.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from worker.errors import RejectReason
from worker.pipeline.fingerprint import Fingerprint
from worker.pipeline.identity import (
    Action,
    Match,
    MatchBy,
    Probe,
    Registration,
    UrlDecision,
    UrlEntry,
    Verdict,
    decide_url,
    probe_body,
    probe_headline,
    register,
    seed_url,
)
from worker.pipeline.records import article_from_wire, article_to_wire, encode_rejection
from worker.pipeline.state import IdentityState, index_key, url_key
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
    try:
        data = orjson.loads(value)
        if isinstance(data, dict) and "step" not in data and "article" in data:
            return [_upgrade(data)]
        if isinstance(data, dict) and data.get("step") == "seed":
            return _seed(data, partition, state)
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
        if step == "body":
            return _body_index(data, fp, clock, state)
        if step == "headline":
            return _headline_index(data, fp, clock, state)
        if step == "register":
            index, key = str(data["index"]), str(data["key"])
            entry = register(state.index(index, key), str(data["story"]), fp, clock,
                             state.options)
            state.put_index(index, key, entry)
            return []
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
    outputs = [_forward(data, url_key(fp.story_id), "decide", match=found)]
    if body is not None:
        outputs.append(_registration(body, data))
    return outputs


def _registration(reg: Registration, data: dict[str, Any]) -> Routed:
    record = {"step": "register", "index": reg.index, "key": reg.key, "story": reg.story,
              "fp": data["fp"]}
    return Routed(STORIES, index_key(reg.index, reg.key), orjson.dumps(record),
                  ts=data.get("ts"))


def _url_stage(data: dict[str, Any], fp: Fingerprint, clock: int, state: IdentityState,
               probe: Probe | None) -> list[Routed]:
    origin = str(data["origin"])
    before = state.url(fp.story_id)
    waiting = {o: i for o, i in before.parked} if before is not None else {}
    if not _readable(data):
        return _unreadable(data, fp, before, state, probe)
    decision = decide_url(before, fp, clock, state.options, origin=origin, probe=probe,
                          page_id=(data.get("article") or {}).get("page_id"))
    if decision.action is Action.PARK:
        # The parked record before the entry that names it: torn by a crash, the writes
        # leave at worst a record nobody names, and the replayed page parks again.
        state.park(fp.story_id, origin, orjson.dumps({**data, "step": "url"}))
        state.put_url(fp.story_id, decision.entry or UrlEntry("", False))
        return []
    if decision.action is Action.WAIT:
        if origin in waiting and not state.is_parked(fp.story_id, origin):
            state.park(fp.story_id, origin, orjson.dumps({**data, "step": "url"}))  # torn
        return []
    if decision.entry is not None:
        state.put_url(fp.story_id, decision.entry)
    if decision.action is Action.PROBE:
        return [_forward(data, index_key("b", fp.body_key), "body")]
    outputs = _decided(decision, data)
    entry = decision.entry
    for parked in decision.drain:  # the pages that waited behind this probe, in order
        record = state.unpark(fp.story_id, parked)
        waited = orjson.loads(record) if record is not None else None
        if waited is None or entry is None or not _readable(waited):
            outputs.append(_not_kept(parked, waiting.get(parked), "its record, parked behind "
                                     "its URL's first probe, is not in the identity state"))
            continue
        later = decide_url(entry, Fingerprint.from_dict(waited["fp"]), clock, state.options,
                           origin=parked)
        if later.entry is not None:
            entry = later.entry
        outputs += _decided(later, waited)
    if decision.drain and entry is not None:  # their verdicts changed the entry
        state.put_url(fp.story_id, entry)
    return outputs


def _readable(data: dict[str, Any]) -> bool:
    """Whether the record's article can be read back (a newer release may have written it)."""
    try:
        article_from_wire(data["article"])
        Fingerprint.from_dict(data["fp"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    return True


def _unreadable(data: dict[str, Any], fp: Fingerprint, entry: UrlEntry | None,
                state: IdentityState, probe: Probe | None) -> list[Routed]:
    """A page whose article cannot be read back: rejected (redrive sends it again), and its
    URL released when it was the one probing, so the pages parked behind it go on."""
    origin = str(data["origin"])
    found = data.get("article")
    article: dict[str, Any] = found if isinstance(found, dict) else {}
    outputs = [_not_kept(origin, article.get("page_id"), "its stories record could not be "
                         "read back (written by another release?)", article.get("url"))]
    if probe is None or entry is None or entry.bound or entry.pending != origin:
        return outputs  # nothing of this URL waits on it
    if not entry.parked:
        state.delete_url(fp.story_id)
        return outputs
    (first, _), rest = entry.parked[0], entry.parked[1:]
    record = state.unpark(fp.story_id, first)
    if record is None:
        outputs.append(_not_kept(first, entry.parked[0][1], "its parked record is not in "
                                 "the identity state"))
        entry.parked = rest
        state.put_url(fp.story_id, entry)
        return outputs
    nxt = orjson.loads(record)  # the next page probes in its place
    state.put_url(fp.story_id, UrlEntry("", False, last_seen=entry.last_seen, pending=first,
                                        parked=rest))
    return [*outputs, _forward(nxt, index_key("b", Fingerprint.from_dict(nxt["fp"]).body_key),
                               "body")]


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
    """The published record of a decided page, then its index registrations."""
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
