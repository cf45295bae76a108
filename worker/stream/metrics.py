"""Prometheus metrics of one worker process, served as text on `/metrics`.

One `WorkerMetrics` per app, each with its own registry (so tests can build several apps in
one process). Counters are updated by the agents; consumer lag, the extraction pool and the
standard `process_*` metrics (the worker process itself) are read when scraped.

Metric names and labels are stable API: the alert rules and the dashboard in deploy/ are
written against them, and tests/integration/test_monitoring.py checks each one they use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from worker.errors import RejectReason
from worker.pipeline.identity import MatchBy
from worker.pipeline.state import STAGES

# Extraction is ~10-50 ms a page; the tail (hostile pages) runs to the time limit.
_EXTRACT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# One sweep slice is budgeted at 20 ms; the target is never to hold the loop for 50 ms.
_SLICE_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 1.0)
# Produce-to-publish lag: the latency target is 250 ms at p99.
_LAG_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

LagSource = Callable[[], Iterable[tuple[str, int, int]]]  # -> (topic, partition, lag)
PidSource = Callable[[], Iterable[int]]  # -> pids of the extraction processes

# Label values created at zero, so an alert on the first occurrence has a series to watch.
OUTPUT_KINDS = ("story", "article", "duplicate", "rejection", "changelog")
SEND_CAUSES = ("retriable", "timeout", "too_large", "unauthorized", "refused")
RESTART_CAUSES = ("timeout", "died", "recycled")


class _ConsumerLag(Collector):
    """`news_consumer_lag` per partition, read from the consumer at scrape time."""

    def __init__(self) -> None:
        self.source: LagSource | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "news_consumer_lag",
            "Messages behind the partition's high-water mark (assigned partitions).",
            labels=["topic", "partition"],
        )
        for topic, partition, lag in (self.source() if self.source else ()):
            family.add_metric([topic, str(partition)], lag)
        yield family


def resident_bytes(pid: int) -> int | None:
    """Resident memory of a live process (Linux /proc), None if it is gone, a zombie (killed
    and not yet reaped by the executor) or unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # After "pid (comm) ": state is field 3 of proc(5), rss (pages) field 24.
            fields = stat.read().rsplit(b")", 1)[1].split()
        if fields[0] in (b"Z", b"X"):
            return None
        return int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class _ExtractionPool(Collector):
    """The extraction processes (worker/stream/executor.py), read at scrape time.

    `process_resident_memory_bytes` covers the worker process only; the pages' parse trees
    live in these processes, so their memory is exported beside it.
    """

    def __init__(self) -> None:
        self.source: PidSource | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        sizes = [resident_bytes(pid) for pid in (self.source() if self.source else ())]
        live = [size for size in sizes if size is not None]
        yield GaugeMetricFamily(
            "news_extract_pool_processes",
            "Live extraction processes (NEWS_EXTRACT_PROCESSES; fewer while one is replaced).",
            value=len(live),
        )
        yield GaugeMetricFamily(
            "news_extract_pool_resident_memory_bytes",
            "Resident memory of the live extraction processes, summed.",
            value=sum(live),
        )


class _StateEntries(Collector):
    """`news_dedupe_entries{stage}`: identity state entries on this worker's partitions."""

    def __init__(self) -> None:
        self.source: Callable[[], dict[str, int]] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "news_dedupe_entries",
            "Identity state entries (url, headline, body keys) on the partitions this worker "
            "owns, as of each partition's last completed expiry sweep.",
            labels=["stage"],
        )
        counts = self.source() if self.source else {}
        for stage in STAGES:
            family.add_metric([stage], counts.get(stage, 0))
        yield family


