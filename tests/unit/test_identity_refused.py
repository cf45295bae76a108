"""A refused version keeps its number (README "What consumers see"; docs/identity.md, the
accepted-then-refused limit and the lead's decision of 2026-11-30).

An article the broker refuses for good may be on the broker all the same: it accepted that
very record before a crash lost the record's state writes, and refuses the replay (an ACL or a
size limit changed in between). The state cannot tell that from a first refusal, so the
refused record's fallback counts the version, with the refused page's origin and record hash
(`UrlEntry.refused`): only that content may ever be that version. Its redrive publishes it
again, identical, while it is the latest; the next crawl takes the next number (after a first
refusal, a gap in the numbers, which the page's rejection explains).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any

import orjson

from tests.stories import T0, Feed, article, decode, partition_of
from tests.unit.test_identity import _four_crawls, grown, until_verdict
from tests.unit.test_identity_properties import content
from worker.pipeline.route import STORIES, Routed, identity_record
from worker.pipeline.state import IdentityState, Staged
from worker.pipeline.types import Article


def step(feed: Feed, log: list[dict[str, Any]], record: Routed, *, crash: bool = False,
         refuse: bool = False) -> list[Routed]:
    """One stories record through the identity stage as the worker runs it (as in
    test_identity.step), with `refuse`: the broker refuses its article for good. `log` gets
    what was published, and the refused article too (`_kind` "refused": it may be on the
    broker already), so one content per (id, version) is checked over both."""
    staged = Staged(feed.store)
    assert record.key is not None
    handled = identity_record(record.value, partition_of(record.key),
                              IdentityState(staged, feed.options))
    landed = frozenset(i for i, o in enumerate(handled.outputs)
                       if not (refuse and o.kind == "article"))
    for i, out in enumerate(handled.outputs):
        if i not in landed:
            log.append({**decode(out), "_kind": "refused"})
            page = orjson.loads(record.value).get("article") or {}
            log.append({"_kind": "rejection", "page_id": page.get("page_id")})
    log.extend(decode(o) for i, o in enumerate(handled.outputs)
               if i in landed and o.kind != STORIES)
    if not crash:
        staged.writes_for(None, handled.needs, handled.fallback)(landed)
    return [o for i, o in enumerate(handled.outputs) if i in landed and o.kind == STORIES]


def summary(log: list[dict[str, Any]]) -> list[tuple[str, str, int | None]]:
    """(page, kind, version) of each output; checks one content per version on the way."""
    contents: dict[int, str] = {}
    for out in log:
        if out["_kind"] in ("article", "refused"):
            text = content(out)
            assert contents.setdefault(out["version"], text) == text, (
                f"two contents for version {out['version']}")
    return [(o["page_id"], o["_kind"], o.get("version")) for o in log]


def v2_refused(feed: Feed, log: list[dict[str, Any]]
               ) -> tuple[Callable[..., list[Routed]], list[Article], list[Routed]]:
    """p1's v1 published, then p2's v2 refused for good (p2 rejected, v2 counted); the
    `step` to go on with, the four crawls' pages and their records."""
    run = partial(step, feed, log)
    pages, crawls = _four_crawls(feed)
    run(until_verdict(run, run(crawls[0])))
    run(crawls[1], refuse=True)
    return run, pages, crawls


def test_a_refused_version_is_published_again_identical_by_its_redrive_and_v3_follows() -> None:
    feed = Feed()
    log: list[dict[str, Any]] = []
    run, pages, (_, _, u3, _) = v2_refused(feed, log)
    run(feed.records(pages[1], "redrive:0:1")[0])  # p2 redriven once the cause is fixed
    run(u3)
    assert summary(log) == [
        ("p1", "article", 1), ("p2", "refused", 2), ("p2", "rejection", None),
        ("p2", "article", 2), ("p3", "article", 3)]
    refused, again = (o for o in log if o["page_id"] == "p2" and o["_kind"] != "rejection")
    assert {**refused, "_kind": "article"} == again  # the very record the broker refused


def test_a_crawl_before_the_redrive_takes_the_next_number_and_the_redrive_is_a_duplicate() -> None:
    feed = Feed()
    log: list[dict[str, Any]] = []
    run, pages, (_, _, u3, _) = v2_refused(feed, log)
    run(u3)  # the next crawl comes first: v3 (v2 stays p2's: a gap if the broker has none)
    run(feed.records(pages[1], "redrive:0:1")[0])  # p2 redriven: older than v3
    assert summary(log) == [
        ("p1", "article", 1), ("p2", "refused", 2), ("p2", "rejection", None),
        ("p3", "article", 3), ("p2", "duplicate", 3)]


