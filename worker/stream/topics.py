"""Create the worker's topics before Faust starts consuming.

Faust declares internal topics while it subscribes, which races the first partition
assignment: a topic created a moment too late is "ignored" by the assignor until the next
metadata refresh (minutes), and its partitions stay unassigned. So `news-worker worker`
creates every topic it reads or writes first (missing ones only), with `topic_partitions`
partitions and the record-size limit the worker needs.

Existing topics are checked against the same definitions (`topic_problems`): one the worker
writes must take its largest record (`max.message.bytes`), the stories topic and the table
changelogs must have the worker's partition count (a table is co-partitioned with its
source), a changelog must be compacted, and none may have fewer replicas than configured. A
topic the worker writes (all but the pages topic) must have `min.insync.replicas` (its
effective value: the topic's own or the broker's default) of at least the worker's
(NEWS_TOPIC_MIN_INSYNC, default replication - 1): with acks=all that is how many brokers have
a record before it is acknowledged and its input offset committed, so a lower value lets one
broker's loss take acknowledged outputs with it (the README's "losing any one broker loses no
acknowledged record"). Nor may it exceed the topic's replicas (the broker would refuse every
write). A mismatch stops the worker before it consumes anything, with one line per topic
saying what to change (a topic made by hand, or by an older docker-compose, without the
worker's limits: its outputs would be refused by the broker at run time, or acknowledged
less durably than promised, instead). A topic stricter than the worker (min.insync.replicas
above its setting) is only logged: nothing is lost, but writes stop sooner when brokers are
down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from worker.errors import ToolError
from worker.stream.app import FUTURE_TIMESTAMP_MS, NewsApp, topic_config

log = logging.getLogger(__name__)
_TOPIC_ALREADY_EXISTS = 36
CONNECT_TIMEOUT = 30.0  # seconds to wait for the broker at start-up
METADATA_POLL = 0.2  # seconds between looks for topics just created in the brokers' metadata


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
        specs = topic_specs(news)
        present = [spec for spec in specs if spec.name in existing]
        if present:
            await _check_existing(news, admin, present)
        missing = [spec for spec in specs if spec.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(missing)
        for name, code, *rest in response.topic_errors:
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                message = rest[0] if rest else ""
                raise ToolError(f"cannot create topic {name}: error {code} {message or ''}")
        names = [spec.name for spec in missing]
        log.info("created topics: %s", ", ".join(names))
        await await_metadata(admin, names)
        return names
    except KafkaError as exc:
        raise ToolError(f"cannot create the worker's topics: {exc}") from None
    finally:
        await admin.close()


async def await_metadata(admin: AIOKafkaAdminClient, names: list[str],
                         timeout: float = CONNECT_TIMEOUT) -> bool:
    """Wait until the brokers' metadata lists the topics just created, with their partitions.

    The controller answers CreateTopics before the brokers have applied the new topics (KRaft
    propagates them a moment later). A consumer that joins its group meanwhile is assigned
    nothing ("Ignoring missing topic") and waits for its next metadata refresh, five minutes,
    before it gets a partition: a worker started under load processed nothing for 90 s
    (test_transactional_input). False if they did not appear in `timeout` s (logged; the
    worker then starts anyway and gets them at that refresh).
    """
    deadline = time.monotonic() + timeout
    while True:
        described = await admin.describe_topics(names)
        listed = {t["topic"] for t in described if t["error_code"] == 0 and t["partitions"]}
        if listed >= set(names):
            return True
        if time.monotonic() >= deadline:
            log.warning("topics created %.0f s ago are not in the brokers' metadata yet: %s; "
                        "their partitions are assigned at the next metadata refresh", timeout,
                        ", ".join(sorted(set(names) - listed)))
            return False
        await asyncio.sleep(METADATA_POLL)


def topic_problems(news: NewsApp, spec: NewTopic, partitions: int, replication: int,
                   config: dict[str, str]) -> list[str]:
    """What is wrong with an existing topic for this worker (empty: nothing)."""
    name, wanted = spec.name, spec.topic_configs or {}
    problems = []
    pages = name == news.settings.topic_pages
    # A table's changelog and its source (the stories topic) must agree partition by partition.
    co_partitioned = name == f"{news.settings.app_id}-stories" or name.endswith("-changelog")
    if co_partitioned and partitions != spec.num_partitions:
        problems.append(
            f"topic {name} has {partitions} partitions, the worker needs {spec.num_partitions} "
            f"(NEWS_TOPIC_PARTITIONS): set NEWS_TOPIC_PARTITIONS={partitions} or recreate it")
    if replication < spec.replication_factor:
        problems.append(
            f"topic {name} has replication {replication}, NEWS_TOPIC_REPLICATION is "
            f"{spec.replication_factor}: reassign its replicas or lower the setting")
    limit = wanted.get("max.message.bytes")
    actual = config.get("max.message.bytes")
    if not pages and limit and actual and int(actual) < int(limit):
        problems.append(
            f"topic {name} takes records up to {actual} bytes, the worker writes up to {limit}: "
            f"kafka-configs.sh --alter --entity-type topics --entity-name {name} "
            f"--add-config max.message.bytes={limit}")
    if "compact" in wanted.get("cleanup.policy", "") and "compact" not in config.get(
            "cleanup.policy", ""):
        problems.append(
            f"topic {name} is a table changelog but its cleanup.policy is "
            f"{config.get('cleanup.policy')!r}: --add-config cleanup.policy=compact")
    insync = _min_insync(config)
    needed = news.settings.min_insync_replicas
    if pages or insync is None:
        return problems  # the worker only reads the pages topic: its durability is the crawler's
    alter = f"kafka-configs.sh --alter --entity-type topics --entity-name {name} --add-config"
    if insync > replication:
        problems.append(
            f"topic {name} has min.insync.replicas={insync} but {replication} replica(s): the "
            f"broker refuses every acks=all write to it: {alter} min.insync.replicas="
            f"{min(needed, replication)}")
    elif insync < needed:
        problems.append(
            f"topic {name} has min.insync.replicas={insync}, the worker needs {needed} "
            f"(NEWS_TOPIC_MIN_INSYNC; unset: replication - 1): an output acknowledged by "
            f"{insync} broker(s) could be lost with them after its input was committed: "
            f"{alter} min.insync.replicas={needed}, or set NEWS_TOPIC_MIN_INSYNC={insync} "
            f"to accept that")
    return problems


def topic_warnings(news: NewsApp, spec: NewTopic, config: dict[str, str]) -> list[str]:
    """What is stricter than the worker asked for in an existing topic (nothing is lost)."""
    insync, needed = _min_insync(config), news.settings.min_insync_replicas
    if spec.name == news.settings.topic_pages or insync is None or insync <= needed:
        return []
    return [f"topic {spec.name} has min.insync.replicas={insync}, above the worker's {needed}: "
            f"its writes stop (and the worker waits) whenever fewer than {insync} replicas "
            f"are in sync"]


def _min_insync(config: dict[str, str]) -> int | None:
    value = config.get("min.insync.replicas")
    return int(value) if value is not None and value.isdigit() else None


async def _check_existing(news: NewsApp, admin: AIOKafkaAdminClient,
                          present: list[NewTopic]) -> None:
    """ToolError naming every mismatch of the existing topics (see `topic_problems`)."""
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    described = await admin.describe_topics([spec.name for spec in present])
    shape = {t["topic"]: (len(t["partitions"]), min(
        (len(p["replicas"]) for p in t["partitions"]), default=0)) for t in described}
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, spec.name) for spec in present])
    configs: dict[str, dict[str, str]] = {}
    for response in responses:
        for code, _message, _type, name, entries in response.resources:
            if code == 0:
                configs[name] = {entry[0]: entry[1] for entry in entries}
    problems = []
    for spec in present:
        partitions, replication = shape.get(spec.name, (spec.num_partitions,
                                                        spec.replication_factor))
        config = configs.get(spec.name, {})
        problems += topic_problems(news, spec, partitions, replication, config)
        for warning in topic_warnings(news, spec, config):
            log.warning("%s", warning)
        if spec.name == news.settings.topic_pages:
            bound = config.get("message.timestamp.after.max.ms")
            if bound is not None and int(bound) > FUTURE_TIMESTAMP_MS:
                log.warning("topic %s accepts message timestamps up to %s ms ahead; the worker "
                            "bounds them by its own clock + %s ms (message.timestamp.after."
                            "max.ms=%s on the topic makes the crawler see the error instead)",
                            spec.name, bound, FUTURE_TIMESTAMP_MS, FUTURE_TIMESTAMP_MS)
    if problems:
        raise ToolError("; ".join(problems))
