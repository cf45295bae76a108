"""replay, tail and redrive against the real local broker (the session `kafka_broker`).

Each test gets its own topics (unique names), and runs the real `news-worker` entry point as
a subprocess, so what is checked is what an operator sees: exit code, stdout, stderr.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests import factories
from worker.errors import RejectReason
from worker.pipeline import process_page
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import Article, Duplicate, Rejection, Source

pytestmark = pytest.mark.integration

NAMES = ("pages", "articles", "rejected", "duplicates")


@dataclass
class Topics:
    """Fresh topics for one test and a way to run the CLI against them."""

    bootstrap: str
    names: dict[str, str]

    @property
    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")}
        base["NEWS_KAFKA_BOOTSTRAP"] = self.bootstrap
        base["NEWS_LOG_LEVEL"] = "INFO"
        for role, name in self.names.items():
            base[f"NEWS_TOPIC_{role.upper()}"] = name
        return base

    def cli(
        self, *args: str, timeout: float = 90, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `news-worker <args>` (with -X dev: unclosed clients would warn on stderr)."""
        return subprocess.run(
            [sys.executable, "-X", "dev", "-m", "worker", *args],
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=timeout,
            check=False,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-X", "dev", "-m", "worker", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )

    def produce(
        self,
        topic: str,
        records: list[tuple[bytes | None, bytes]],
        timestamps: list[int] | None = None,
        **options: Any,
    ) -> None:
        async def go() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", **options)
            await producer.start()
            try:
                for i, (key, value) in enumerate(records):
                    ts = timestamps[i] if timestamps else None
                    await producer.send_and_wait(topic, value, key=key, timestamp_ms=ts)
            finally:
                await producer.stop()

        asyncio.run(go())

    def consume(self, topic: str) -> list[Any]:
        """Every record of `topic` now, partition by partition, in offset order."""

        async def go() -> list[Any]:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
            await admin.start()
            try:
                # A topic created a moment ago may not be in the broker's metadata yet (KRaft
                # applies it after the controller answers): no partitions would read as empty.
                deadline = time.monotonic() + 30
                while not (described := (await admin.describe_topics([topic]))[0])["partitions"]:
                    assert time.monotonic() < deadline, f"{topic} not in the metadata in 30 s"
                    await asyncio.sleep(0.2)
            finally:
                await admin.close()
            numbers = sorted(p["partition"] for p in described["partitions"])
            await consumer.start()
            try:
                parts = [TopicPartition(topic, p) for p in numbers]
                consumer.assign(parts)
                end = await consumer.end_offsets(parts)
                # Explicit offsets: seek_to_beginning can race the assignment's own reset.
                for tp, first in (await consumer.beginning_offsets(parts)).items():
                    consumer.seek(tp, first)
                out: list[Any] = []
                deadline = time.monotonic() + 30
                while any([await consumer.position(tp) < end[tp] for tp in parts]):
                    assert time.monotonic() < deadline, "topic not read to its end in 30 s"
                    batch = await consumer.getmany(timeout_ms=500)
                    for tp in parts:
                        out.extend(batch.get(tp, []))
                return sorted(out, key=lambda r: (r.partition, r.offset))
            finally:
                await consumer.stop()

        return asyncio.run(go())

    def topic_exists(self, name: str) -> bool:
        async def go() -> bool:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
            await admin.start()
            try:
                return name in set(await admin.list_topics())
            finally:
                await admin.close()

        return asyncio.run(go())


@pytest.fixture
def topics(kafka_broker: Any) -> Iterator[Topics]:
    suffix = uuid.uuid4().hex[:8]
    names = {role: f"test.tools.{role}.{suffix}" for role in NAMES}

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
        await admin.start()
        try:
            # An explicit 1 MB record limit: the size-failure test must not depend on broker config.
            await admin.create_topics(
                [
                    NewTopic(n, 2, 1, topic_configs={"max.message.bytes": "1000000"})
                    for n in names.values()
                ]
            )
        finally:
            await admin.close()

    asyncio.run(create())
    yield Topics(kafka_broker.bootstrap, names)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _pages(count: int) -> list[dict[str, Any]]:
    return [
        factories.raw_page(
            url=f"https://www.harbourgazette.example/news/2025/03/0{i + 1}/story-{i}",
            html=factories.article_html(headline=f"Harbour council story number {i} approved"),
            page_id=f"page-{i}",
        )
        for i in range(count)
    ]


def _event_records() -> list[dict[str, Any]]:
    """One article, one rejection and one duplicate, made by the real pipeline."""
    received = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    options = PipelineOptions()
    article = process_page(
        factories.message(),
        received_at=received,
        options=options,
        source=Source(topic="pages.raw", partition=0, offset=1),
    )
    assert isinstance(article, Article)
    rejection = process_page(
        b"{not json",
        received_at=received,
        options=options,
        source=Source(topic="pages.raw", partition=1, offset=7),
    )
    assert isinstance(rejection, Rejection)
    duplicate = Duplicate(
        page_id="page-2",
        url=article.url + "?utm_source=x",
        canonical_url=article.canonical_url,
        duplicate_of=article.id,
        version=1,
        match="url",
        dedupe_key=article.dedupe_key,
        content_hash=article.content_hash,
        fetched_at=received,
    )
    return [article.to_dict(), rejection.to_dict(), duplicate.to_dict()]


# --- replay ------------------------------------------------------------------------------


def test_replay_jsonl_puts_every_line_on_the_topic_keyed_by_url(
    topics: Topics, tmp_path: Path
) -> None:
    pages = _pages(3)
    lines = [orjson.dumps(p) for p in pages] + [b"{this is not json"]
    path = tmp_path / "pages.jsonl"
    path.write_bytes(b"\n".join(lines[:2]) + b"\n\n" + b"\n".join(lines[2:]) + b"\n")

    result = topics.cli("replay", str(path), "--rate", "50")

    assert result.returncode == 0, result.stderr
    assert _lines(result.stderr) == ["news-worker replay: sent 4, failed 0"]
    records = topics.consume(topics.names["pages"])
    assert sorted(r.value for r in records) == sorted(lines)  # bytes untouched
    keys = {r.value: r.key for r in records}
    for page, line in zip(pages, lines, strict=False):
        assert keys[line] == page["url"].encode()
    assert keys[lines[-1]] is None  # not JSON: no URL to key by, still sent


def test_replay_warc_and_explicit_topic(topics: Topics, tmp_path: Path) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path = tmp_path / "crawl.warc.gz"
    urls = ["https://www.harbourgazette.example/a", "https://www.harbourgazette.example/b"]
    with open(path, "wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for url in urls:
            body = factories.article_html().encode()
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"
            )
            writer.write_record(
                writer.create_warc_record(
                    url, "response", payload=__import__("io").BytesIO(body), http_headers=headers
                )
            )

    result = topics.cli("replay", str(path), "--topic", topics.names["articles"])

    assert result.returncode == 0, result.stderr
    assert _lines(result.stderr)[-1] == "news-worker replay: sent 2, failed 0"
    records = topics.consume(topics.names["articles"])
    assert sorted(r.key for r in records) == [u.encode() for u in urls]
    assert {orjson.loads(r.value)["status"] for r in records} == {200}
    assert topics.consume(topics.names["pages"]) == []


def test_replay_counts_failures_and_exits_non_zero(topics: Topics, tmp_path: Path) -> None:
    # Bigger than the broker's default message.max.bytes (1 MB): the broker refuses it.
    big = orjson.dumps(factories.raw_page(text="word " * 400_000))
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(orjson.dumps(_pages(1)[0]) + b"\n" + big + b"\n")

    result = topics.cli("replay", str(path))

    assert result.returncode == 1
    err = _lines(result.stderr)
    assert err[-1] == "news-worker replay: sent 1, failed 1"
    assert any(f"{path}:2: not sent" in line for line in err)
    assert "Traceback" not in result.stderr
    assert len(topics.consume(topics.names["pages"])) == 1


# --- tail --------------------------------------------------------------------------------


@pytest.fixture
def filled(topics: Topics) -> tuple[Topics, list[dict[str, Any]]]:
    """Five articles on the articles topic (two partitions), timestamps in order."""
    received = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    articles = []
    for page in _pages(5):
        result = process_page(orjson.dumps(page), received_at=received, options=PipelineOptions())
        assert isinstance(result, Article)
        articles.append(result.to_dict())
    start = int(time.time() * 1000) - 10_000
    topics.produce(
        topics.names["articles"],
        [(a["id"].encode(), orjson.dumps(a)) for a in articles],
        timestamps=[start + i for i in range(len(articles))],
    )
    return topics, articles


def test_tail_json_from_beginning_reads_everything_then_stops(
    filled: tuple[Topics, list[dict[str, Any]]],
) -> None:
    topics, articles = filled
    result = topics.cli("tail", "--from-beginning", "--json")
    assert result.returncode == 0, result.stderr
    got = [orjson.loads(line) for line in _lines(result.stdout)]
    assert sorted(g["id"] for g in got) == sorted(a["id"] for a in articles)
    assert got[0] in articles
    assert _lines(result.stderr) == []


def test_tail_n_limits_and_default_is_the_latest(
    filled: tuple[Topics, list[dict[str, Any]]],
) -> None:
    topics, articles = filled
    first = topics.cli("tail", "articles", "--from-beginning", "-n", "2", "--json")
    assert first.returncode == 0, first.stderr
    assert len(_lines(first.stdout)) == 2

    latest = topics.cli("tail", "-n", "2", "--json")
    assert latest.returncode == 0, latest.stderr
    ids = [orjson.loads(line)["id"] for line in _lines(latest.stdout)]
    assert ids == [articles[3]["id"], articles[4]["id"]]  # by timestamp, oldest first


def test_tail_pretty_shows_each_kind(topics: Topics) -> None:
    article, rejection, duplicate = _event_records()
    topics.produce(topics.names["articles"], [(None, orjson.dumps(article))])
    topics.produce(topics.names["rejected"], [(None, orjson.dumps(rejection))])
    topics.produce(topics.names["duplicates"], [(None, orjson.dumps(duplicate))])

    shown = topics.cli("tail", "--pretty").stdout
    assert article["headline"] in shown
    assert f"id {article['id']} v1" in shown
    assert article["url"] in shown and article["published_at"] in shown
    assert article["body"].split("\n")[0][:60] in shown

    shown = topics.cli("tail", "rejected", "--pretty").stdout
    assert f"rejected {RejectReason.INVALID_JSON.value}: {rejection['detail']}" in shown
    assert "from pages.raw/1@7" in shown

    shown = topics.cli("tail", "duplicates", "--pretty").stdout
    assert f"duplicate of {article['id']} v1" in shown
    assert duplicate["url"] in shown


def test_tail_piped_into_a_json_parser_reads_json(
    filled: tuple[Topics, list[dict[str, Any]]],
) -> None:
    """The reported `news-worker tail articles -n 1 | jq .` -> parse error."""
    topics, articles = filled
    command = f"{sys.executable} -m worker tail articles -n 2 | {sys.executable} -c " + (
        "'import json, sys; print(json.dumps([json.loads(l)[\"id\"] for l in sys.stdin]))'"
    )
    result = subprocess.run(  # noqa: S602 - a shell pipe is the point
        command, shell=True, capture_output=True, text=True, env=topics.env, timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout) == [articles[3]["id"], articles[4]["id"]]


def test_tail_follow_prints_new_messages(filled: tuple[Topics, list[dict[str, Any]]]) -> None:
    topics, articles = filled
    process = topics.popen("tail", "--from-end", "--json", "-n", "1", "--timeout", "60")
    try:
        time.sleep(4)  # let it connect and take the end position
        fresh = dict(articles[0], id="fresh-article-id")
        topics.produce(topics.names["articles"], [(b"fresh-article-id", orjson.dumps(fresh))])
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, err
    assert [orjson.loads(line)["id"] for line in _lines(out)] == ["fresh-article-id"]


def test_tail_timeout_ends_an_idle_follow(filled: tuple[Topics, list[dict[str, Any]]]) -> None:
    topics, _ = filled
    started = time.monotonic()
    result = topics.cli("tail", "--from-end", "--timeout", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert time.monotonic() - started < 60


# --- redrive -----------------------------------------------------------------------------


def _rejection(reason: str, original: bytes, at: str, url: str | None) -> dict[str, Any]:
    """A rejection.v1 record (what older workers wrote; redrive still reads them)."""
    try:
        text, encoding = original.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(original).decode(), "base64"
    return {
        "schema": "rejection.v1",
        "reason": reason,
        "detail": "test",
        "page_id": None,
        "url": url,
        "original": text,
        "original_encoding": encoding,
        # Each original from its own position: one position is one original.
        "source": {"topic": "pages.raw", "partition": 0, "offset": zlib.crc32(original)},
        "rejected_at": at,
    }


def test_redrive_republishes_matching_originals_and_keeps_the_rejections(
    topics: Topics,
) -> None:
    page = factories.message(url="https://www.harbourgazette.example/timeout-page")
    binary = b"\xff\xfe not utf-8 at all"
    old = factories.message(url="https://www.harbourgazette.example/old")
    rejections = [
        _rejection(
            "timeout",
            page,
            "2025-03-04T10:00:00Z",
            "https://www.harbourgazette.example/timeout-page",
        ),
        _rejection("timeout", binary, "2025-03-04T11:00:00Z", None),
        _rejection(
            "timeout", old, "2025-03-01T10:00:00Z", "https://www.harbourgazette.example/old"
        ),  # before --since
        _rejection("no_article", factories.message(), "2025-03-04T10:30:00Z", None),
    ]
    topics.produce(topics.names["rejected"], [(None, orjson.dumps(r)) for r in rejections])
    before = topics.consume(topics.names["rejected"])
    window = [
        "--reason",
        "timeout",
        "--reason",
        "internal_error",
        "--since",
        "2025-03-04T00:00:00Z",
        "--until",
        "2025-03-05T00:00:00Z",
    ]

    dry = topics.cli("redrive", *window, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert _lines(dry.stderr) == [
        "news-worker redrive: would send 2 (timeout 2), failed 0, unusable 0"
    ]
    assert topics.consume(topics.names["pages"]) == []

    result = topics.cli("redrive", *window)
    assert result.returncode == 0, result.stderr
    assert _lines(result.stderr) == [
        "news-worker redrive: sent 2 (timeout 2), failed 0, unusable 0"
    ]
    sent = {r.value: r for r in topics.consume(topics.names["pages"])}
    assert set(sent) == {page, binary}  # base64 decoded back to the original bytes
    assert sent[page].key == b"https://www.harbourgazette.example/timeout-page"
    assert dict(sent[page].headers)["news-redrive-of"].startswith(
        topics.names["rejected"].encode() + b"/"
    )
    after = topics.consume(topics.names["rejected"])
    assert [(r.partition, r.offset, r.value) for r in after] == [
        (r.partition, r.offset, r.value) for r in before
    ]


def test_redrive_key_falls_back_to_the_url_in_the_original(topics: Topics) -> None:
    original = factories.message(url="https://www.harbourgazette.example/from-original")
    topics.produce(
        topics.names["rejected"],
        [
            (None, orjson.dumps(_rejection("no_article", original, "2025-03-04T10:00:00Z", None))),
            (None, b"not a rejection record"),
        ],
    )
    result = topics.cli("redrive", "--to", topics.names["duplicates"])
    assert result.returncode == 0, result.stderr
    assert _lines(result.stderr)[-1] == (
        "news-worker redrive: sent 1 (no_article 1), failed 0, unusable 1"
    )
    [record] = topics.consume(topics.names["duplicates"])
    assert record.key == b"https://www.harbourgazette.example/from-original"


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        lambda t: ["tail", "no.such.topic." + t],
        lambda t: ["replay", "{file}", "--topic", "no.such.topic." + t],
        lambda t: ["redrive", "--to", "no.such.topic." + t],
        lambda t: ["redrive", "--from", "no.such.topic." + t, "--dry-run"],
    ],
)
def test_unknown_topic_is_one_line_and_is_not_created(
    topics: Topics, tmp_path: Path, command: Callable[[str], list[str]]
) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(orjson.dumps(_pages(1)[0]) + b"\n")
    suffix = uuid.uuid4().hex[:8]
    args = [a.replace("{file}", str(path)) for a in command(suffix)]
    result = topics.cli(*args)
    assert result.returncode == 1
    err = _lines(result.stderr)
    assert len(err) == 1, result.stderr
    assert f"unknown topic 'no.such.topic.{suffix}'" in err[0]
    assert not topics.topic_exists(f"no.such.topic.{suffix}")


def test_stopped_broker_gives_one_line_after_a_bounded_wait(
    kafka_broker: Any, topics: Topics
) -> None:
    kafka_broker.stop()
    try:
        started = time.monotonic()
        result = topics.cli("tail", "--connect-timeout", "3")
        elapsed = time.monotonic() - started
    finally:
        kafka_broker.start()
    err = _lines(result.stderr)
    assert result.returncode == 1
    assert len(err) == 1, result.stderr
    # Nothing listens on the stopped broker's port: refused, said at once.
    assert err[0].startswith(
        f"news-worker tail: cannot reach Kafka at {topics.bootstrap}: connection refused"
    )
    assert elapsed < 45
