"""The on-call kit against the real thing: a real worker on the real broker, scraped by a real
Prometheus (Debian's binary) that evaluates the shipped alert rules (every minute scaled to a
second) — and the Grafana dashboard's every query evaluated on that Prometheus.

One worker and one Prometheus for the module. The main test streams pages in phases, each
making a set of metrics move:

    A  articles, an update, a duplicate, rejections by reason, pages not keyed by their URL,
       a dedupe sweep
    B  a stall: the extraction process is frozen (SIGSTOP) with a page in it and more behind
       it; the worker's detector marks the partition stalled and the worker not ready
       (NEWS_STALL_TIMEOUT, 3 s here); the stall and not-ready alerts go pending and fire;
       the time limit's backstop for a page that uses no CPU (5 x NEWS_PAGE_TIMEOUT of
       running time) then kills the process, the page becomes a `timeout` rejection and the
       partition moves on (stalled 0, ready 1 again)
    C  an extraction process killed while idle and its replacement killed while it starts:
       the page that met both becomes an `internal_error` rejection
    D  a foreign record on the internal stories topic (an agent error) and an output record
       the broker refuses for good (the page is rejected as `too_large` instead)
    E  a page written in a transaction: its commit marker is an input offset that holds no
       page, which the worker counts as skipped (it cannot tell it from a deleted record)
    F  the broker frozen for a few seconds while the worker sends (retried until it answers);
       the worker's broker probe sees it unreachable
    G  the worker stopped (NewsWorkerDown), pages published and deleted before it is back:
       counted as deleted offsets at its start-up

and the alerts those events should raise do (key mismatch, stall, not ready, timeout,
internal_error, process deaths, agent errors, refused and failing sends, broker unreachable,
worker down, pages deleted unread) do, and the transaction marker does not page.

A frozen process stands in for a poison page: it stalls the partition exactly as long as we
want and costs no CPU on a shared 2-core machine. Then every metric and label the rules and
the dashboard use must exist in Prometheus and have moved during the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import article_html, message
from tests.integration.prometheus import DEPLOY, RULES, PrometheusServer, scaled_rules
from tests.integration.test_worker import UPDATED, keyed, story
from tests.integration.workers import Cluster, WorkerProcess
from tools.kafka.probe import free_port
from worker.settings import Settings
from worker.stream.app import max_record_bytes
from worker.stream.executor import STUCK_AFTER

pytestmark = pytest.mark.integration

DASHBOARD = DEPLOY / "grafana" / "dashboards" / "news-worker.json"
README = DEPLOY.parent / "README.md"
PAGE_TIMEOUT = 5.0  # NEWS_PAGE_TIMEOUT, seconds of CPU; a frozen process uses none, so ...
STALL_LASTS = STUCK_AFTER * PAGE_TIMEOUT  # ... the stall lasts this long: pending ~12 s and
# firing ~18 s in (scaled)
STALL_TIMEOUT = 3.0  # NEWS_STALL_TIMEOUT: the worker's own detector, well inside the stall
_SELECTOR = re.compile(
    r"(?<![\w:$])((?:news_|news:|process_)[A-Za-z0-9_:]*|up|ALERTS)(?![\w:])(\{[^}]*\})?")
_GROUPING = re.compile(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)")
_LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass
class Monitored:
    cluster: Cluster
    worker: WorkerProcess
    prometheus: PrometheusServer
    started: float
    broker_pid: int


@pytest.fixture(scope="module")
def monitored(kafka_broker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitored]:
    """A worker (1 partition) and a Prometheus scraping it every second; both always stopped.

    Prometheus starts first and records the worker's port down before the worker starts, so
    it sees the worker come up (`up` 0 -> 1, not ready -> ready).
    """
    root = tmp_path_factory.mktemp("monitoring")
    cluster = Cluster(kafka_broker.bootstrap, root / "cluster", partitions=1, extra_env={
        "NEWS_PAGE_TIMEOUT": str(PAGE_TIMEOUT), "NEWS_DEDUPE_SWEEP_INTERVAL": "2",
        "NEWS_PRODUCER_TIMEOUT": "3",
        "NEWS_STALL_TIMEOUT": str(STALL_TIMEOUT)})
    cluster.root.mkdir()
    port = free_port()
    prometheus = PrometheusServer(root / "prometheus", targets=[f"127.0.0.1:{port}"],
                                  rules=scaled_rules(RULES.read_text()))
    try:
        started = time.time()
        prometheus.start()
        prometheus.wait_for("the worker's port down", lambda: prometheus.query(
            'up{job="news-worker"} == 0'), timeout=30)
        worker = WorkerProcess(cluster.env(0, port), cluster.root / "worker-0.log", port)
        cluster.workers.append(worker)
        worker.start()
        worker.wait_ready()
        assert kafka_broker.pid is not None
        yield Monitored(cluster, worker, prometheus, started, kafka_broker.pid)
    finally:
        cluster.stop_all()
        prometheus.stop()


# -- the web port ------------------------------------------------------------------------------

FAUST_DEFAULT_VIEWS = ("/", "/router/", "/router", "/table/", "/table/dedupe/",
                       "/table/dedupe/x/", "/graph/", "/stats/", "/performance/")
NEAR_MISSES = ("/metrics/", "/healthz/", "/readyz/x", "/METRICS", "/metrics.txt", "//metrics")


def test_the_web_port_serves_only_health_readiness_and_metrics(monitored: Monitored) -> None:
    worker = monitored.worker
    assert worker.get("/healthz") == (200, "ok\n")
    assert worker.get("/readyz") == (200, "ready\n")
    status, text = worker.get("/metrics")
    assert status == 200 and "# TYPE news_pages_total counter" in text
    served = {path: worker.get(path) for path in FAUST_DEFAULT_VIEWS + NEAR_MISSES}
    assert {path: status for path, (status, _) in served.items()} == dict.fromkeys(served, 404)
    assert all(body == "not found\n" for _, body in served.values()), served


# -- the metrics: the README's table and the rules' unit tests say what the worker exports -----

RULE_TESTS = DEPLOY / "prometheus" / "tests" / "news-worker.test.yml"
_ROW = re.compile(r"^\| `(news_\w+)(?:\{([\w,]*)\})?` \| (counter|gauge|histogram) \| (\w+)",
                  flags=re.MULTILINE)
_SERIES = re.compile(r"series: '(\w+)\{([^}]*)\}'")
# Label values the worker creates at zero, so a rule test's synthetic series must use real ones;
# topic and partition are deployment-specific, job and instance are Prometheus's.
_FREE_LABELS = {"topic", "partition", "job", "instance"}


def exported(worker: WorkerProcess) -> dict[str, tuple[str, dict[str, set[str]]]]:
    """news_* metrics on /metrics: name (counters with _total) -> (type, label -> values)."""
    status, text = worker.get("/metrics")
    assert status == 200, text
    metrics: dict[str, tuple[str, dict[str, set[str]]]] = {}
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("news_"):
            continue
        name = family.name + ("_total" if family.type == "counter" else "")
        labels: dict[str, set[str]] = {}
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            for label, value in sample.labels.items():
                if label != "le":
                    labels.setdefault(label, set()).add(value)
        metrics[name] = (family.type, labels)
    return metrics


def check_the_readme_metrics_table(worker: WorkerProcess) -> None:
    """Every news_* metric on /metrics has its row (type and labels as exported, marked
    stable: the rules and the dashboard are written against them), and every row is exported.
    Run after the traffic: a labelled histogram has no series before its first observation."""
    section = README.read_text().split("### Health and metrics", 1)[1].split("\n### ", 1)[0]
    rows = {name: (kind, set(filter(None, (labels or "").split(","))), stable)
            for name, labels, kind, stable in _ROW.findall(section)}
    metrics = exported(worker)
    assert set(rows) == set(metrics), (
        f"not in the README: {sorted(set(metrics) - set(rows))}; "
        f"not exported: {sorted(set(rows) - set(metrics))}")
    for name, (kind, labels) in metrics.items():
        assert rows[name][:2] == (kind, set(labels)), (name, rows[name], kind, set(labels))
        assert rows[name][2] == "stable", name
    assert "`process_resident_memory_bytes`" in section
    assert "process_resident_memory_bytes" in worker.get("/metrics")[1]


def check_the_rule_unit_tests_series(worker: WorkerProcess) -> None:
    """promtool's synthetic series (deploy/prometheus/tests) name exported metrics with their
    exported labels and label values: a rule test on a made-up series proves nothing."""
    metrics = exported(worker)
    checked = 0
    for name, matchers in _SERIES.findall(RULE_TESTS.read_text()):
        if name == "up":
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', matchers))
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert family in metrics, f"{name}: not exported"
        kind, exported_labels = metrics[family]
        assert set(labels) - {"job", "instance"} - ({"le"} if kind == "histogram" else set()) == \
            set(exported_labels), (name, labels, exported_labels)
        for label, value in labels.items():
            if label not in _FREE_LABELS | {"le"}:
                assert value in exported_labels[label], f"{name}: {label}={value!r} not exported"
        checked += 1
    assert checked >= 40


# -- the rules, the dashboard and the metrics under them ---------------------------------------


def extraction_pids(worker: WorkerProcess) -> list[int]:
    """Pids of the worker's live extraction processes (spawned children, not the tracker)."""
    assert worker.process is not None
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == worker.process.pid and stat[0] != b"Z" and b"spawn_main" in cmdline:
            pids.append(int(entry.name))
    return pids


