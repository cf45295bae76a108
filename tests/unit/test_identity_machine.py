"""A stateful model of the streaming identity stage: crashes, replays and rebalances anywhere.

`hypothesis.stateful` drives the pure stage the worker runs (`identity_step` on a `Staged`
store, exactly as `handle_identity` in worker/stream/agents.py) through the events of a real
deployment, in any order:

  deliver     the extract stage sends a page's `u:` record (a story at its own URL or a
              variant, a copy on another site, a page declaring the story's URL canonical;
              headline and body edits, dateline/furniture noise, declared modifications)
  redeliver   an earlier pages offset comes again (the extract stage crashed before its
              commit, or a consumer-group reset), possibly re-extracted differently
  step        the owner of a stories partition handles its next record: outputs acked, then
              the table writes applied (state never ahead of outputs)
  crash       the same, but the worker dies in the middle: any per-destination prefix of the
              outputs reached the broker, and (only if all of them did) the table writes
              reached the changelog or not; every partition goes back to its committed
              offset and its state is what the changelog holds. With IDENTITY_MACHINE_TORN=1
              any *prefix* of the writes may land (they go to the changelog one by one):
              that finds a page lost when a park is torn (tests/unit/test_identity_review.py)
  batch       the agent takes several records at once (from several partitions, each in
              order, as Faust's take_events gives them) and handles them as handle_identity
              does: each is decided against the state with the earlier records' writes in
              it, except that one which read a URL entry or parked record of an earlier,
              unsettled record is decided again once the batch so far is published and its
              writes applied; or the worker dies in one of those rounds (outputs partly out,
              or each partition's changelog keeping only its first records' writes)
  refuse      the owner handles its next record while the broker refuses one kind of record
              for good (an ACL: articles, duplicates, or one stories step): the publisher
              replaces the first refused output by a rejection of the record's page, skips
              the other refused ones, and applies the record's writes knowing what landed
              (`Staged.writes_for`: the writes, or their fallback); a verdict sends the pages
              parked behind it back to their URL key: those "url" records are the very records
              the topic accepted before, so they are not refused alone here
  commit      a partition's consumer offset is committed where its owner is
  rebalance   some partitions move: their new owner starts from the committed offsets with the
              table recovered from the changelog
  sweep       the partition's owner expires what is due by its data clock (never ahead of
              the wall clock), and sends a `release` record to each URL whose probe is
              presumed lost (waiting longer than the dedupe window: time here jumps past it)

Checked after every rule, on everything that reached the broker in publish order:
  * no (id, version) with two contents, counting the articles the broker refused (it may
    hold one: accepted before a crash, refused on the replay); per id, each article is the
    latest version again (identical) or the next one, or one after versions whose articles
    were refused (a refused version keeps its number: the only gaps allowed);
and at the end, once every partition is drained without faults (sweeps included: a URL whose
verdict was refused is released, and the sweep has its waiting pages probe again; data time
moved past the dedupe window while a URL still waits; then the pages that got only a rejection
redriven, as the runbook says, and all that again):
  * every page delivered has a record; every duplicate points at a published article;
  * no page is left parked and no URL pending.

Time moves forward with gaps longer than the dedupe window but stays within the identity
horizon (a URL back after the horizon starting again at version 1 is a documented limit).
HYPOTHESIS_PROFILE=deep runs many more and longer programs.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.stories import PARTITIONS, T0, Feed, article, decode, partition_of
from tests.unit.test_identity_properties import SITES, STORIES, content, story_body, variant
from worker.pipeline.identity import UrlEntry
from worker.pipeline.route import STORIES as TO_STORIES
from worker.pipeline.route import Routed, _not_kept, identity_record, identity_step, release_records
from worker.pipeline.state import IdentityState, Staged, SweepProgress, stage_of, sweep_slice

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
TORN = os.environ.get("IDENTITY_MACHINE_TORN") == "1"
SPAN = timedelta(days=60)
# A deep run takes minutes (longer on a busy machine): past the suite's 300 s test timeout.
pytestmark = [pytest.mark.timeout(3600)] if DEEP else []  # inside NEWS_IDENTITY_HORIZON (90 days)

page_specs = st.fixed_dictionaries({
    "story": st.integers(0, len(STORIES) - 1),
    "where": st.sampled_from(["own", "own", "own", "copy", "copy", "declared"]),
    "copy_site": st.integers(1, 2),
    "variant": st.integers(0, 5),
    "headline": st.integers(0, 1),
    "version": st.integers(0, 3),
    "furniture": st.booleans(),
    "dateline": st.booleans(),
    "modified": st.one_of(st.none(), st.integers(0, 12)),
    "advance": st.one_of(st.integers(0, 240), st.integers(0, 30),
                         st.sampled_from([60 * 24 * 3, 60 * 24 * 8])),  # minutes
    "stale": st.sampled_from([0, 0, 0, 90]),
})


def destination(record: Routed) -> tuple[str, Any]:
    """Records to one destination keep their order (one topic partition, one producer)."""
    if record.kind == TO_STORIES:
        assert record.key is not None
        return TO_STORIES, partition_of(record.key)
    return record.kind, record.key


class StreamModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.feed = Feed()
        self.logs: dict[int, list[Routed]] = {p: [] for p in range(PARTITIONS)}
        self.position = dict.fromkeys(range(PARTITIONS), 0)
        self.committed = dict.fromkeys(range(PARTITIONS), 0)
        self.published: list[dict[str, Any]] = []  # what reached the broker, in order
        self.delivered: list[tuple[Any, str]] = []  # (article, origin) per pages offset
        self.now = T0
        # Checked incrementally over `published`:
        self.contents: dict[tuple[str, int], str] = {}
        self.latest: dict[str, int] = {}
        self.refused: set[tuple[str, int]] = set()  # (id, version) of articles refused
        self.checked = 0

    # --- the extract stage ----------------------------------------------------------------
    def _send(self, records: list[Routed]) -> None:
        for record in records:
            assert record.key is not None
            self.logs[partition_of(record.key)].append(record)

    @rule(spec=page_specs)
    def deliver(self, spec: dict[str, Any]) -> None:
        if self.now - T0 < SPAN:
            self.now += timedelta(minutes=spec["advance"])
        n = len(self.delivered)
        story = STORIES[spec["story"]]
        own = f"https://{SITES[story.home]}/news/{story.slug}"
        canonical = None
        if spec["where"] == "own":
            url = variant(own, spec["variant"])
        elif spec["where"] == "copy":
            site = SITES[(story.home + spec["copy_site"]) % len(SITES)]
            url = variant(f"https://{site}/world/{story.slug}-{spec['story']}", spec["variant"])
        else:
            url, canonical = f"https://aggregator.example/s/{n}", own
        item = article(
            url=url, canonical=canonical, page_id=f"e{n}",
            headline=story.headlines[spec["headline"] % len(story.headlines)],
            text=story_body(story, spec["version"], spec["furniture"],
                            spec["dateline"] and spec["where"] == "copy"),
            published=None if story.published is None else T0 + story.published,
            modified=None if spec["modified"] is None else (
                self.now - timedelta(hours=spec["modified"])),
            fetched=self.now - timedelta(minutes=spec["stale"]),
        )
        origin = f"pages:{n % 4}:{n}"
        self.delivered.append((item, origin))
        self._send(self.feed.records(item, origin))

    @precondition(lambda self: self.delivered)
    @rule(data=st.data(), reextract=st.booleans())
    def redeliver(self, data: st.DataObject, reextract: bool) -> None:
        item, origin = data.draw(st.sampled_from(self.delivered), label="page")
        if reextract:  # another extractor release, or a page that changed its mind
            item = replace(item, description="re-extracted")
        self._send(self.feed.records(item, origin))

    # --- the identity agent ---------------------------------------------------------------
    def _handle(self, partition: int) -> tuple[list[Routed], Staged] | None:
        if self.position[partition] >= len(self.logs[partition]):
            return None
        record = self.logs[partition][self.position[partition]]
        staged = Staged(self.feed.store)
        state = IdentityState(staged, self.feed.options)
        return identity_step(record.value, partition, state), staged

    def _publish(self, outputs: list[Routed]) -> None:
        for out in outputs:
            if out.kind == TO_STORIES:
                self._send([out])
            else:
                self.published.append(decode(out))

    @rule(partition=st.integers(0, PARTITIONS - 1))
    def step(self, partition: int) -> None:
        handled = self._handle(partition)
        if handled is None:
            return
        outputs, staged = handled
        self._publish(outputs)
        staged.commit()
        self.position[partition] += 1

    @rule(partition=st.integers(0, PARTITIONS - 1), data=st.data())
    def crash(self, partition: int, data: st.DataObject) -> None:
        handled = self._handle(partition)
        if handled is not None:
            outputs, staged = handled
            landed = data.draw(st.lists(st.booleans(), min_size=len(outputs),
                                        max_size=len(outputs)), label="landed")
            blocked: set[tuple[str, Any]] = set()
            for out, ok in zip(outputs, landed, strict=True):
                where = destination(out)
                if ok and where not in blocked:
                    self._publish([out])
                else:
                    blocked.add(where)
            # The writes go out only after every output was acknowledged; the crash may come
            # before or after they reached the changelog.
            if all(landed) and data.draw(st.booleans(), label="writes applied"):
                self._apply(staged, data)
        self.position = dict(self.committed)

    def _write(self, writes: list[tuple[bytes, bytes | None]]) -> None:
        for key, value in writes:
            if value is None:
                self.feed.store.delete(key)
            else:
                self.feed.store.put(key, value)

    def _apply(self, staged: Staged, data: st.DataObject) -> None:
        self._apply_writes(staged.writes, data)

    def _apply_writes(self, writes: dict[bytes, bytes | None], data: st.DataObject) -> None:
        """A record's writes reach the changelog (all, or with TORN any prefix of them)."""
        items = list(writes.items())
        cut = data.draw(st.integers(0, len(items)), label="writes") if TORN else len(items)
        self._write(items[:cut])

    @rule(partitions=st.one_of(  # often several records of one partition (one URL's)
        st.lists(st.integers(0, PARTITIONS - 1), min_size=2, max_size=8),
        st.tuples(st.integers(0, PARTITIONS - 1), st.integers(2, 6)).map(lambda t: [t[0]] * t[1])),
          crash=st.booleans(), data=st.data())
    def batch(self, partitions: list[int], crash: bool, data: st.DataObject) -> None:
        """As `handle_identity` takes a batch: each record decided with the earlier ones'
        writes visible, except that a record which read a URL entry or parked record an
        earlier, unsettled record wrote (`Staged.depends`) is decided again once the batch
        so far is published and its writes applied (4271b72: the worker never builds a
        URL's decision on writes that may not hold). With `crash`, the worker dies in one of
        those publish rounds."""
        taken = dict(self.position)
        staged = Staged(self.feed.store)
        state = IdentityState(staged, self.feed.options)
        groups: list[tuple[int, object]] = []
        outputs: list[Routed] = []
        for partition in partitions:
            if taken[partition] >= len(self.logs[partition]):
                continue
            record = self.logs[partition][taken[partition]]
            taken[partition] += 1
            tag = object()
            staged.begin(tag)
            routed = identity_step(record.value, partition, state)
            if staged.depends(tag):
                staged.discard(tag)
                if not self._settle_batch(groups, outputs, staged, crash, data, last=False):
                    return  # the worker died in that round
                groups, outputs = [], []
                staged.begin(tag)
                routed = identity_step(record.value, partition, state)
                assert not staged.depends(tag)
            outputs += routed
            groups.append((partition, tag))
        self._settle_batch(groups, outputs, staged, crash, data, last=True)

    def _settle_batch(self, groups: list[tuple[int, object]], outputs: list[Routed],
                      staged: Staged, crash: bool, data: st.DataObject, *, last: bool) -> bool:
        """One publish round of a batch: outputs, then each record's writes in order (True),
        or the worker dies in it (False): outputs partly out, or, once all of them are,
        any prefix of each partition's records' writes reached the changelog (each record's
        writes go to its own partition's changelog, in order)."""
        if not crash or not (last or data.draw(st.booleans(), label="dies in this round")):
            self._publish(outputs)
            for partition, tag in groups:
                self._write(list(next(w for t, w in staged.groups if t is tag).items()))
                self.position[partition] += 1
            staged.clear()
            return True
        landed = data.draw(st.lists(st.booleans(), min_size=len(outputs),
                                    max_size=len(outputs)), label="landed")
        blocked: set[tuple[str, Any]] = set()
        for out, ok in zip(outputs, landed, strict=True):
            if ok and destination(out) not in blocked:
                self._publish([out])
            else:
                blocked.add(destination(out))
        if all(landed):
            for partition in sorted({p for p, _ in groups}):
                mine = [tag for p, tag in groups if p == partition]
                applied = data.draw(st.integers(0, len(mine)),
                                    label=f"records applied in {partition}")
                for tag in mine[:applied]:
                    self._apply_writes(dict(next(w for t, w in staged.groups if t is tag)), data)
                if TORN and applied < len(mine):
                    self._apply_writes(dict(next(w for t, w in staged.groups
                                                 if t is mine[applied])), data)
        self.position = dict(self.committed)
        return False

    @rule(partition=st.integers(0, PARTITIONS - 1),
          refused=st.sampled_from(["article", "duplicate", "body", "headline", "decide"]))
    def refuse(self, partition: int, refused: str) -> None:
        if self.position[partition] >= len(self.logs[partition]):
            return
        record = self.logs[partition][self.position[partition]]
        staged = Staged(self.feed.store)
        step = identity_record(record.value, partition, IdentityState(staged, self.feed.options))

        def is_refused(out: Routed) -> bool:
            if out.kind == TO_STORIES:
                return bool(orjson.loads(out.value).get("step") == refused)
            return out.kind == refused

        landed = frozenset(i for i, out in enumerate(step.outputs) if not is_refused(out))
        for out in step.outputs:
            if out.kind == "article" and is_refused(out):  # its number may be a gap
                refused = decode(out)
                key = (refused["id"], refused["version"])
                text = content(refused)
                assert self.contents.setdefault(key, text) == text, f"two contents for {key}"
                self.refused.add(key)
        if len(landed) < len(step.outputs):  # one rejection of the record's page instead
            data = orjson.loads(record.value)
            page = data.get("article") or {}
            self._publish([_not_kept(str(data.get("origin")), page.get("page_id"),
                                     f"the broker refused the {refused} record")])
        self._publish([out for i, out in enumerate(step.outputs) if i in landed])
        staged.writes_for(None, step.needs, step.fallback)(landed)
        self.position[partition] += 1

    @rule(partition=st.integers(0, PARTITIONS - 1))
    def commit(self, partition: int) -> None:
        self.committed[partition] = self.position[partition]

    @rule(moved=st.sets(st.integers(0, PARTITIONS - 1), min_size=1))
    def rebalance(self, moved: set[int]) -> None:
        for partition in moved:
            self.position[partition] = self.committed[partition]

    @rule(partition=st.integers(0, PARTITIONS - 1))
    def sweep(self, partition: int) -> None:
        data_clock = self.feed.state.clock(partition)
        if data_clock is None:
            return
        clock = min(int(self.now.timestamp()), data_clock)
        progress = sweep_slice(self.feed.state, partition, clock, SweepProgress(), lambda: False)
        # A URL waiting longer than the dedupe window for its probe: released, as
        # worker/stream/sweep.py does (its waiting pages probe again).
        self._send(release_records(progress))

    def _waiting(self) -> bool:
        return any(stage_of(key) == "url" and UrlEntry.from_dict(orjson.loads(value[9:])).waiting
                   for key, value in self.feed.store.data.items())

    # --- what consumers see ---------------------------------------------------------------
    @invariant()
    def one_content_per_version_and_versions_one_at_a_time(self) -> None:
        for out in self.published[self.checked:]:
            if out["_kind"] != "article":
                continue
            key = (out["id"], out["version"])
            text = content(out)
            assert self.contents.setdefault(key, text) == text, f"two contents for {key}"
            last = self.latest.get(out["id"], 0)
            skipped = range(last + 1, out["version"])
            assert out["version"] in (last, last + 1) or out["version"] > last and all(
                (out["id"], v) in self.refused for v in skipped), (
                f"{out['id']}: version {out['version']} after {last}")
            self.latest[out["id"]] = out["version"]
        self.checked = len(self.published)

    def teardown(self) -> None:
        # No more faults: every partition is drained (round robin, each in order) and swept
        # until no URL is released any more; while a URL still waits on a probe that is lost,
        # data time moves on past the dedupe window (as live traffic would move it) and the
        # partitions are swept again. Then the pages that got only a rejection are redriven
        # (the runbook's answer once the cause is fixed: new pages-topic positions), and all
        # that again.
        self._settle()
        answered = {out["page_id"] for out in self.published if out["_kind"] != "rejection"}
        for n, (item, _) in enumerate(self.delivered):
            if item.page_id not in answered and item.page_id not in {
                    i.page_id for i, _ in self.delivered[:n]}:
                self._send(self.feed.records(item, f"redrive:0:{n}"))
        self._settle()
        self.one_content_per_version_and_versions_one_at_a_time()
        pages = {item.page_id for item, _ in self.delivered}
        answered = {out["page_id"] for out in self.published}
        assert pages <= answered, f"pages without a record: {sorted(pages - answered)}"
        articles = {out["id"] for out in self.published if out["_kind"] == "article"}
        pointed = {out["duplicate_of"] for out in self.published if out["_kind"] == "duplicate"}
        assert pointed <= articles, f"duplicates of ids never published: {pointed - articles}"
        parked = [k for k in self.feed.store.data if k.startswith(b"p:")]
        assert not parked, f"pages left parked: {parked}"
        for key, value in self.feed.store.data.items():
            if stage_of(key) == "url":
                entry = UrlEntry.from_dict(orjson.loads(value[9:]))
                assert entry.bound and not entry.parked, f"{key!r} left pending: {entry}"

    def _settle(self) -> None:
        moved = 0
        for _ in range(100_000):
            busy = [p for p in range(PARTITIONS) if self.position[p] < len(self.logs[p])]
            if busy:
                for partition in busy:
                    self.step(partition)
                continue
            sent = sum(len(log) for log in self.logs.values())
            for partition in range(PARTITIONS):
                self.sweep(partition)
            if sent != sum(len(log) for log in self.logs.values()):
                continue
            # Once: every URL then waiting is stalled and released, and nothing is lost any
            # more (and data time stays inside the identity horizon: 60 + 8 + 2 x 7 days).
            if not self._waiting() or moved:
                return
            moved += 1
            self.now += self.feed.options.dedupe_window + timedelta(minutes=1)
            for partition in range(PARTITIONS):
                self.feed.state.advance_clock(partition, int(self.now.timestamp()))
        raise AssertionError("the stories topic never drained")  # pragma: no cover


# The default run is derandomized (the same programs every time: `make test-unit` stays
# deterministic); HYPOTHESIS_PROFILE=deep explores new ones on every run.
StreamModel.TestCase.settings = settings(
    max_examples=1000 if DEEP else 50, stateful_step_count=120 if DEEP else 50,
    derandomize=not DEEP, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_crashes_replays_and_rebalances_keep_the_identity_contract = StreamModel.TestCase
