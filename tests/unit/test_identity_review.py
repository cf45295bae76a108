"""Review of issue #11 (story identity): each test reproduces one way to break a README promise.

Minimal, deterministic reproductions through the same pure stage the worker runs
(`tests.stories.Feed` = `route_result` + `Engine` + `identity_step` on a dict store). Each test
names the README sentence it checks. Tests here that fail are findings reported on the board
to @identity; they stay on the `idreview` branch until the code is fixed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson

from tests.stories import T0, Feed, article, body, decode, paragraph, partition_of
from tests.unit.test_identity_state import step_until
from worker.pipeline.state import url_key

URL = "https://www.harbourgazette.example/news/2025/11/03/storm-floods-city"


def url_on_the_same_partition(url: str) -> str:
    """Another site's story URL whose `u:` key shares `url`'s stories partition (and clock)."""
    target = partition_of(url_key(article(url=url).id))
    k = 0
    while partition_of(url_key(article(url=f"https://live.example/news/{k}").id)) != target:
        k += 1
    return f"https://live.example/news/{k}"


def test_a_backfilled_live_page_keeps_one_content_per_version() -> None:
    # README: "No (id, version) is ever published with two different contents", and "in a
    # backfill of old pages, keep their fetched_at". Live traffic has moved this partition's
    # data clock to now; a backfill then brings two crawls of one URL from 120 days ago, one
    # hour apart, the second with one paragraph more. The URL entry is made with
    # last_seen = the page's own (old) fetch time, so it is born past NEWS_IDENTITY_HORIZON of
    # the partition's clock: the second crawl finds no entry and is version 1 again.
    feed = Feed()
    now = T0 + timedelta(days=120)
    live = url_on_the_same_partition(URL)
    feed.one(article(url=live, text=body(50), headline="Live traffic", published=now,
                     fetched=now))
    first = feed.one(article(url=URL, text=body(1), published=T0, fetched=T0, page_id="b1"))
    second = feed.one(article(url=URL, text=body(1) + "\n\n" + paragraph(77), published=T0,
                              modified=T0 + timedelta(hours=1), fetched=T0 + timedelta(hours=1),
                              page_id="b2"))
    assert (first["_kind"], first["version"]) == ("article", 1)
    assert second["_kind"] == "article"
    assert (second["id"], second["version"]) == (first["id"], 2), (
        "the backfilled re-crawl re-used (id, 1) for another content")


def test_a_page_parked_behind_a_probe_is_published_even_if_the_clock_jumps_meanwhile() -> None:
    # README: "Every input message yields a record" and "pages of that URL arriving meanwhile
    # wait behind the probe". p1 (a first sighting) is probing; p2, a re-crawl of the same
    # URL, parks behind it. Before p1's verdict comes back, another page moves the URL
    # partition's data clock past NEWS_IDENTITY_HORIZON (a backfill mixed with live traffic,
    # or a page without fetched_at getting today's receive time). The verdict then sees no
    # live pending entry (`live_url` -> None), takes the first-sighting path with no parked
    # pages to drain: p2 gets no record, and its `p:` key stays in the state for ever (the
    # sweep skips `p:` keys).
    feed = Feed()
    held, _ = step_until(feed, feed.records(article(url=URL, page_id="p1")), "decide")
    second = article(url=URL, page_id="p2", text=body(1) + "\n\n" + paragraph(7),
                     fetched=T0 + timedelta(hours=1))
    assert feed.engine.run(feed.records(second)) == []  # parked
    jump = T0 + feed.options.identity_horizon + timedelta(days=1)
    feed.one(article(url=url_on_the_same_partition(URL), text=body(50), headline="Live",
                     published=jump, fetched=jump, page_id="q"))
    outputs = [decode(r) for r in feed.engine.run(held)]
    assert sorted(o["page_id"] for o in outputs) == ["p1", "p2"], "a parked page got no record"
    assert not [k for k in feed.store.data if k.startswith(b"p:")], "a parked record leaked"


def test_articles_declaring_their_homepage_as_canonical_stay_separate_stories() -> None:
    # README rule 1: "A story's id is a hash of its canonical URL ... the page's <link
    # rel=canonical> followed", and rule 3: another URL with an unrelated body is another
    # story. A site that declares its homepage as every article's canonical (a common
    # misconfiguration; og:url pointing at the homepage, used when no link rel=canonical is
    # there, is more common still) gets one id for all its stories: the second, unrelated
    # article is published as version 2 of the first one's id.
    from tests.factories import article_html, message
    from worker.pipeline import process_page
    from worker.pipeline.options import PipelineOptions
    from worker.pipeline.types import Article

    site = "https://www.harbourgazette.example"
    feed = Feed()
    outs = []
    for k, (slug, headline) in enumerate([("council-budget", "Council approves budget"),
                                          ("ferry-strike", "Ferry crews strike over pay")]):
        raw = message(page_id=slug, url=f"{site}/news/2025/03/04/{slug}",
                      fetched_at=f"2025-03-04T1{k}:00:00Z",
                      html=article_html(headline=headline, canonical=f"{site}/",
                                        paragraphs=body(60 + k).split("\n\n")))
        result = process_page(raw, received_at=T0.replace(year=2026), options=PipelineOptions())
        assert isinstance(result, Article), result
        outs.append(feed.one(result))
    assert [o["_kind"] for o in outs] == ["article", "article"]
    assert outs[0]["id"] != outs[1]["id"], (
        "two unrelated stories became versions 1 and 2 of one id")


def test_a_decide_record_that_cannot_be_read_does_not_wedge_its_url(monkeypatch: Any) -> None:
    # README: "Every input message yields a record" / "never a silent drop". p1 (a first
    # sighting) is probing and p2 parked behind it when the worker is upgraded to a release
    # whose Article has one more field (simulated: ARTICLE_FIELDS gains "summary"). The
    # verdict record carries the old release's article, `article_from_wire` raises KeyError,
    # `identity_step` turns it into MalformedRecord and the worker skips the record. Beyond
    # that one record: no state is written, the URL stays *pending* for ever, and every later
    # page of it (p3, written by the new release) parks behind a probe that will never come
    # back: no record for p1, p2 or p3, until NEWS_IDENTITY_HORIZON.
    from worker.pipeline import records
    from worker.pipeline.route import MalformedRecord, identity_step
    from worker.pipeline.state import IdentityState, Staged

    feed = Feed()
    held, _ = step_until(feed, feed.records(article(url=URL, page_id="p1")), "decide")
    assert feed.engine.run(feed.records(article(url=URL, page_id="p2", fetched=T0 + timedelta(
        minutes=30)))) == []
    monkeypatch.setattr(records, "ARTICLE_FIELDS", records.ARTICLE_FIELDS | {"summary"})
    outputs = []
    for record in held:  # as handle_identity does: writes held back, a MalformedRecord skipped
        staged = Staged(feed.store)
        try:
            step = identity_step(record.value, partition_of(record.key or b""),
                                 IdentityState(staged, feed.options))
        except MalformedRecord:
            continue
        # The publisher applies an event's writes once its outputs are acknowledged, before
        # the records those outputs lead to come back to the partition.
        staged.commit()
        outputs += feed.engine.run(step)
    monkeypatch.undo()
    outputs += feed.engine.run(feed.records(article(url=URL, page_id="p3", text=body(1) + (
        "\n\n" + paragraph(3)), fetched=T0 + timedelta(hours=2))))
    answered = sorted(decode(r)["page_id"] for r in outputs)
    assert "p3" in answered, f"the URL is wedged: later pages park for ever ({answered})"


def test_a_probe_never_sends_a_stories_record_larger_than_the_one_route_result_accepted() -> None:
    # route_result checks the page's `u:` record against the record limit (the stories
    # topic's max.message.bytes), but each hop of the probe re-sends that record grown:
    # "step":"body" (+1 byte), "headline" and "match": null (+18), "decide" with the match
    # (+~60). A page whose `u:` record fits by less than that makes a hop the broker refuses:
    # today `handle_identity` awaits the acks, the send raises, `_or_exit` exits, and the
    # restarted worker replays the same record: a crash loop ("never a crash loop"); once
    # delivery turns a refused record into a rejection, the page's URL still stays pending
    # (its probe never comes back), so its later pages park for ever.
    # (The broker also counts the batch header, key and record framing against
    # max.message.bytes, so even the `u:` record itself can be refused near the limit.)
    from worker.pipeline.route import STORIES, route_result

    feed = Feed()
    item = article(url=URL)
    [first] = route_result(item, "pages:0:1", 1.7e9, None, 10_000_000)
    # The smallest limit route_result accepts this page at (it keeps room for the hops).
    limit = next(n for n in range(len(first.value), len(first.value) + 8192)
                 if route_result(item, "pages:0:1", 1.7e9, None, n)[0].kind == STORIES)
    queue = route_result(item, "pages:0:1", 1.7e9, None, limit)
    assert [r.kind for r in queue] == [STORIES]
    assert route_result(item, "pages:0:1", 1.7e9, None, limit - 1)[0].kind == "rejection"
    sizes = []
    while queue:
        record = queue.pop(0)
        sizes.append((orjson.loads(record.value)["step"], len(record.value)))
        queue += [r for r in feed.engine.step(record) if r.kind == STORIES]
    assert all(size <= limit for _, size in sizes), (limit, sizes)


def test_a_parked_page_whose_record_the_changelog_lost_still_gets_a_record() -> None:
    # The consequence of the changelog refusing a large parked value (see
    # tests/integration/test_identity_review.py: the identity changelog keeps the broker's
    # ~1 MB max.message.bytes, a parked record can be ~6.9 MB): a new owner of the partition
    # recovers the URL entry (pending, parked=[p2]) but not `p:...p2`. The verdict drains p2,
    # `unpark` returns None and route.py skips it: p2 gets no record.
    feed = Feed()
    held, _ = step_until(feed, feed.records(article(url=URL, page_id="p1")), "decide")
    assert feed.engine.run(feed.records(article(url=URL, page_id="p2", fetched=T0 + timedelta(
        minutes=30)))) == []
    for key in [k for k in feed.store.data if k.startswith(b"p:")]:
        del feed.store.data[key]  # what the recovered table lacks
    answered = sorted(decode(r)["page_id"] for r in feed.engine.run(held))
    assert answered == ["p1", "p2"], answered


def test_a_park_torn_by_a_crash_in_the_changelog_does_not_lose_the_page() -> None:
    # Found by tests/unit/test_identity_machine.py with torn commits. README: a new owner
    # "recovers the table from the changelog"; "Every input message yields a record". An
    # event's table writes reach the changelog one by one, in order (Staged.commit -> Faust
    # table -> send_soon): a crash can leave a prefix. Parking p2 writes the URL entry
    # (parked=[p2]) *before* the parked record `p:...p2`; a crash between them, and a new
    # owner (the killed worker's partitions move to the survivor) has a URL entry naming a
    # parked page whose record it does not have. p2's replay is recognised as already parked
    # (Action.WAIT) and the verdict drains nothing: p2 never gets a record.
    from worker.pipeline.route import identity_step
    from worker.pipeline.state import IdentityState, Staged

    feed = Feed()
    held, _ = step_until(feed, feed.records(article(url=URL, page_id="p1")), "decide")
    [park] = feed.records(article(url=URL, page_id="p2", fetched=T0 + timedelta(minutes=30)))
    staged = Staged(feed.store)
    assert identity_step(park.value, partition_of(park.key or b""),
                         IdentityState(staged, feed.options)) == []
    writes = list(staged.writes.items())
    assert [k[:2] for k, _ in writes] == [b"\x00c", b"p:", b"u:"]  # parked record first
    for key, value in writes[:2]:  # the crash: the parked record did not reach the changelog
        assert value is not None
        feed.store.put(key, value)
    assert feed.engine.run([park]) == []  # the replay, on the new owner
    answered = sorted(decode(r)["page_id"] for r in feed.engine.run(held))
    assert answered == ["p1", "p2"], answered
