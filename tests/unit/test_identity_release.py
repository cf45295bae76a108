"""A URL waiting on a probe is never wedged for good (FINDING 13, review (b), the 15:45 ruling).

* A record's writes hold only if its primary output (the article or duplicate, or the probe's
  next hop) reached the broker; else its fallback is written: for an article, the writes with
  the version marked refused (it keeps its number); for a URL's own verdict of a duplicate, the
  URL released; else nothing (`Staged.writes_for`, called by the publisher with what landed).
* A URL waiting longer than `dedupe_window` of data time for its probe is stalled; the sweep
  sends it a `release` record and its waiting pages probe again, at most MAX_PROBES times,
  then they are rejected with a reason. At most MAX_PARKED pages wait behind one probe.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson

from tests.stories import PARTITIONS, T0, Feed, article, body, decode, paragraph, partition_of
from worker.pipeline.fingerprint import Fingerprint
from worker.pipeline.identity import MAX_PARKED, MAX_PROBES, IndexEntry
from worker.pipeline.route import STORIES, Routed, identity_record, release_records
from worker.pipeline.state import IdentityState, Staged, SweepProgress, sweep_slice, url_key

URL = "https://www.harbourgazette.example/news/2025/11/03/storm-floods-city"
WINDOW = Feed().options.dedupe_window


def run(feed: Feed, records: list[Routed],
        refuse: Callable[[Routed], bool] = lambda _: False) -> list[dict[str, Any]]:
    """Records to completion as the worker runs them: each record's outputs sent (those
    `refuse` says are refused for good), then its writes applied knowing what landed."""
    queue, published = list(records), []
    while queue:
        record = queue.pop(0)
        staged = Staged(feed.store)
        step = identity_record(record.value, partition_of(record.key or b""),
                               IdentityState(staged, feed.options))
        landed = frozenset(i for i, out in enumerate(step.outputs) if not refuse(out))
        staged.writes_for(None, step.needs, step.fallback)(landed)
        for index in sorted(landed):
            out = step.outputs[index]
            (queue if out.kind == STORIES else published).append(out)
    return [decode(r) for r in published]


def sweep(feed: Feed, key: bytes, clock: int) -> list[Routed]:
    """A sweep pass of `key`'s partition at `clock`: the release records it sends."""
    progress = sweep_slice(feed.state, partition_of(key), clock, SweepProgress(),
                           lambda: False)
    return release_records(progress)


def released(releases: list[Routed]) -> list[str]:
    """The URLs (story ids) release records are for."""
    return [orjson.loads(r.value)["story"] for r in releases]


def step_kind(name: str) -> Callable[[Routed], bool]:
    return lambda out: out.kind == STORIES and orjson.loads(out.value).get("step") == name


def entry_of(feed: Feed, story: str) -> dict[str, Any] | None:
    value = feed.store.data.get(url_key(story))
    return None if value is None else dict(orjson.loads(value[9:]))


def parked_keys(feed: Feed) -> list[bytes]:
    return [k for k in feed.store.data if k.startswith(b"p:")]


def test_a_version_1_the_broker_refuses_keeps_its_number_and_its_redrive_publishes_it() -> None:
    # A refused version keeps its number (the broker may hold it: accepted before a crash,
    # refused on the replay; tests/unit/test_identity_refused.py): the URL stays bound to the
    # story at version 1, marked refused with the page's origin and record hash.
    feed = Feed()
    first = article(page_id="p1")
    assert run(feed, feed.records(first), refuse=lambda out: out.kind == "article") == []
    entry = entry_of(feed, first.id)
    assert entry is not None and (entry["s"], entry["v"]) == (first.id, 1)
    assert entry["rf"][1] == Fingerprint.of(first).record
    [again] = run(feed, feed.records(article(page_id="p1")))  # redriven
    assert (again["_kind"], again["version"]) == ("article", 1)
    assert (entry_of(feed, first.id) or {}).get("rf") == []  # out now: no longer marked


def test_a_probe_hop_the_broker_refuses_leaves_the_url_as_it_was() -> None:
    feed = Feed()
    assert run(feed, feed.records(article(page_id="p1")), refuse=step_kind("body")) == []
    assert entry_of(feed, article().id) is None
    [later] = run(feed, feed.records(article(page_id="p2", fetched=T0 + timedelta(hours=1))))
    assert (later["_kind"], later["page_id"], later["version"]) == ("article", "p2", 1)


