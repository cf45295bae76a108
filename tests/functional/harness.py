"""The agents in memory (Faust's test_context), with a stories topic that partitions by key.

The output topics and the stories topic are in-memory channels; everything else (the
agents, the executor, the identity table on the memory store) is the real thing. The
identity channel gives each record the partition Kafka's partitioner would (murmur2 of the
key), so the per-partition data clocks and sweeps behave as they do on the broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
import orjson

from worker.settings import Settings
from worker.stream.agents import install_agents
from worker.stream.app import NewsApp, create_app
from worker.stream.executor import PageExecutor
from worker.stream.positions import key_partition

FETCHED = datetime(2025, 3, 4, 10, 0, tzinfo=UTC).timestamp()
OUTPUTS = ("articles", "rejected", "duplicates")


class KeyedChannel(faust.Channel):  # type: ignore[type-arg]  # faust's generic is untyped
    """An in-memory channel that partitions keyed records like Kafka's default partitioner."""

    partitions = 4

    async def send(self, *, key: Any = None, partition: int | None = None,
                   **kwargs: Any) -> Any:
        if partition is None and isinstance(key, bytes):
            partition = key_partition(key, self.partitions)
        return await super().send(key=key, partition=partition, **kwargs)


@dataclass
class Harness:
    news: NewsApp
    pages: Any  # the extract agent's test wrapper
    outputs: dict[str, Any]  # subscribers of the output channels

    async def put(self, value: bytes, *, offset: int | None = None, key: bytes = b"k",
                  timestamp: float = FETCHED) -> None:
        if offset is not None:
            self.pages.sent_offset = offset
        await self.pages.put(value, key=key, timestamp=timestamp)

    async def take(self, name: str, count: int) -> list[Any]:
        """The next `count` events of an output, waiting for each up to 20 s."""
        return [await self.outputs[name].get(timeout=20.0) for _ in range(count)]

    async def next_output(self, timeout: float = 20.0) -> tuple[str, Any]:
        """(output name, event) of whichever output gets a record next."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for name in OUTPUTS:
                if not self.outputs[name].queue.empty():
                    return name, await self.outputs[name].get(timeout=1.0)
            await asyncio.sleep(0.005)
        raise AssertionError(f"no output within {timeout} s")

    def empty(self, name: str) -> bool:
        return bool(self.outputs[name].queue.empty())


@asynccontextmanager
async def running_agents(**overrides: Any) -> AsyncIterator[Harness]:
    """The app with its agents running in memory; settings from `overrides`."""
    settings = Settings(**{"store": "memory", "app_id": "functional", "extract_processes": 1,
                           "topic_partitions": KeyedChannel.partitions, **overrides})
    news = create_app(settings, in_memory_outputs=True)
    news.stories = KeyedChannel(news.app, maxsize=10_000)
    executor = PageExecutor(news.options, processes=1, timeout=30.0)
    executor.start()
    install_agents(news, executor)
    outputs = {
        "articles": news.articles.clone(is_iterator=True),
        "rejected": news.rejected.clone(is_iterator=True),
        "duplicates": news.duplicates.clone(is_iterator=True),
    }
    agents = news.app.agents
    try:
        async with agents["extract_articles"].test_context() as pages, \
                agents["identify_stories"].test_context(channel=news.stories):
            yield Harness(news, pages, outputs)
    finally:
        executor.stop()


def value(event: Any) -> dict[str, Any]:
    return dict(orjson.loads(event.value))
