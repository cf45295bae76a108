"""The identity stage step by step: probes in flight, parked pages, the state and its sweep."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson

from tests.stories import T0, Feed, article, body, decode, paragraph, partition_of
from worker.pipeline.identity import UrlEntry
from worker.pipeline.route import STORIES, Routed
from worker.pipeline.state import (
    FORMAT,
    DictStore,
    IdentityState,
    Staged,
    SweepProgress,
    encode,
    expires_of,
    index_key,
    stage_of,
    sweep_slice,
    url_key,
)

COPY_URL = "https://news.localpaper.example/world/storm-city"


def step_until(feed: Feed, records: list[Routed], stop: str) -> tuple[list[Routed], list[Routed]]:
    """Run records (FIFO) until the next one would be a `stop` step; (held, published)."""
    queue, published = list(records), []
    while queue:
        if orjson.loads(queue[0].value).get("step") == stop:
            return queue, published
        record = queue.pop(0)
        for out in feed.engine.step(record):
            (queue if out.kind == STORIES else published).append(out)
    return queue, published


def test_a_recrawl_arriving_while_its_url_is_probing_waits_and_comes_out_after() -> None:
    feed = Feed()
    first = article()
    edited = article(headline="Death toll rises as storm floods city centre", page_id="p2",
                     fetched=T0 + timedelta(hours=1))
    probe, out = step_until(feed, feed.records(first), "decide")  # verdict not back yet
    assert out == [] and orjson.loads(probe[0].value)["step"] == "decide"
    parked = feed.engine.run(feed.records(edited))
    assert parked == []  # it waits behind the probe instead of probing too
    assert feed.engine.run(feed.records(edited, "pages:0:1")) == []  # its replay: once
    results = [decode(r) for r in feed.engine.run(probe)]
    assert [(r["page_id"], r["version"], r["_verdict"]) for r in results] == [
        ("p1", 1, "new"), ("p2", 2, "update")]
    assert not any(stage_of(k) is None and k.startswith(b"p:") for k in feed.store.data)


def test_two_copies_probing_at_once_find_each_other_and_point_at_a_published_id() -> None:
    feed = Feed()
    x = article(url=COPY_URL, page_id="x")
    y = article(url="https://third.example/storm", page_id="y",
                text="WIRE - " + body(1), fetched=T0 + timedelta(minutes=21))
    held_x, _ = step_until(feed, feed.records(x), "decide")  # x's verdict: a new story
    held_y, _ = step_until(feed, feed.records(y), "decide")  # y probed after x registered
    [dup] = [decode(r) for r in feed.engine.run(held_y)]  # y decided first
    [new] = [decode(r) for r in feed.engine.run(held_x)]
    assert (dup["duplicate_of"], dup["match"]) == (new["id"], "headline")
    assert (new["_verdict"], new["version"]) == ("new", 1)


def test_a_crash_before_the_outputs_were_acknowledged_decides_again_the_same_way() -> None:
    # The worker commits an event's table writes only after its outputs are acknowledged.
    feed = Feed()
    held, _ = step_until(feed, feed.records(article()), "decide")
    staged = Staged(feed.store)
    state = IdentityState(staged, feed.options)
    from worker.pipeline.route import identity_step

    lost = identity_step(held[0].value, partition_of(held[0].key or b""), state)
    assert staged.writes  # ... and the worker dies: nothing committed
    again = feed.engine.run(held)
    assert [r.value for r in again] == [r.value for r in lost if r.kind != STORIES]


def test_the_sweep_resumes_where_it_stopped_and_skips_nothing() -> None:
    feed = Feed()
    for k in range(12):
        feed.one(article(url=f"https://s{k}.example/news/x", text=body(100 + k),
                         headline=f"Story {k} of the day"))
    partition = partition_of(url_key(article(url="https://s0.example/news/x").id))
    total = sum(1 for key in feed.store.data
                if stage_of(key) and partition_of(key) == partition)
    progress, slices = SweepProgress(), 0
    while True:
        calls = iter([False, True])  # one look at the budget per slice: stop at the second
        sweep_slice(feed.state, partition, int(T0.timestamp()), progress,
                    lambda calls=calls: next(calls, True))
        slices += 1
        if progress.after is None:
            break
    assert progress.checked == total and sum(progress.entries.values()) == total
    assert slices >= 1 and progress.removed == 0  # nothing is due yet


def test_the_sweep_removes_only_what_is_due_by_its_partitions_clock() -> None:
    feed = Feed()
    feed.one(article())
    horizon, window = feed.options.identity_horizon, feed.options.dedupe_window
    keys = {stage_of(k): k for k in feed.store.data if stage_of(k)}
    assert set(keys) == {"url", "headline", "body"}
    for stage, key in keys.items():
        partition = partition_of(key)
        after_window = int((T0 + window + timedelta(days=1)).timestamp())
        sweep_slice(feed.state, partition, after_window, SweepProgress(), lambda: False)
        # The index entries are due after the window; the URL's identity lasts the horizon.
        assert (key in feed.store.data) == (stage == "url"), stage
    url = keys["url"]
    after_horizon = int((T0 + horizon + timedelta(days=1)).timestamp())
    sweep_slice(feed.state, partition_of(url), after_horizon, SweepProgress(), lambda: False)
    assert url not in feed.store.data


def test_an_unreadable_value_is_counted_treated_as_absent_and_left_in_place() -> None:
    feed = Feed()
    first = feed.one(article())
    key = url_key(first["id"])
    future = bytes([FORMAT + 1]) + b"\x00" * 8 + b"something a newer release wrote"
    feed.store.data[key] = future
    again = feed.one(article(page_id="p2"))  # the URL starts afresh: a documented rule
    assert again["_verdict"] == "new"
    assert ("url", key) in feed.unreadable
    feed.store.data[key] = future
    sweep_slice(feed.state, partition_of(key), 2**40, SweepProgress(), lambda: False)
    assert feed.store.data[key] == future  # not ours to delete
    ours = encode(UrlEntry(story=first["id"], own=True, last_seen=5), feed.options)
    assert expires_of(future) is None and expires_of(ours) == 5 + int(
        feed.options.identity_horizon.total_seconds())


def test_a_headline_index_value_of_broken_json_is_absent_too() -> None:
    feed = Feed()
    feed.one(article())
    [key] = [k for k in feed.store.data if stage_of(k) == "headline"]
    feed.store.data[key] = feed.store.data[key][:9] + b"{not json"
    copy = feed.one(article(url=COPY_URL, page_id="c", text="WIRE - " + body(1) + "\n\n" +
                            paragraph(5)))
    assert copy["_kind"] == "duplicate" and copy["match"] == "body"  # the body index still knows
    assert ("headline", key) in feed.unreadable


def test_staged_writes_are_read_back_and_applied_only_on_commit() -> None:
    store = DictStore(partition_of)
    store.put(b"u:a", b"1")
    staged = Staged(store)
    staged.put(b"u:b", b"2")
    staged.delete(b"u:a")
    assert (staged.get(b"u:a"), staged.get(b"u:b")) == (None, b"2")
    assert store.data == {b"u:a": b"1"}
    assert staged.commit() == 2 and store.data == {b"u:b": b"2"}
    assert index_key("h", "ab") == b"h:ab" and stage_of(b"h:ab") == "headline"


def test_a_seeded_story_continues_its_versions_and_never_republishes_version_1() -> None:
    from worker.commands.migrate import stories
    from worker.pipeline.route import seed_record

    old_entry = orjson.dumps({"stories": [{
        "id": article().id, "v": 3, "a": "2025-11-03T06:00:00Z", "d": True, "h": "x",
        "m": "2025-11-03T08:00:00Z", "s": "2025-11-03T09:00:00Z", "o": {}}]})
    [(story, version, modified, last_seen)] = stories(old_entry)
    assert (story, version) == (article().id, 3) and modified is not None
    assert stories(b"not json") == [] and stories(b'{"other": 1}') == []
    feed = Feed()
    assert feed.engine.run([seed_record(story, version, modified, last_seen)]) == []
    again = feed.one(article(fetched=T0 + timedelta(hours=4)))  # the page as it is now
    assert (again["_verdict"], again["id"], again["version"]) == ("update", story, 4)
    # A seed never lowers a version the URL already has.
    feed.engine.run([seed_record(story, 2, modified, last_seen)])
    assert feed.one(article(headline="Storm: the clean-up", fetched=T0 + timedelta(hours=5)))[
        "version"] == 5


def test_staged_groups_commit_one_record_at_a_time_and_a_failed_one_is_discarded() -> None:
    store = DictStore(partition_of)
    staged = Staged(store)
    first, second, failed = object(), object(), object()
    staged.begin(first)
    staged.put(b"u:a", b"1")
    staged.begin(second)
    staged.put(b"u:a", b"2")  # a later record of the batch reads and overwrites the first's
    staged.put(b"u:b", b"3")
    staged.begin(failed)
    staged.put(b"u:c", b"4")
    staged.discard(failed)
    assert (staged.get(b"u:a"), staged.get(b"u:c")) == (b"2", None)
    entered = []
    assert staged.commit_group(first, lambda tag: _note(entered, tag)) == 1
    assert store.data == {b"u:a": b"1"} and staged.get(b"u:a") == b"2" and entered == [first]
    assert staged.commit_group(second) == 2
    assert store.data == {b"u:a": b"2", b"u:b": b"3"} and staged.overlay == {}


def _note(entered: list[object], tag: object) -> Any:
    from contextlib import nullcontext

    entered.append(tag)
    return nullcontext()