def test_an_article_that_landed_is_remembered_even_if_a_registration_did_not() -> None:
    feed = Feed()
    run(feed, feed.records(article(page_id="p1")))
    update = article(page_id="p2", text=body(1) + "\n\n" + paragraph(7),
                     fetched=T0 + timedelta(hours=2))
    [v2] = run(feed, feed.records(update), refuse=step_kind("register"))
    assert v2["version"] == 2
    [again] = run(feed, feed.records(update))  # the same content again: no second v2
    assert (again["_kind"], again["version"]) == ("duplicate", 2)


def test_a_verdict_the_broker_refuses_keeps_its_number_and_its_parked_pages_go_on() -> None:
    feed = Feed()
    held = [r for r in feed.records(article(page_id="p1"))]
    queue: list[Routed] = []
    for record in held:  # p1's probe up to its verdict
        queue = [r for r in identity_record(record.value, partition_of(record.key or b""),
                                            feed.state).outputs if r.kind == STORIES]
    while orjson.loads(queue[0].value)["step"] != "decide":
        queue = [r for r in identity_record(queue[0].value, partition_of(queue[0].key or b""),
                                            feed.state).outputs if r.kind == STORIES]
    later = article(page_id="p2", text=body(1) + "\n\n" + paragraph(3),
                    fetched=T0 + timedelta(hours=1))
    assert run(feed, feed.records(later)) == []  # parked behind p1's probe
    # p1's v1 refused: the URL is bound at v1 all the same (a refused version keeps its
    # number), and p2, sent back by the verdict, is decided at once: v2.
    [out] = run(feed, queue, refuse=lambda out: out.kind == "article" and (
        orjson.loads(out.value)["page_id"] == "p1"))
    assert (out["_kind"], out["page_id"], out["version"]) == ("article", "p2", 2)
    entry = entry_of(feed, later.id)
    assert entry is not None and entry["p"] is None and entry["pk"] == [] and entry["v"] == 2
    assert sweep(feed, url_key(later.id), int((T0 + timedelta(hours=1)).timestamp())) == []
    assert parked_keys(feed) == []


def lose_the_probe(feed: Feed) -> tuple[str, int]:
    """p1's first sighting whose `b:` hop is lost (not refused: it never comes back), and p2
    parked behind it; (story id, the data time the probe started)."""
    first = article(page_id="p1")
    [url_record] = feed.records(first)
    hops = identity_record(url_record.value, partition_of(url_record.key or b""),
                           feed.state).outputs
    assert [orjson.loads(h.value)["step"] for h in hops] == ["body"]  # ... and lost
    later = article(page_id="p2", text=body(1) + "\n\n" + paragraph(3),
                    fetched=T0 + timedelta(hours=1))
    assert run(feed, feed.records(later)) == []
    return first.id, int(first.fetched_at.timestamp())


def advance(feed: Feed, story: str, to: int) -> None:
    """Move the data clock of the story's partition (another URL's page there)."""
    feed.state.advance_clock(partition_of(url_key(story)), to)


def test_a_url_whose_probe_is_lost_is_released_after_the_dedupe_window() -> None:
    feed = Feed()
    story, started = lose_the_probe(feed)
    window = int(WINDOW.total_seconds())
    advance(feed, story, started + window)
    assert sweep(feed, url_key(story), started + window) == []  # within the window: waits
    advance(feed, story, started + window + 3600)
    releases = sweep(feed, url_key(story), started + window + 3600)
    assert released(releases) == [story]
    [out] = run(feed, releases)
    assert (out["_kind"], out["page_id"], out["version"]) == ("article", "p2", 1)
    assert parked_keys(feed) == [] and entry_of(feed, story)["s"] == story  # type: ignore[index]
    # The first probe was only slow after all: its verdict, late, is decided against the URL.
    [late] = run(feed, feed.records(article(page_id="p1"), "pages:0:0"))
    assert late["_kind"] == "duplicate" and late["duplicate_of"] == story


def test_a_release_record_an_earlier_release_wrote_without_its_wait_goes_by_the_clock() -> None:
    """Release records from before they named their wait ("probe") may still be on the
    stories topic after an upgrade: such a record releases the URL only if the partition's
    data clock says its probe is stalled, and otherwise does nothing."""
    feed = Feed()
    story, started = lose_the_probe(feed)
    window = int(WINDOW.total_seconds())
    old = [Routed(STORIES, url_key(story),
                  orjson.dumps({"step": "release", "story": story}))]
    advance(feed, story, started + window)
    assert run(feed, old) == []  # not stalled by the clock: the probe may only be slow
    assert entry_of(feed, story)["pk"]  # type: ignore[index]  # p2 still waits
    advance(feed, story, started + window + 3600)
    [out] = run(feed, old)
    assert (out["_kind"], out["page_id"], out["version"]) == ("article", "p2", 1)
    assert parked_keys(feed) == []


