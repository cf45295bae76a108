"""Create the worker's topics before Faust starts consuming.

Faust declares internal topics while it subscribes, which races the first partition
assignment: a topic created a moment too late is "ignored" by the assignor until the next
metadata refresh (minutes), and its partitions stay unassigned. So `news-worker worker`
creates every topic it reads or writes first (missing ones only; existing ones are left as
they are), with `topic_partitions` partitions and the record-size limit the worker needs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from worker.errors import ToolError
from worker.stream.app import NewsApp, topic_config

log = logging.getLogger(__name__)
_TOPIC_ALREADY_EXISTS = 36
CONNECT_TIMEOUT = 30.0  # seconds to wait for the broker at start-up


def topic_specs(news: NewsApp) -> list[NewTopic]:
    """Every topic the worker touches, with its partitions and config.

    Replication and min.insync.replicas come from settings for every one of them (topic
    declarations may add their own config on top); every table's changelog is included,
    whatever tables the app declares.
    """
    settings = news.settings
    changelogs = [table.changelog_topic for table in news.app.tables.values()]
    specs = []
    for channel in [news.pages, news.stories, *news.outputs, *changelogs]:
        if not hasattr(channel, "get_topic_name"):
            continue  # an in-memory channel (functional tests)
        config = topic_config(settings, **{
            k: str(v) for k, v in (getattr(channel, "config", None) or {}).items()
        })
        if getattr(channel, "compacting", False):
            config["cleanup.policy"] = "compact"
        specs.append(NewTopic(
            channel.get_topic_name(),
            channel.partitions or settings.topic_partitions,
            settings.topic_replication,
            topic_configs=config,
        ))
    return specs


async def ensure_topics(news: NewsApp) -> list[str]:
    """Create the missing topics; return the names created. ToolError if Kafka is unusable."""
    settings = news.settings
    auth: dict[str, Any] = dict(credentials_to_aiokafka_auth(news.app.conf.broker_credentials))
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap.split(","), **auth)
    try:
        await asyncio.wait_for(admin.start(), timeout=CONNECT_TIMEOUT)
    except (TimeoutError, KafkaError, OSError) as exc:
        await admin.close()
        raise ToolError(
            f"cannot reach Kafka at {settings.kafka_bootstrap}: {exc or type(exc).__name__}"
        ) from None
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in topic_specs(news) if spec.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(missing)
        for name, code, *rest in response.topic_errors:
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                message = rest[0] if rest else ""
                raise ToolError(f"cannot create topic {name}: error {code} {message or ''}")
        names = [spec.name for spec in missing]
        log.info("created topics: %s", ", ".join(names))
        return names
    except KafkaError as exc:
        raise ToolError(f"cannot create the worker's topics: {exc}") from None
    finally:
        await admin.close()
