"""Crash soak: pages streamed through 2 workers while workers (and brokers) are SIGKILLed on a
seeded schedule, then every page accounted for.

    .venv/bin/python -m bench.soak [--pages 10000] [--kills 5] [--broker-kills 2] [--nodes 3]
                                   [--seed 7] [--rate 100] [--keep-logs DIR]
    .venv/bin/python -m bench soak [--quick]        # the same as a `make bench` section

Starts its own Kafka in a temp dir (tools/kafka: a 3-node cluster with replication 3 and
min.insync.replicas 2 by default, `--nodes 1` for one broker) and two `news-worker worker`
subprocesses (one consumer group, 4 partitions). Pages are produced at `--rate` per second;
meanwhile, at moments drawn from `--seed`, a random worker is SIGKILLed (its extraction
processes too) `--kills` times and started again on its own data dir, and a random broker
is SIGKILLed `--broker-kills` times and started again 5-15 s later. The schedule (moments,
victims, pauses) is the same for the same seed; what was uncommitted at each kill is not.

The pages, per 50: 44 new stories (each its own headline and body), 4 repeats of a story 7
pages earlier from another host (duplicates), 1 update of a story 13 pages earlier (same URL,
a paragraph added, later dateModified: version 2) and 1 HTTP 404 (a rejection). At the end
the three output topics are read from the start and every page must be in articles ∪
duplicates ∪ rejections. The summary: pages in, records out, lost (must be 0), conflicting
repeats (the same (id, version) with other content: must be 0), identical repeats
(re-deliveries, expected after kills), stories published twice as version 1, stories never
published as version 1 (their first page came out only as a duplicate), updates not
published as version 2, pages that came out both as a rejection and as an article or
duplicate (all four must be 0), and from the worker logs how often a worker sought back over
input Faust skipped. Exit code 0 when all the "must be 0" counts are 0.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.factories import article_html, message
from tests.integration.workers import Cluster
from tests.stories import body
from tools.kafka.cluster import LocalCluster
from tools.kafka.localkafka import LocalKafka
from tools.kafka.topics import describe_partitions

NAME = "soak"
TITLE = "Crash soak (kills of workers and brokers)"
TOPICS = ["harbour", "railway", "school", "museum", "bridge", "library", "tram", "stadium",
          "airport", "hospital", "park", "market"]
UPDATE_NOTE = ("Late on Tuesday the regional government confirmed it would cover half of the "
               "cost, a decision that council members said removed the last obstacle.")
Page = tuple[str, bytes | None, bytes]  # (page id, key, message)


def kind(i: int) -> str:
    """What page i is: "gone" (404), "repeat" (of i-7), "update" (of i-13) or "story"."""
    if i % 50 == 49:
        return "gone"
    if i % 10 == 9 and i >= 7:
        return "repeat"  # of i-7: i-7 ends in 2, always a story
    if i % 50 == 37:
        return "update"  # of i-13: i-13 ends in 24 mod 50, always a story
    return "story"


def _story_url(n: int, host: str = "www.gazette.example") -> str:
    subject = f"{TOPICS[n % len(TOPICS)]} {n}"
    return f"https://{host}/news/2025/03/04/{subject.replace(' ', '-')}"


def headline(n: int) -> str:
    """The headline of story n (and of its repeat and update)."""
    return f"Council approves {TOPICS[n % len(TOPICS)]} {n} budget after months of debate"


def paragraphs(n: int) -> list[str]:
    """Story n's own body: one body under two headlines would be one story (a copy)."""
    return body(1000 + n).split("\n\n")


def page(i: int) -> Page:
    """(page id, key, message) of page i."""
    what = kind(i)
    if what == "gone":
        pid, url = f"gone{i}", f"https://www.gazette.example/news/gone/{i}"
        return pid, url.encode(), message(page_id=pid, url=url, status=404)
    if what == "repeat":
        n, pid = i - 7, f"r{i}"
        url = _story_url(n, "m.gazette.example")
        html = article_html(headline=headline(n), paragraphs=paragraphs(n))
    elif what == "update":
        n, pid = i - 13, f"u{i}"
        url = _story_url(n)
        html = article_html(headline=headline(n), paragraphs=[*paragraphs(n), UPDATE_NOTE],
                            modified="2025-03-04T18:00:00+01:00")
    else:
        n, pid = i, f"s{i}"
        url, html = _story_url(n), article_html(headline=headline(n), paragraphs=paragraphs(n))
    return pid, url.encode(), message(page_id=pid, url=url, html=html)


