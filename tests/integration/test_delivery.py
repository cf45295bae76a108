"""Nothing lost between the worker and the broker: refused outputs, outages, poison records.

Each test injects the fault into the real broker (a topic whose record limit is lowered while
the worker runs, the broker stopped for longer than the producer's request timeout, a table
value the dedupe stage cannot read) and accounts for every input record afterwards.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.factories import article_html, message
from tests.integration.test_worker import accounted, story
from tests.integration.workers import Cluster, worker_cluster  # noqa: F401 - the fixture
from worker.settings import Settings
from worker.stream.app import max_record_bytes

pytestmark = pytest.mark.integration

LONG = [("The harbour wall repairs were discussed again on Thursday, when engineers presented a "
         f"revised plan, section {i}, to the council and to residents of the old town.") * 3
        for i in range(120)]


async def alter_topic(bootstrap: str, topic: str, configs: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs)])
    finally:
        await admin.close()


async def create_topic(cluster: Cluster, name: str, partitions: int,
                       configs: dict[str, str]) -> None:
    """Make `name` by hand (replication 1) before the worker does."""
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs)])
    finally:
        await admin.close()


async def refused_start(cluster: Cluster) -> str:
    """Start a worker that must refuse to start: exit 1, no traceback; its log."""
    worker = cluster.start_worker(wait=False)
    assert worker.process is not None
    code = await asyncio.to_thread(worker.process.wait, 90)
    log = worker.log()
    assert code == 1, log[-2000:]
    assert "Traceback" not in log
    return log


async def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def committed_until(cluster: Cluster, expected: dict[int, int],
                          timeout: float = 30.0) -> dict[int, int]:
    """The group's committed pages-topic offsets, polled until they are `expected`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        offsets = await committed(cluster.bootstrap, cluster.app_id, cluster.topics["pages"])
        if offsets == expected or asyncio.get_running_loop().time() > deadline:
            return offsets
        await asyncio.sleep(0.2)


