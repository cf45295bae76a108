"""`news-worker process`: raw-page JSON lines / WARC -> article events, rejections, duplicates.

The embedded, Kafka-free twin of the streaming worker: the same pipeline and the same dedupe
decisions (`worker.pipeline.dedupe.decide`, with the state in a dict instead of a table).
Extraction runs on all cores; decisions are made in input order in this process, so the
output does not depend on the number of processes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from datetime import datetime
from typing import IO, Any

import orjson

from worker.errors import ToolError
from worker.inputs import InputMessage, read_inputs, utc_now
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.dedupe import DedupeEntry, Verdict, decide
from worker.pipeline.types import Article, Rejection, Source

_Item = tuple[bytes, str, int, datetime, PipelineOptions]


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "process",
        help="process raw-page JSON lines or WARC files offline (no Kafka)",
        description="Read raw-page messages (JSON lines; .warc/.warc.gz response records; - for "
        "stdin) and write article events, rejections and duplicate records as JSON lines. Every "
        "input message yields exactly one output record.",
    )
    parser.add_argument("inputs", nargs="*", default=["-"], metavar="INPUT")
    parser.add_argument("--out", default="-", help="article events (default: stdout)")
    parser.add_argument("--rejects", default=None, help="rejections (default: with --out)")
    parser.add_argument(
        "--duplicates", default=None, help="duplicate records (default: with --out)"
    )
    parser.add_argument(
        "--processes",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        help="extraction processes (default: all cores)",
    )
    parser.set_defaults(run=run)


def _run_one(item: _Item) -> Article | Rejection:
    data, file, line, received_at, options = item
    return process_page(
        data, received_at=received_at, options=options, source=Source(file=file, line=line)
    )


def results(
    messages: Iterator[InputMessage], options: PipelineOptions, processes: int
) -> Iterator[tuple[InputMessage, Article | Rejection]]:
    """Pipeline results in input order, computed on `processes` cores."""

    def items() -> Iterator[_Item]:
        for msg in messages:
            yield msg.data, msg.file, msg.line, utc_now(), options

    if processes <= 1:
        for item in items():
            yield _message(item), _run_one(item)
        return
    # A sliding window of submitted pages, collected in input order: no batch barrier, so a
    # slow page only holds back the output, never the other cores.
    window = 16 * processes
    # Spawned, not forked (as the worker's extraction processes): a fork taken while another
    # thread holds a lock (logging, an import) leaves the child deadlocked on it.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        pending: deque[tuple[_Item, Future[Article | Rejection]]] = deque()
        for item in items():
            pending.append((item, pool.submit(_run_one, item)))
            if len(pending) >= window:
                done, future = pending.popleft()
                yield _message(done), future.result()
        while pending:
            done, future = pending.popleft()
            yield _message(done), future.result()


def _message(item: _Item) -> InputMessage:
    return InputMessage(item[0], item[1], item[2])


def _open(path: str | None, stack: ExitStack, default: IO[bytes]) -> IO[bytes]:
    if path is None:
        return default
    if path == "-":
        return sys.stdout.buffer
    try:
        return stack.enter_context(open(path, "wb"))  # noqa: SIM115
    except OSError as exc:
        raise ToolError(f"cannot write {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    from worker.settings import get_settings

    options = get_settings().pipeline_options()
    state: dict[str, DedupeEntry] = {}
    counts = {"articles": 0, "updates": 0, "duplicates": 0, "rejections": 0}
    with ExitStack() as stack:
        out = _open(args.out, stack, sys.stdout.buffer)
        rejects = _open(args.rejects, stack, out)
        duplicates = _open(args.duplicates, stack, out)
        try:
            for msg, result in results(read_inputs(args.inputs), options, args.processes):
                if isinstance(result, Rejection):
                    rejects.write(orjson.dumps(result.to_dict()) + b"\n")
                    counts["rejections"] += 1
                    continue
                key = result.dedupe_key
                decision = decide(state.get(key), result, options, origin=f"{msg.file}:{msg.line}")
                state[key] = decision.entry
                if decision.duplicate is not None:
                    duplicates.write(orjson.dumps(decision.duplicate.to_dict()) + b"\n")
                    counts["duplicates"] += 1
                elif decision.article is not None:
                    out.write(orjson.dumps(decision.article.to_dict()) + b"\n")
                    counts["updates" if decision.verdict is Verdict.UPDATE else "articles"] += 1
        except OSError as exc:
            raise ToolError(f"cannot write output: {exc.strerror or exc}") from None
    print(
        "news-worker process: {articles} articles, {updates} updates, {duplicates} duplicates, "
        "{rejections} rejections".format(**counts),
        file=sys.stderr,
    )
    return 0