def test_the_refused_record_replayed_publishes_nothing_even_after_a_later_version() -> None:
    """p2's v2 accepted, crash; its replay refused (v2 counted, p2 rejected); p3 is v3 and the
    worker dies before p3's writes. The replay from the committed offset meets p2's record
    again: with the broker's ACL lifted it would be published as v2 after v3 (versions going
    down) had the state taken it for the refused page's content from another message. It is
    the message that made v2, with the same hash: a replay that publishes nothing (its
    rejection answered it the first time)."""
    feed = Feed()
    log: list[dict[str, Any]] = []
    run = partial(step, feed, log)
    _, (u1, u2, u3, _) = _four_crawls(feed)
    run(until_verdict(run, run(u1)))
    run(u2, crash=True)  # v2 out, its writes lost
    run(u2, refuse=True)  # the replay: refused, v2 counted
    run(u3, crash=True)  # v3 out, its writes lost
    assert run(u2) == []  # the replay from the committed offset
    run(u3)
    assert summary(log) == [
        ("p1", "article", 1), ("p2", "article", 2), ("p2", "refused", 2),
        ("p2", "rejection", None), ("p3", "article", 3), ("p3", "article", 3)]
    assert log[-1] == log[-2]


def test_a_refused_version_1_keeps_its_id_claimed() -> None:
    """The URL's own verdict, refused: the URL is bound to the page's id at v1 all the same
    (it used to be released, and the URL's next page probed again and became v1 with its own
    content). The next crawl is v2 at once; the page redriven after it is a duplicate."""
    feed = Feed()
    log: list[dict[str, Any]] = []
    run = partial(step, feed, log)
    pages, (u1, u2, _, _) = _four_crawls(feed)
    run(until_verdict(run, run(u1)), refuse=True)
    hops = run(u2)  # bound: decided at once, no probe (only its index registrations)
    assert {orjson.loads(h.value)["step"] for h in hops} == {"register"}
    run(feed.records(pages[0], "redrive:0:0")[0])
    assert summary(log) == [
        ("p1", "refused", 1), ("p1", "rejection", None), ("p2", "article", 2),
        ("p1", "duplicate", 2)]
    assert len({o["id"] for o in log if "id" in o}) == 1


def test_a_refused_version_1_redriven_first_is_published_identical() -> None:
    feed = Feed()
    log: list[dict[str, Any]] = []
    run = partial(step, feed, log)
    pages, (u1, u2, _, _) = _four_crawls(feed)
    run(until_verdict(run, run(u1)), refuse=True)
    run(feed.records(pages[0], "redrive:0:0")[0])
    run(u2)
    assert summary(log) == [
        ("p1", "refused", 1), ("p1", "rejection", None), ("p1", "article", 1),
        ("p2", "article", 2)]


def test_a_version_1_accepted_then_refused_on_its_replay_keeps_its_number() -> None:
    """identity4's constructed "two contents for (id, 1)" (docs/identity.md): p1's verdict
    publishes v1 and the worker dies before its writes (the URL still pending); on the replay
    the broker refuses that same article for good. The fallback released the URL as if v1
    had never gone out, and p2, the next crawl, probed and was v1 with its own content."""
    feed = Feed()
    log: list[dict[str, Any]] = []
    run = partial(step, feed, log)
    _, (u1, u2, _, _) = _four_crawls(feed)
    verdict = until_verdict(run, run(u1))
    run(verdict, crash=True)  # v1 out, its writes lost
    run(verdict, refuse=True)  # the replayed verdict: refused
    run(u2)
    assert summary(log) == [
        ("p1", "article", 1), ("p1", "refused", 1), ("p1", "rejection", None),
        ("p2", "article", 2)]


def test_a_refused_page_redriven_with_another_extraction_is_the_next_version() -> None:
    """The refused page redriven after an extractor change (the fix for a too-large article
    may well be one): another record hash, the same times and material body. As a duplicate
    it would point at v2, which consumers may never get; it is v3. A stale crawl (older than
    the refused page) is still a duplicate."""
    feed = Feed()
    log: list[dict[str, Any]] = []
    run, pages, _ = v2_refused(feed, log)
    earlier = T0 + timedelta(minutes=55)  # p2 is modified and fetched at T0 + 1 h
    stale = article(text=grown(1, 1), modified=earlier, fetched=earlier, page_id="s")
    run(feed.records(stale, "pages:0:7")[0])
    run(feed.records(replace(pages[1], description="re-extracted"), "redrive:0:1")[0])
    assert summary(log) == [
        ("p1", "article", 1), ("p2", "refused", 2), ("p2", "rejection", None),
        ("s", "duplicate", 2), ("p2", "article", 3)]
