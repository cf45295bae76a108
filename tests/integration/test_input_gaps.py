"""Input records that no longer exist: the partition moves on, says so, and the lag is true.

Kafka removes records by retention or `DeleteRecords` whether or not a consumer group has
processed them. A worker that resumes below the log start offset cannot process them: it
starts at the first record that exists, counts the offsets it never saw
(`news_input_skipped_offsets_total`), logs the range, and reports lag from there on (not from
its stale committed offset). Offsets that never held a record (transaction markers) are
counted apart (kind="hole"): tests/integration/test_monitoring.py drives one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from tests.integration.test_delivery import committed_until
from tests.integration.test_worker import accounted, story
from tests.integration.workers import Cluster, worker_cluster  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


async def test_deleted_input_records_are_skipped_counted_and_not_lag(
    worker_cluster: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster(partitions=1)
    await cluster.create_topics()
    pages = cluster.topics["pages"]
    worker = cluster.start_worker()
    await cluster.send_pages([(b"k", story(i)) for i in range(5)])
    await cluster.collect(lambda g: accounted(g) >= {f"s{i}" for i in range(5)})
    assert await committed_until(cluster, {0: 5}) == {0: 5}
    assert worker.terminate() == 0
    # While no worker runs: 15 more pages, then the first 10 of them are deleted unread.
    await cluster.send_pages([(b"k", story(i)) for i in range(5, 20)])
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(pages, 0): RecordsToDelete(15)},
                                   timeout_ms=10_000)
    finally:
        await admin.close()
    worker = cluster.start_worker(index=0)
    # From the first moment it reports, the lag counts only records that exist.
    lag = worker.metric(f'news_consumer_lag{{partition="0",topic="{pages}"}}')
    assert lag <= 5
    got = await cluster.collect(lambda g: accounted(g) >= {f"s{i}" for i in range(15, 20)})
    assert accounted(got) == {f"s{i}" for i in range(5)} | {f"s{i}" for i in range(15, 20)}
    skipped = 'news_input_skipped_offsets_total{{kind="{}",topic="{}"}}'  # labels sorted
    assert worker.metric(skipped.format("deleted", pages)) == 10
    assert worker.metric(skipped.format("hole", pages)) == 0
    assert "offsets 5..14 were deleted before they were processed" in worker.log()
    assert await committed_until(cluster, {0: 20}) == {0: 20}
    for _ in range(50):
        if worker.metric(f'news_consumer_lag{{partition="0",topic="{pages}"}}') == 0:
            break
        await asyncio.sleep(0.2)
    assert worker.metric(f'news_consumer_lag{{partition="0",topic="{pages}"}}') == 0
    assert worker.metric("news_ready") == 1
