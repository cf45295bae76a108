"""The session broker is a real Kafka: records produced to it come back from it."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tools.kafka import probe
from tools.kafka.localkafka import LocalKafka
from tools.kafka.topics import create_topics

pytestmark = pytest.mark.integration


def test_broker_serves_metadata(kafka_broker: LocalKafka) -> None:
    brokers = probe.metadata_brokers(kafka_broker.host, kafka_broker.port)
    assert [(host, port) for _node, host, port in brokers] == [
        (kafka_broker.host, kafka_broker.port)
    ]
    assert kafka_broker.pid is not None


async def test_produce_then_consume_round_trip(kafka_broker: LocalKafka, unique_name: str) -> None:
    await create_topics(kafka_broker.bootstrap, {unique_name: 3})
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(30):
            await producer.send(unique_name, key=f"k{i % 5}".encode(), value=f"v{i}".encode())
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        unique_name,
        bootstrap_servers=kafka_broker.bootstrap,
        group_id=unique_name,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    got: list[tuple[int, bytes, bytes]] = []
    try:
        async with asyncio.timeout(30):
            while len(got) < 30:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    got.extend((r.partition, r.key, r.value) for r in records)  # type: ignore[misc]
    finally:
        await consumer.stop()

    assert sorted(v for _p, _k, v in got) == sorted(f"v{i}".encode() for i in range(30))
    # One key always lands on one partition: the ordering the dedupe agent relies on.
    partitions_by_key: dict[bytes, set[int]] = {}
    for partition, key, _v in got:
        partitions_by_key.setdefault(key, set()).add(partition)
    assert all(len(parts) == 1 for parts in partitions_by_key.values())
    assert len({p for p, _k, _v in got}) > 1


def test_restart_keeps_port_and_data(kafka_broker: LocalKafka, unique_name: str) -> None:
    asyncio.run(create_topics(kafka_broker.bootstrap, {unique_name: 1}))
    port = kafka_broker.port
    kafka_broker.restart()
    assert kafka_broker.port == port

    async def topics() -> set[str]:
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka_broker.bootstrap)
        await consumer.start()
        try:
            return set(await consumer.topics())
        finally:
            await consumer.stop()

    assert unique_name in asyncio.run(topics())
