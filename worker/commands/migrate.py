"""`news-worker migrate`: carry the previous release's story versions over.

The previous release kept its dedupe state in the table `dedupe` (changelog
`<app id>-dedupe-changelog`, keyed by headline): each story's id (its first URL's) and latest
version. Story identity keeps versions per URL, so without this step a re-crawl of a story
first seen before the upgrade would be published as version 1 of its id again. This reads the
changelog (the latest value per key, from its start to its end now) and sends one `seed`
record per story to `<app id>-stories`, keyed by the story's URL key; the worker's identity
stage then knows the URL at that version (worker/pipeline/identity.py `seed_url`). Run it
with the workers stopped, after the old ones have drained, before starting the new ones.
Prints "N stories from M keys: sent S, failed F"; exits 1 if any send failed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson
from aiokafka.errors import KafkaError

from worker.errors import ToolError
from worker.kafka_client import (
    add_broker_options,
    offset_range,
    open_consumer,
    open_producer,
    read_records,
    require_topic,
    topic_partitions,
)
from worker.pipeline.route import seed_record
from worker.pipeline.validate import parse_instant
from worker.settings import get_settings


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "migrate",
        help="carry story versions over from the previous release's dedupe table",
        description="Read <app id>-dedupe-changelog and send each story's latest version to "
        "<app id>-stories, so re-crawls of stories seen before the upgrade continue their "
        "versions. Run with the workers stopped.",
    )
    add_broker_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="read and count, send nothing")
    parser.set_defaults(run=run)


def _seconds(text: object) -> int | None:
    return int(parse_instant(text).timestamp()) if isinstance(text, str) and text else None


def stories(value: bytes) -> list[tuple[str, int, int | None, int]]:
    """(id, version, modified, last seen) of each story in one old dedupe entry."""
    try:
        data = orjson.loads(value)
        found = []
        for story in data.get("stories", []):
            last_seen = _seconds(story["s"])
            if last_seen is not None:
                found.append((str(story["id"]), int(story["v"]), _seconds(story.get("m")),
                              last_seen))
        return found
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return []  # not an old entry: nothing to carry over


async def _migrate(args: argparse.Namespace) -> tuple[int, int, int, int]:
    settings = get_settings()
    changelog = f"{settings.app_id}-dedupe-changelog"
    target = f"{settings.app_id}-stories"
    latest: dict[bytes, bytes | None] = {}
    async with open_consumer(settings, args.bootstrap, timeout=args.connect_timeout) as consumer:
        parts = await topic_partitions(consumer, changelog)
        consumer.assign(parts)
        begin, end = await offset_range(consumer, parts)
        for tp in parts:
            consumer.seek(tp, begin[tp])
        async for record in read_records(consumer, parts, end, None):
            if record.key is not None:
                latest[record.key] = record.value
    found: dict[str, tuple[str, int, int | None, int]] = {}
    for value in latest.values():
        for story in stories(value) if value else []:
            if story[1] > found.get(story[0], (story[0], 0))[1]:
                found[story[0]] = story
    if args.dry_run or not found:
        return len(found), len(latest), 0, 0
    sent = failed = 0
    async with open_producer(settings, args.bootstrap, timeout=args.connect_timeout) as producer:
        await require_topic(producer, target)
        futures = []
        for story_id, version, modified, last_seen in found.values():
            record = seed_record(story_id, version, modified, last_seen)
            futures.append(await producer.send(target, value=record.value, key=record.key))
        for result in await asyncio.gather(*futures, return_exceptions=True):
            if isinstance(result, (KafkaError, OSError)):
                failed += 1
            elif isinstance(result, BaseException):
                raise result
            else:
                sent += 1
    return len(found), len(latest), sent, failed


def run(args: argparse.Namespace) -> int:
    try:
        found, keys, sent, failed = asyncio.run(_migrate(args))
    except KafkaError as exc:
        raise ToolError(f"cannot migrate: {exc}") from None
    done = "read only (--dry-run)" if args.dry_run else f"sent {sent}, failed {failed}"
    print(f"news-worker migrate: {found} stories from {keys} keys: {done}",
          file=sys.stderr)
    return 1 if failed else 0
