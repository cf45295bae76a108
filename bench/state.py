"""Section 4: the identity state — size and lookups, the stage's cost per page, sweep pauses.

Values are real: the identity stage (worker/pipeline/engine.py) runs corpus articles and its
state entries (URL entries, headline and body index entries) are the templates; for N keys
they are cycled with unique keys and ids. RocksDB is opened with faust's own
`RocksDBOptions().open()` (rocksdict, its write buffer, block cache and bloom filter), as the
worker's table opens it; the memory store is a dict of key bytes -> value bytes.

  * size and lookups: bytes per key and µs per lookup, RocksDB and memory, 100k and 1M keys;
  * stage cost per page: the extract stage's routing (fingerprint, record) plus the identity
    stage for a first sighting (URL, body index, headline index, registration, verdict; a
    copy of another story also passes that story's URL key: 2 of 3 pages here) and
    for a re-crawl of a known URL (one step), against a store already holding 1M keys;
  * sweep: `sweep_slice` over a 1M-key RocksDB partition with the worker's 20 ms budget:
    the longest slice (the longest the event loop is held), slices and total time, with
    none, 10 % and all of the keys due;
  * identity thresholds: SimHash distances and body-key agreement on corpus bodies (unrelated
    pairs; copies with a dateline, a credit line, furniture, one more or one less paragraph).
"""

from __future__ import annotations

import gc
import itertools
import random
import shutil
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.corpus import FETCHED_AT, load_pages, raw_message
from bench.report import Context, SectionSkipped
from bench.stats import fmt, summarize, table

NAME = "state"
TITLE = "4. Identity state: size, stage cost per page, sweep pauses"
BATCH = 1000  # lookups per timed batch (a single dict lookup is below the timer's resolution)
SLICE = 0.02  # seconds: the worker's sweep budget per marker (worker/stream/sweep.py)
_PREFIX = struct.Struct(">BQ")


