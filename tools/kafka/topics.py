"""Create topics on a broker with aiokafka's admin client (idempotent)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

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
