"""Create topics on a broker with aiokafka's admin client (idempotent)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

_TOPIC_ALREADY_EXISTS = 36


async def create_topics(
    bootstrap: str, topics: Mapping[str, int], *, replication: int = 1, timeout: float = 30.0
) -> None:
    """Create each `{name: partitions}` topic unless it exists; return once all have leaders."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, partitions, replication) for name, partitions in topics.items()],
            timeout_ms=int(timeout * 1000),
        )
        for name, code, *rest in response.topic_errors:
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                message = rest[0] if rest else ""
                raise RuntimeError(f"creating topic {name!r} failed: error {code} {message}")
        await _wait_for_leaders(admin, list(topics), timeout)
    finally:
        await admin.close()


async def _wait_for_leaders(admin: object, names: list[str], timeout: float) -> None:
    # CreateTopics returns before every partition has a leader; producers would then
    # see LEADER_NOT_AVAILABLE for a moment. Poll metadata until all partitions are led.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        described = await admin.describe_topics(names)  # type: ignore[attr-defined]  # AIOKafkaAdminClient
        ready = all(
            t["error_code"] == 0
            and t["partitions"]
            and all(p["leader"] >= 0 for p in t["partitions"])
            for t in described
        )
        if ready:
            return
        if loop.time() > deadline:
            raise RuntimeError(f"topics {names} have no leaders after {timeout:.0f}s")
        await asyncio.sleep(0.1)


async def describe_partitions(
    bootstrap: str, topics: list[str], timeout: float = 15.0
) -> dict[tuple[str, int], dict[str, Any]]:
    """{(topic, partition): {"leader": id, "replicas": [ids], "isr": [ids]}} from metadata.

    A broker that has not caught up with a new topic yet answers without it: asked again
    until every topic is known, for at most `timeout` seconds.
    """
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            described = await admin.describe_topics(topics)
            known = [t for t in described if t["error_code"] == 0 and t["partitions"]]
            if len(known) == len(topics) or loop.time() > deadline:
                break
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    missing = set(topics) - {t["topic"] for t in known}
    if missing:
        raise RuntimeError(f"no metadata for topics {sorted(missing)} after {timeout:.0f}s")
    return {
        (t["topic"], p["partition"]): {
            "leader": p["leader"], "replicas": list(p["replicas"]), "isr": list(p["isr"]),
        }
        for t in known
        for p in t["partitions"]
    }


async def topic_configs(
    bootstrap: str, topics: list[str], timeout: float = 15.0
) -> dict[str, dict[str, str]]:
    """{topic: {config name: value}} as the brokers report them (defaults included).

    A broker that has not caught up with a new topic's metadata answers "unknown topic":
    asked again until `timeout`.
    """
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    out: dict[str, dict[str, str]] = {}
    try:
        while True:
            responses = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name) for name in topics]
            )
            errors = []
            for response in responses:
                for code, message, _type, name, entries in response.resources:
                    if code == 0:
                        out[name] = {entry[0]: entry[1] for entry in entries}
                    else:
                        errors.append(f"{name}: error {code} {message or ''}")
            if not errors:
                return out
            if loop.time() > deadline:
                raise RuntimeError("describing topic configs failed: " + "; ".join(errors))
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
