"""`news-worker replay INPUT...`: raw-page JSON lines or WARC files -> the pages topic.

Each message goes out exactly as a crawler would send it (bytes untouched, even when they are
not valid JSON: rejecting is the worker's job), keyed by its URL. Prints "sent N, failed M"
and exits 1 if any message failed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from aiokafka.errors import KafkaError

from worker.errors import ConfigError
from worker.inputs import InputMessage, read_inputs
from worker.kafka_client import add_broker_options, open_producer, require_topic
from worker.progress import Progress, count_messages
from worker.settings import get_settings

_IN_FLIGHT = 1000  # sends awaited in batches: bounded memory, delivery errors counted per message
_SHOWN_FAILURES = 5


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "replay",
        help="send raw-page JSON lines or WARC files to the pages topic",
        description="Publish every message of the inputs (JSON lines; .warc/.warc.gz response "
        "records; - for stdin) to the pages topic, keyed by URL. Prints 'sent N, failed M'; "
        "exits 1 if any message failed.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="JSON-lines or WARC file")
    parser.add_argument("--topic", default=None, help="target topic (default: NEWS_TOPIC_PAGES)")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        metavar="PAGES_PER_S",
        help="send at most this many pages per second (default: as fast as the broker takes them)",
    )
    add_broker_options(parser)
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.rate is not None and not args.rate > 0:
        raise ConfigError(f"--rate must be a positive number of pages per second, not {args.rate}")
    if args.connect_timeout <= 0:
        raise ConfigError("--connect-timeout must be positive")
    sent, failed = asyncio.run(_replay(args))
    print(f"news-worker replay: sent {sent}, failed {failed}", file=sys.stderr)
    return 1 if failed else 0


async def _replay(args: argparse.Namespace) -> tuple[int, int]:
    settings = get_settings()
    topic = args.topic or settings.topic_pages
    # Fail on an unreadable file before connecting, and learn the total for the bar.
    total = count_messages(args.inputs)
    progress = Progress(total, enabled=not args.no_progress and sys.stderr.isatty())
    sent = failed = 0
    shown = 0
    # Large pages are legal up to max_page_bytes; let the broker, not the client, judge size.
    max_request = max(1_048_576, settings.max_page_bytes + 65_536)
    async with open_producer(
        settings, args.bootstrap, timeout=args.connect_timeout, max_request_size=max_request
    ) as producer:
        await require_topic(producer, topic)
        start = time.monotonic()
        pending: list[tuple[InputMessage, asyncio.Future[Any]]] = []

        async def settle() -> None:
            nonlocal sent, failed, shown
            for msg, future in pending:
                try:
                    await future
                    sent += 1
                except KafkaError as exc:
                    failed += 1
                    shown = _report(msg, exc, shown)
            pending.clear()
            progress.update(sent, failed)

        try:
            for index, msg in enumerate(read_inputs(args.inputs)):
                if args.rate is not None:
                    delay = start + index / args.rate - time.monotonic()
                    if delay > 0:
                        await settle()  # while waiting anyway, account for what is out
                        await asyncio.sleep(delay)
                try:
                    future = await producer.send(topic, msg.data, key=msg.key)
                except KafkaError as exc:  # refused before sending (e.g. too large)
                    failed += 1
                    shown = _report(msg, exc, shown)
                    continue
                pending.append((msg, future))
                progress.update(sent + len(pending), failed)
                if len(pending) >= _IN_FLIGHT:
                    await settle()
            await producer.flush()
            await settle()
            progress.update(sent, failed, force=True)
        finally:
            for _, future in pending:  # an input error ends the run: don't leak futures
                future.cancel()
            progress.close()
    if shown < failed:
        print(f"news-worker replay: ... {failed - shown} more failures", file=sys.stderr)
    return sent, failed


def _report(msg: InputMessage, exc: KafkaError, shown: int) -> int:
    """Print the first few failures (file:line and why); returns the new shown count."""
    if shown < _SHOWN_FAILURES:
        print(
            f"news-worker replay: {msg.file}:{msg.line}: not sent: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
    return shown + 1
