"""Expiry of the identity state: a slice at a time, by the owner of each partition.

The timer (`sweep_identity` in agents.py) sends a marker into each assigned stories partition
that has no pass running. The agent that owns the partition handles it like any record: it
runs `sweep_slice` (worker/pipeline/state.py) for at most SLICE_SECONDS and, unless the
partition is done, returns a continuation marker (cursor and counts so far) for the same
partition. So:
  * the event loop is held for one slice at most, whatever the size of the state;
  * the table is written only inside an event of its own partition: by its owner, with the
    changelog record going to that partition, and Faust cannot revoke the partition (and
    drop its RocksDB) in the middle of a slice, since it waits for the event to finish; the
    writes are held (`Staged`) and applied by the publisher with the marker's outputs, like
    every other identity write;
  * whoever owns the partition when a continuation arrives carries on from its cursor;
  * a URL whose probe is presumed lost (stalled) gets a `release` record: its owner then has
    the waiting pages probe again (worker/pipeline/route.py).
"Now" is the partition's data clock (the latest fetch time its records carried), never
ahead of the wall clock: a backfill on one partition expires nothing on another.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from faust.types import TopicT

from worker.logs import fields
from worker.pipeline.route import STORIES, Routed, release_records
from worker.pipeline.state import STAGES, IdentityState, SweepProgress, sweep_slice
from worker.stream.store import TableStore

if TYPE_CHECKING:
    from worker.stream.app import NewsApp

log = logging.getLogger(__name__)
SLICE_SECONDS = 0.02  # work per marker: well under the 50 ms the loop may be held
_MARKER = b'{"sweep"'


def sweep_marker(now: datetime, after: bytes | None = None,
                 entries: dict[str, int] | None = None) -> bytes:
    """An stories-topic record asking the partition's owner to sweep (from `after` on)."""
    return orjson.dumps({"sweep": now.isoformat(), "after": after.hex() if after else None,
                         "entries": entries})


def is_sweep(value: bytes) -> bool:
    return value.startswith(_MARKER)


class Sweeps:
    """The identity state of this worker's partitions, and its sweeps' progress."""

    def __init__(self, news: NewsApp) -> None:
        self.news = news
        self.store = TableStore(news.identity, news.settings.topic_partitions)
        # Straight to the table: the default of `handle_sweep` (the agent passes a staged one).
        self.state = IdentityState(self.store, news.options, self.unreadable)
        self.running: dict[int, float] = {}  # partition -> when its pass started (monotonic)
        self.counted: dict[int, dict[str, int]] = {}  # entries per partition, last full pass
        self._logged: set[str] = set()

    def unreadable(self, stage: str, key: bytes) -> None:
        """Count (and log once per stage) a stored value this release cannot read."""
        self.news.metrics.state_unreadable.labels(stage).inc()
        if stage not in self._logged:
            self._logged.add(stage)
            log.warning("identity state value of another format under %r (stage %s): treated "
                        "as absent, left in place; counted in news_state_unreadable_total",
                        key[:64], stage)

    def _assigned(self) -> list[int]:
        """The stories partitions this worker owns (all of them for an in-memory channel)."""
        identity = self.news.stories
        if not hasattr(identity, "get_topic_name") or not isinstance(identity, TopicT):
            return list(range(self.news.settings.topic_partitions))
        topic = identity.get_topic_name()
        try:
            actives = self.news.app.assignor.assigned_actives()
        except Exception:  # noqa: BLE001 - not started yet, or mid-rebalance: none owned
            return []
        return sorted(tp.partition for tp in actives if tp.topic == topic)

    def due(self, now: datetime) -> list[int]:
        """Assigned partitions to start a pass on (none running, or one lost long ago)."""
        stale = 3 * self.news.settings.dedupe_sweep_interval
        clock = time.monotonic()
        due = [p for p in self._assigned() if clock - self.running.get(p, -stale) >= stale]
        for partition in due:
            self.running[partition] = clock
        return due

    def finished(self, partition: int, entries: dict[str, int]) -> None:
        self.running.pop(partition, None)
        self.counted[partition] = dict(entries)

    def entries(self) -> dict[str, int]:
        """Entries per stage on the assigned partitions, as of their last full pass."""
        assigned = set(self._assigned())
        totals = dict.fromkeys(STAGES, 0)
        for partition, counts in self.counted.items():
            if partition in assigned:
                for stage in STAGES:
                    totals[stage] += int(counts.get(stage, 0))
        return totals


def handle_sweep(news: NewsApp, sweeps: Sweeps, partition: int, value: bytes,
                 state: IdentityState | None = None) -> list[Routed]:
    """One slice of a sweep of `partition`; a continuation marker unless it is done.

    `state` is where it writes (the agent passes a `Staged` one: the deletes are applied with
    the marker's outputs, by the publisher, like every identity write); default the table."""
    state = state or sweeps.state
    try:
        data: dict[str, Any] = orjson.loads(value)
        wall = datetime.fromisoformat(data["sweep"])
        after = bytes.fromhex(data["after"]) if data.get("after") else None
        entries = {stage: int((data.get("entries") or {}).get(stage, 0)) for stage in STAGES}
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        log.error("skipping a malformed sweep marker on partition %s: %s", partition, exc)
        return []
    data_clock = state.clock(partition)
    if data_clock is None:  # nothing processed on this partition yet: nothing to expire
        sweeps.finished(partition, entries)
        return []
    clock = min(int(wall.timestamp()), data_clock)
    progress = SweepProgress(after=after, entries=entries)
    started = time.perf_counter()
    sweep_slice(state, partition, clock, progress,
                lambda: time.perf_counter() - started > SLICE_SECONDS)
    news.metrics.sweep_slice.observe(time.perf_counter() - started)
    news.metrics.expired.inc(progress.removed)
    if progress.removed or progress.trimmed:
        log.debug("identity sweep of partition %s: %s removed, %s trimmed", partition,
                  progress.removed, progress.trimmed)
    releases = release_records(progress)
    if releases:
        log.warning("identity sweep of partition %s: %s URL(s) waited too long for their "
                    "first probe; their pages probe again", partition, len(releases),
                    extra=fields("identity.release", partition=partition))
    if progress.after is not None:
        marker = sweep_marker(wall, progress.after, progress.entries)
        return [*releases, Routed(STORIES, b"sweep", marker, partition=partition)]
    sweeps.finished(partition, progress.entries)
    return releases
