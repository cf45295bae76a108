"""Streaming sessions of two builds on one broker, alternated: throughput and latency side by side.

    python -m bench.compare_stream --baseline /path/to/other/checkout [--rounds 2] [--quick]

The baseline is another checkout with its own `.venv` (e.g. `git worktree add ../base <commit>`
then `make setup` there). Each round runs bench/stream.py's session (1 worker at max rate, a
second joins, 2 workers at max rate, then 25/50/75 % of that rate) once with the baseline's
`news-worker` and once with this checkout's, on the same local broker with fresh topics, so both
see the same machine at nearly the same time. Phase sizes come from this checkout's offline
rates, measured once, so both builds get the same pages. Writes compare_stream.json and .md to
bench/results/ (or --out).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson

from bench import stream
from bench.corpus import DEFAULT_CORPUS, load_pages
from bench.report import RESULTS, Context, machine_stamp
from bench.stats import fmt, table


def _row(label: str, data: dict[str, Any]) -> list[str]:
    phases = {p["name"]: p for p in data["phases"]}
    two, half = phases.get("max rate, 2 workers", {}), phases.get("50% of max, 2 workers", {})
    one = phases.get("max rate, 1 worker", {})
    lat = half.get("latency_ms", {})
    return [label, fmt(one.get("pages_per_s")), fmt(two.get("pages_per_s")),
            fmt(lat.get("median"), 0), fmt(lat.get("p95"), 0), fmt(lat.get("p99"), 0),
            str(sum(p["missing"] for p in data["phases"]))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare_stream", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="the other checkout")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    base_bin = args.baseline.resolve() / ".venv" / "bin"
    if not (base_bin / "news-worker").exists():
        parser.error(f"no {base_bin / 'news-worker'}: run `make setup` in the baseline")
    ctx = Context(out=args.out, quick=args.quick, corpus=args.corpus)
    plan = stream.QUICK if args.quick else stream.FULL
    _, _, pages = load_pages(ctx.corpus, limit=20 if args.quick else None)
    offline = stream.offline_rates(ctx, pages, plan.offline)
    builds = [("baseline", str(base_bin)), ("this checkout", stream.BIN)]
    stamp = machine_stamp()

    async def sessions() -> list[tuple[str, dict[str, Any]]]:
        found = []
        async with stream.local_broker(ctx) as bootstrap:
            for round_ in range(args.rounds):
                for label, bin_dir in builds:
                    stream.BIN = bin_dir
                    print(f"compare: round {round_ + 1}, {label}", file=sys.stderr, flush=True)
                    data = await stream.run_session(ctx, plan, pages, bootstrap, offline)
                    found.append((label, data))
        return found

    results = asyncio.run(sessions())
    rows = [_row(f"{label} (round {k // 2 + 1})", data) for k, (label, data) in enumerate(results)]
    text = "\n".join([
        f"Two builds alternated on one broker ({args.rounds} rounds), {stamp['date']}, this "
        f"checkout {stamp['commit']}, {stamp['cores']} cores ({stamp['cpu']}), load average at "
        f"start {stamp['load_avg']}.", "",
        f"Baseline: `{args.baseline}`.", "",
        table(["build", "1 worker pages/s", "2 workers pages/s", "p50 ms at 50 %", "p95 ms",
               "p99 ms", "missing"], rows),
    ])
    ctx.path("compare_stream.md").write_text(text + "\n")
    ctx.path("compare_stream.json").write_bytes(orjson.dumps(
        {"stamp": stamp, "baseline": str(args.baseline), "rows": rows,
         "sessions": [{"build": label, "phases": [
             {k: v for k, v in p.items() if k != "latencies"} for p in data["phases"]]}
             for label, data in results]}, option=orjson.OPT_INDENT_2))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
