"""redrive through the real broker and the real worker: the original comes back as it was
received (key, headers, timestamp), marked, and repeated redrives never multiply rejections;
an original left out of its rejection is read back from its source position, and a source
position retention already removed is said in one line; a version the broker refused keeps
its number, and its redrive publishes it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic, RecordsToDelete

from tests.factories import article_html, message
from tests.integration.test_delivery import LONG, alter_topic
from tests.integration.test_tools import Topics, topics  # noqa: F401 - the fixture
from tests.integration.test_worker import accounted
from tests.integration.workers import REPO, Cluster, worker_cluster  # noqa: F401 - the fixture
from worker.errors import RejectReason
from worker.pipeline.types import Rejection, Source
from worker.settings import Settings
from worker.stream.app import max_record_bytes
from worker.stream.wire import encode_rejection

pytestmark = pytest.mark.integration

HEADERS = [("crawler", b"fleet-7"), ("trace-id", b"\xff\x00\x01"), ("empty", None)]
GONE_URL = "https://www.gazette.example/news/2025/03/04/removed"
NOT_UTF8 = b'{"url": "https://www.gazette.example/x", "html": "\xff\xfe"}'


def _redrive(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "dev", "-m", "worker", "redrive", *args],
        capture_output=True, text=True, env=cluster.env(99, 0), cwd=REPO, timeout=120,
        check=False,
    )


async def _send(cluster: Cluster, records: list[tuple[bytes, bytes, Any, int]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all")
    await producer.start()
    try:
        for key, value, headers, timestamp in records:
            await producer.send_and_wait(cluster.topics["pages"], value, key=key,
                                         headers=headers, timestamp_ms=timestamp)
    finally:
        await producer.stop()


async def _pages(cluster: Cluster) -> list[Any]:
    """Every record of the (one-partition) pages topic, with key, headers and timestamp."""
    tp = TopicPartition(cluster.topics["pages"], 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=cluster.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, 0)
        out: list[Any] = []
        while len(out) < end:
            out.extend((await consumer.getmany(tp, timeout_ms=1000)).get(tp, []))
        return out
    finally:
        await consumer.stop()


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


async def test_redrive_restores_the_message_and_never_multiplies(
    worker_cluster: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster(partitions=1)
    await cluster.create_topics()
    stamp = 1_741_082_400_000  # 2025-03-04T10:00:00Z: the crawl time, kept through redrive
    gone = message(page_id="gone", url=GONE_URL, status=503)
    await _send(cluster, [
        (b"crawler-key-1", gone, HEADERS, stamp),
        (b"https://www.gazette.example/x", NOT_UTF8, None, stamp + 1),
    ])
    cluster.start_worker()
    got = await cluster.collect(lambda g: len(g["rejected"]) >= 2)
    first = {r["reason"]: r for r in got["rejected"]}
    assert first["http_error"]["key"] == "crawler-key-1"
    assert first["http_error"]["source"]["timestamp"] == stamp
    # Not UTF-8: said so, and the URL comes from the key.
    assert first["invalid_json"]["url"] == "https://www.gazette.example/x"
    assert first["invalid_json"]["detail"].startswith("not UTF-8")

    result = _redrive(cluster)
    assert result.returncode == 0, result.stderr
    assert _lines(result.stderr) == [
        "news-worker redrive: sent 2 (http_error 1, invalid_json 1), failed 0, unusable 0"]
    pages = await _pages(cluster)
    assert len(pages) == 4
    copy = pages[2]
    assert (copy.key, copy.value, copy.timestamp) == (b"crawler-key-1", gone, stamp)
    assert list(copy.headers[:3]) == HEADERS
    rejected = cluster.topics["rejected"]
    assert dict(copy.headers)["news-redrive-of"] == f"{rejected}/0@0".encode()
    assert dict(copy.headers)["news-redrive-origin"] == f"{cluster.topics['pages']}/0@0".encode()
    assert pages[3].value == NOT_UTF8 and pages[3].key == b"https://www.gazette.example/x"

    # The copies are rejected again (the "fix" did not help): marked as redriven copies.
    got = await cluster.collect(lambda g: len(g["rejected"]) >= 4)
    again = [r for r in got["rejected"] if r["redrive"]]
    assert {r["redrive"]["of"] for r in again} == {f"{rejected}/0@0", f"{rejected}/0@1"}

    # A second redrive skips everything already redriven: no doubling.
    result = _redrive(cluster, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert _lines(result.stderr) == [
        "news-worker redrive: skipped 2 redriven before and rejected again (--again sends them)",
        "news-worker redrive: skipped 2 superseded by a later rejection of the same original",
        "news-worker redrive: would send 0, failed 0, unusable 0, skipped 4",
    ]
    # Asked explicitly: each original once more, from its latest rejection only.
    result = _redrive(cluster, "--again")
    assert result.returncode == 0, result.stderr
    assert _lines(result.stderr)[-1] == (
        "news-worker redrive: sent 2 (http_error 1, invalid_json 1), failed 0, unusable 0, "
        "skipped 2")
    pages = await _pages(cluster)
    assert len(pages) == 6
    assert (pages[4].key, pages[4].value, pages[4].timestamp) == (b"crawler-key-1", gone, stamp)
    assert dict(pages[4].headers)["news-redrive-origin"] == (
        f"{cluster.topics['pages']}/0@0".encode())
    assert [h for h, _ in pages[4].headers].count("news-redrive-of") == 1


def test_an_omitted_original_is_read_from_its_source(
    topics: Topics,  # noqa: F811
) -> None:
    pages, rejected = topics.names["pages"], topics.names["rejected"]
    kept = message(page_id="kept", url="https://www.gazette.example/kept", status=503)
    # One key: both land on one partition, at offsets 0 and 1.
    gone = b"removed by retention " * 50
    topics.produce(pages, [(b"crawler-key", gone), (b"crawler-key", kept)])
    records = topics.consume(pages)
    assert [r.offset for r in records] == [0, 1]
    partition = records[0].partition

    def omitted(offset: int) -> bytes:
        rejection = Rejection(
            RejectReason.HTTP_ERROR, "crawler got HTTP 503", records[offset].value,
            source=Source(pages, partition, offset),
        ).with_message(records[offset].key, [], None)
        value = encode_rejection(rejection, 600)  # too small for the original: left out
        assert orjson.loads(value)["original_omitted"] == "size"
        return value

    topics.produce(rejected, [(None, omitted(0)), (None, omitted(1))])

    async def delete_first() -> None:  # what retention does to old records
        admin = AIOKafkaAdminClient(bootstrap_servers=topics.bootstrap)
        await admin.start()
        try:
            await admin.delete_records(
                {TopicPartition(pages, partition): RecordsToDelete(before_offset=1)})
        finally:
            await admin.close()

    asyncio.run(delete_first())

    dry = topics.cli("redrive", "--dry-run")
    real = topics.cli("redrive", "--to", topics.names["duplicates"])
    for result, verb in ((dry, "would send"), (real, "sent")):
        assert result.returncode == 1, result.stderr
        err = _lines(result.stderr)
        assert err[-1] == f"news-worker redrive: {verb} 1 (http_error 1), failed 1, unusable 0"
        assert any(
            "not sent: the original is not inline and no longer on "
            f"{pages}/{partition}@0: retention removed it" in line for line in err), err
    [copy] = topics.consume(topics.names["duplicates"])
    assert (copy.key, copy.value) == (b"crawler-key", kept)


def test_a_too_large_original_waits_for_a_raised_limit_then_goes(
    topics: Topics,  # noqa: F811
) -> None:
    """Reported: --dry-run said it would send a too_large original, the real run failed with
    MessageSizeTooLargeError (max_request_size, a setting the user never touched)."""
    suffix = topics.names["pages"].rsplit(".", 1)[-1]
    big = {role: f"test.redrive.big.{role}.{suffix}" for role in ("pages", "rejected")}

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=topics.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([
                NewTopic(name, 1, 1, topic_configs={"max.message.bytes": "4000000"})
                for name in big.values()
            ])
        finally:
            await admin.close()

    asyncio.run(create())
    original = message(page_id="huge", url="https://www.gazette.example/huge",
                       html="<p>" + "word " * 300_000 + "</p>")
    assert 1_400_000 < len(original) < 1_600_000
    rejection = Rejection(
        RejectReason.TOO_LARGE, f"message is {len(original)} bytes, limit is 1000000",
        original, source=Source(big["pages"], 0, 0),
    ).with_message(b"https://www.gazette.example/huge", [("crawler", b"c1")], 1_741_082_400.0)
    producer_limit = {"max_request_size": 4_000_000}
    topics.produce(big["rejected"], [(b"huge", encode_rejection(rejection, 3_000_000))],
                   **producer_limit)
    env = {"NEWS_TOPIC_PAGES": big["pages"], "NEWS_TOPIC_REJECTED": big["rejected"]}

    for args in (["--dry-run"], []):  # the limit that rejected it: both runs skip it, and say so
        result = topics.cli("redrive", *args, env={**env, "NEWS_MAX_PAGE_BYTES": "1000000"})
        assert result.returncode == 0, result.stderr
        assert _lines(result.stderr) == [
            "news-worker redrive: skipped 1 over NEWS_MAX_PAGE_BYTES (the worker would reject "
            "them again)",
            f"news-worker redrive: {'would send' if args else 'sent'} 0, failed 0, unusable 0, "
            "skipped 1",
        ]
    assert topics.consume(big["pages"]) == []
    # The fix: a higher limit. The producer is sized from it, and the page goes.
    result = topics.cli("redrive", env={**env, "NEWS_MAX_PAGE_BYTES": "2000000"})
    assert result.returncode == 0, result.stderr
    assert _lines(result.stderr) == [
        "news-worker redrive: sent 1 (too_large 1), failed 0, unusable 0"]
    [copy] = topics.consume(big["pages"])
    assert (copy.key, copy.value, copy.timestamp) == (
        b"https://www.gazette.example/huge", original, 1_741_082_400_000)


async def test_a_refused_version_keeps_its_number_and_its_redrive_publishes_it(
    worker_cluster: Any,  # noqa: F811
) -> None:
    """README "versions only go up; a refused version keeps its number", through the real
    broker and `news-worker redrive`. Two stories' v2 are refused for good (someone lowered
    the articles topic's limit; the broker may hold such a record from before a crash, so the
    number is never given to another content). The limit is raised again. Story A's
    rejection redriven: (id, 2) comes out with the very content refused, and A's next crawl is
    v3. Story B is crawled again before its redrive: v3 (a gap at 2 that its rejection
    explains), and the redriven v2, older than v3 now, is a duplicate."""
    cluster: Cluster = worker_cluster(partitions=1)
    cluster.start_worker()

    def crawl(story: str, n: int, paragraphs: int) -> bytes:
        return message(page_id=f"{story}{n}", fetched_at=f"2025-03-04T{8 + 2 * n:02d}:00:00Z",
                       url=f"https://www.gazette.example/news/2025/03/04/story-{story}",
                       html=article_html(headline=f"Harbour story {story} after the storm",
                                         published=None, paragraphs=LONG[:paragraphs]))

    def published(got: dict[str, list[Any]]) -> list[tuple[str, str, int]]:
        return [(a["page_id"], a["id"], a["version"]) for a in got["articles"]]

    await cluster.send_pages([(None, crawl("a", 1, 3)), (None, crawl("b", 1, 3))])
    got = await cluster.collect(lambda g: {"a1", "b1"} <= accounted(g))
    ids = {page[0]: story for page, story, _ in published(got)}
    articles = cluster.topics["articles"]
    await alter_topic(cluster.bootstrap, articles, {"max.message.bytes": "20000"})
    await cluster.send_pages([(None, crawl("a", 2, 120)), (None, crawl("b", 2, 110))])
    got = await cluster.collect(lambda g: {"a2", "b2"} <= accounted(g))
    for rejection in got["rejected"]:  # about 60 kB of article each
        assert rejection["reason"] == "too_large"
        story = rejection["page_id"][0]
        assert f"(id {ids[story]}, version 2)" in rejection["detail"], rejection["detail"]
    assert len(got["rejected"]) == 2

    await alter_topic(cluster.bootstrap, articles,
                      {"max.message.bytes": str(max_record_bytes(Settings()))})
    await cluster.send_pages([(None, crawl("b", 3, 5))])  # B's next crawl before its redrive
    await cluster.collect(lambda g: "b3" in accounted(g))
    result = _redrive(cluster)
    assert result.returncode == 0, result.stderr
    await cluster.collect(lambda g: {"a2", "b2"} <= {
        r["page_id"] for r in [*g["articles"], *g["duplicates"]]})
    await cluster.send_pages([(None, crawl("a", 3, 5))])
    got = await cluster.collect(lambda g: "a3" in accounted(g))
    assert published(got) == [("a1", ids["a"], 1), ("b1", ids["b"], 1), ("b3", ids["b"], 3),
                              ("a2", ids["a"], 2), ("a3", ids["a"], 3)]
    [a2] = [a for a in got["articles"] if a["page_id"] == "a2"]
    assert len(a2["body"]) > 20_000  # the content the broker refused, whole
    [b2] = got["duplicates"]
    assert (b2["page_id"], b2["duplicate_of"], b2["version"]) == ("b2", ids["b"], 3)
    assert len(got["rejected"]) == 2  # only the first refusals: the redrives went through
