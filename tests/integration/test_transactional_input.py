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
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

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
