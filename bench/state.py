"""Section 4: dedupe state, bytes per key and lookup time, RocksDB (as Faust opens it) vs memory.

Values are real: `DedupeEntry.to_dict()` of articles the pipeline made from corpus pages
(first `decide`), JSON-encoded with orjson as the table stores them; for N keys the entries are
cycled with a unique article id, content hash and origin per key, so sizes and shapes stay
those of real entries. RocksDB is opened with faust's own `RocksDBOptions().open()` (rocksdict
driver, its default write buffer, block cache and bloom filter); the memory store is what
faust's memory store keeps: a dict of key bytes -> value bytes.
"""

from __future__ import annotations

import gc
import hashlib
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.corpus import FETCHED_AT, load_pages, raw_message
from bench.report import Context, SectionSkipped
from bench.stats import fmt, summarize, table

NAME = "state"
TITLE = "4. Dedupe state (RocksDB vs memory store)"
BATCH = 1000  # lookups per timed batch (a single dict lookup is below the timer's resolution)


def real_entries(ctx: Context, limit: int) -> list[dict[str, Any]]:
    """DedupeEntry.to_dict() of the articles the pipeline makes from corpus pages."""
    from worker.pipeline import PipelineOptions, process_page
    from worker.pipeline.dedupe import decide
    from worker.pipeline.types import Article

    options = PipelineOptions()
    _, _, pages = load_pages(ctx.corpus, limit=limit)
    entries = []
    for offset, page in enumerate(pages):
        result = process_page(raw_message(page), received_at=FETCHED_AT, options=options)
        if isinstance(result, Article):
            decision = decide(None, result, options, origin=f"pages.raw:0:{offset}")
            entries.append(decision.entry.to_dict())
    if not entries:
        raise SectionSkipped("the pipeline produced no article from the corpus pages")
    return entries


def _hex(i: int, salt: bytes, size: int) -> str:
    return hashlib.blake2b(i.to_bytes(8, "little") + salt, digest_size=size).hexdigest()