class RdictStore:
    """A `RawStore` over one RocksDB database (one partition of the worker's table)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def get(self, key: bytes) -> bytes | None:
        value = self.db.get(key)
        return value if isinstance(value, bytes) else None

    def put(self, key: bytes, value: bytes) -> None:
        self.db[key] = value

    def delete(self, key: bytes) -> None:
        self.db.delete(key)

    def items_in(self, partition: int, after: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        for key, value in self.db.items(from_key=after):
            if key != after:
                yield key, value


def corpus_articles(ctx: Context, limit: int) -> list[Any]:
    from worker.pipeline import PipelineOptions, process_page
    from worker.pipeline.types import Article

    _, _, pages = load_pages(ctx.corpus, limit=limit)
    found = [process_page(raw_message(p), received_at=FETCHED_AT, options=PipelineOptions())
             for p in pages]
    articles = [a for a in found if isinstance(a, Article)]
    if not articles:
        raise SectionSkipped("the pipeline produced no article from the corpus pages")
    return articles


def _engine(store: Any) -> Any:
    from worker.pipeline import PipelineOptions
    from worker.pipeline.engine import Engine
    from worker.pipeline.state import IdentityState
    from worker.stream.positions import key_partition

    def partition_of(key: bytes) -> int:
        return key_partition(key, 4)

    return Engine(IdentityState(store, PipelineOptions()), partition_of)


def templates(articles: list[Any]) -> dict[str, list[bytes]]:
    """Stored values by stage, from running the articles through the identity stage."""
    from worker.pipeline.route import route_result
    from worker.pipeline.state import DictStore, stage_of

    store = DictStore(lambda key: 0)
    engine = _engine(store)
    for n, article in enumerate(articles):
        engine.run(route_result(article, f"pages.raw:0:{n}", None, None, 2**62))
    found: dict[str, list[bytes]] = {"url": [], "headline": [], "body": []}
    for key, value in store.data.items():
        stage = stage_of(key)
        if stage:
            found[stage].append(value)
    return found


def make_items(shapes: dict[str, list[bytes]], n: int, due: float,
               seed: int) -> tuple[list[bytes], list[bytes]]:
    """n (key, value) pairs, a third per stage, `due` of them expired, in random key order."""
    rnd = random.Random(seed)
    keys, values = [], []
    prefixes = {"url": b"u:", "headline": b"h:", "body": b"b:"}
    for i in range(n):
        stage = ("url", "headline", "body")[i % 3]
        template = shapes[stage][i % len(shapes[stage])]
        expires = 1 if rnd.random() < due else 2**40  # 1: long past; 2**40: far future
        keys.append(prefixes[stage] + f"{rnd.getrandbits(80):020x}".encode())
        values.append(_PREFIX.pack(template[0], expires) + template[_PREFIX.size:])
    return keys, values


def _open_rocks(path: Path) -> Any:
    from faust.stores.rocksdb import RocksDBOptions

    return RocksDBOptions().open(path)


def _fill(db: Any, keys: list[bytes], values: list[bytes]) -> float:
    from rocksdict import WriteBatch

    started = time.perf_counter()
    for lo in range(0, len(keys), 10_000):
        batch = WriteBatch(raw_mode=True)
        for k, v in zip(keys[lo:lo + 10_000], values[lo:lo + 10_000], strict=True):
            batch.put(k, v)
        db.write(batch)
    db.flush()
    return time.perf_counter() - started


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _lookups(get: Any, keys: list[bytes], batches: int, rnd: random.Random) -> list[float]:
    out = []
    for _ in range(batches):
        sample = [keys[rnd.randrange(len(keys))] for _ in range(BATCH)]
        started = time.perf_counter()
        for key in sample:
            get(key)
        out.append(1e6 * (time.perf_counter() - started) / BATCH)
    return out


def size_and_lookups(shapes: dict[str, list[bytes]], n: int, batches: int,
                     seed: int) -> dict[str, Any]:
    keys, values = make_items(shapes, n, 0.0, seed)
    memory = dict(zip(keys, values, strict=True))
    mem_bytes = sys.getsizeof(memory) + sum(sys.getsizeof(k) + sys.getsizeof(v)
                                            for k, v in memory.items())
    tmp = Path(tempfile.mkdtemp(prefix="bench-rocks-"))
    try:
        db = _open_rocks(tmp / "table")
        fill = _fill(db, keys, values)
        db.compact_range(None, None)
        disk = _dir_bytes(tmp / "table")
        rnd = random.Random(seed)
        hits: dict[str, list[float]] = {"rocksdb": [], "memory": []}
        for b in range(batches):
            pair = [("rocksdb", db.get), ("memory", memory.get)]
            for name, get in pair if b % 2 == 0 else pair[::-1]:
                hits[name] += _lookups(get, keys, 1, rnd)
        db.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    payload = sum(len(k) + len(v) for k, v in zip(keys, values, strict=True)) / n
    del memory, keys, values
    gc.collect()
    return {"keys": n, "payload": payload, "fill_s": fill,
            "rocksdb": {"bytes_per_key": disk / n, "hit_us": summarize(hits["rocksdb"])},
            "memory": {"bytes_per_key": mem_bytes / n, "hit_us": summarize(hits["memory"])}}


def stage_cost(articles: list[Any], shapes: dict[str, list[bytes]], n: int,
               seed: int) -> dict[str, Any]:
    """µs per page on a RocksDB store of n keys: routing, first sighting, re-crawl."""
    from dataclasses import replace

    from worker.pipeline.route import route_result

    keys, values = make_items(shapes, n, 0.0, seed)
    tmp = Path(tempfile.mkdtemp(prefix="bench-stage-"))
    try:
        db = _open_rocks(tmp / "table")
        _fill(db, keys, values)
        del keys, values
        engine = _engine(RdictStore(db))
        route, first, again = [], [], []
        for k, article in enumerate(articles * 3):
            page = replace(article, id=f"{k:024x}", canonical_url=article.canonical_url + f"?{k}")
            started = time.perf_counter()
            records = route_result(page, f"pages.raw:0:{k}", None, None, 2**62)
            routed = time.perf_counter()
            engine.run(records)
            route.append(1e6 * (routed - started))
            first.append(1e6 * (time.perf_counter() - routed))
            records = route_result(page, f"pages.raw:1:{k}", None, None, 2**62)
            started = time.perf_counter()
            engine.run(records)
            again.append(1e6 * (time.perf_counter() - started))
        db.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"keys": n, "pages": len(route), "route_us": summarize(route),
            "first_us": summarize(first), "recrawl_us": summarize(again)}


def sweep_pauses(shapes: dict[str, list[bytes]], n: int, due: float,
                 seed: int) -> dict[str, Any]:
    """Slices of `sweep_slice` over n keys, each with the worker's budget."""
    from worker.pipeline import PipelineOptions
    from worker.pipeline.state import IdentityState, SweepProgress, sweep_slice

    keys, values = make_items(shapes, n, due, seed)
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        db = _open_rocks(tmp / "table")
        _fill(db, keys, values)
        del keys, values
        gc.collect()
        state = IdentityState(RdictStore(db), PipelineOptions())
        progress, slices, cpu = SweepProgress(), [], []
        started = time.perf_counter()
        while True:
            begun, begun_cpu = time.perf_counter(), time.thread_time()
            sweep_slice(state, 0, 10**9, progress,
                        lambda begun=begun: time.perf_counter() - begun > SLICE)
            slices.append(1e3 * (time.perf_counter() - begun))
            cpu.append(1e3 * (time.thread_time() - begun_cpu))
            if progress.after is None:
                break
        total = time.perf_counter() - started
        db.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # Wall time includes the moments the OS ran something else (a busy shared machine);
    # CPU time is the sweep's own work.
    return {"keys": n, "due": due, "slices": len(slices), "total_s": total,
            "slice_ms": summarize(slices), "slice_cpu_ms": summarize(cpu),
            "removed": progress.removed + progress.trimmed}


