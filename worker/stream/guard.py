"""Routing without crash loops: a record whose routing raises is tried again, then rejected.

    outputs = await route(news, "identify_stories", event, compute, origin)

`compute()` builds the event's outputs (decide, table reads and writes, encoding). It runs
up to `NEWS_ROUTING_ATTEMPTS` times, with a short pause between attempts (a transient error
gets a second chance); every failure logs its traceback and counts in
`news_agent_errors_total{agent}`. When the last attempt fails too, the event becomes one
`internal_error` rejection with its source position (`news_poison_records_total{agent}`) and
the partition moves on (an exception in `permanent`, such as a record this code cannot read,
is rejected at the first attempt: trying again cannot help). A record that always fails can
never stop a worker, let alone every worker that takes its partition over. `news-worker
redrive` sends it again after the fix.

    async with exit_when_broken(): ...   (around an agent's loop)

The one error that stops the worker is a broken producer (`ProducerBroken`): nothing can be
published any more, so the process exits (code 70) and its supervisor starts a new one with a
new producer; the records of the event in hand were never committed, so they are read again.
Faust would only restart the agent, with the same broken producer.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from faust.types import EventT

from worker.errors import RejectReason
from worker.logs import fields
from worker.pipeline.types import REJECTION_SCHEMA
from worker.stream.app import NewsApp
from worker.stream.publish import Origin, Output, ProducerBroken

log = logging.getLogger(__name__)
EXIT_SOFTWARE = 70  # sysexits: internal software error
PAUSE = 0.1  # seconds before the second attempt; doubles for each further one

Compute = Callable[[], Awaitable[Sequence[Output]]]


async def route(news: NewsApp, agent: str, event: EventT[Any], compute: Compute,
                origin: Origin | None = None,
                permanent: tuple[type[BaseException], ...] = ()) -> Sequence[Output]:
    """The outputs `compute()` gives, or one `internal_error` rejection after the last failure."""
    attempts = news.settings.routing_attempts
    pause = PAUSE
    for attempt in range(1, attempts + 1):
        try:
            outputs = await compute()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug must cost one record, not the worker
            news.metrics.agent_errors.labels(agent).inc()
            msg = event.message
            final = attempt == attempts or isinstance(exc, permanent)
            log.error("%s failed on %s:%s@%s (attempt %s of %s): %s: %s", agent, msg.topic,
                      msg.partition, msg.offset, attempt, attempts, type(exc).__name__, exc,
                      exc_info=not isinstance(exc, permanent), extra=fields(
                          "agent.error", topic=msg.topic, partition=msg.partition,
                          offset=msg.offset))
            if final:
                news.health.poison_in_a_row[agent] += 1
                return [poison(news, agent, event, exc, origin, attempt)]
            await asyncio.sleep(pause)
            pause *= 2
        else:
            news.health.poison_in_a_row.pop(agent, None)
            return outputs
    raise AssertionError("unreachable")  # pragma: no cover - attempts >= 1


def poison(news: NewsApp, agent: str, event: EventT[Any], exc: BaseException,
           origin: Origin | None, attempts: int) -> Output:
    """The `internal_error` rejection of an event whose routing failed every attempt."""
    origin = origin or Origin.of(event)
    news.metrics.poison.labels(agent).inc()
    news.metrics.rejections.labels(RejectReason.INTERNAL_ERROR.value).inc()
    times = "once" if attempts == 1 else f"{attempts} times"
    detail = f"{agent} failed {times}: {type(exc).__name__}: {exc}"
    key, value = origin.rejection(RejectReason.INTERNAL_ERROR, detail, news.max_record_bytes)
    source = origin.source
    log.error("page rejected: internal_error (%s)", detail[:200], extra=fields(
        "page.rejected", page_id=origin.page_id, url=origin.url, topic=source.topic,
        partition=source.partition, offset=source.offset))
    return Output(news.rejected, key or None, value, REJECTION_SCHEMA, "rejection")


@asynccontextmanager
async def exit_when_broken() -> AsyncIterator[None]:
    """Exit the process (code 70) when the producer is broken; let everything else through."""
    try:
        yield
    except ProducerBroken as exc:
        log.critical("cannot publish any more (%s); exiting so a new worker takes over", exc)
        logging.shutdown()
        os._exit(EXIT_SOFTWARE)
