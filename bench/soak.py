"""Crash soak: pages streamed through 2 workers while one is SIGKILLed at random, then every
page accounted for.

    .venv/bin/python -m bench.soak --pages 10000 --kills 5 [--seed 7] [--rate 100]
                                   [--keep-logs DIR]

Starts its own Kafka broker (tools/kafka, in a temp dir) and two `news-worker worker`
subprocesses (one consumer group, 4 partitions). Pages are produced at `--rate` per second;
meanwhile a random worker is killed with SIGKILL (its extraction processes too) `--kills`
times, at random moments, and started again on its own data dir. Every page has an id; 1 in
10 repeats an earlier story from another host (a duplicate), 1 in 50 is a 404 (a rejection).
At the end the three output topics are read from the start and every id must be in
articles ∪ duplicates ∪ rejections. Prints a summary: pages, kills, lost (must be 0),
re-deliveries of an identical (article id, version) and of duplicates/rejections, and any
conflicting repeat (the same (id, version) with different content: must be 0), and how
often a worker had to seek back over input records Faust skipped (`input_rewinds`).
Exit code 0 when nothing is lost and nothing conflicts.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from tests.factories import article_html, message
from tests.integration.workers import Cluster
from tools.kafka.localkafka import LocalKafka

TOPICS = ["harbour", "railway", "school", "museum", "bridge", "library", "tram", "stadium",
          "airport", "hospital", "park", "market"]


def page(i: int) -> tuple[str, bytes | None, bytes]:
    """(page id, key, message) of page i: a story, a repeat of story i-7, or a 404."""
    if i % 50 == 49:
        pid = f"gone{i}"
        url = f"https://www.gazette.example/news/gone/{i}"
        return pid, url.encode(), message(page_id=pid, url=url, status=404)
    repeat = i % 10 == 9 and i >= 7
    n = i - 7 if repeat else i
    subject = f"{TOPICS[n % len(TOPICS)]} {n}"
    host = "m.gazette.example" if repeat else "www.gazette.example"
    pid = f"r{i}" if repeat else f"s{i}"
    url = f"https://{host}/news/2025/03/04/{subject.replace(' ', '-')}"
    html = article_html(headline=f"Council approves {subject} budget after months of debate")
    return pid, url.encode(), message(page_id=pid, url=url, html=html)


async def produce(cluster: Cluster, pages: list[tuple[str, bytes | None, bytes]],
                  rate: float) -> None:
    """Send the pages in batches of one second's worth, paced at `rate` per second."""
    batch = max(1, int(rate))
    for start in range(0, len(pages), batch):
        began = time.monotonic()
        await cluster.send_pages([(k, v) for _, k, v in pages[start:start + batch]])
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - began)))


async def chaos(cluster: Cluster, kills: int, seconds: float, rng: random.Random,
                log: list[str]) -> None:
    """Kill a random worker `kills` times within `seconds`, restarting it after a pause."""
    moments = sorted(rng.uniform(0.1, 0.9) * seconds for _ in range(kills))
    began = time.monotonic()
    for n, moment in enumerate(moments, 1):
        await asyncio.sleep(max(0.0, began + moment - time.monotonic()))
        index = rng.randrange(2)
        cluster.workers[index].kill()
        log.append(f"kill {n}: worker {index} at {time.monotonic() - began:.0f} s")
        await asyncio.sleep(rng.uniform(1.0, 5.0))
        fresh = cluster.start_worker(index=index, wait=False)
        cluster.workers[index] = fresh
        cluster.workers.pop()  # start_worker appended it; it replaces slot `index`
        await asyncio.to_thread(fresh.wait_ready, 120.0)


def summarise(ids: set[str], got: dict[str, list[Any]]) -> dict[str, Any]:
    """Lost pages, repeats and conflicts in the outputs."""
    accounted = {r["page_id"] for rs in got.values() for r in rs if r.get("page_id")}
    versions: dict[tuple[str, int], bytes] = {}
    repeats, conflicts = 0, 0
    for article in got["articles"]:
        key = (article["id"], article["version"])
        body = orjson.dumps({k: v for k, v in article.items() if not k.startswith("_")},
                            option=orjson.OPT_SORT_KEYS)
        if key in versions:
            repeats += 1
            conflicts += versions[key] != body
        versions.setdefault(key, body)
    dup_repeats = sum(n - 1 for n in Counter(d["page_id"] for d in got["duplicates"]).values())
    rej_repeats = sum(n - 1 for n in Counter(r["page_id"] for r in got["rejected"]).values())
    return {
        "pages": len(ids), "lost": len(ids - accounted), "lost_ids": sorted(ids - accounted)[:20],
        "articles": len(got["articles"]), "distinct_article_versions": len(versions),
        "duplicates": len(got["duplicates"]), "rejections": len(got["rejected"]),
        "repeated_identical_articles": repeats - conflicts, "conflicting_repeats": conflicts,
        "repeated_duplicates": dup_repeats, "repeated_rejections": rej_repeats,
    }


async def soak(pages: int, kills: int, rate: float, seed: int,
               keep_logs: Path | None = None) -> dict[str, Any]:
    """Run the whole soak on a private broker; the summary dict."""
    rng = random.Random(seed)
    batch = [page(i) for i in range(pages)]
    ids = {pid for pid, _, _ in batch}
    with tempfile.TemporaryDirectory(prefix="news-soak-") as tmp:
        root = Path(tmp)
        broker = LocalKafka(root / "kafka", die_with_parent=True)
        broker.start()
        cluster = Cluster(broker.bootstrap, root / "cluster")
        cluster.root.mkdir()
        events: list[str] = []
        began = time.monotonic()
        try:
            await cluster.create_topics()
            cluster.start_worker()
            cluster.start_worker()
            seconds = pages / rate
            await asyncio.gather(produce(cluster, batch, rate),
                                 chaos(cluster, kills, seconds, rng, events))
            latest: dict[str, dict[str, list[Any]]] = {}

            def done(g: dict[str, list[Any]]) -> bool:
                latest["got"] = g  # collect() fills this dict in place
                return {r.get("page_id") for rs in g.values() for r in rs} >= ids

            try:
                got = await cluster.collect(done, timeout=max(300.0, pages / 10))
            except AssertionError as exc:  # incomplete: report what did come out
                events.append(str(exc))
                got = latest["got"]
            summary = summarise(ids, got)
            logs = "".join(p.read_text(errors="replace")
                           for p in sorted(cluster.root.glob("worker-*.log")))
            summary.update(
                input_rewinds=logs.count('"event":"input.rewind"'),
                blocking_detected=logs.count("Blocking detected"),
                worker_crashes=logs.count("cannot route a message"),
                app_crashes=logs.count("Crashed reason"),
            )
        finally:
            cluster.stop_all()
            broker.stop()
            if keep_logs is not None:
                keep_logs.mkdir(parents=True, exist_ok=True)
                for log in cluster.root.glob("worker-*.log"):
                    shutil.copy(log, keep_logs / log.name)
        summary.update(kills=kills, seconds=round(time.monotonic() - began),
                       events=events, rate=rate, seed=seed)
        return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--rate", type=float, default=100.0, help="pages produced per second")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-logs", type=Path, help="copy the worker logs to this folder")
    args = parser.parse_args(argv)
    summary = asyncio.run(soak(args.pages, args.kills, args.rate, args.seed, args.keep_logs))
    for event in summary.pop("events"):
        print(event)
    print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    return 0 if summary["lost"] == 0 and summary["conflicting_repeats"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
