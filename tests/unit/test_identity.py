"""The identity contract (README "What consumers see"), rule by rule, through the real stage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any

import orjson

from tests.stories import T0, Feed, article, body, decode, paragraph, partition_of
from tests.unit.test_identity_properties import content
from worker.pipeline.fingerprint import Fingerprint, body_key, material_hash
from worker.pipeline.route import STORIES, Routed, identity_record, identity_step, release_records
from worker.pipeline.state import IdentityState, Staged, SweepProgress, sweep_slice
from worker.pipeline.types import Article

URL = "https://www.harbourgazette.example/news/2025/11/03/storm-floods-city"
STORM = "Storm floods city centre streets"
TOLL = "Death toll rises to 12 as storm floods city centre"


def step(feed: Feed, published: list[dict[str, Any]], record: Routed, *,
         crash: bool = False, refuse: str | None = None) -> list[Routed]:
    """One stories record through the identity stage as the worker runs it: its outputs
    added to `published`, its state writes kept unless the worker `crash`es before them;
    the stories records it sends on are returned. Outputs of kind `refuse` are refused for
    good: as the publisher does, the record's page gets a rejection instead and its writes
    are applied knowing what landed (the record's writes, or its fallback)."""
    staged = Staged(feed.store)
    assert record.key is not None
    handled = identity_record(record.value, partition_of(record.key),
                              IdentityState(staged, feed.options))
    landed = frozenset(i for i, o in enumerate(handled.outputs) if o.kind != refuse)
    outputs = [o for i, o in enumerate(handled.outputs) if i in landed]
    if len(landed) < len(handled.outputs):
        page = orjson.loads(record.value).get("article") or {}
        published.append({"_kind": "rejection", "page_id": page.get("page_id")})
    published.extend(decode(o) for o in outputs if o.kind != STORIES)
    if not crash:
        staged.writes_for(None, handled.needs, handled.fallback)(landed)
    return [o for o in outputs if o.kind == STORIES]


def until_verdict(run: Callable[[Routed], list[Routed]], hops: list[Routed]) -> Routed:
    """Run a first sighting's probe hops until its verdict comes back (not run)."""
    while hops and orjson.loads(hops[0].value)["step"] != "decide":
        hops = [h for r in hops for h in run(r)]
    [verdict] = [h for h in hops if orjson.loads(h.value)["step"] == "decide"]
    return verdict


def grown(seed: int, extra: int) -> str:
    """Body `seed` with `extra` more paragraphs (a live page growing)."""
    return body(seed) + "".join(f"\n\n{paragraph(9000 + seed * 10 + k)}" for k in range(extra))


def test_edited_headline_recrawl_is_version_2_of_the_same_id() -> None:
    # The reproduction: same URL, 6 h apart, headline edited, a paragraph more, a
    # later dateModified. It used to come out as a second version 1.
    feed = Feed()
    first = feed.one(article(headline=STORM, modified=T0))
    second = feed.one(article(headline=TOLL, text=grown(1, 1), modified=T0 + timedelta(hours=6),
                              fetched=T0 + timedelta(hours=6, minutes=5), page_id="p2"))
    assert (first["_kind"], first["version"]) == ("article", 1)
    assert (second["_kind"], second["_verdict"], second["version"]) == ("article", "update", 2)
    assert second["id"] == first["id"] and second["headline"] == TOLL


def test_url_variants_belong_to_the_story() -> None:
    feed = Feed()
    first = feed.one(article())
    for k, variant in enumerate([
        URL + "?utm_source=newsletter&utm_medium=email#comments",
        "https://amp.harbourgazette.example/news/2025/11/03/storm-floods-city",
        "http://m.harbourgazette.example/news/2025/11/03/storm-floods-city/amp",
    ]):
        out = feed.one(article(url=variant, page_id=f"v{k}"))
        assert (out["_kind"], out["duplicate_of"], out["match"]) == (
            "duplicate", first["id"], "url")
        assert out["version"] == 1  # the story's own URL: its version is known


def test_without_modified_dates_a_later_fetch_with_a_material_change_is_the_next_version() -> None:
    feed = Feed()
    feed.one(article(modified=None))
    out = feed.one(article(text=grown(1, 1), fetched=T0 + timedelta(hours=2), page_id="p2"))
    assert (out["_verdict"], out["version"]) == ("update", 2)
    # An earlier fetch with yet another body arrives late: stale, a duplicate.
    late = feed.one(article(text=grown(1, 2), fetched=T0 + timedelta(hours=1), page_id="p3"))
    assert (late["_kind"], late["version"]) == ("duplicate", 2)


def test_a_furniture_line_flipping_is_not_a_new_version() -> None:
    feed = Feed()
    feed.one(article())
    for k, line in enumerate(["Advertisement", "Updated 5 minutes ago", "Photo: Reuters"]):
        paragraphs = body(1).split("\n\n")
        paragraphs.insert(2, line)
        out = feed.one(article(text="\n\n".join(paragraphs), page_id=f"f{k}",
                               fetched=T0 + timedelta(hours=k + 1)))
        assert out["_kind"] == "duplicate", line
    # One changed word in a real paragraph is material (a toll going from 11 to 12).
    changed = body(1).replace(".", " twelve.", 1)
    assert material_hash(changed) != material_hash(body(1))
    assert feed.one(article(text=changed, fetched=T0 + timedelta(hours=9)))["version"] == 2


def test_headline_only_edit_is_the_next_version_and_a_flip_back_is_a_duplicate() -> None:
    feed = Feed()
    feed.one(article(headline=STORM))
    edit = feed.one(article(headline=TOLL, fetched=T0 + timedelta(hours=1), page_id="p2"))
    assert (edit["_verdict"], edit["version"], edit["headline"]) == ("update", 2, TOLL)
    # An A/B headline test (or a stale cache) serving the first headline again: no v3.
    back = feed.one(article(headline=STORM, fetched=T0 + timedelta(hours=2), page_id="p3"))
    assert (back["_kind"], back["version"]) == ("duplicate", 2)
    # Case and punctuation only: the same normalised headline, a duplicate.
    same = feed.one(article(headline=TOLL.upper() + "!", fetched=T0 + timedelta(hours=3)))
    assert same["_kind"] == "duplicate"


def test_a_live_page_crawled_n_times_gets_versions_1_to_n() -> None:
    feed = Feed()
    versions = [feed.one(article(text=grown(1, k), modified=T0 + timedelta(minutes=30 * k),
                                 fetched=T0 + timedelta(minutes=30 * k + 1), page_id=f"c{k}"))
                for k in range(8)]
    assert [v["version"] for v in versions] == list(range(1, 9))
    assert len({v["id"] for v in versions}) == 1


def test_another_url_with_the_same_headline_time_and_body_is_a_duplicate() -> None:
    feed = Feed()
    first = feed.one(article())
    # Syndicated: another site, a dateline and a credit line added, 20 minutes later.
    copy_text = "LONDON (Wire) - " + body(1) + "\n\nReporting by A. Writer; editing by B. Editor"
    copy = feed.one(article(url="https://news.localpaper.example/world/storm-city",
                            headline="UPDATE 1-Storm floods city centre streets", text=copy_text,
                            published=T0 + timedelta(minutes=20), page_id="w1"))
    assert (copy["_kind"], copy["duplicate_of"], copy["match"]) == (
        "duplicate", first["id"], "headline")
    assert copy["version"] is None  # another URL: the story's version is not known there


def test_a_generic_headline_over_unrelated_bodies_is_two_stories() -> None:
    feed = Feed()
    one = feed.one(article(url="https://a.example/live/rail-strike",
                           headline="Live: latest on the rail strike", text=body(11)))
    two = feed.one(article(url="https://b.example/live/rail-strike",
                           headline="Live: latest on the rail strike", text=body(12)))
    assert one["_kind"] == two["_kind"] == "article"
    assert one["id"] != two["id"]


def test_near_identical_headlines_over_different_bodies_stay_apart() -> None:
    feed = Feed()
    a = feed.one(article(url="https://a.example/crash", text=body(21),
                         headline="Two injured in crash on ring road"))
    b = feed.one(article(url="https://b.example/crash", text=body(22),
                         headline="Two injured in crash on bypass"))
    assert (a["_kind"], b["_kind"]) == ("article", "article")


def test_a_copy_edited_headline_over_the_same_body_is_a_duplicate_by_body() -> None:
    feed = Feed()
    first = feed.one(article(headline="Typhoon makes landfall in the south", text=body(31)))
    copy = feed.one(article(url="https://www.othersite.example/asia/typhoon",
                            headline="Powerful typhoon slams into southern coast",
                            text="MANILA (Wire) - " + body(31), page_id="o1",
                            published=T0 + timedelta(minutes=40)))
    assert (copy["duplicate_of"], copy["match"]) == (first["id"], "body")
    # ...but not when the time is too far apart (another day's story with the same body key).
    later = feed.one(article(url="https://third.example/typhoon", text=body(31),
                             headline="Typhoon anniversary: a year on",
                             published=T0 + timedelta(days=3)))
    assert later["_kind"] == "article"


def test_updates_come_only_from_the_storys_own_urls() -> None:
    feed = Feed()
    first = feed.one(article())
    other = "https://news.localpaper.example/world/storm-city"
    copy = feed.one(article(url=other, page_id="w1"))
    assert copy["duplicate_of"] == first["id"]
    # The copy's site updates its page: changed body, later dateModified. Still a duplicate,
    # never "version 2 of the first site's id with the other site's URL".
    updated = feed.one(article(url=other, text=grown(1, 2), headline=TOLL, page_id="w2",
                               modified=T0 + timedelta(hours=3),
                               fetched=T0 + timedelta(hours=3, minutes=5)))
    assert (updated["_kind"], updated["duplicate_of"], updated["match"]) == (
        "duplicate", first["id"], "url")
    # A page declaring the story's URL as canonical from another site: a duplicate too.
    declared = feed.one(article(url="https://aggregator.example/s/123", canonical=URL,
                                text=grown(1, 3), modified=T0 + timedelta(hours=5),
                                fetched=T0 + timedelta(hours=5, minutes=1), page_id="agg"))
    assert (declared["_kind"], declared["match"], declared["version"]) == (
        "duplicate", "canonical", 1)


def test_a_crash_replay_publishes_nothing_and_a_new_content_is_the_next_version() -> None:
    feed = Feed()
    page = article()
    first = feed.one(page, origin="pages:0:7")
    assert first["version"] == 1
    # The message that produced the latest version, again: its article is on the broker
    # already (the state says so only once it was acknowledged); nothing is sent again.
    assert feed.send(page, origin="pages:0:7") == []
    # The same message, re-extracted differently (another extractor release): the content
    # of (id, 1) is taken, so it is version 2 - never a second content for version 1.
    other = replace(page, description="A standfirst the new extractor finds.")
    assert feed.one(other, origin="pages:0:7")["version"] == 2
    # The same page from another message: a duplicate of version 2, not version 1 again.
    dup = feed.one(page, origin="pages:0:8")
    assert (dup["_kind"], dup["version"]) == ("duplicate", 2)


def test_replay_of_an_older_version_is_a_duplicate_of_the_newer_one() -> None:
    feed = Feed()
    v1 = article()
    v2 = article(text=grown(1, 1), modified=T0 + timedelta(hours=1),
                 fetched=T0 + timedelta(hours=2), page_id="p2")
    outs = [feed.one(v1, "pages:0:1"), feed.one(v2, "pages:0:2"), feed.one(v1, "pages:0:1")]
    assert [(o["_kind"], o["version"]) for o in outs] == [
        ("article", 1), ("article", 2), ("duplicate", 2)]
    assert feed.send(v2, "pages:0:2") == []  # the latest version's own message: recognised


def test_a_replay_after_a_crash_that_lost_a_later_versions_state_never_goes_back() -> None:
    """The deep state-machine counterexample "version 1 after 2", shrunk: v1 is published and
    its state written, v2's article lands but the worker dies before v2's state writes; the
    replay from the committed offset (before v1's record) must not send v1 again after v2."""
    feed = Feed()
    v1 = article()
    v2 = article(text=grown(1, 1), modified=T0 + timedelta(hours=1),
                 fetched=T0 + timedelta(hours=2), page_id="p2")
    published = [feed.one(v1, "pages:0:1")]
    before = dict(feed.store.data)
    published.append(feed.one(v2, "pages:0:2"))
    feed.store.data = before  # v2's writes never reached the changelog
    published += feed.send(v1, "pages:0:1") + feed.send(v2, "pages:0:2")
    assert [(o["_kind"], o["version"]) for o in published] == [
        ("article", 1), ("article", 2), ("article", 2)]
    assert content(published[1]) == content(published[2])


def test_a_url_returning_after_the_window_continues_its_versions() -> None:
    feed = Feed()
    first = feed.one(article())
    later = T0 + feed.options.dedupe_window + timedelta(days=5)
    back = feed.one(article(text=body(2), headline="Storm city: one month on",
                            published=later, fetched=later + timedelta(minutes=5)))
    assert (back["id"], back["version"]) == (first["id"], 2)  # never version 1 again
    # Past the identity horizon the URL is forgotten: a new story (documented limit).
    gone = later + feed.options.identity_horizon + timedelta(days=1)
    again = feed.one(article(text=body(3), published=gone, fetched=gone))
    assert (again["_verdict"], again["version"]) == ("new", 1)


def test_copies_stop_matching_after_the_window_but_the_url_binding_stays() -> None:
    feed = Feed()
    feed.one(article())
    late = T0 + feed.options.dedupe_window + timedelta(days=1)
    # The same headline and body a week later with no declared time: a new story by then.
    out = feed.one(article(url="https://late.example/storm", published=None, fetched=late))
    assert out["_verdict"] == "new"


def test_fingerprint_keys_are_stable_and_ignore_delivery_fields() -> None:
    a = article()
    b = replace(a, url=URL + "?utm_source=x", page_id="other", fetched_at=T0 + timedelta(days=1))
    fa, fb = Fingerprint.of(a), Fingerprint.of(b)
    assert fa.record == fb.record and fa.body_key == fb.body_key
    assert Fingerprint.from_dict(fa.to_dict()) == fa
    assert body_key("MANILA (Wire) - " + body(31)) == body_key(body(31))
    assert body_key(body(31)) != body_key(body(32))


def test_a_record_of_the_previous_release_goes_on_to_its_url_key() -> None:
    import orjson

    from worker.pipeline.records import article_to_wire
    from worker.pipeline.state import url_key

    feed = Feed()
    old = orjson.dumps({"origin": "pages:0:5", "ts": 1.0, "article": article_to_wire(article())})
    [forward] = identity_step(old, 0, feed.state)
    assert (forward.kind, forward.key) == ("stories", url_key(article().id))
    [out] = [r for r in feed.engine.run([forward])]
    assert out.kind == "article" and out.verdict is not None and out.verdict.value == "new"


def test_a_verdict_crash_replay_never_publishes_a_version_twice_out_of_order() -> None:
    """The deep state-machine counterexample "version 1 after 2" via parking, shrunk: p2, a
    newer crawl of a URL whose first sighting p1 is probing, parks; the verdict binds the URL
    (v1) and the worker dies after its outputs landed, before its state writes. The replayed
    verdict publishes v1 again; p2 must not have been published as v2 in between, so p2 goes
    back to the URL's key and is decided there, in its own record, after the verdict holds."""
    feed = Feed()
    p1 = article(page_id="p1")
    p2 = article(text=grown(1, 1), modified=T0 + timedelta(hours=1),
                 fetched=T0 + timedelta(hours=2), page_id="p2")
    log = [*feed.records(p1, "pages:0:1"), *feed.records(p2, "pages:0:2")]
    published: list[dict[str, Any]] = []

    run = partial(step, feed, published)

    hops = run(log[0])  # p1 probes
    assert run(log[1]) == []  # p2 parks behind it
    verdict = until_verdict(run, hops)
    sent = run(verdict, crash=True)  # outputs out, state writes lost
    assert [(o["_kind"], o["version"]) for o in published] == [("article", 1)]
    assert [orjson.loads(r.value)["origin"] for r in sent if r.key == verdict.key] == [
        "pages:0:2"]
    again = run(verdict)  # the replay: v1 again, identical, and p2 sent back again
    for record in [*sent, *again]:
        if record.key == verdict.key:
            run(record)
    assert [(o["_kind"], o["version"]) for o in published] == [
        ("article", 1), ("article", 1), ("article", 2)]
    assert published[0] == published[1]


def test_a_parked_pages_record_replayed_after_a_crash_waits_for_the_verdicts_copy() -> None:
    """The deep state-machine counterexample "two contents for (id, 2)", shrunk: p2 parks
    behind p1's probe; the verdict publishes v1 and sends p2 back to the URL key; p3, a later
    crawl that reached the URL key before that copy, is v2, and the worker dies after p3's
    article landed, before its state writes. The replay from the committed offset (before p1)
    meets p2's original record with the URL already bound: decided there, p2 would be v2 with
    another content. It waits for the verdict's copy, which comes after p3 as the first time."""
    feed = Feed()
    p1 = article(page_id="p1")
    p2 = article(text=grown(1, 1), modified=T0 + timedelta(hours=1),
                 fetched=T0 + timedelta(hours=1), page_id="p2")
    p3 = article(text=grown(1, 2), modified=T0 + timedelta(hours=2),
                 fetched=T0 + timedelta(hours=2), page_id="p3")
    published: list[dict[str, Any]] = []

    run = partial(step, feed, published)

    [u1], [u2], [u3] = (feed.records(p, f"pages:0:{n}") for n, p in enumerate((p1, p2, p3)))
    hops = run(u1)
    assert run(u2) == []  # parked
    verdict = until_verdict(run, hops)
    [copy] = [r for r in run(verdict) if r.key == verdict.key]  # v1; p2 sent back
    assert run(u3, crash=True) == []  # p3 parks behind p2's copy; its writes are lost
    sent: list[Routed] = []
    for record in (u1, u2, verdict, u3, copy):  # the replay, in the URL partition's order
        sent += [r for r in run(record) if r.key == verdict.key]
    for record in sent:  # p3, sent back once p2's copy was decided
        run(record)
    contents: dict[int, str] = {}
    for out in published:
        if out["_kind"] == "article":
            assert contents.setdefault(out["version"], content(out)) == content(out), (
                f"two contents for version {out['version']}")
    assert [(o["page_id"], o["_kind"], o["version"]) for o in published] == [
        ("p1", "article", 1), ("p2", "article", 2), ("p3", "article", 3)]


def _four_crawls(feed: Feed) -> tuple[list[Article], list[Routed]]:
    """Four crawls of one live page (p1..p4, each an hour later and grown by a paragraph) and
    their URL records, in partition order."""
    pages = [article(page_id="p1")] + [
        article(text=grown(1, n), modified=T0 + timedelta(hours=n),
                fetched=T0 + timedelta(hours=n), page_id=f"p{n + 1}") for n in (1, 2, 3)]
    return pages, [feed.records(p, f"pages:0:{n}")[0] for n, p in enumerate(pages)]


def test_a_crawl_arriving_while_the_verdicts_copies_travel_keeps_its_turn() -> None:
    """Crawl order survives the verdict's send-back (test_rebalance on 7b526c4: a live page's
    versions came out 1, 2, 3, 4 for five crawls). p2 parks behind p1's probe; the verdict
    publishes v1 and sends p2 back to the URL key; p3 and p4, later crawls, reach the URL key
    before that copy. They wait behind it (parked), are sent back when it is decided, and come
    out as v3 and v4, after p2's v2: versions in crawl order, none counted as older."""
    feed = Feed()
    published: list[dict[str, Any]] = []
    run = partial(step, feed, published)
    _, (u1, u2, u3, u4) = _four_crawls(feed)
    hops = run(u1)
    run(u2)  # parked behind the probe
    queue = run(until_verdict(run, hops))  # v1 out, p2's copy on its way to the URL key
    queue += run(u3) + run(u4)  # p3 and p4 were on the URL's partition before that copy
    while queue:  # the copies, in partition order (p2's, then p3's and p4's)
        queue += run(queue.pop(0))
    assert [(o["page_id"], o["_kind"], o["version"]) for o in published] == [
        ("p1", "article", 1), ("p2", "article", 2), ("p3", "article", 3),
        ("p4", "article", 4)]


def test_a_sent_back_page_whose_article_is_refused_is_rejected_and_its_url_goes_on() -> None:
    """The deep state-machine counterexample "pages without a record", shrunk: p2 parks
    behind p1's probe; the verdict publishes v1 and sends p2 back to the URL key; p3, a later
    crawl, reaches the URL key before that copy and parks behind it. p2's copy is decided as
    v2, but the broker refuses that article for good (too large for the articles topic, an
    ACL): p2 is rejected, and p3, whose copy that record sent back, must still be decided.
    The refused record's writes were dropped whole, so the URL entry still waited for p2's
    copy (gone: it was decided) and p3's copy parked again: p3, every later crawl of the URL
    and p2 redriven waited for ever with no record."""
    feed = Feed()
    published: list[dict[str, Any]] = []
    run = partial(step, feed, published)
    pages, (u1, u2, u3, u4) = _four_crawls(feed)
    hops = run(u1)
    assert run(u2) == []  # parked behind the probe
    [copy2] = run(until_verdict(run, hops))  # v1 out, p2's copy on its way to the URL key
    assert run(u3) == []  # p3 reached the URL key first: it waits behind p2's copy
    queue = run(copy2, refuse="article")  # p2's v2 refused: p2 rejected, p3 sent back
    queue += run(u4)  # a later crawl
    queue += run(feed.records(pages[1], "redrive:0:1")[0])  # p2 redriven
    while queue:
        queue += run(queue.pop(0))
    # p2's v2 keeps its number (the broker may hold it: see the next tests), so p3 is v3;
    # p2 redriven after p4's v4 is an older content: a duplicate.
    assert [(o["page_id"], o["_kind"], o.get("version")) for o in published] == [
        ("p1", "article", 1), ("p2", "rejection", None), ("p3", "article", 3),
        ("p4", "article", 4), ("p2", "duplicate", 4)]
    assert not [k for k in feed.store.data if k.startswith(b"p:")]  # nothing left parked


def test_a_release_replayed_after_a_crash_leaves_a_newer_probe_alone() -> None:
    """A way to "two contents for (id, 1)" (the deep state machine's, not traced; constructed):
    p0's first probe is slow; a week of data time later two sweep passes find the URL stalled
    and send it two releases. The first forgets the URL (p0's record is not kept); p1 then
    probes, p2 and p3 park behind it, the second release finds p1's probe fresh and does
    nothing; p1's verdict publishes v1 and the worker dies before its writes. The replay from
    the committed offset meets the releases again, now with the data clock p3 moved a week on:
    judged by that clock, the first released p1's probe and re-probed p2, whose verdict was
    then v1 again with p2's content. A release names the wait it found stalled and acts on it
    only, so the replay does what the first pass did: p1's v1 again (identical), p2 v2, p3 v3."""
    feed = Feed()

    def sweep(key: bytes, clock: int) -> list[Routed]:  # a sweep pass: the releases it sends
        progress = sweep_slice(feed.state, partition_of(key), clock, SweepProgress(),
                               lambda: False)
        return release_records(progress)

    published: list[dict[str, Any]] = []
    run = partial(step, feed, published)
    window, hour = feed.options.dedupe_window, timedelta(hours=1)
    pages = [article(page_id="p0")] + [
        article(text=grown(1, n), modified=T0 + t, fetched=T0 + t, page_id=f"p{n}")
        for n, t in ((1, window + 2 * hour), (2, window + 3 * hour),
                     (3, 2 * window + 4 * hour))]
    u0, u1, u2, u3 = (feed.records(p, f"pages:0:{n}")[0] for n, p in enumerate(pages))
    assert u0.key is not None
    partition = partition_of(u0.key)
    other = next(a for a in (article(url=f"https://other.example/n/{i}", page_id="x",
                                     text=body(7), fetched=T0 + window + hour)
                             for i in range(100))
                 if partition_of(feed.records(a)[0].key or b"") == partition)
    [x] = feed.records(other, "pages:0:9")  # another URL of the partition: a week later
    run(u0)  # p0 probes; its hops are slow (not run here)
    run(x)
    clock = feed.state.clock(partition)
    assert clock is not None
    [ra], [rb] = sweep(u0.key, clock), sweep(u0.key, clock)
    log = [u0, x, ra, rb, u1, u2, u3]  # the partition's records, in order
    hops: list[Routed] = []
    for record in log[2:]:
        sent = run(record)
        hops = sent if record is u1 else hops
    verdict = until_verdict(run, hops)
    copies = run(verdict, crash=True)  # p1's v1 out, p2 and p3 sent back; its writes lost
    queue: list[Routed] = []
    for record in [*log, verdict, *copies]:  # the replay from the committed offset
        queue += run(record)
    while queue:
        queue += run(queue.pop(0))
    versions: dict[int, str] = {}
    for out in published:
        if out["_kind"] == "article":
            assert versions.setdefault(out["version"], content(out)) == content(out), (
                f"two contents for version {out['version']}")
    assert [(o["page_id"], o["version"]) for o in published if o["_kind"] == "article"] == [
        ("p1", 1), ("p1", 1), ("p2", 2), ("p3", 3)]


def test_a_re_extracted_copy_that_waited_for_its_own_probe_publishes_nothing_on_a_replay() -> None:
    """The deep state machine's "two contents for (id, 2)", traced and shrunk: p1 probes; a
    re-extracted redelivery of p1's message (same origin, another hash) reaches the URL key
    while it probes and waits (nothing published); the verdict publishes p1 as v1; p4, a
    later crawl, is v2 and the worker dies before p4's writes. The replay from the committed
    offset meets the re-extracted copy with the URL bound: "v1's message with another hash"
    made it v2 with its own content, before p4's v2 came again. It published nothing the first
    time, so it publishes nothing on the replay either."""
    feed = Feed()
    published: list[dict[str, Any]] = []
    run = partial(step, feed, published)
    p1 = article(page_id="p1")
    [u1] = feed.records(p1, "pages:0:1")
    [again] = feed.records(replace(p1, description="re-extracted"), "pages:0:1")
    [u4] = feed.records(article(text=grown(1, 1), modified=T0 + timedelta(hours=1),
                                fetched=T0 + timedelta(hours=1), page_id="p4"), "pages:0:4")
    hops = run(u1)
    assert run(again) == []  # waits: its message is probing
    verdict = until_verdict(run, hops)
    run(verdict)
    run(u4, crash=True)  # v2 out, its writes lost
    for record in (u1, again, verdict, u4):  # the replay of the URL's partition
        run(record)
    assert [(o["page_id"], o["_kind"], o.get("version")) for o in published] == [
        ("p1", "article", 1), ("p4", "article", 2), ("p4", "article", 2)]
    assert published[1] == published[2]


def test_a_next_version_accepted_then_refused_on_its_replay_keeps_its_number() -> None:
    """The deep state machine's "two contents for (id, 2)" of story 0's own URL (identity4's
    saved program /tmp/id4/y_run4), traced and shrunk: p1 is v1 and its writes land; p2, a
    later crawl, is v2, its article reaches the broker and the worker dies before p2's writes.
    On the replay from the committed offset the broker refuses that same article for good (an
    ACL added in between): p2 is rejected. Its record's fallback was "nothing", so the URL
    entry still said v1 and p3, the next crawl, was v2 again with p3's content. The state
    cannot tell "accepted before the crash" from "refused the first time", so a refused
    version keeps its number: the fallback counts v2 (p2's content) and p3 is v3."""
    feed = Feed()
    published: list[dict[str, Any]] = []
    run = partial(step, feed, published)
    _, (u1, u2, u3, _) = _four_crawls(feed)
    run(until_verdict(run, run(u1)))  # p1 v1, its writes land
    run(u2, crash=True)  # p2 v2 out, its writes lost
    run(u2, refuse="article")  # the replay: the same article refused, p2 rejected
    run(u3)  # the next crawl
    versions: dict[int, str] = {}
    for out in published:
        if out["_kind"] == "article":
            assert versions.setdefault(out["version"], content(out)) == content(out), (
                f"two contents for version {out['version']}")
    assert [(o["page_id"], o["_kind"], o.get("version")) for o in published] == [
        ("p1", "article", 1), ("p2", "article", 2), ("p2", "rejection", None),
        ("p3", "article", 3)]