async def until_status(worker: Any, status: int, timeout: float) -> tuple[int, str]:
    """Poll /readyz every 0.2 s until it answers `status`; (status, body)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = worker.get("/readyz")
        if got[0] == status:
            return got
        assert asyncio.get_running_loop().time() < deadline, f"/readyz stayed {got}"
        await asyncio.sleep(0.2)


async def test_an_output_the_broker_refuses_becomes_a_rejection_and_its_offset_waits(
    worker_cluster: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster(partitions=1)
    worker = cluster.start_worker()
    # Someone lowers the articles topic's record limit while the worker runs.
    await alter_topic(cluster.bootstrap, cluster.topics["articles"],
                      {"max.message.bytes": "20000"})
    big = message(page_id="big", url="https://www.gazette.example/news/2025/03/04/long-read",
                  html=article_html(headline="The long read on the harbour wall", paragraphs=LONG))
    await cluster.send_pages([(b"k", story(1)), (b"k", big), (b"k", story(2))])
    got = await cluster.collect(lambda g: {"s1", "s2", "big"} <= accounted(g))
    assert {a["page_id"] for a in got["articles"]} == {"s1", "s2"}
    [rejection] = got["rejected"]
    assert rejection["reason"] == "too_large" and rejection["page_id"] == "big"
    assert "the broker refused the article record" in rejection["detail"]
    # The dedupe stage has no page at hand: redrive fetches it from the page's position.
    assert rejection["original"] is None and rejection["original_omitted"] == "not_kept"
    assert {k: rejection["source"][k] for k in ("topic", "partition", "offset")} == {
        "topic": cluster.topics["pages"], "partition": 0, "offset": 1}
    assert worker.metric('news_send_failures_total{cause="too_large",output="article"}') == 1
    # Every offset is committed, the refused one included (its rejection is in the topic).
    assert await committed_until(cluster, {0: 3}) == {0: 3}
    assert worker.alive()


async def test_a_broker_outage_longer_than_the_request_timeout_loses_nothing(
    worker_cluster: Any, kafka_broker: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster(extra_env={"NEWS_PRODUCER_TIMEOUT": "2"})
    worker = cluster.start_worker()
    await cluster.send_pages([(None, story(i)) for i in range(80)])
    await cluster.collect(lambda g: len(g["articles"]) >= 1)
    kafka_broker.stop()  # for four request timeouts, while pages are being routed
    try:
        # /readyz says so within a probe or two (issue #16: it stayed 200 through 20 s).
        status, reason = await until_status(worker, 503, timeout=8)
        assert "the broker does not answer" in reason
        assert worker.metric("news_ready") == 0 and worker.metric("news_broker_reachable") == 0
        await asyncio.sleep(4)
        assert worker.alive(), worker.log()[-3000:]
    finally:
        kafka_broker.start()
    await until_status(worker, 200, timeout=60)
    ids = {f"s{i}" for i in range(80)}
    got = await cluster.collect(lambda g: accounted(g) >= ids, timeout=120)
    assert accounted(got) == ids
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for article in got["articles"]:  # repeats only as identical re-deliveries
        assert seen.setdefault((article["id"], article["version"]), article) == article
    assert len(seen) == 80 and not got["rejected"] and not got["duplicates"]
    assert worker.alive()
    # Sends did fail (their requests expired while the broker was away) and went again.
    assert worker.metric("news_send_failures_total") > 0


async def test_a_poison_record_becomes_one_rejection_and_the_partition_moves_on(
    worker_cluster: Any,  # noqa: F811
) -> None:
    """Records the identity stage cannot route (before: skipped with a log line, offset
    committed; before that: the worker exited and crash-looped) become rejections."""
    cluster: Cluster = worker_cluster(partitions=1)
    stories = f"{cluster.app_id}-stories"
    pages = cluster.topics["pages"]
    # A stories record for the page at pages 0@7 whose fingerprint is garbage, and a record
    # that is not a stories record at all.
    broken = {"step": "url", "origin": f"{pages}:0:7", "ts": 1.7e9, "fp": "garbage",
              "article": {"page_id": "poison", "url": "https://x.example/news/poison"}}
    # With the record limit the worker needs (its start-up check refuses less).
    await create_topic(cluster, stories, 1, {
        "max.message.bytes": str(max_record_bytes(Settings()))})
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(stories, orjson.dumps(broken), key=b"u:x")
        await producer.send_and_wait(stories, b'{"not": "a stories record"}', key=b"x")
    finally:
        await producer.stop()
    worker = cluster.start_worker()
    await cluster.send_pages([(b"k", story(1))])  # the partition moves on after both
    got = await cluster.collect(lambda g: len(g["rejected"]) >= 2 and "s1" in accounted(g))
    poison, foreign = got["rejected"]
    assert poison["reason"] == "internal_error" and poison["page_id"] == "poison"
    assert poison["detail"].startswith("identify_stories failed once: MalformedRecord")
    assert poison["source"]["topic"] == pages and poison["source"]["offset"] == 7
    assert poison["original"] is None and poison["original_omitted"] == "not_kept"
    assert foreign["reason"] == "internal_error" and foreign["page_id"] is None
    assert foreign["source"]["topic"] == stories and foreign["source"]["offset"] == 1
    assert orjson.loads(foreign["original"]) == {"not": "a stories record"}
    assert [a["page_id"] for a in got["articles"]] == ["s1"]
    assert worker.metric('news_agent_errors_total{agent="identify_stories"}') == 2
    assert worker.metric('news_poison_records_total{agent="identify_stories"}') == 2
    assert worker.alive()


async def test_an_existing_topic_that_cannot_take_the_records_stops_the_worker_at_start(
    worker_cluster: Any,  # noqa: F811
) -> None:
    """Someone made the articles topic by hand with the broker's usual 1 MB record limit (as
    an older docker-compose did): the worker refuses to start, in one line saying what to
    change, instead of having the broker refuse its large articles at run time."""
    cluster: Cluster = worker_cluster()
    articles = cluster.topics["articles"]
    await create_topic(cluster, articles, cluster.partitions, {"max.message.bytes": "1048588"})
    log = await refused_start(cluster)
    limit = max_record_bytes(Settings())
    assert (f"topic {articles} takes records up to 1048588 bytes, the worker writes up to "
            f"{limit}: kafka-configs.sh --alter --entity-type topics --entity-name {articles} "
            f"--add-config max.message.bytes={limit}") in log


async def test_an_output_topic_whose_min_insync_replicas_no_write_can_meet_stops_the_worker(
    worker_cluster: Any,  # noqa: F811
) -> None:
    """The rejected topic was made by hand with min.insync.replicas=2 on one replica: every
    acks=all write to it would fail (NOT_ENOUGH_REPLICAS, retried for good: the partition
    would wait forever). The worker reads the topic's effective min.insync.replicas from the
    broker (DescribeConfigs) and refuses to start, in one line saying what to change."""
    cluster: Cluster = worker_cluster()
    rejected = cluster.topics["rejected"]
    await create_topic(cluster, rejected, cluster.partitions, {
        "max.message.bytes": str(max_record_bytes(Settings())), "min.insync.replicas": "2"})
    log = await refused_start(cluster)
    assert (f"topic {rejected} has min.insync.replicas=2 but 1 replica(s): the broker refuses "
            f"every acks=all write to it: kafka-configs.sh --alter --entity-type topics "
            f"--entity-name {rejected} --add-config min.insync.replicas=1") in log


async def test_a_second_worker_on_a_data_dir_in_use_stops_at_once(
    worker_cluster: Any,  # noqa: F811
) -> None:
    """Two workers on one host with the default data dir (tried as a new user would): the
    second one used to loop on "DB for partition 1 is locked!" while holding partitions."""
    cluster: Cluster = worker_cluster()
    first = cluster.start_worker(index=0)
    second = cluster.start_worker(index=0, wait=False)  # same NEWS_DATA_DIR, its own port
    assert second.process is not None
    code = await asyncio.to_thread(second.process.wait, 60)
    log = second.log()
    assert code == 1 and "Traceback" not in log, log[-2000:]
    assert (f"NEWS_DATA_DIR={first.env['NEWS_DATA_DIR']} is in use by another worker "
            f"(pid {first.process.pid}): give each worker on this host its own "  # type: ignore[union-attr]
            "NEWS_DATA_DIR") in log
    assert first.alive()