async def produce(cluster: Cluster, pages: list[Page], rate: float) -> None:
    """Send the pages in batches of one second's worth, paced at `rate` per second."""
    batch = max(1, int(rate))
    for start in range(0, len(pages), batch):
        began = time.monotonic()
        await cluster.send_pages([(k, v) for _, k, v in pages[start:start + batch]])
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - began)))


def schedule(kills: int, broker_kills: int, seconds: float,
             rng: random.Random) -> list[tuple[float, str, int, float]]:
    """(moment, "worker" | "broker", victim, pause before the restart), in time order."""
    plan = [(rng.uniform(0.1, 0.9) * seconds, "worker", rng.randrange(2), rng.uniform(1.0, 5.0))
            for _ in range(kills)]
    plan += [(rng.uniform(0.2, 0.7) * seconds, "broker", rng.randrange(3) + 1,
              rng.uniform(5.0, 15.0)) for _ in range(broker_kills)]
    return sorted(plan)


async def restart_worker(cluster: Cluster, index: int) -> None:
    """Start worker `index` again on its own data dir, in its slot; wait until it is ready."""
    fresh = cluster.start_worker(index=index, wait=False)
    cluster.workers.pop()  # start_worker appended it; it replaces slot `index`
    cluster.workers[index] = fresh
    await asyncio.to_thread(fresh.wait_ready, 120.0)


async def chaos(cluster: Cluster, kafka: LocalCluster | None, plan: list[tuple[float, str, int,
                float]], log: list[str]) -> None:
    """Carry out the plan: each kill, then its restart after the pause (in the background)."""
    began = time.monotonic()
    restarts: list[asyncio.Task[None]] = []

    async def broker_back(node: int, pause: float) -> None:
        await asyncio.sleep(pause)
        assert kafka is not None  # noqa: S101 - broker kills need a cluster
        kafka.start_node(node, wait=False)  # from the loop's (main) thread: see LocalKafka
        await asyncio.to_thread(kafka.wait_node, node)
        log.append(f"broker {node} back at {time.monotonic() - began:.0f} s")

    for n, (moment, what, victim, pause) in enumerate(plan, 1):
        await asyncio.sleep(max(0.0, began + moment - time.monotonic()))
        if what == "broker" and kafka is not None and kafka.node(victim).pid is not None:
            kafka.kill(victim)
            log.append(f"kill {n}: broker {victim} at {time.monotonic() - began:.0f} s")
            restarts.append(asyncio.create_task(broker_back(victim, pause)))
        elif what == "worker":
            cluster.workers[victim].kill()
            log.append(f"kill {n}: worker {victim} at {time.monotonic() - began:.0f} s")
            await asyncio.sleep(pause)
            await restart_worker(cluster, victim)
    await asyncio.gather(*restarts)


