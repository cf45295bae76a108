"""`python -m bench [SECTION ...] [--quick]`: run benchmark sections, then rewrite the report.

Sections: quality, speed, stream, state, soak (default: all, in that order; soak is the crash
soak on a 3-node Kafka cluster, bench/soak.py). Each one can run alone;
REPORT.md and SUMMARY.md are rebuilt from every section's latest results in the folder.
--quick uses small samples and writes to bench/results/quick/ so it never replaces the
committed summary's numbers.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.corpus import DEFAULT_CORPUS, CorpusMissing
from bench.report import (
    RESULTS,
    Context,
    SectionSkipped,
    machine_stamp,
    save_section,
    write_documents,
)

SECTIONS = ("quality", "speed", "stream", "state", "soak")


def _modules() -> list[Any]:
    return [importlib.import_module(f"bench.{name}") for name in SECTIONS]


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections and rewrite the report."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    # No `choices=` here: argparse checks the empty default list against them and fails
    # (`make bench` passes no section); unknown names are refused below instead.
    parser.add_argument("sections", nargs="*", metavar="SECTION",
                        help="quality, speed, stream, state, soak, all (default) or report (only "
                        "rewrites the report)")
    parser.add_argument("--quick", action="store_true", help="small samples, for development")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default bench/results, or bench/results/quick)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.sections) - {*SECTIONS, "all", "report"})
    if unknown:
        parser.error(f"unknown section {', '.join(unknown)} (choose from "
                     f"{', '.join([*SECTIONS, 'all', 'report'])})")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    chosen = [s for s in (args.sections or ["all"])]
    names = list(SECTIONS) if "all" in chosen else [s for s in SECTIONS if s in chosen]
    out = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    ctx = Context(out=out, quick=args.quick, corpus=args.corpus)
    modules = {m.NAME: m for m in _modules()}
    failed = False
    for name in names:
        started = time.perf_counter()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        stamp = machine_stamp()
        try:
            data: dict[str, Any] = modules[name].run(ctx)
        except (CorpusMissing, SectionSkipped) as exc:
            print(f"bench: {name} skipped: {exc}", file=sys.stderr)
            data = {"skipped": str(exc)}
        except Exception as exc:  # one broken section must not lose the others' results
            traceback.print_exc()
            print(f"bench: {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            data = {"skipped": f"failed: {type(exc).__name__}: {exc}"}
            failed = True
        data["stamp"] = stamp
        data["quick"] = args.quick
        data["seconds"] = time.perf_counter() - started
        save_section(ctx, name, data)
        print(f"bench: {name} done in {data['seconds']:.0f} s", file=sys.stderr, flush=True)
    report, summary = write_documents(ctx, [modules[n] for n in SECTIONS])
    print(f"bench: wrote {report} and {summary}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