def test_a_release_is_tried_a_bounded_number_of_times_then_the_pages_are_rejected() -> None:
    feed = Feed()
    story, clock = lose_the_probe(feed)
    window = int(WINDOW.total_seconds())
    for attempt in range(1, MAX_PROBES + 2):
        clock += window + 60
        advance(feed, story, clock)
        releases = sweep(feed, url_key(story), clock)
        assert released(releases) == [story], attempt
        outputs = run(feed, releases, refuse=step_kind("body"))  # every re-probe is lost
        if attempt <= MAX_PROBES:
            assert outputs == [] and parked_keys(feed), attempt  # its record kept
    [rejected] = outputs
    assert rejected["page_id"] == "p2" and rejected["reason"] == "internal_error"
    assert "did not come back" in rejected["detail"]
    assert rejected["original_omitted"] == "not_kept"
    assert parked_keys(feed) == [] and entry_of(feed, story) is None


def test_pages_beyond_the_parking_cap_are_rejected_with_a_reason() -> None:
    feed = Feed()
    story, _ = lose_the_probe(feed)  # p2 parked
    for n in range(3, MAX_PARKED + 2):
        assert run(feed, feed.records(article(page_id=f"p{n}", fetched=T0 + timedelta(
            hours=n)))) == []
    [rejected] = run(feed, feed.records(article(page_id="over", fetched=T0 + timedelta(
        days=1))))
    assert rejected["page_id"] == "over" and rejected["_kind"] == "rejection"
    assert f"{MAX_PARKED} pages of its URL already wait" in rejected["detail"]
    assert len(entry_of(feed, story)["pk"]) == MAX_PARKED  # type: ignore[index]


def test_a_batch_record_reading_another_records_unsettled_writes_is_marked_dependent() -> None:
    feed = Feed()
    staged = Staged(feed.store)
    state = IdentityState(staged, feed.options)
    first, second = object(), object()
    staged.begin(first)
    state.advance_clock(0, 100)
    state.put_url("a" * 16, feed.state.url("a" * 16) or _entry())
    state.put_index("h", "k" * 20, IndexEntry())
    staged.begin(second)
    state.advance_clock(0, 200)  # the data clock only moves on: reading it is no dependency
    state.index("h", "k" * 20)  # nor is an index entry (a registration names a story)
    assert not staged.depends(second)
    state.url("a" * 16)
    assert staged.depends(second) and not staged.depends(first)
    staged.commit_group(first)  # settled: what it wrote is now read from below
    staged.begin(second)
    state.url("a" * 16)
    assert not staged.depends(second)


def _entry() -> Any:
    from worker.pipeline.identity import UrlEntry

    return UrlEntry("a" * 16, True, version=1)


def test_a_waiting_url_stored_by_the_release_where_it_never_expired_is_released_too() -> None:
    feed = Feed()
    story, started = lose_the_probe(feed)
    key = url_key(story)
    value = feed.store.data[key]
    feed.store.data[key] = value[:1] + (2**62).to_bytes(8, "big") + value[9:]  # 3c14307's
    clock = started + int(WINDOW.total_seconds()) + 60
    advance(feed, story, clock)
    assert released(sweep(feed, key, clock)) == [story]


def hop(feed: Feed, record: Routed) -> list[Routed]:
    """One stories record decided, its writes applied: the stories records it sends on."""
    return [r for r in identity_record(record.value, partition_of(record.key or b""),
                                       feed.state).outputs if r.kind == STORIES]


