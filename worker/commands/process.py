"""`news-worker process`: raw-page JSON lines / WARC -> article events, rejections, duplicates.

The embedded, Kafka-free twin of the streaming worker. Pages go through the same
time-limited extraction processes (`PageExecutor`: a page over NEWS_PAGE_TIMEOUT is rejected
as `timeout`, a crashed extraction process is replaced and the page retried once), and the
results through the same routing and identity stage (`worker.pipeline.route`, run by
`worker.pipeline.engine.Engine` on a dict instead of the Faust table, with one data clock per
partition of the would-be stories topic, NEWS_TOPIC_PARTITIONS). Decisions are made in input
order in this process, so the output does not depend on the number of processes.

A page without `fetched_at` gets the run's clock: `--clock`, else the time the run started (one
instant for the whole run, as the worker uses the Kafka message timestamp); a `fetched_at`
more than 5 minutes after it is clamped to it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from worker.errors import ToolError
from worker.inputs import InputMessage, read_inputs, url_key, utc_now
from worker.pipeline.engine import Engine
from worker.pipeline.identity import Verdict
from worker.pipeline.route import ARTICLE, DUPLICATE, Routed, route_result
from worker.pipeline.state import DictStore, IdentityState
from worker.pipeline.types import Article, Rejection, Source
from worker.pipeline.validate import parse_instant

_LIMIT = 2**62  # no broker record limit offline: nothing is forwarded through a topic


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
    parser.add_argument(
        "--clock", default=None, metavar="TIME",
        help="receive time (RFC 3339) for pages without fetched_at, and the bound on fetched_at "
        "(default: when the run starts)",
    )
    parser.set_defaults(run=run)


async def results(
    messages: Iterator[InputMessage], executor: Any, received_at: datetime, window: int
) -> AsyncIterator[tuple[InputMessage, Article | Rejection]]:
    """Pipeline results in input order, `window` pages in flight on the executor."""
    pending: deque[tuple[InputMessage, asyncio.Future[Article | Rejection]]] = deque()
    try:
        for msg in messages:
            source = Source(file=msg.file, line=msg.line)
            pending.append((msg, asyncio.ensure_future(
                executor.process(msg.data, received_at, source))))
            if len(pending) >= window:
                done, future = pending.popleft()
                yield done, await future
        while pending:
            done, future = pending.popleft()
            yield done, await future
    finally:
        for _, future in pending:
            future.cancel()


def _open(path: str | None, stack: ExitStack, default: IO[bytes]) -> IO[bytes]:
    if path is None:
        return default
    if path == "-":
        return sys.stdout.buffer
    try:
        return stack.enter_context(open(path, "wb"))  # noqa: SIM115
    except OSError as exc:
        raise ToolError(f"cannot write {path}: {exc.strerror or exc}") from None


def _clock(text: str | None) -> datetime:
    if text is None:
        return utc_now()
    try:
        return parse_instant(text)
    except (ValueError, OverflowError):
        raise ToolError(f"--clock {text!r} is not an RFC 3339 time") from None


def run(args: argparse.Namespace) -> int:
    from worker.settings import get_settings
    from worker.stream.executor import PageExecutor
    from worker.stream.positions import key_partition

    settings = get_settings()
    options = settings.pipeline_options()
    received_at = _clock(args.clock)
    for path in args.inputs:  # before the extraction processes start (a second or two)
        if path != "-" and not Path(path).is_file():
            raise ToolError(f"cannot read {path}: no such file")
    partitions = settings.topic_partitions

    def partition_of(key: bytes) -> int:
        return key_partition(key, partitions)

    engine = Engine(IdentityState(DictStore(partition_of), options), partition_of)
    counts = {"articles": 0, "updates": 0, "duplicates": 0, "rejections": 0}
    processes = max(1, args.processes)
    executor = PageExecutor(options, processes=processes, timeout=settings.page_timeout)
    with ExitStack() as stack:
        out = _open(args.out, stack, sys.stdout.buffer)
        files = {ARTICLE: out, DUPLICATE: _open(args.duplicates, stack, out),
                 "rejection": _open(args.rejects, stack, out)}

        def write(record: Routed) -> None:
            files[record.kind].write(record.value + b"\n")
            if record.kind == ARTICLE:
                counts["updates" if record.verdict is Verdict.UPDATE else "articles"] += 1
            else:
                counts["duplicates" if record.kind == DUPLICATE else "rejections"] += 1

        async def main() -> None:
            executor.start()
            try:
                async for msg, result in results(read_inputs(args.inputs, keys=False),
                                                 executor, received_at, 16 * processes):
                    origin = f"{msg.file}:{msg.line}"
                    # The input's key only keys a rejection that has no page id or URL (an
                    # article's record never is one: nothing is too large offline, _LIMIT).
                    key = msg.key
                    if key is None and isinstance(result, Rejection):
                        key = url_key(msg.data)
                    for record in engine.run(route_result(result, origin, None, key,
                                                          _LIMIT, original=msg.data)):
                        write(record)
            finally:
                executor.stop()

        try:
            asyncio.run(main())
        except OSError as exc:
            raise ToolError(f"cannot write output: {exc.strerror or exc}") from None
    print(
        "news-worker process: {articles} articles, {updates} updates, {duplicates} duplicates, "
        "{rejections} rejections".format(**counts),
        file=sys.stderr,
    )
    return 0