def thresholds(articles: list[Any]) -> dict[str, Any]:
    """SimHash distances and body-key agreement: unrelated bodies and perturbed copies."""
    from worker.pipeline.enrich import simhash64
    from worker.pipeline.fingerprint import body_key, hamming

    bodies = [a.body for a in articles]
    heads = [a.headline for a in articles]
    sims = [int(simhash64(b), 16) for b in bodies]
    unrelated = sorted(hamming(a, b) for a, b in itertools.combinations(sims, 2))
    keys = [body_key(b) for b in bodies]

    def perturb(text: str, kind: str, k: int) -> str:
        paras = text.split("\n\n")
        if kind == "dateline":
            paras[0] = "LONDON (Wire) - " + paras[0]
        elif kind == "credit":
            paras.append("Reporting by A. Writer; editing by B. Editor")
        elif kind == "furniture":
            paras.insert(len(paras) // 2, "Advertisement")
        elif kind == "read more":
            paras.insert(len(paras) // 2, "Read more: " + heads[(k + 1) % len(heads)])
        elif kind == "one more paragraph":
            paras.insert(len(paras) // 2, "Officials said on Tuesday that the figures would "
                         "be reviewed again next week, and a statement was expected.")
        elif kind == "one paragraph less" and len(paras) > 2:
            paras = paras[:-1]
        return "\n\n".join(paras)

    copies = {}
    for kind in ("dateline", "credit", "furniture", "read more", "one more paragraph",
                 "one paragraph less"):
        changed = [perturb(b, kind, k) for k, b in enumerate(bodies)]
        distances = [hamming(s, int(simhash64(c), 16)) for s, c in zip(sims, changed, strict=True)]
        copies[kind] = {
            "within_12": sum(d <= 12 for d in distances) / len(distances),
            "within_8": sum(d <= 8 for d in distances) / len(distances),
            "same_body_key": sum(body_key(c) == key for c, key in zip(changed, keys, strict=True))
            / len(bodies),
            "median": statistics.median(distances), "max": max(distances),
        }
    return {"bodies": len(bodies), "pairs": len(unrelated), "unrelated_min": unrelated[0],
            "unrelated_p001": unrelated[len(unrelated) // 1000], "unrelated_median":
            unrelated[len(unrelated) // 2], "shared_body_keys": len(keys) - len(set(keys)),
            "copies": copies}


def run(ctx: Context) -> dict[str, Any]:
    """Every measurement at 100k and 1M keys (10k and 50k with --quick)."""
    articles = corpus_articles(ctx, limit=20 if ctx.quick else 121)
    shapes = templates(articles)
    sizes = (10_000, 50_000) if ctx.quick else (100_000, 1_000_000)
    big = sizes[-1]
    return {
        "articles": len(articles),
        "sizes": [size_and_lookups(shapes, n, 40 if ctx.quick else 200, ctx.seed)
                  for n in sizes],
        "stage": stage_cost(articles, shapes, big, ctx.seed),
        "sweeps": [sweep_pauses(shapes, big, due, ctx.seed) for due in (0.0, 0.1, 1.0)],
        "thresholds": thresholds(articles),
    }


def _rows(data: dict[str, Any]) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    sizes = [[f"{r['keys']:,}", store, fmt(r[store]["bytes_per_key"], 0),
              fmt(r[store]["hit_us"]["median"], 2)]
             for r in data["sizes"] for store in ("rocksdb", "memory")]
    stage = data["stage"]
    costs = [[label, fmt(stage[key]["median"], 0), fmt(stage[key]["p90"], 0)]
             for label, key in (("extract stage routing (fingerprint, record)", "route_us"),
                                ("identity, first sighting (4-5 steps + registration)", "first_us"),
                                ("identity, re-crawl of a known URL (1 step)", "recrawl_us"))]
    sweeps = [[f"{s['keys']:,}", f"{s['due']:.0%}", fmt(s["slice_ms"]["max"], 1),
               fmt(s["slice_cpu_ms"]["max"], 1), fmt(s["slice_ms"]["p99"], 1), s["slices"],
               fmt(s["total_s"], 1)] for s in data["sweeps"]]
    return sizes, costs, sweeps


def render(data: dict[str, Any]) -> str:
    """The section's Markdown for REPORT.md."""
    sizes, costs, sweeps = _rows(data)
    t = data["thresholds"]
    copies = [[kind, f"{c['within_12']:.1%}", f"{c['within_8']:.1%}", f"{c['same_body_key']:.1%}",
               fmt(c["median"], 0), c["max"]] for kind, c in t["copies"].items()]
    stage = data["stage"]
    return "\n".join([
        f"Entry shapes from {data['articles']} corpus articles run through the identity stage; "
        "keys a third each URL, headline and body entries. RocksDB opened with faust's "
        "`RocksDBOptions().open()`; bytes per key = the whole database folder after a "
        "compaction / keys. Lookups of random existing keys in batches of "
        f"{BATCH}, RocksDB and memory batches alternated.",
        "",
        table(["keys", "store", "bytes/key", "hit µs (median)"], sizes),
        "",
        f"**Cost per page** ({stage['pages']} pages, RocksDB holding {stage['keys']:,} keys; "
        "µs; the worker adds its Kafka sends between the steps):",
        "",
        table(["", "median µs", "p90 µs"], costs),
        "",
        f"**Sweep** (`sweep_slice`, budget {SLICE * 1000:.0f} ms a slice as in the worker, one "
        "RocksDB partition): the longest slice is the longest the event loop is held; wall "
        "time includes moments the OS ran other processes, CPU time is the sweep's own work.",
        "",
        table(["keys", "due", "longest slice ms (wall)", "(CPU)", "p99 ms (wall)", "slices",
               "total s"], sweeps),
        "",
        f"**Identity thresholds** on {t['bodies']} corpus bodies: unrelated pairs "
        f"({t['pairs']:,}) differ by at least {t['unrelated_min']} SimHash bits (0.1 %: "
        f"{t['unrelated_p001']}, median {t['unrelated_median']}); {t['shared_body_keys']} "
        "bodies share a body key with another. Perturbed copies:",
        "",
        table(["copy", "SimHash ≤ 12", "≤ 8", "same body key", "median bits", "max bits"],
              copies),
    ])


def summary(data: dict[str, Any]) -> str:
    """The section's lines for SUMMARY.md."""
    sizes, costs, sweeps = _rows(data)
    return "\n".join([
        table(["keys", "store", "bytes per key", "hit µs"], sizes), "",
        table(["per page", "median µs", "p90 µs"], costs), "",
        table(["sweep keys", "due", "longest slice ms (wall)", "(CPU)", "p99 ms", "slices",
               "total s"], sweeps),
    ])
