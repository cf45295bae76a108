"""`news-worker tail [articles|rejected|duplicates|TOPIC]`: read a topic, pretty or as JSON.

What it prints:   readable lines on a terminal; one JSON value per line when stdout is not a
                  terminal (a pipe, a file), so `tail | jq` works; --json / --pretty force one.

Where it starts:  default: the last N messages (like tail(1), N = -n, 10 by default);
                  --from-beginning: the first message; --from-end: only new messages.
When it stops:    without --follow, at the topic's end as it was at start; with --follow
                  (implied by --from-end), never, until -n messages (--from-* modes) or
                  --timeout seconds without a message.

Reads without a consumer group and commits nothing: tailing never moves anyone's offsets.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from aiokafka import ConsumerRecord

from worker.commands.render import render_json, render_pretty
from worker.errors import ConfigError
from worker.kafka_client import (
    add_broker_options,
    offset_range,
    open_consumer,
    read_records,
    topic_partitions,
)
from worker.settings import Settings, get_settings

DEFAULT_COUNT = 10
END_IDLE = 10.0  # without --follow: stop anyway after this long with nothing new (safety net)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "tail",
        help="read articles, rejections or duplicates from their topics",
        description="Print messages of a topic: articles (default), rejected, duplicates, "
        "pages, or any topic name. By default the last 10 messages; readable lines on a "
        "terminal, one JSON object per line when piped (jq, a file) or with --json.",
    )
    parser.add_argument(
        "topic",
        nargs="?",
        default="articles",
        help="articles | rejected | duplicates | pages | TOPIC (default: articles)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--from-beginning", action="store_true", help="start at the first message of the topic"
    )
    where.add_argument(
        "--from-end",
        action="store_true",
        help="only messages that arrive from now on (implies --follow)",
    )
    parser.add_argument(
        "-n",
        "--count",
        type=int,
        default=None,
        metavar="N",
        help="default position: print the last N messages (default 10); with "
        "--from-beginning/--from-end: stop after N messages",
    )
    parser.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="keep waiting for new messages (stop with Ctrl-C or --timeout)",
    )
    form = parser.add_mutually_exclusive_group()
    form.add_argument(
        "--json",
        action="store_true",
        help="one JSON line per message value (the default when stdout is not a terminal)",
    )
    form.add_argument(
        "--pretty",
        action="store_true",
        help="a few readable lines per message (the default on a terminal)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop after this many seconds without a new message",
    )
    add_broker_options(parser)
    parser.set_defaults(run=run)


def resolve_topic(name: str, settings: Settings) -> str:
    """The topic a `tail` argument names: an alias from settings, or the name itself."""
    aliases = {
        "articles": settings.topic_articles,
        "rejected": settings.topic_rejected,
        "rejections": settings.topic_rejected,
        "duplicates": settings.topic_duplicates,
        "pages": settings.topic_pages,
    }
    return aliases.get(name, name)


def run(args: argparse.Namespace) -> int:
    if args.count is not None and args.count < 1:
        raise ConfigError(f"-n must be at least 1, not {args.count}")
    if args.timeout is not None and args.timeout <= 0:
        raise ConfigError("--timeout must be a positive number of seconds")
    if args.connect_timeout <= 0:
        raise ConfigError("--connect-timeout must be positive")
    try:
        asyncio.run(_tail(args))
    except BrokenPipeError:
        # The reader (head, less) went away: that is a normal end, not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


async def _tail(args: argparse.Namespace) -> None:
    settings = get_settings()
    topic = resolve_topic(args.topic, settings)
    follow = args.follow or args.from_end
    terminal = sys.stdout.isatty()
    # Pretty only for a person: piped into jq or a file, each line is one JSON value.
    pretty = args.pretty or (terminal and not args.json)
    colour = pretty and terminal
    out = sys.stdout

    def show(record: ConsumerRecord[bytes, bytes]) -> None:
        text = render_pretty(record, colour=colour) if pretty else render_json(record)
        out.write(text + "\n")
        if follow:
            out.flush()

    async with open_consumer(settings, args.bootstrap, timeout=args.connect_timeout) as consumer:
        parts = await topic_partitions(consumer, topic)
        consumer.assign(parts)
        begin, end = await offset_range(consumer, parts)
        stop_at = None if follow else end
        idle = args.timeout if args.timeout is not None else (None if follow else END_IDLE)
        limit = args.count
        if args.from_beginning or args.from_end:
            for tp in parts:
                consumer.seek(tp, begin[tp] if args.from_beginning else end[tp])
        else:
            # tail(1): the last N by timestamp across partitions, then (with -f) what's new.
            wanted = args.count or DEFAULT_COUNT
            for tp in parts:
                consumer.seek(tp, max(begin[tp], end[tp] - wanted))
            backlog = [r async for r in read_records(consumer, parts, end, idle)]
            backlog.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
            for record in backlog[-wanted:]:
                show(record)
            if not follow:
                return
            limit = None
        shown = 0
        async for record in read_records(consumer, parts, stop_at, idle):
            show(record)
            shown += 1
            if limit is not None and shown >= limit:
                return
