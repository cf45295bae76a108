"""The input contract's size limits, with the producers crawler teams use (kcat, aiokafka),
against the pages topic as the worker creates it: the README's producer settings carry a
5,000,000-byte page; default clients refuse it; above the topic's limit the broker refuses."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import MessageSizeTooLargeError

from tests.integration.test_tools import Topics, topics  # noqa: F401 - the fixture
from worker.settings import Settings
from worker.stream.app import create_app
from worker.stream.topics import ensure_topics

pytestmark = pytest.mark.integration

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
URL = "https://www.gazette.example/news/2025/03/04/very-long-page"


def _page(size: int) -> bytes:
    """A raw page of exactly `size` bytes."""
    empty = orjson.dumps({"url": URL, "html": ""})
    return orjson.dumps({"url": URL, "html": "x" * (size - len(empty))})


def _kcat() -> str:
    kcat = shutil.which("kcat")
    assert kcat, "kcat is not installed: apt-get install kcat (.ci/run installs it)"
    return kcat


def _readme_kcat(bootstrap: str, topic: str) -> list[str]:
    """The README's kcat producer line, pointed at the test broker and topic."""
    [line] = re.findall(r"^kcat .* -P .*$", README, flags=re.M)
    line = line.replace("127.0.0.1:9092", bootstrap).replace("pages.raw", topic)
    argv = shlex.split(line.split("<")[0].replace("$'\\t'", "TAB"))
    return [a.replace("TAB", "\t") for a in argv]


def _readme_max_request_size() -> int:
    [value] = re.findall(r"max_request_size=([\d_]+)", README)
    return int(value.replace("_", ""))


async def test_producer_limits_as_documented(topics: Topics, tmp_path: Path) -> None:  # noqa: F811
    name = topics.names["pages"] + ".worker"
    settings = Settings(kafka_bootstrap=topics.bootstrap, topic_pages=name,
                        app_id=f"contract-{name}", store="memory")
    await ensure_topics(create_app(settings))  # the pages topic exactly as the worker makes it
    limit = settings.max_page_bytes
    sent: list[bytes] = []

    async def produce(value: bytes, **options: Any) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=topics.bootstrap, acks="all", **options)
        await producer.start()
        try:
            await producer.send_and_wait(name, value, key=URL.encode())
        finally:
            await producer.stop()

    # aiokafka: the default refuses a legal page; the README's setting carries the largest one.
    with pytest.raises(MessageSizeTooLargeError, match="maximum request size"):
        await produce(_page(1_500_000))
    await produce(_page(limit), max_request_size=_readme_max_request_size())
    sent.append(_page(limit))
    # Above the topic's max.message.bytes the broker refuses, whatever the client allows.
    with pytest.raises(MessageSizeTooLargeError):
        await produce(_page(6_000_000), max_request_size=8_000_000)

    # kcat: the same three cases, with the README's command line.
    def kcat(argv: list[str], value: bytes) -> subprocess.CompletedProcess[bytes]:
        path = tmp_path / "pages.tsv"
        path.write_bytes(URL.encode() + b"\t" + value + b"\n")
        with path.open("rb") as lines:
            return subprocess.run(argv, stdin=lines, capture_output=True, timeout=60,
                                  check=False)

    base = [_kcat(), "-b", topics.bootstrap, "-t", name, "-P", "-K\t"]
    plain = kcat(base, _page(limit))
    assert plain.returncode == 1
    assert b"Input is too large, maximum size is 1000001" in plain.stderr
    documented = kcat(_readme_kcat(topics.bootstrap, name), _page(limit))
    assert documented.returncode == 0, documented.stderr
    sent.append(_page(limit))
    refused = kcat([*base, "-X", "message.max.bytes=8000000"], _page(6_000_000))
    assert refused.returncode == 1
    assert b"Delivery failed for message: Broker: Message size too large" in refused.stderr

    records = await _read(topics.bootstrap, name, settings.topic_partitions)
    assert [(r.key, len(r.value)) for r in records] == [(URL.encode(), limit)] * len(sent)


async def _read(bootstrap: str, name: str, partitions: int) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=8_000_000, fetch_max_bytes=16_000_000)
    await consumer.start()
    try:
        parts = [TopicPartition(name, p) for p in range(partitions)]
        consumer.assign(parts)
        end = await consumer.end_offsets(parts)
        for tp in parts:
            consumer.seek(tp, 0)
        out: list[Any] = []
        while len(out) < sum(end.values()):
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()
