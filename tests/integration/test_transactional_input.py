"""A crawler that writes pages in transactions: its commit markers are not pages to process.

Each committed transaction ends with a commit marker, a control record that takes an offset of
the partition but is never handed to a consumer. After a transactional crawler's last page the
partition's end offset is one past that marker: a worker that counted lag up to the end would
report 1 record to go on an idle partition for good, and after NEWS_STALL_TIMEOUT mark it stalled
(news_partition_stalled 1, NewsPartitionStalled) and itself not ready (/readyz 503,
NewsWorkerNotReady) while nothing waits. The worker counts the offsets its fetcher passed over
after the last record it handed out as empty (worker/stream/consumer.py, `InputConsumer.lag`).

The other half: a real page fetched but not yet processed, behind a page stuck in a frozen
extraction process, with a commit marker after it, still counts as lag and the partition is
still reported stalled.

The worker reads input `read_committed` (worker/stream/fetcher.py, `InputConsumerThread`):
pages of a transaction the crawler aborted are never processed, and the pages after it are,
in order; while a transaction is open nothing after it is fetched (the last stable offset):
those pages count as lag, and the partition reads as stalled once the transaction has held the
fetcher for NEWS_STALL_TIMEOUT (not at once on a partition that was idle before it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.integration.test_delivery import committed_until
from tests.integration.test_monitoring import the_extraction_pid
from tests.integration.test_worker import accounted, keyed, story
from tests.integration.workers import Cluster, WorkerProcess, worker_cluster  # noqa: F401

pytestmark = pytest.mark.integration

STALL_TIMEOUT = 2.0  # NEWS_STALL_TIMEOUT: short, so an idle partition is "stalled" quickly


async def send_in_a_transaction(cluster: Cluster, values: list[bytes], name: str) -> None:
    """One transaction of pages on partition 0, committed; returns once its marker is written."""
    pages = cluster.topics["pages"]
    before = await end_offset(cluster)
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap,
                                transactional_id=f"{cluster.app_id}-{name}")
    await producer.start()
    try:
        async with producer.transaction():
            for value in values:
                key, value = keyed(value)
                await producer.send(pages, value, key=key, partition=0)
    finally:
        await producer.stop()
    # The commit returns before the broker writes the marker: wait for it to take its offset.
    deadline = time.monotonic() + 10
    while await end_offset(cluster) != before + len(values) + 1:
        assert time.monotonic() < deadline, "the commit marker was not written"
        await asyncio.sleep(0.05)


async def end_offset(cluster: Cluster) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=cluster.bootstrap)
    await consumer.start()
    try:
        tp = TopicPartition(cluster.topics["pages"], 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


def input_state(worker: WorkerProcess, pages: str) -> tuple[int, float, float]:
    """(/readyz status, news_consumer_lag, news_partition_stalled) of pages partition 0."""
    labels = f'{{partition="0",topic="{pages}"}}'
    return (worker.get("/readyz")[0], worker.metric(f"news_consumer_lag{labels}"),
            worker.metric(f"news_partition_stalled{labels}"))


async def test_a_transactional_crawlers_commit_marker_is_no_lag_and_no_stall(
    worker_cluster: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster(partitions=1, extra_env={
        "NEWS_STALL_TIMEOUT": str(STALL_TIMEOUT), "NEWS_EXTRACT_PROCESSES": "1",
        "NEWS_PAGE_TIMEOUT": "120"})
    await cluster.create_topics()
    pages = cluster.topics["pages"]
    worker = cluster.start_worker()
    await send_in_a_transaction(cluster, [story(i, page_id=f"t{i}") for i in range(3)], "a")
    await cluster.collect(lambda g: accounted(g) >= {"t0", "t1", "t2"})
    # Idle with a commit marker last: it stays ready, with no lag, well past the stall timeout.
    seen = set()
    deadline = time.monotonic() + 3 * STALL_TIMEOUT
    while time.monotonic() < deadline:
        seen.add(input_state(worker, pages))
        await asyncio.sleep(0.25)
    assert seen == {(200, 0.0, 0.0)}, (seen, worker.get("/readyz"))

    # A real stall behind a marker: the first page is frozen in extraction, the next two are
    # fetched and wait, and the transaction's marker comes after them.
    frozen = the_extraction_pid(worker)
    os.kill(frozen, signal.SIGSTOP)
    try:
        await send_in_a_transaction(
            cluster, [story(i, page_id=f"t{i}") for i in range(3, 6)], "b")
        deadline = time.monotonic() + 6 * STALL_TIMEOUT + 10
        while (state := input_state(worker, pages))[0] != 503:
            assert time.monotonic() < deadline, f"never reported stalled: {state}"
            await asyncio.sleep(0.25)
        assert state == (503, 2.0, 1.0), state
        assert f"input {pages}:0 has not moved" in worker.get("/readyz")[1]
    finally:
        os.kill(frozen, signal.SIGCONT)
    await cluster.collect(lambda g: accounted(g) >= {f"t{i}" for i in range(6)})
    deadline = time.monotonic() + 10
    while (state := input_state(worker, pages)) != (200, 0.0, 0.0):
        assert time.monotonic() < deadline, state
        await asyncio.sleep(0.25)
    await asyncio.sleep(2 * STALL_TIMEOUT)  # and it stays so with the marker last
    assert input_state(worker, pages) == (200, 0.0, 0.0)



async def commit(cluster: Cluster, offset: int) -> None:
    """Commit the group's offset of pages partition 0, as a worker of that group would."""
    tp = TopicPartition(cluster.topics["pages"], 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=cluster.bootstrap, group_id=cluster.app_id,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.commit({tp: offset})
    finally:
        await consumer.stop()


async def test_an_aborted_transactions_pages_are_never_processed_and_the_rest_are_in_order(
    worker_cluster: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster(partitions=1, extra_env={
        "NEWS_STALL_TIMEOUT": str(STALL_TIMEOUT), "NEWS_EXTRACT_PROCESSES": "1"})
    await cluster.create_topics()
    pages = cluster.topics["pages"]
    await cluster.send_pages([keyed(story(0, page_id="a0"))])  # offset 0
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap,
                                transactional_id=f"{cluster.app_id}-aborted",
                                transaction_timeout_ms=300_000)
    await producer.start()
    try:
        await producer.begin_transaction()
        for i in range(3):  # offsets 1-3, left open
            key, value = keyed(story(10 + i, page_id=f"x{i}"))
            await (await producer.send(pages, value, key=key, partition=0))
        # A worker of an earlier version (reading uncommitted) processed a0 and x0: its
        # committed offset is past the last stable offset (1), not past the log's end. This
        # worker resumes there; taking it for a recreated topic would repeat a0.
        await commit(cluster, 2)
        worker = cluster.start_worker()
        await cluster.send_pages([keyed(story(20, page_id="p0"))])  # offset 4
        # While the transaction is open nothing after it is read: x1, x2 and p0 wait, counted
        # as lag, and after NEWS_STALL_TIMEOUT the partition reads as stalled (a crawler
        # holding a transaction open holds the partition).
        deadline = time.monotonic() + 6 * STALL_TIMEOUT + 10
        while (state := input_state(worker, pages))[0] != 503:
            assert time.monotonic() < deadline, f"never reported stalled: {state}"
            await asyncio.sleep(0.25)
        assert state == (503, 3.0, 1.0), state
        await producer.abort_transaction()  # its marker: offset 5
    finally:
        await producer.stop()
    # Offsets 6-7 a committed transaction (8 its marker), 9-10 plain pages.
    await send_in_a_transaction(cluster, [story(1, page_id="c0"), story(2, page_id="c1")], "c")
    await cluster.send_pages([keyed(story(21 + i, page_id=f"p{i + 1}")) for i in range(2)])
    got = await cluster.collect(lambda g: accounted(g) >= {"c0", "c1", "p0", "p1", "p2"},
                                positions=True)
    assert accounted(got) == {"p0", "c0", "c1", "p1", "p2"}, accounted(got)
    articles = [r["page_id"] for r in sorted(got["articles"], key=lambda r: r["_offset"])]
    assert articles == ["p0", "c0", "c1", "p1", "p2"], articles
    # The offsets the consumer never saw (2-3 aborted, 5 and 8 markers) are committed over.
    assert await committed_until(cluster, {0: 11}) == {0: 11}
    skipped = f'news_input_skipped_offsets_total{{kind="hole",topic="{pages}"}}'
    assert worker.metric(skipped) == 4
    log = worker.log()
    assert "has no records 2..3" in log and "is past its end" not in log, log[-3000:]
    deadline = time.monotonic() + 10
    while (state := input_state(worker, pages)) != (200, 0.0, 0.0):
        assert time.monotonic() < deadline, state
        await asyncio.sleep(0.25)

    # Idle for longer than NEWS_STALL_TIMEOUT, a transaction opens: its page is lag, but the
    # stall clock starts when the fetcher reached the open transaction, not at the last page.
    await asyncio.sleep(STALL_TIMEOUT + 0.5)
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap,
                                transactional_id=f"{cluster.app_id}-short")
    await producer.start()
    try:
        await producer.begin_transaction()
        key, value = keyed(story(30, page_id="q0"))
        await (await producer.send(pages, value, key=key, partition=0))
        deadline = time.monotonic() + 10
        while (state := input_state(worker, pages))[1] == 0:
            assert time.monotonic() < deadline, state
            await asyncio.sleep(0.1)
        assert state == (200, 1.0, 0.0), state
        await producer.commit_transaction()
    finally:
        await producer.stop()
    await cluster.collect(lambda g: "q0" in accounted(g))
