"""The Faust app: every topic the worker touches and its one table. Declarations only.

    pages topic (raw bytes, keyed by URL)                          settings.topic_pages
      -> extract_articles  -> rejected topic (keyed by page id or URL)   NEWS_TOPIC_REJECTED
                           -> stories topic (internal)                    <app_id>-stories
      -> identify_stories  -> stories topic (its own next stages)
         (table `identity`,-> articles topic (keyed by article id)         NEWS_TOPIC_ARTICLES
         changelog topic   -> duplicates topic (keyed by duplicate_of)     NEWS_TOPIC_DUPLICATES
         <app_id>-identity-changelog)

The stories topic's keys are namespaced by stage (u:<article id>, h:<headline key>,
b:<body key>; worker/pipeline/route.py). It and the changelog have `topic_partitions`
partitions each, so partition p of the table is written only by the agent reading partition p
of the stories topic. Every
value is raw bytes: we encode and decode JSON ourselves (orjson), so a malformed message can
never fail inside Faust's codecs, where it would be acked and dropped without a trace.
The agents live in `worker/stream/agents.py`; the web views in `worker/stream/web.py`.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import ChannelT, TopicT

from worker.kafka_client import client_options
from worker.pipeline.options import PipelineOptions
from worker.settings import Settings
from worker.stream.consumer import InputConsumer
from worker.stream.fence import BoundedApp
from worker.stream.health import Health
from worker.stream.metrics import WorkerMetrics
from worker.stream.publish import Publisher, TrackedTable
from worker.stream.web import web_settings

# How far ahead of the broker's clock a pages-topic record's timestamp may be (5 min).
FUTURE_TIMESTAMP_MS = 300_000
# Room for a record's envelope around the largest page (JSON escaping, metadata).
_ENVELOPE = 256 * 1024


@dataclass
class NewsApp:
    """The Faust app with its topics and table, built once from settings."""

    app: faust.App
    settings: Settings
    options: PipelineOptions
    pages: TopicT
    stories: TopicT
    articles: ChannelT[bytes]
    rejected: ChannelT[bytes]
    duplicates: ChannelT[bytes]
    identity: Any  # faust.Table[bytes, bytes]: worker/pipeline/state.py
    metrics: WorkerMetrics
    max_record_bytes: int
    publisher: Publisher
    health: Health = field(default_factory=Health)

    @property
    def outputs(self) -> list[ChannelT[bytes]]:
        """Topics the worker only writes (declared at start-up)."""
        return [self.articles, self.rejected, self.duplicates]


class InputTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with the strict input consumer."""

    Consumer = InputConsumer


def max_record_bytes(settings: Settings) -> int:
    """Largest record the worker may write: a rejection quotes the whole page, base64 at worst."""
    return (settings.max_page_bytes * 4) // 3 + _ENVELOPE


def topic_config(settings: Settings, **extra: str) -> dict[str, str]:
    """Topic-level config every topic the worker creates gets (plus `extra`).

    The one place for durability settings: replication comes from `topic_replication_factor`
    (Faust) and `topics.topic_specs`; min.insync.replicas from here, so with acks=all a
    write is acknowledged only once that many replicas have it.
    """
    return {"min.insync.replicas": str(settings.min_insync_replicas), **extra}