def the_extraction_pid(worker: WorkerProcess, *, other_than: int | None = None,
                       timeout: float = 30.0) -> int:
    """The one live extraction process (NEWS_EXTRACT_PROCESSES=1), polled every 5 ms."""
    deadline = time.monotonic() + timeout
    while True:
        pids = [p for p in extraction_pids(worker) if p != other_than]
        if len(pids) == 1:
            return pids[0]
        assert len(pids) < 2, pids
        assert time.monotonic() < deadline, "no extraction process"
        time.sleep(0.005)


def alert(prometheus: PrometheusServer, name: str, state: str) -> list[dict[str, Any]]:
    return [a for a in prometheus.alerts()
            if a["labels"]["alertname"] == name and a["state"] == state]


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(where, PromQL with Grafana's variables filled in, legend) of every query on the board."""
    board = json.loads(DASHBOARD.read_text())
    queries = [(f"panel {p['title']!r}", t["expr"], t.get("legendFormat", ""))
               for p in board["panels"] for t in p.get("targets", [])]
    queries += [(f"annotation {a['name']!r}", a["expr"], "")
                for a in board["annotations"]["list"] if "expr" in a]
    for variable in board["templating"]["list"]:
        inner = re.fullmatch(r"label_values\((.*), *(\w+)\)", variable["definition"])
        assert inner, variable["definition"]
        queries.append((f"variable {variable['name']!r}", inner.group(1), ""))
    return [(where, fill_variables(expr), legend) for where, expr, legend in queries]


def fill_variables(expr: str) -> str:
    """What Grafana sends: $__rate_interval is 4 scrape intervals, `All` is `.*`."""
    filled = expr.replace("$__rate_interval", "5s").replace("$instance", ".*")
    assert "$" not in filled, f"an unknown Grafana variable in {expr}"
    return filled


def readme_anchors() -> set[str]:
    """GitHub's anchors for the README's headings."""
    anchors = set()
    for line in README.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", title)))
    return anchors


async def test_rules_and_dashboard_see_every_metric_move_and_the_stall_alert_fires(
    monitored: Monitored,
) -> None:
    cluster, worker, prometheus = monitored.cluster, monitored.worker, monitored.prometheus
    await stream_a_bit_of_everything(cluster, prometheus)
    pending_after = await stall_a_partition_until_the_time_limit(cluster, worker, prometheus)
    await kill_the_extraction_process_twice(cluster, worker, prometheus)
    await break_an_agent_and_refuse_a_record(cluster, prometheus)
    await commit_a_page_in_a_transaction(cluster, prometheus)
    await freeze_the_broker_while_an_article_is_sent(monitored, cluster, worker, prometheus)
    check_the_readme_metrics_table(worker)  # with every label value observed by now
    check_the_rule_unit_tests_series(worker)
    await lose_pages_while_the_worker_is_down(cluster, worker, prometheus)
    await asyncio.sleep(2.5)  # two more scrapes, so the last counts are in Prometheus
    loaded = prometheus.rules_loaded()
    check_the_rules(loaded)
    check_the_dashboard(prometheus)
    check_every_metric_and_label_moved(prometheus, loaded, since=monitored.started)
    print(f"stall alert pending after {pending_after:.1f} s")  # noqa: T201 - read with -s


async def stream_a_bit_of_everything(cluster: Cluster, prometheus: PrometheusServer) -> None:
    """A: an article, its duplicate and update, rejections, pages not keyed by their URL, and
    a page a month later whose fetch time moves the dedupe clock, so the sweep (every 2 s)
    expires the older stories."""
    pages = [
        message(page_id="a1"),
        message(page_id="a2",
                url="https://m.harbourgazette.example/news/2025/03/04/council-budget?utm_source=x"),
        message(page_id="a3", html=article_html(paragraphs=UPDATED,
                                                modified="2025-03-04T18:00:00+01:00")),
        b"{this is not json",
        message(page_id="gone", status=404),
        message(page_id="thin", html="<html><body><p>Subscribe.</p></body></html>"),
    ]
    misfiled = [(None, story(40, page_id="unkeyed")), (b"not-its-url", story(41, page_id="odd"))]
    await cluster.send_pages([keyed(p) for p in pages] + misfiled)
    await cluster.collect(lambda g: len(g["articles"]) >= 4 and len(g["duplicates"]) >= 1
                          and len(g["rejected"]) >= 3)
    # Only once those are decided: a page decided after the month-later one is seen at the
    # partition's data time then (a month later too), and nothing would be old enough to
    # expire (a2 and a3, parked behind a1's probe, were decided after it under load).
    await cluster.send_pages([keyed(message(
        page_id="later", fetched_at="2025-04-10T10:00:00Z",
        url="https://www.gazette.example/news/2025/04/10/ferry",
        html=article_html(headline="Ferry service to the islands resumes in April")))])
    got = await cluster.collect(lambda g: len(g["articles"]) >= 5 and len(g["duplicates"]) >= 1
                                and len(g["rejected"]) >= 3)
    assert {(a["page_id"], a["version"]) for a in got["articles"]} == {
        ("a1", 1), ("a3", 2), ("later", 1), ("unkeyed", 1), ("odd", 1)}
    assert {r["reason"] for r in got["rejected"]} == {"invalid_json", "http_error", "no_article"}
    prometheus.wait_for("the sweep's expired keys", lambda: prometheus.value(
        "sum(news_dedupe_expired_keys_total)"), timeout=30)
    # Both kinds, each in its own series (the two pages may be counted a scrape apart).
    prometheus.wait_for("NewsKafkaKeyMismatch pending for both kinds", lambda: {
        a["labels"]["kind"] for a in alert(prometheus, "NewsKafkaKeyMismatch", "pending")
    } == {"missing", "different"}, timeout=10)


async def stall_a_partition_until_the_time_limit(
    cluster: Cluster, worker: WorkerProcess, prometheus: PrometheusServer,
) -> float:
    """B: the worker hands a page to a frozen extraction process and waits, with two pages
    behind it: NewsPartitionStalled goes pending, then fires, before the time limit rejects
    the page as `timeout` and the partition moves on. Seconds until pending."""
    frozen = the_extraction_pid(worker)
    # No SIGCONT: the executor SIGKILLs it at the time limit (a stopped process included).
    os.kill(frozen, signal.SIGSTOP)
    stalled_at = time.monotonic()
    await cluster.send_pages([keyed(story(i, page_id=f"b{i}")) for i in (20, 21, 22)])
    pending = prometheus.wait_for("NewsPartitionStalled pending", lambda: alert(
        prometheus, "NewsPartitionStalled", "pending"), timeout=STALL_LASTS - 5)
    pending_after = time.monotonic() - stalled_at
    assert prometheus.value('sum(news_consumer_lag{topic!~".*-stories"})') == 2
    assert {a["labels"]["instance"] for a in pending} == {f"127.0.0.1:{worker.port}"}
    pages = cluster.topics["pages"]
    # The worker's own detector, not only the outside view (no page taken for a while).
    assert prometheus.query(f'news_partition_stalled{{topic="{pages}", partition="0"}} == 1')
    assert prometheus.query(f'news_partition_stalled{{topic!="{pages}"}} == 1') == []
    assert {(a["labels"].get("topic"), a["labels"].get("partition")) for a in pending} >= {
        (pages, "0")}
    assert worker.get("/readyz")[0] == 503
    assert prometheus.value("news_ready") == 0
    prometheus.wait_for("NewsWorkerNotReady firing", lambda: alert(
        prometheus, "NewsWorkerNotReady", "firing"), timeout=STALL_LASTS - 5)
    firing = prometheus.wait_for("NewsPartitionStalled firing", lambda: alert(
        prometheus, "NewsPartitionStalled", "firing"), timeout=STALL_LASTS - 5)
    assert firing[0]["annotations"]["runbook_url"] == "README.md#newspartitionstalled"
    # While it fires: the dashboard's alert annotations show it.
    annotations = [(where, expr) for where, expr, _ in dashboard_queries()
                   if where.startswith("annotation")]
    assert annotations and all(prometheus.query(expr) for _, expr in annotations)
    assert time.monotonic() - stalled_at < STALL_LASTS, "the stall ended before it fired"
    got = await cluster.collect(lambda g: {"b21", "b22"} <= {a["page_id"] for a in g["articles"]})
    [timeout] = [r for r in got["rejected"] if r["reason"] == "timeout"]
    assert timeout["page_id"] == "b20"
    prometheus.wait_for("NewsTimeoutRejections firing", lambda: alert(
        prometheus, "NewsTimeoutRejections", "firing"), timeout=10)
    prometheus.wait_for("the partition moving and the worker ready again", lambda: prometheus.query(
        "max(news_partition_stalled) == 0 and on () news_ready == 1"), timeout=10)
    return pending_after


async def kill_the_extraction_process_twice(
    cluster: Cluster, worker: WorkerProcess, prometheus: PrometheusServer,
) -> None:
    """C: the extraction process is killed while idle (the pool shows 0 live processes); the
    page that finds it dead is retried in a replacement, killed while it starts: that page
    becomes an `internal_error` rejection and the next one an article."""
    idle = the_extraction_pid(worker)
    os.kill(idle, signal.SIGKILL)  # a zombie until the executor reaps it: not a live process
    prometheus.wait_for("the pool shrinking to 0", lambda: prometheus.query(
        "news_extract_pool_processes == 0"), timeout=10)
    await cluster.send_pages([keyed(story(30, page_id="c30"))])
    os.kill(the_extraction_pid(worker, other_than=idle), signal.SIGKILL)
    await cluster.send_pages([keyed(story(31, page_id="c31"))])
    got = await cluster.collect(lambda g: "c31" in {a["page_id"] for a in g["articles"]})
    [internal] = [r for r in got["rejected"] if r["reason"] == "internal_error"]
    assert internal["page_id"] == "c30"
    prometheus.wait_for("NewsInternalErrorRejections firing", lambda: alert(
        prometheus, "NewsInternalErrorRejections", "firing"), timeout=10)
    died = prometheus.wait_for("NewsExtractionProcessRestarting firing", lambda: [
        a for a in alert(prometheus, "NewsExtractionProcessRestarting", "firing")
        if a["labels"]["cause"] == "died"], timeout=10)
    assert died[0]["annotations"]["summary"].endswith("extraction processes restarted (died)")


async def break_an_agent_and_refuse_a_record(
    cluster: Cluster, prometheus: PrometheusServer,
) -> None:
    """D: a record on the internal stories topic that no worker wrote (the identity agent
    cannot read it: an agent error, then an `internal_error` rejection), and a duplicate record
    the broker refuses for good (the duplicates topic's limit lowered under the worker: the
    page is rejected as `too_large` instead)."""
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(f"{cluster.app_id}-stories", b"no worker wrote this",
                                     key=b"foreign", partition=0)
    finally:
        await producer.stop()
    errors = prometheus.wait_for("NewsAgentErrors firing", lambda: alert(
        prometheus, "NewsAgentErrors", "firing"), timeout=15)
    assert {a["labels"]["agent"] for a in errors} == {"identify_stories"}

    await set_topic_config(cluster, cluster.topics["duplicates"], {"max.message.bytes": "100"})
    again = message(page_id="d1",
                    url="https://m.harbourgazette.example/news/2025/03/04/council-budget?ref=d")
    await cluster.send_pages([keyed(again)])
    got = await cluster.collect(lambda g: "d1" in {r.get("page_id") for r in g["rejected"]})
    [refused] = [r for r in got["rejected"] if r.get("page_id") == "d1"]
    assert refused["reason"] == "too_large", refused["detail"]
    refusals = prometheus.wait_for("NewsSendRefused firing", lambda: alert(
        prometheus, "NewsSendRefused", "firing"), timeout=15)
    assert {(a["labels"]["output"], a["labels"]["cause"]) for a in refusals} == {
        ("duplicate", "too_large")}
    # Back to what the worker made it with: its start-up check (phase G restarts it) refuses a
    # topic that cannot take its largest record.
    limit = max_record_bytes(Settings())
    await set_topic_config(cluster, cluster.topics["duplicates"], {"max.message.bytes": str(limit)})


async def freeze_the_broker_while_an_article_is_sent(
    monitored: Monitored, cluster: Cluster, worker: WorkerProcess,
    prometheus: PrometheusServer,
) -> None:
    """F: the broker stops answering (SIGSTOP, a few seconds, under the 10 s session timeout)
    while the worker sends a story's records: each send times out (NEWS_PRODUCER_TIMEOUT, 3 s
    here) and is sent again until the broker answers, and the worker's probe (every 2 s, 3 s
    timeout) reports the broker unreachable; then the article comes out."""
    frozen = the_extraction_pid(worker)
    os.kill(frozen, signal.SIGSTOP)  # holds the page until the broker is frozen
    await cluster.send_pages([keyed(story(50, page_id="e50"))])
    await asyncio.sleep(1.0)  # the worker has taken it (it waits on the frozen process)
    broker = monitored.broker_pid
    os.kill(broker, signal.SIGSTOP)
    try:
        os.kill(frozen, signal.SIGCONT)
        def both_pending() -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
            failing = alert(prometheus, "NewsSendFailing", "pending")
            unreachable = alert(prometheus, "NewsBrokerUnreachable", "pending")
            return (failing, unreachable) if failing and unreachable else None

        failing, _ = prometheus.wait_for("NewsSendFailing and NewsBrokerUnreachable pending",
                                         both_pending, timeout=9)
        assert {a["labels"]["cause"] for a in failing} <= {"retriable", "timeout"}
        assert prometheus.value("news_broker_reachable") == 0
    finally:
        os.kill(broker, signal.SIGCONT)
    await cluster.collect(lambda g: "e50" in {a["page_id"] for a in g["articles"]})
    prometheus.wait_for("the broker reachable again", lambda: prometheus.query(
        "news_broker_reachable == 1"), timeout=10)


async def commit_a_page_in_a_transaction(
    cluster: Cluster, prometheus: PrometheusServer,
) -> None:
    """E: a crawler writes a page in a transaction (the commit marker takes the next offset),
    then a plain page: the worker finds one offset with no record between them and counts it
    in news_input_skipped_offsets_total{kind="hole"}: NewsInputOffsetsSkipped (lost pages)
    stays silent."""
    pages = cluster.topics["pages"]
    before = await end_offset(cluster, pages)
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap,
                                transactional_id=f"{cluster.app_id}-crawler")
    await producer.start()
    try:
        async with producer.transaction():
            key, value = keyed(story(60, page_id="f60"))
            await producer.send(pages, value, key=key, partition=0)
    finally:
        await producer.stop()
    # The commit returns before the broker writes the marker: the next page must come after it.
    for _ in range(100):
        if await end_offset(cluster, pages) == before + 2:
            break
        await asyncio.sleep(0.05)
    assert await end_offset(cluster, pages) == before + 2
    await cluster.send_pages([keyed(story(61, page_id="f61"))])
    got = await cluster.collect(lambda g: {"f60", "f61"} <= {a["page_id"] for a in g["articles"]})
    assert {a["page_id"] for a in got["articles"]} >= {"f60", "f61"}
    worker = cluster.workers[0]
    try:
        prometheus.wait_for("one skipped offset, a hole", lambda: prometheus.query(
            f'news_input_skipped_offsets_total{{topic="{pages}", kind="hole"}} == 1'), timeout=10)
    except AssertionError as exc:  # say where the worker's input stands
        lines = [line for line in worker.get("/metrics")[1].splitlines()
                 if line.startswith(("news_input_skipped", "news_partition_stalled",
                                     "news_consumer_lag"))]
        raise AssertionError(f"{exc}\n/readyz: {worker.get('/readyz')}\n" +
                             "\n".join(lines)) from None
    assert prometheus.value('sum(news_input_skipped_offsets_total{kind="deleted"})') == 0
    assert not [a for a in prometheus.alerts()
                if a["labels"]["alertname"] == "NewsInputOffsetsSkipped"]


