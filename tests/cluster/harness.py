"""What the cluster fault tests share: held pages streamed while a fault runs, then every page
accounted for, and a diagnosis when one is not.

    pages = held_pages(2000)                       # bench.soak's mix: stories, repeats,
    run = await stream(group, pages, fault=...)    #   updates, 404s; ids known up front
    assert_accounted(run)                          # 0 lost, 0 conflicting (id, version),
                                                   #   each story once as v1, updates as v2

`stream` produces the pages at a steady rate while `fault(group)` runs beside it, then
reads the output topics from the start until every page is accounted for (or a deadline).
When something is missing, the assertion message says where: per input partition of the
pages and stories topics, the end offset and the group's committed offset, each worker's
lag metric, and the missing page ids per pages partition.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from bench.soak import Page, diagnose, group_offsets, page, produce, summarise
from tests.integration.workers import Cluster, WorkerProcess
from tools.kafka.topics import describe_partitions

Fault = Callable[[Cluster], Awaitable[None]]
RATE = 100.0  # pages per second: about what two workers on this machine keep up with
OUTPUT_METRICS = ("news_articles_total", "news_article_updates_total",
                  "news_article_redeliveries_total", "news_duplicates_total",
                  "news_rejections_total")


def held_pages(count: int) -> list[Page]:
    """The first `count` pages of the soak's mix (their ids, keys and messages)."""
    return [page(i) for i in range(count)]


@dataclass
class Run:
    """What one streamed run produced: the pages, the outputs and the summary."""

    pages: list[Page]
    got: dict[str, list[Any]]
    summary: dict[str, Any]
    seconds: float
    diagnosis: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ids(self) -> set[str]:
        return {pid for pid, _, _ in self.pages}


async def stream(group: Cluster, pages: list[Page], *, fault: Fault | None = None,
                 rate: float = RATE, timeout: float = 300.0) -> Run:
    """Produce `pages` at `rate` while `fault` runs; collect until all are accounted for."""
    began = time.monotonic()
    ids = {pid for pid, _, _ in pages}
    await asyncio.gather(produce(group, pages, rate),
                         fault(group) if fault is not None else asyncio.sleep(0))
    latest: dict[str, dict[str, list[Any]]] = {}

    def done(g: dict[str, list[Any]]) -> bool:
        latest["got"] = g  # collect() fills this dict in place
        return {r.get("page_id") for rs in g.values() for r in rs} >= ids

    diagnosis = ""
    try:
        got = await group.collect(done, timeout=timeout, positions=True)
    except AssertionError as exc:
        got = latest["got"]
        diagnosis = f"{exc}\n{await diagnose(group, pages, got)}"
        dump = group.root / "topics.jsonl"
        try:
            dumped = await dump_topics(group, dump)
            diagnosis += f"\nevery record of the group's topics ({dumped}): {dump}"
        except Exception as dump_error:  # noqa: BLE001 - must not hide the real failure
            diagnosis += f"\n(topics not dumped: {dump_error!r})"
    return Run(pages, got, summarise(ids, got), time.monotonic() - began, diagnosis)


def assert_accounted(run: Run) -> None:
    """0 lost, 0 conflicting (id, version), every story once as v1, every update as v2, and
    nothing rejected but the 404s."""
    s = run.summary
    context = f"{s}\n{run.diagnosis}"
    assert s["lost"] == 0, context
    assert s["conflicting_repeats"] == 0, context
    assert s["stories_published_twice"] == 0, context
    assert s["stories_without_v1"] == 0, context
    assert s["updates_not_v2"] == 0, context
    assert s["mixed_outcomes"] == 0, context
    rejected = {r["page_id"] for r in run.got["rejected"]}
    gone = {pid for pid in run.ids if pid.startswith("gone")}
    assert rejected == gone, f"rejected but not 404s: {sorted(rejected - gone)}\n{context}"


def records_by_source(got: dict[str, list[Any]]) -> dict[str, int]:
    """Output records per page id (all three topics): more than one is a repeat."""
    counts: defaultdict[str, int] = defaultdict(int)
    for records in got.values():
        for record in records:
            if record.get("page_id"):
                counts[record["page_id"]] += 1
    return counts


