"""Kafka clients for the command-line tools (`replay`, `tail`, `redrive`).

Every client is built from `Settings` (bootstrap, SASL, SSL) and used through an async
context manager that connects with a bounded wait and always closes it, on every path.
Broker trouble becomes one `ToolError` line, never an aiokafka traceback:

    async with open_producer(settings, bootstrap=args.bootstrap) as producer: ...
    async with open_consumer(settings) as consumer:
        partitions = await topic_partitions(consumer, "articles")
"""

from __future__ import annotations

import asyncio
import errno
import logging
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.helpers import create_ssl_context

from worker.errors import ConfigError, ToolError
from worker.settings import Settings

CONNECT_TIMEOUT = 10.0  # seconds a tool waits for the broker before it gives up
_RETRY_PAUSE = 0.5
_POLL_MS = 500
_LIBRARY_LOGGER = "aiokafka"
_REFUSED = f"[Errno {errno.ECONNREFUSED}]"  # in aiokafka's "Unable connect to ..." line


class _Startable(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def add_broker_options(parser: Any) -> None:
    """`--bootstrap` and `--connect-timeout`, the same for every command that talks to Kafka."""
    parser.add_argument(
        "--bootstrap", default=None, help="Kafka bootstrap servers (default: NEWS_KAFKA_BOOTSTRAP)"
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=CONNECT_TIMEOUT,
        metavar="SECONDS",
        help="give up when the broker does not answer "
        f"within this time (default: {CONNECT_TIMEOUT:g})",
    )


def client_options(settings: Settings, bootstrap: str | None = None) -> dict[str, Any]:
    """aiokafka keyword arguments shared by producers and consumers (bootstrap, SASL, SSL)."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap or settings.kafka_bootstrap,
        "client_id": "news-worker-tool",
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol.startswith("SASL"):
        if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
            raise ConfigError(
                "NEWS_KAFKA_SASL_USERNAME and NEWS_KAFKA_SASL_PASSWORD are required with "
                f"NEWS_KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol}"
            )
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_security_protocol.endswith("SSL"):
        options["ssl_context"] = _ssl_context(settings)
    return options


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    try:
        context: ssl.SSLContext = create_ssl_context(
            cafile=settings.kafka_ssl_cafile,
            certfile=settings.kafka_ssl_certfile,
            keyfile=settings.kafka_ssl_keyfile,
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the Kafka TLS files: {exc}") from None
    return context


class _LastError(logging.Handler):
    """Keeps aiokafka's last complaint so the one-line error can say why it failed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.message = record.getMessage()


@contextmanager
def _quiet_library(verbose: bool) -> Iterator[_LastError]:
    """Hide aiokafka's own log lines (the tool prints one line) unless debugging."""
    logger = logging.getLogger(_LIBRARY_LOGGER)
    saved = (logger.level, logger.propagate)
    capture = _LastError()
    logger.addHandler(capture)
    if not verbose:
        logger.propagate = False
    try:
        yield capture
    finally:
        logger.removeHandler(capture)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


async def _start(client: _Startable, bootstrap: str, timeout: float, capture: _LastError) -> None:
    """Start `client`, retrying while the broker is unreachable, for at most `timeout` s."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            await asyncio.wait_for(client.start(), remaining)
            return
        except TimeoutError:
            last = capture.message or "no answer"
            break
        except KafkaError as exc:
            last = capture.message or str(exc)
            if _REFUSED in last:
                # Nothing listens there: waiting out the timeout would not change that.
                raise ToolError(
                    f"cannot reach Kafka at {bootstrap}: connection refused ({last}); "
                    "is the broker running, and is this its address?"
                ) from None
        await asyncio.sleep(min(_RETRY_PAUSE, max(0.0, deadline - time.monotonic())))
    raise ToolError(f"cannot reach Kafka at {bootstrap} within {timeout:g} s ({last})")


@asynccontextmanager
async def open_producer(
    settings: Settings,
    bootstrap: str | None = None,
    *,
    timeout: float = CONNECT_TIMEOUT,
    **overrides: Any,
) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer (acks=all, idempotent), stopped on every path."""
    options = client_options(settings, bootstrap)
    options.update({"acks": "all", "enable_idempotence": True, "linger_ms": 20})
    options.update(overrides)
    verbose = settings.log_level == "DEBUG"
    with _quiet_library(verbose) as capture:
        producer = AIOKafkaProducer(**options)
        try:
            await _start(producer, options["bootstrap_servers"], timeout, capture)
            yield producer
        finally:
            await producer.stop()


@asynccontextmanager
async def open_consumer(
    settings: Settings,
    bootstrap: str | None = None,
    *,
    timeout: float = CONNECT_TIMEOUT,
) -> AsyncIterator[AIOKafkaConsumer]:
    """A started consumer with no group (tools assign partitions and never commit)."""
    options = client_options(settings, bootstrap)
    options.update(
        {
            "group_id": None,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            # Articles can be large; a page up to max_page_bytes must fit in one fetch.
            "max_partition_fetch_bytes": max(1_048_576, settings.max_page_bytes * 2 + 65_536),
            "fetch_max_bytes": max(52_428_800, settings.max_page_bytes * 2 + 65_536),
        }
    )
    verbose = settings.log_level == "DEBUG"
    with _quiet_library(verbose) as capture:
        consumer = AIOKafkaConsumer(**options)
        try:
            await _start(consumer, options["bootstrap_servers"], timeout, capture)
            yield consumer
        finally:
            await consumer.stop()


async def _cluster(client: AIOKafkaProducer | AIOKafkaConsumer) -> Any:
    """Fresh metadata of every topic (asking never creates one)."""
    # aiokafka has no public call for the partitions of a topic the client has not seen yet
    # (bootstrap metadata may list no topics), so ask its network client directly.
    # AIOKafkaConsumer._client: fenced (worker/stream/fence.py), metadata for the CLI tools.
    network = client.client if isinstance(client, AIOKafkaProducer) else (
        client._client)  # noqa: SLF001
    try:
        return await network.fetch_all_metadata()
    except KafkaError as exc:
        raise ToolError(f"cannot read the topic list: {exc}") from None


async def existing_topics(client: AIOKafkaProducer | AIOKafkaConsumer) -> set[str]:
    """Names of the topics that exist on the cluster."""
    return set((await _cluster(client)).topics())


def _unknown(topic: str, known: set[str]) -> ToolError:
    shown = ", ".join(sorted(t for t in known if not t.startswith("__"))) or "none"
    return ToolError(f"unknown topic {topic!r} (existing topics: {shown})")


async def require_topic(client: AIOKafkaProducer | AIOKafkaConsumer, topic: str) -> None:
    """ToolError unless `topic` exists (so a typo does not auto-create a topic)."""
    known = await existing_topics(client)
    if topic not in known:
        raise _unknown(topic, known)


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Every partition of an existing `topic`, in order; ToolError if it does not exist."""
    cluster = await _cluster(consumer)
    numbers = cluster.partitions_for_topic(topic)
    if not numbers:
        raise _unknown(topic, set(cluster.topics()))
    return [TopicPartition(topic, n) for n in sorted(numbers)]


async def offset_range(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """(first offsets, end offsets) of `partitions` right now."""
    try:
        begin = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
    except KafkaError as exc:
        raise ToolError(f"cannot read offsets: {exc}") from None
    return begin, end


async def read_records(
    consumer: AIOKafkaConsumer,
    parts: list[TopicPartition],
    stop_at: dict[TopicPartition, int] | None,
    idle: float | None,
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Records from the current positions, until every partition reaches `stop_at` (if
    given) or nothing arrives for `idle` seconds (if given)."""
    open_parts = set(parts)
    if stop_at is not None:
        open_parts = {tp for tp in parts if await consumer.position(tp) < stop_at[tp]}
    last_seen = time.monotonic()
    while open_parts:
        try:
            batch = await consumer.getmany(*open_parts, timeout_ms=_POLL_MS)
        except KafkaError as exc:
            raise ToolError(f"cannot read {parts[0].topic}: {exc}") from None
        for tp, records in batch.items():
            for record in records:
                if stop_at is None or record.offset < stop_at[tp]:
                    last_seen = time.monotonic()
                    yield record
        if stop_at is not None:
            for tp in list(open_parts):
                if await consumer.position(tp) >= stop_at[tp]:
                    open_parts.discard(tp)
        if idle is not None and time.monotonic() - last_seen >= idle:
            return
