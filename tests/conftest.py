"""Shared fixtures: a real Kafka broker for the session, and a clean environment per test.

The broker is real Apache Kafka run as a JVM process from Maven Central jars
(tools/kafka/localkafka.py), started on free loopback ports in a temp dir the first time an
integration test asks for it, and stopped when the session ends, whatever happened. Unit and
functional tests never start it, so `pytest tests/unit` stays fast.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest

from tools.kafka.localkafka import LocalKafka
from tools.kafka.topics import create_topics as _create_topics


@pytest.fixture(autouse=True)
def _clean_news_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No NEWS_* variable from the developer's shell leaks into a test; settings re-read."""
    for name in list(os.environ):
        if name.startswith("NEWS_"):
            monkeypatch.delenv(name)
    from worker.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """One real broker for the whole session (`.bootstrap`, `.stop()`, `.start()`, `.kill()`).

    Tests that stop or kill it must start it again; `start()` reuses the same ports and data.
    `die_with_parent` makes the kernel kill the JVM if pytest itself is killed.
    """
    broker = LocalKafka(tmp_path_factory.mktemp("kafka"), die_with_parent=True)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def unique_name() -> str:
    """A topic/group name no other test uses (tests share one broker)."""
    return f"t-{uuid.uuid4().hex[:10]}"


def create_topics(bootstrap: str, topics: dict[str, int]) -> None:
    """Create topics synchronously (for fixtures that are not async)."""
    asyncio.run(_create_topics(bootstrap, topics))