class WorkerMetrics:
    """Every metric the worker exports."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `_created` series: noise
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.pages = Counter("news_pages", "Raw pages consumed from the pages topic.", registry=r)
        self.articles = Counter("news_articles", "New articles published (version 1).", registry=r)
        self.updates = Counter(
            "news_article_updates", "Article updates published (version > 1).", registry=r
        )
        self.redeliveries = Counter(
            "news_article_redeliveries",
            "Replayed inputs recognised as the message of their story's latest version "
            "(after a crash or a reset; nothing is published again).",
            registry=r,
        )
        self.duplicates = Counter("news_duplicates", "Duplicate records published.", registry=r)
        self.rejections = Counter(
            "news_rejections", "Rejections published, by reason.", ["reason"], registry=r
        )
        for reason in RejectReason:
            self.rejections.labels(reason.value)  # export zeros so alerts can rate() them
        self.extraction = Histogram(
            "news_extraction_seconds",
            "Wall time to run the pipeline on one page (off the event loop).",
            buckets=_EXTRACT_BUCKETS,
            registry=r,
        )
        self.publish_lag = Histogram(
            "news_publish_lag_seconds",
            "Pages-topic message timestamp to the broker's ack of the output record.",
            ["output"],
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.extract_restarts = Counter(
            "news_extract_process_restarts",
            "Extraction processes replaced, by cause (timeout, died, recycled).",
            ["cause"],
            registry=r,
        )
        for cause in RESTART_CAUSES:
            self.extract_restarts.labels(cause)  # zeros: increase() misses a series born at 1
        self.send_failures = Counter(
            "news_send_failures",
            "Records the broker did not acknowledge, by output and cause (each is sent again, "
            "or replaced by a rejection when refused for good).",
            ["output", "cause"],
            registry=r,
        )
        for kind in OUTPUT_KINDS:
            for cause in SEND_CAUSES:
                self.send_failures.labels(kind, cause)
        self.agent_errors = Counter(
            "news_agent_errors",
            "Routing attempts that raised, by agent (each is tried again, then rejected).",
            ["agent"],
            registry=r,
        )
        self.poison = Counter(
            "news_poison_records",
            "Records that failed every routing attempt and became internal_error rejections.",
            ["agent"],
            registry=r,
        )
        self.expired = Counter(
            "news_dedupe_expired_keys",
            "Identity state keys removed by the expiry sweep (URL, headline and body keys).",
            registry=r,
        )
        self.dedupe_entries = _StateEntries()
        r.register(self.dedupe_entries)
        self.state_unreadable = Counter(
            "news_state_unreadable",
            "Identity state values of another format (a newer release?) or undecodable, by "
            "stage: treated as absent by the decisions, left in place by the sweep.",
            ["stage"],
            registry=r,
        )
        self.duplicate_matches = Counter(
            "news_duplicate_matches",
            "Duplicate records by what matched: url (a URL bound to the story), canonical "
            "(declares the story's URL canonical), headline or body (another URL's content).",
            ["match"],
            registry=r,
        )
        for stage in STAGES:
            self.state_unreadable.labels(stage)  # zeros, so a first occurrence can alert
        for match in MatchBy:
            self.duplicate_matches.labels(match.value)
        self.sweep_slice = Histogram(
            "news_sweep_slice_seconds",
            "Event-loop time of one identity sweep slice (the longest the sweep holds it).",
            buckets=_SLICE_BUCKETS,
            registry=r,
        )
        self.key_mismatches = Counter(
            "news_key_mismatches",
            "Pages whose Kafka key is not their url (missing or different); the contract keys "
            "pages by URL so that crawls of one page stay in order on one partition.",
            ["kind"],
            registry=r,
        )
        for kind in ("missing", "different"):
            self.key_mismatches.labels(kind)  # zeros, so a first occurrence can alert
        self.consumer_lag = _ConsumerLag()
        r.register(self.consumer_lag)
        self.extraction_pool = _ExtractionPool()
        r.register(self.extraction_pool)
        ProcessCollector(registry=r)  # process_resident_memory_bytes, _cpu_seconds_total, ...

    def observe_key(self, key: object, url: str | None) -> None:
        """Count a page whose Kafka key is missing or is not its `url` (when it has one)."""
        if url is None:
            return
        if not isinstance(key, bytes) or not key:
            self.key_mismatches.labels("missing").inc()
        elif key != url.encode("utf-8", "surrogatepass"):
            self.key_mismatches.labels("different").inc()

    def add_agent(self, name: str) -> None:
        """Create the per-agent series of `name` at zero."""
        self.agent_errors.labels(name)
        self.poison.labels(name)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