def test_a_slow_probes_verdict_arriving_during_the_re_probe_binds_the_url_it_named() -> None:
    """The deep state machine's "duplicates of ids never published", traced (identity7, three
    saved programs of 19cef66, every one this shape): p1's first probe is slow, not lost (its
    headline hop waits in a backed-up partition); the sweep presumes it lost and releases the
    URL, so p2, parked behind it, probes again. p1's headline hop then finds nothing and
    registers the URL's own id (p1 will be version 1), and its verdict reaches the URL while
    p2's re-probe is in flight. It used to park behind the re-probe; a copy of p1's content
    on another site meanwhile matched the registered id; p2's re-probe matched another story
    and bound the URL as its copy: the copy's duplicate pointed at an id never published.
    Two probes of one URL were in flight, and the one that registered the id lost. Now the
    first verdict back binds the URL (p1 version 1) and the re-probing page goes back in the
    queue; the re-probe's own verdict, later, finds the URL bound."""
    feed = Feed()
    [other] = run(feed, feed.records(article(
        url="https://courier.example/wire/tram-depot", headline="Tram depot costs reviewed",
        text=body(5), page_id="s1")))
    assert (other["_kind"], other["version"]) == ("article", 1)
    first = article(page_id="p1")
    [body_hop] = hop(feed, feed.records(first, "pages:0:1")[0])
    [headline_hop] = hop(feed, body_hop)  # ... and it waits there (a backed-up partition)
    # p2: the URL's page now carries the other site's story (syndicated): it parks.
    syndicated = article(page_id="p2", headline="Tram depot costs reviewed", text=body(5),
                         fetched=T0 + timedelta(hours=1))
    assert run(feed, feed.records(syndicated, "pages:0:2")) == []
    clock = int(first.fetched_at.timestamp()) + int(WINDOW.total_seconds()) + 3600
    advance(feed, first.id, clock)
    releases = sweep(feed, url_key(first.id), clock)
    assert released(releases) == [first.id]
    [reprobe] = hop(feed, releases[0])  # p2 probes again, its record kept
    # p1's headline hop: nothing matched, so it registers the URL's own id; the verdict goes
    # to the URL while p2's re-probe is still in flight.
    [verdict, registration] = hop(feed, headline_hop)
    assert orjson.loads(verdict.value)["match"] is None
    hop(feed, registration)
    published = run(feed, [verdict])
    # A copy of p1's story on another site finds the registered id.
    [copy] = run(feed, feed.records(article(
        url="https://news.localpaper.example/world/storm-city", page_id="c1",
        published=T0 + timedelta(minutes=20), fetched=T0 + timedelta(hours=2))))
    assert (copy["_kind"], copy["duplicate_of"]) == ("duplicate", first.id)
    published += [copy, *run(feed, [reprobe])]  # p2's re-probe comes back: the URL is bound
    articles = {(o["id"], o["page_id"], o["version"]) for o in published
                if o["_kind"] == "article"}
    assert (first.id, "p1", 1) in articles, f"{first.id} never published: {published}"
    pointed = {o["duplicate_of"] for o in published if o["_kind"] == "duplicate"}
    assert pointed <= {first.id, other["id"]}
    assert [o["page_id"] for o in published].count("p2") == 1, published  # one record
    assert parked_keys(feed) == []
    entry = entry_of(feed, first.id)
    assert entry is not None and entry["s"] == first.id and not entry["sb"]


def test_a_stale_probe_hop_never_leaves_a_duplicate_pointing_at_an_unpublished_id() -> None:
    """The deep state machine's other "duplicates of ids never published" (traced 2026-11-30
    from a program saved with the slow-probe fix; identity3's shrunk case): a copy's probe
    matched the story and bound its URL as a copy; the probe's body hop is decided again (a
    crash replay) after the partitions' data time moved past the dedupe window, when the
    story has aged out of the indexes. That copy finds nothing, so the headline index
    registers the copy under its own id, which no article will ever carry (its URL is a
    copy). A later copy matching that id is resolved through its URL entry: a duplicate of
    the story the URL is bound to."""
    feed = Feed()
    first = feed.one(article())
    copy = article(url="https://news.localpaper.example/world/storm-city",
                   published=T0 + timedelta(minutes=20), page_id="c1")
    [probe] = feed.records(copy, "pages:1:0")
    [body_hop] = feed.engine.step(probe)
    assert orjson.loads(body_hop.value)["step"] == "body"
    [dup] = [decode(o) for o in feed.engine.run([body_hop])]
    assert (dup["_kind"], dup["duplicate_of"]) == ("duplicate", first["id"])
    later = T0 + feed.options.dedupe_window + timedelta(days=1)
    for partition in range(PARTITIONS):
        feed.state.advance_clock(partition, int(later.timestamp()))
    [again] = [decode(o) for o in feed.engine.run([body_hop])]  # the replayed hop
    assert (again["_kind"], again["duplicate_of"]) == ("duplicate", first["id"])
    fp = Fingerprint.of(copy)
    entry = feed.state.index("h", fp.headline_key)
    assert entry is not None and copy.id in {s.story for s in entry.stories}  # the stale claim
    # Another site's copy of the story, crawled now (declared time within tolerance).
    third = feed.one(article(url="https://courier.example/wire/storm-city",
                             published=T0 + timedelta(minutes=40), page_id="c2",
                             fetched=later + timedelta(hours=1)))
    assert third["_kind"] == "duplicate"
    assert third["duplicate_of"] == first["id"], (
        f"points at {third['duplicate_of']} (the copy's own id {copy.id}), never published")