def broker_credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    """Faust credentials for the configured Kafka security protocol (None for PLAINTEXT).

    Built from the same options the tools use, so the worker and the tools cannot disagree.
    """
    options = client_options(settings)
    context: ssl.SSLContext | None = options.get("ssl_context")
    if "sasl_mechanism" in options:
        return faust.SASLCredentials(
            username=options["sasl_plain_username"],
            password=options["sasl_plain_password"],
            ssl_context=context,
            mechanism=options["sasl_mechanism"],
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def create_app(settings: Settings, *, in_memory_outputs: bool = False) -> NewsApp:
    """Build the app, its topics and its table from settings.

    `in_memory_outputs` swaps the three output topics for in-memory channels (functional
    tests read them back without a broker); nothing else changes.
    """
    partitions = settings.topic_partitions
    record_limit = max_record_bytes(settings)
    rocksdb = settings.store == "rocksdb"
    app = BoundedApp(
        settings.app_id,
        broker=[f"kafka://{host.strip()}" for host in settings.kafka_bootstrap.split(",")],
        broker_credentials=broker_credentials(settings),
        # faust's rocksdb store uses rocksdict when it is installed (the table forces it).
        store="rocksdb://" if rocksdb else "memory://",
        datadir=settings.data_dir,
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=partitions,
        topic_replication_factor=settings.topic_replication,
        # No on_leader timers: skip the leader-election topic.
        topic_disable_leader=True,
        # No standby replicas: a table partition is read only by its owner, from its own
        # persisted offset up to the changelog's end, before any of its records is processed.
        # faust-streaming 0.15.3's standby reads skip records: a standby started at the
        # changelog's end instead of its persisted offset (250 -> 407, 514 -> 723 in one traced
        # rolling deploy), persisted the later offset, and when it was promoted recovery
        # resumed after it, so URL entries written meanwhile (pages parked behind a probe) were
        # missing and those pages were never decided (tests/cluster/test_rolling_deploy.py).
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        # Finish (or hand back) the page in flight before a rebalance or shutdown commits.
        stream_wait_empty=True,
        broker_commit_interval=settings.commit_interval,
        # A SIGKILLed worker's partitions move after this long (faust's default is 60 s); the
        # loop never blocks for more than a second, so heartbeats are never late.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        # Every record is acknowledged by all in-sync replicas (worker/stream/publish.py waits
        # for it); a request that takes longer than this fails and is sent again. Not
        # idempotent: aiokafka keeps an idempotent partition's sequence after a refused batch
        # (too large), so every later record there fails with OutOfOrderSequenceNumber.
        producer_acks=-1,
        producer_request_timeout=settings.producer_timeout,
        producer_max_request_size=record_limit + _ENVELOPE,
        # Changelog records count as outputs of the event that wrote them (publish.py).
        Table=TrackedTable,
        # Back-pressure: with a backlog Faust would buffer 4096 pages per stream (~400 MB of
        # HTML); a few dozen keep the extraction process busy, and NEWS_BUFFER_MB bounds their
        # bytes (worker/stream/fence.py BoundedQueue). A record larger than the fetch size is
        # still returned on its own (KIP-74), so the default fetch size stays.
        stream_buffer_maxsize=64,
        # Port 0 turns the HTTP server (and so /metrics, /readyz) off.
        web_enabled=settings.web_port != 0,
        web_port=settings.web_port or 6066,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        **web_settings(),  # only /metrics, /healthz, /readyz (worker/stream/web.py)
        autodiscover=False,
    )
    app.stream_buffer_bytes = settings.buffer_mb * 1_000_000
    # Our consumer keeps input partitions in order and without holes (worker/stream/consumer.py).
    app.transport = InputTransport(app.conf.broker_consumer, app)
    big_records = topic_config(settings, **{"max.message.bytes": str(record_limit)})
    pages = app.topic(
        settings.topic_pages,
        internal=True,  # "declare if missing", with our partition count
        partitions=partitions,
        config=topic_config(settings, **{
            "max.message.bytes": str(settings.max_page_bytes + _ENVELOPE),
            # A producer clock far ahead (a crawler's CreateTime) is refused where the crawler
            # sees the error, instead of moving the stories' data time (story identity).
            "message.timestamp.after.max.ms": str(FUTURE_TIMESTAMP_MS),
        }),
    )
    stories = app.topic(
        f"{settings.app_id}-stories", internal=True, partitions=partitions, config=big_records
    )

    def output(name: str) -> ChannelT[bytes]:
        if in_memory_outputs:
            return app.channel(maxsize=100_000)
        return app.topic(name, internal=True, partitions=partitions, config=big_records)

    identity = app.Table(
        "identity",
        default=None,
        partitions=partitions,
        key_type=bytes,  # raw bytes both ways (the app's serializers)
        value_type=bytes,
        options={"driver": "rocksdict"} if rocksdb else None,
        # Its changelog topic: a page parked behind its URL's probe is kept whole there.
        extra_topic_configs=topic_config(settings, **{"max.message.bytes": str(record_limit)}),
        help="URL, headline and body keys -> identity state (worker/pipeline/state.py)",
    )
    metrics = WorkerMetrics()
    health = Health()
    rejected = output(settings.topic_rejected)
    return NewsApp(
        app=app,
        settings=settings,
        options=settings.pipeline_options(),
        pages=pages,
        stories=stories,
        articles=output(settings.topic_articles),
        rejected=rejected,
        duplicates=output(settings.topic_duplicates),
        identity=identity,
        metrics=metrics,
        max_record_bytes=record_limit,
        publisher=Publisher(app, rejected, metrics, record_limit,
                            changelog=not in_memory_outputs, clock=health.clock),
        health=health,
    )