async def lose_pages_while_the_worker_is_down(
    cluster: Cluster, worker: WorkerProcess, prometheus: PrometheusServer,
) -> None:
    """G: the worker stops (SIGTERM; NewsWorkerDown goes pending); three pages arrive and are
    deleted (DeleteRecords) before it starts again: it resumes at the log start and counts
    them as deleted (NewsInputOffsetsSkipped fires); a page after them comes out."""
    assert worker.terminate() == 0
    prometheus.wait_for("NewsWorkerDown pending", lambda: alert(
        prometheus, "NewsWorkerDown", "pending") or alert(prometheus, "NewsWorkerDown", "firing"),
        timeout=10)
    pages = cluster.topics["pages"]
    await cluster.send_pages([keyed(story(i, page_id=f"g{i}")) for i in (70, 71, 72)])
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    await admin.start()
    try:
        end = await end_offset(cluster, pages)
        await admin.delete_records({TopicPartition(pages, 0): RecordsToDelete(end)},
                                   timeout_ms=10_000)
    finally:
        await admin.close()
    worker.start()
    worker.wait_ready()
    await cluster.send_pages([keyed(story(73, page_id="g73"))])
    got = await cluster.collect(lambda g: "g73" in {a["page_id"] for a in g["articles"]})
    assert not {"g70", "g71", "g72"} & {a["page_id"] for a in got["articles"]}
    prometheus.wait_for("three deleted offsets", lambda: prometheus.query(
        f'news_input_skipped_offsets_total{{topic="{pages}", kind="deleted"}} == 3'), timeout=10)
    skipped = prometheus.wait_for("NewsInputOffsetsSkipped firing", lambda: alert(
        prometheus, "NewsInputOffsetsSkipped", "firing"), timeout=10)
    assert {a["labels"]["topic"] for a in skipped} == {pages}