async def leaders_by_node(bootstrap: str, topics: list[str]) -> dict[int, int]:
    """How many partitions of `topics` each node leads."""
    counts: defaultdict[int, int] = defaultdict(int)
    for placement in (await describe_partitions(bootstrap, topics)).values():
        counts[placement["leader"]] += 1
    return dict(counts)


async def group_coordinator(bootstrap: str, group_id: str) -> int:
    """The node id of the consumer group's coordinator."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return await admin.find_coordinator(group_id)
    finally:
        await admin.close()


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` (a cheap check) until true, or fail saying `what` never happened."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        await asyncio.sleep(0.2)


async def app_topics(group: Cluster) -> list[str]:
    """Every topic one worker group reads or writes: all are named after its app id (the
    test's pages and output topics, the worker's internal and table changelog topics)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=group.bootstrap)
    await admin.start()
    try:
        names: list[str] = await admin.list_topics()
    finally:
        await admin.close()
    return sorted(name for name in names if name.startswith(group.app_id))


def handed_over(worker: WorkerProcess) -> tuple[float, float]:
    """(pages consumed, output records handed to the producer) so far, from /metrics."""
    return (worker.metric("news_pages_total"),
            sum(worker.metric(name) for name in OUTPUT_METRICS))


class CommitSamples:
    """The group's committed input offsets, sampled every half second while a test runs.

        async with CommitSamples(group) as commits: ...
        commits.assert_monotonic()      # no commit ever moved an offset backwards
    """

    def __init__(self, group: Cluster) -> None:
        self.group = group
        self.samples: list[dict[Any, int]] = []
        self._done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> CommitSamples:
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._done.set()
        if self._task is not None:
            await self._task

    async def _watch(self) -> None:
        topics = [self.group.topics["pages"], f"{self.group.app_id}-stories"]
        while not self._done.is_set():
            try:
                self.samples.append(
                    (await group_offsets(self.group.bootstrap, self.group.app_id, topics))[1])
            except Exception:  # noqa: BLE001, S110 - a missed sample is fine; the next one counts
                pass
            await asyncio.sleep(0.5)

    def assert_monotonic(self, at_least: int = 20) -> None:
        assert len(self.samples) >= at_least, len(self.samples)
        for earlier, later in zip(self.samples, self.samples[1:], strict=False):
            for tp, offset in earlier.items():
                assert later.get(tp, offset) >= offset, (tp, offset, later.get(tp))


async def dump_topics(group: Cluster, path: Path) -> int:
    """Write every record of the group's topics (pages, stories, identity changelog, outputs)
    to `path` as JSON lines, for the forensics of a failed run (keep it with --basetemp);
    how many. A lost page is traced from there: its pages record, its stories hops (their
    `origin`), its URL's `u:` entries in the changelog, and who wrote them when."""
    topics = await app_topics(group)
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=group.bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    count, idle = 0, 0
    await consumer.start()
    try:
        with path.open("wb") as out:
            while idle < 4:  # two seconds without a record: the end of every partition
                batch = await consumer.getmany(timeout_ms=500)
                idle = 0 if batch else idle + 1
                for tp, records in batch.items():
                    for r in records:
                        out.write(orjson.dumps({
                            "topic": tp.topic, "partition": tp.partition, "offset": r.offset,
                            "ts": r.timestamp, "key": _text(r.key), "value": _text(r.value),
                        }) + b"\n")
                        count += 1
    finally:
        await consumer.stop()
    return count


def _text(data: bytes | None) -> str | None:
    # Table values start with a binary header: keep them readable and lossless.
    return None if data is None else data.decode("utf-8", "backslashreplace")


async def delete_topics(bootstrap: str, prefixes: list[str]) -> None:
    """Delete every topic whose name starts with one of `prefixes` (best effort)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [n for n in await admin.list_topics() if n.startswith(tuple(prefixes))]
        if names:
            await admin.delete_topics(names)
    except KafkaError:
        pass  # the next test does not depend on it
    finally:
        await admin.close()