def summarise(ids: set[str], got: dict[str, list[Any]]) -> dict[str, Any]:
    """Lost pages, repeats and conflicts in the outputs (see the module docstring)."""
    accounted = {r["page_id"] for rs in got.values() for r in rs if r.get("page_id")}
    versions: dict[tuple[str, int], bytes] = {}
    repeats, conflicts = 0, 0
    first_versions: defaultdict[str, set[str]] = defaultdict(set)  # headline -> page ids
    for article in got["articles"]:
        key = (article["id"], article["version"])
        body = orjson.dumps({k: v for k, v in article.items() if not k.startswith("_")},
                            option=orjson.OPT_SORT_KEYS)
        if key in versions:
            repeats += 1
            conflicts += versions[key] != body
        versions.setdefault(key, body)
        if article["version"] == 1:
            first_versions[article["headline"]].add(article["page_id"])
    stories = {int(pid[1:]) for pid in ids if pid.startswith("s")}
    without_v1 = {n for n in stories if headline(n) not in first_versions}
    updates = {pid for pid in ids if pid.startswith("u")}
    as_v2 = {a["page_id"] for a in got["articles"] if a["version"] == 2}
    # A page is rejectable or not, whoever processes it: never both a rejection and a story.
    rejected = {r.get("page_id") for r in got["rejected"]}
    storied = {r["page_id"] for r in (*got["articles"], *got["duplicates"])}
    mixed = sorted((rejected & storied) - {None})
    dup_repeats = sum(n - 1 for n in Counter(d["page_id"] for d in got["duplicates"]).values())
    rej_repeats = sum(n - 1 for n in Counter(r["page_id"] for r in got["rejected"]).values())
    return {
        "pages": len(ids), "records_out": sum(len(rs) for rs in got.values()),
        "lost": len(ids - accounted), "lost_ids": sorted(ids - accounted)[:20],
        "articles": len(got["articles"]), "distinct_article_versions": len(versions),
        "duplicates": len(got["duplicates"]), "rejections": len(got["rejected"]),
        "conflicting_repeats": conflicts, "identical_repeats": repeats - conflicts,
        "repeated_duplicates": dup_repeats, "repeated_rejections": rej_repeats,
        "stories_published_twice": sum(len(p) > 1 for p in first_versions.values()),
        "stories_without_v1": len(without_v1), "stories_without_v1_ids": sorted(without_v1)[:20],
        "updates_not_v2": len(updates - as_v2),
        "mixed_outcomes": len(mixed), "mixed_outcome_ids": mixed[:20],
    }


async def diagnose(group: Cluster, pages: list[Page], got: dict[str, list[Any]]) -> str:
    """Where the missing pages are: offsets per input partition, lag, missing ids."""
    lines = []
    pages_topic, stories_topic = group.topics["pages"], f"{group.app_id}-stories"
    try:
        ends, committed = await group_offsets(group.bootstrap, group.app_id,
                                              [pages_topic, stories_topic])
        for tp in sorted(ends):
            lines.append(f"{tp.topic}[{tp.partition}]: end {ends[tp]}, "
                         f"committed {committed.get(tp)}")
        placement = await describe_partitions(group.bootstrap, [pages_topic, stories_topic])
        lines.append("leaders: " + ", ".join(
            f"{t}[{p}]={v['leader']} isr={v['isr']}" for (t, p), v in sorted(placement.items())))
    except Exception as exc:  # noqa: BLE001 - a diagnosis must not hide the real failure
        lines.append(f"(offsets unavailable: {exc!r})")
    for index, worker in enumerate(group.workers):
        status, text = worker.get("/metrics")
        lag = [line for line in text.splitlines() if line.startswith("news_consumer_lag{")]
        lines.append(f"worker {index} alive={worker.alive()} metrics={status} lag={lag}")
    accounted = {r.get("page_id") for rs in got.values() for r in rs}
    missing: defaultdict[int, list[str]] = defaultdict(list)
    for pid, key, _ in pages:
        if pid not in accounted:
            missing[_partition_of(key, group.partitions)].append(pid)
    for partition, pids in sorted(missing.items()):
        lines.append(f"missing from pages[{partition}]: {len(pids)}: {pids[:10]}")
    return "\n".join(lines)


def _partition_of(key: bytes | None, partitions: int) -> int:
    from worker.stream.positions import key_partition

    return key_partition(key or b"", partitions)