def make_items(templates: list[dict[str, Any]], n: int) -> tuple[list[bytes], list[bytes]]:
    """n (key, value) pairs: dedupe-key-like keys, real entry shapes with unique ids."""
    keys, values = [], []
    for i in range(n):
        entry = templates[i % len(templates)]
        stories = []
        for story in entry["stories"]:
            s = dict(story)
            s["id"] = _hex(i, b"id", len(story["id"]) // 2)
            s["h"] = _hex(i, b"h", len(story["h"]) // 2)
            s["o"] = {f"pages.raw:{i % 4}:{i}": 1}
            stories.append(s)
        keys.append(_hex(i, b"k", 10).encode())
        values.append(orjson.dumps({"stories": stories}))
    return keys, values


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _lookup_batches(get: Any, keys: list[bytes], batches: int, rnd: random.Random) -> list[float]:
    out = []
    for _ in range(batches):
        sample = [keys[rnd.randrange(len(keys))] for _ in range(BATCH)]
        started = time.perf_counter()
        for key in sample:
            get(key)
        out.append(1e6 * (time.perf_counter() - started) / BATCH)
    return out


def measure(n: int, templates: list[dict[str, Any]], budget_s: float, batches: int,
            seed: int) -> dict[str, Any]:
    """Fill both stores with n keys (RocksDB within budget_s), then interleaved lookups."""
    from faust.stores.rocksdb import RocksDBOptions

    from worker.pipeline.dedupe import DedupeEntry

    keys, values = make_items(templates, n)
    payload = sum(len(k) + len(v) for k, v in zip(keys, values, strict=True)) / n
    # memory store: the dict's table plus the key and value objects it holds
    memory: dict[bytes, bytes] = {}
    started = time.perf_counter()
    for k, v in zip(keys, values, strict=True):
        memory[k] = v
    mem_insert = time.perf_counter() - started
    mem_bytes = sys.getsizeof(memory) + sum(sys.getsizeof(k) + sys.getsizeof(v)
                                            for k, v in memory.items())
    from rocksdict import WriteBatch

    tmp = Path(tempfile.mkdtemp(prefix="bench-rocks-"))
    try:
        db = RocksDBOptions().open(tmp / "table")
        started = time.perf_counter()
        written = 0
        for lo in range(0, n, 10_000):
            batch = WriteBatch(raw_mode=True)
            for k, v in zip(keys[lo:lo + 10_000], values[lo:lo + 10_000], strict=True):
                batch.put(k, v)
            db.write(batch)
            written = min(n, lo + 10_000)
            if time.perf_counter() - started > budget_s:
                break
        rocks_insert = time.perf_counter() - started
        db.flush()
        db.compact_range(None, None)
        disk = _dir_bytes(tmp / "table")
        sst = sum(p.stat().st_size for p in (tmp / "table").glob("*.sst"))
        present = keys[:written]
        missing = [_hex(i, b"miss", 10).encode() for i in range(10_000)]
        rnd = random.Random(seed)
        hits: dict[str, list[float]] = {"rocksdb": [], "memory": []}
        misses: dict[str, list[float]] = {"rocksdb": [], "memory": []}
        _lookup_batches(db.get, present, 5, rnd)  # warm the block cache a little
        for b in range(batches):
            pair = [("rocksdb", db.get), ("memory", memory.get)]
            for name, get in pair if b % 2 == 0 else pair[::-1]:
                hits[name] += _lookup_batches(get, present, 1, rnd)
                if b % 4 == 0:
                    misses[name] += _lookup_batches(get, missing, 1, rnd)
        decode = []
        for _ in range(max(5, batches // 4)):
            sample = [values[rnd.randrange(written)] for _ in range(BATCH)]
            started = time.perf_counter()
            for value in sample:
                DedupeEntry.from_dict(orjson.loads(value))
            decode.append(1e6 * (time.perf_counter() - started) / BATCH)
        db.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    del memory, keys, values
    gc.collect()
    return {
        "keys": n, "rocksdb_keys": written, "payload_bytes_per_key": payload,
        "memory": {"bytes_per_key": mem_bytes / n, "insert_s": mem_insert,
                   "hit_us": summarize(hits["memory"]), "miss_us": summarize(misses["memory"])},
        "rocksdb": {"bytes_per_key": disk / written, "sst_bytes_per_key": sst / written,
                    "insert_s": rocks_insert, "hit_us": summarize(hits["rocksdb"]),
                    "miss_us": summarize(misses["rocksdb"])},
        "decode_us": summarize(decode),
    }


def run(ctx: Context) -> dict[str, Any]:
    """Both stores at 100k and 1M keys (10k and 50k with --quick)."""
    templates = real_entries(ctx, limit=10 if ctx.quick else 40)
    sizes = (10_000, 50_000) if ctx.quick else (100_000, 1_000_000)
    results = [measure(n, templates, budget_s=120.0, batches=40 if ctx.quick else 200,
                       seed=ctx.seed) for n in sizes]
    return {"templates": len(templates), "batch": BATCH, "sizes": results}


def render(data: dict[str, Any]) -> str:
    """The section's Markdown for REPORT.md."""
    rows = []
    for r in data["sizes"]:
        for store in ("rocksdb", "memory"):
            s = r[store]
            n = r["rocksdb_keys"] if store == "rocksdb" else r["keys"]
            sst = fmt(s["sst_bytes_per_key"], 0) if store == "rocksdb" else "–"
            rows.append([f"{n:,}", store, fmt(s["bytes_per_key"], 0), sst,
                         fmt(s["hit_us"]["median"], 2) + f" (p90 {fmt(s['hit_us']['p90'], 2)})",
                         fmt(s["miss_us"]["median"], 2), fmt(s["insert_s"], 1)])
    decode = data["sizes"][-1]["decode_us"]
    return "\n".join([
        f"Values: `DedupeEntry.to_dict()` as orjson bytes, from {data['templates']} real "
        "articles (cycled with unique ids and hashes); keys: 20-hex-digit dedupe keys; "
        f"payload {fmt(data['sizes'][0]['payload_bytes_per_key'], 0)} bytes per key (key + "
        "value). RocksDB: faust's `RocksDBOptions().open()`, written in 10k-key write batches, "
        "then flushed and compacted; bytes per key = the whole database folder / keys. Memory: "
        "the dict's table plus the key and value objects (`sys.getsizeof`). Lookups: random "
        f"existing keys (hit) and absent keys (miss), timed in batches of {data['batch']}, "
        "RocksDB and memory batches alternated; µs per lookup, median over batches.",
        "",
        table(["keys", "store", "bytes/key", "of which .sst", "hit µs median", "miss µs",
               "fill s"], rows),
        "",
        f"Decoding a value (orjson + `DedupeEntry.from_dict`), what the dedupe agent adds to "
        f"each lookup: {fmt(decode['median'], 2)} µs median (p90 {fmt(decode['p90'], 2)}).",
    ])


def summary(data: dict[str, Any]) -> str:
    """The section's lines for SUMMARY.md."""
    rows = []
    for r in data["sizes"]:
        for store in ("rocksdb", "memory"):
            s = r[store]
            n = r["rocksdb_keys"] if store == "rocksdb" else r["keys"]
            rows.append([f"{n:,}", store, fmt(s["bytes_per_key"], 0),
                         fmt(s["hit_us"]["median"], 2), fmt(s["miss_us"]["median"], 2)])
    return table(["keys", "store", "bytes per key", "hit µs", "miss µs"], rows)