async def end_offset(cluster: Cluster, topic: str) -> int:
    """The end offset of partition 0 of `topic` (markers included)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=cluster.bootstrap)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def set_topic_config(cluster: Cluster, topic: str, configs: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                                  configs=configs)])
    finally:
        await admin.close()


def check_the_rules(loaded: list[dict[str, Any]]) -> None:
    """Every rule loaded and evaluates without error; every alert is labelled and linked."""
    assert {r["health"] for r in loaded} == {"ok"}, [r for r in loaded if r["health"] != "ok"]
    anchors = readme_anchors()
    alerts = [r for r in loaded if r["type"] == "alerting"]
    assert len(alerts) >= 10
    for rule in alerts:
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["name"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        path, anchor = rule["annotations"]["runbook_url"].split("#")
        assert path == "README.md" and anchor == rule["name"].lower(), rule["name"]
        assert anchor in anchors, f"README has no runbook entry for {rule['name']}"


def check_the_dashboard(prometheus: PrometheusServer) -> None:
    """Every query of the dashboard evaluates and returns series."""
    for where, expr, _ in dashboard_queries():
        if where.startswith("annotation"):
            continue  # ALERTS has series only while an alert is active: checked in B
        assert prometheus.query(expr), f"{where}: no series for {expr}"


def check_every_metric_and_label_moved(
    prometheus: PrometheusServer, loaded: list[dict[str, Any]], *, since: float,
) -> None:
    """Every metric and label the rules and the dashboard use exists, and every metric's
    value changed since `since` (a series born at its final value did not move)."""
    window = f"{int(time.time() - since) + 2}s"
    expressions = [(f"rule {r['name']}", r["query"], grouping_labels(r)) for r in loaded]
    expressions += [(where, expr, set(_LEGEND.findall(legend)) | set(
        label for group in _GROUPING.findall(expr) for label in split_labels(group)))
        for where, expr, legend in dashboard_queries() if not where.startswith("annotation")]
    for where, expr, labels in expressions:
        present: set[str] = set()
        for name, matchers in _SELECTOR.findall(expr):
            if name == "ALERTS":
                continue
            selector = name + matchers
            series = prometheus.query(selector)
            assert series, f"{where}: {selector} has no series"
            present |= {label for s in series for label in s["metric"]}
            moved = prometheus.value(f"sum(changes({selector}[{window}]))")
            assert moved, f"{where}: {selector} never changed during the test"
        if present:
            assert labels <= present | {"le"}, f"{where}: labels {labels - present} not exported"


def split_labels(group: str) -> list[str]:
    return [label.strip() for label in group.split(",") if label.strip()]


def grouping_labels(rule: dict[str, Any]) -> set[str]:
    """Labels a rule groups or joins on, and those its annotations print."""
    labels = {label for group in _GROUPING.findall(rule["query"]) for label in split_labels(group)}
    for text in rule.get("annotations", {}).values():
        labels |= set(re.findall(r"\$labels\.(\w+)", text))
    return labels