async def group_offsets(bootstrap: str, group_id: str, topics: list[str]
                        ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """(end offset, committed offset of `group_id`) per partition of `topics`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await consumer.start()
    await admin.start()
    try:
        tps = [TopicPartition(t, p) for t in topics
               for p in sorted(consumer.partitions_for_topic(t) or [])]
        if not tps:
            await consumer._client.force_metadata_update()  # noqa: SLF001 - a fresh client
            tps = [TopicPartition(t, p) for t in topics
                   for p in sorted(consumer.partitions_for_topic(t) or [])]
        ends = await consumer.end_offsets(tps)
        offsets = await admin.list_consumer_group_offsets(group_id)
        committed = {tp: meta.offset for tp, meta in offsets.items() if tp.topic in topics}
    finally:
        await consumer.stop()
        await admin.close()
    return ends, committed


def healthy(summary: dict[str, Any]) -> bool:
    """Nothing lost or conflicting; every story once as v1, every update as v2."""
    return all(summary[k] == 0 for k in ("lost", "conflicting_repeats", "stories_published_twice",
                                         "stories_without_v1", "updates_not_v2",
                                         "mixed_outcomes"))


def worker_log_counts(root: Path) -> dict[str, int]:
    """Tell-tale lines from every worker log under `root`."""
    logs = "".join(p.read_text(errors="replace") for p in sorted(root.glob("worker-*.log")))
    return {
        "input_rewinds": logs.count('"event":"input.rewind"'),
        "blocking_detected": logs.count("Blocking detected"),
        "worker_crashes": logs.count("cannot route a message"),
        "app_crashes": logs.count("Crashed reason"),
    }


@contextmanager
def kafka_for_soak(root: Path, nodes: int, running: LocalCluster | None = None
                   ) -> Iterator[tuple[str, LocalCluster | None]]:
    """(bootstrap, the cluster or None for one broker), stopped on the way out (unless the
    cluster was `running` already: then it is only used)."""
    if running is not None:
        yield running.bootstrap, running
        return
    if nodes == 1:
        broker = LocalKafka(root / "kafka", die_with_parent=True)
        broker.start()
        try:
            yield broker.bootstrap, None
        finally:
            broker.stop()
        return
    cluster = LocalCluster(root / "kafka", nodes=nodes, die_with_parent=True)
    cluster.start()
    try:
        yield cluster.bootstrap, cluster
    finally:
        cluster.stop()


async def soak(pages: int, kills: int, rate: float, seed: int, keep_logs: Path | None = None,
               *, broker_kills: int = 0, nodes: int = 3, log_level: str = "INFO",
               kafka: LocalCluster | None = None) -> dict[str, Any]:
    """Run the whole soak on a private Kafka (or on `kafka`, a running cluster whose killed
    nodes are started again); the summary dict."""
    nodes = len(kafka.nodes) if kafka is not None else nodes
    if broker_kills and nodes < 3:
        raise ValueError("broker kills need a cluster of at least 3 nodes (--nodes 3)")
    rng = random.Random(seed)
    batch = [page(i) for i in range(pages)]
    ids = {pid for pid, _, _ in batch}
    plan = schedule(kills, broker_kills, pages / rate, rng)
    with tempfile.TemporaryDirectory(prefix="news-soak-") as tmp:
        root = Path(tmp)
        events: list[str] = []
        began = time.monotonic()
        with kafka_for_soak(root, nodes, kafka) as (bootstrap, kafka):
            cluster = Cluster(bootstrap, root / "cluster", replication=min(nodes, 3),
                              extra_env={"NEWS_LOG_LEVEL": log_level})
            cluster.root.mkdir()
            try:
                await cluster.create_topics()
                cluster.start_worker()
                cluster.start_worker()
                await asyncio.gather(produce(cluster, batch, rate),
                                     chaos(cluster, kafka, plan, events))
                latest: dict[str, dict[str, list[Any]]] = {}

                def done(g: dict[str, list[Any]]) -> bool:
                    latest["got"] = g  # collect() fills this dict in place
                    return {r.get("page_id") for rs in g.values() for r in rs} >= ids

                try:
                    got = await cluster.collect(done, timeout=max(300.0, pages / 10))
                except AssertionError as exc:  # incomplete: report what did come out
                    events.append(str(exc))
                    got = latest["got"]
                    events.append(await diagnose(cluster, batch, got))
                summary = summarise(ids, got)
                summary.update(worker_log_counts(cluster.root))
            finally:
                cluster.stop_all()
                if keep_logs is not None:
                    keep_logs.mkdir(parents=True, exist_ok=True)
                    for log in cluster.root.glob("worker-*.log"):
                        shutil.copy(log, keep_logs / log.name)
                    for log in root.glob("kafka/**/kafka.log"):
                        shutil.copy(log, keep_logs / f"{log.parent.name}-kafka.log")
        summary.update(kills=kills, broker_kills=broker_kills, nodes=nodes,
                       seconds=round(time.monotonic() - began), events=events, rate=rate,
                       seed=seed)
        return summary


# --- as a `python -m bench` section ---------------------------------------------------------

FULL = {"pages": 10_000, "kills": 5, "broker_kills": 2, "rate": 100.0, "seed": 7}
QUICK = {"pages": 2_000, "kills": 3, "broker_kills": 1, "rate": 100.0, "seed": 7}


def run(ctx: Any) -> dict[str, Any]:
    """The bench section: the full soak on a 3-node cluster (the CI size with --quick)."""
    size = QUICK if ctx.quick else FULL
    return asyncio.run(soak(size["pages"], size["kills"], size["rate"], size["seed"],
                            broker_kills=size["broker_kills"], nodes=3))


_ROWS = ["pages", "records_out", "lost", "conflicting_repeats", "identical_repeats",
         "repeated_duplicates", "repeated_rejections", "stories_published_twice",
         "stories_without_v1", "updates_not_v2", "mixed_outcomes", "input_rewinds",
         "app_crashes"]


def render(data: dict[str, Any]) -> str:
    """The section in the report: settings, events, then every count."""
    head = (f"{data['pages']} pages at {data['rate']:.0f}/s through 2 workers on a "
            f"{data['nodes']}-node cluster; {data['kills']} worker kills and "
            f"{data['broker_kills']} broker kills (seed {data['seed']}), {data['seconds']} s. "
            + ("**healthy**" if healthy(data) else "**NOT healthy**"))
    rows = "\n".join(f"| {name} | {data.get(name, '')} |" for name in _ROWS)
    events = "\n".join(f"- {e}" for e in data.get("events", []))
    return f"{head}\n\n| count | value |\n|---|---|\n{rows}\n\n{events}"


def summary(data: dict[str, Any]) -> str:
    """One paragraph for SUMMARY.md."""
    return (f"{data['pages']} pages, {data['kills']} worker + {data['broker_kills']} broker "
            f"kills on {data['nodes']} nodes: lost {data['lost']}, conflicting repeats "
            f"{data['conflicting_repeats']}, identical repeats {data['identical_repeats']}, "
            f"stories twice as v1 {data['stories_published_twice']}, never as v1 "
            f"{data['stories_without_v1']}, updates not v2 {data['updates_not_v2']}, "
            f"pages both rejected and published {data.get('mixed_outcomes', 0)}.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--pages", type=int, default=FULL["pages"])
    parser.add_argument("--kills", type=int, default=FULL["kills"], help="worker SIGKILLs")
    parser.add_argument("--broker-kills", type=int, default=FULL["broker_kills"],
                        help="broker SIGKILLs (needs --nodes 3)")
    parser.add_argument("--nodes", type=int, default=3, help="Kafka nodes: 1 or 3")
    parser.add_argument("--rate", type=float, default=FULL["rate"],
                        help="pages produced per second")
    parser.add_argument("--seed", type=int, default=FULL["seed"])
    parser.add_argument("--keep-logs", type=Path,
                        help="copy the worker and broker logs to this folder")
    parser.add_argument("--log-level", default="INFO", help="the workers' NEWS_LOG_LEVEL")
    args = parser.parse_args(argv)
    summary = asyncio.run(soak(args.pages, args.kills, args.rate, args.seed, args.keep_logs,
                               broker_kills=args.broker_kills, nodes=args.nodes,
                               log_level=args.log_level))
    for event in summary.pop("events"):
        print(event)
    print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    return 0 if healthy(summary) else 1


if __name__ == "__main__":
    sys.exit(main())
