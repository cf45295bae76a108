"""The only module that reads the environment: one frozen `Settings` object, built once.

Every setting is `NEWS_<NAME>`; the README's configuration table lists them all, and a test
keeps that table and this class in step.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.pipeline.options import PipelineOptions


class Settings(BaseSettings):
    """news-worker configuration, read from `NEWS_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="NEWS_", frozen=True, extra="ignore")

    # --- Kafka -------------------------------------------------------------------------
    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated."
    )
    topic_pages: str = Field(
        default="pages.raw", description="Input topic: raw pages from crawlers."
    )
    topic_articles: str = Field(
        default="articles", description="Output topic: article events, keyed by article id."
    )
    topic_rejected: str = Field(
        default="pages.rejected", description="Rejections with reason and the original message."
    )
    topic_duplicates: str = Field(
        default="articles.duplicates", description="Duplicate records (duplicate_of an article id)."
    )
    topic_partitions: int = Field(
        default=4, ge=1, description="Partitions for topics the worker creates (>= workers)."
    )
    topic_replication: int = Field(
        default=1, ge=1, description="Replication factor for topics the worker creates."
    )
    topic_min_insync: int | None = Field(
        default=None,
        ge=1,
        description="min.insync.replicas for topics the worker creates "
        "(unset: replication - 1, at least 1; at most the replication).",
    )
    app_id: str = Field(
        default="news-worker",
        description="Faust app id: the consumer group and table-topic prefix.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="Kafka security protocol."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="PLAIN", description="SASL mechanism when the protocol is SASL_*."
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="SASL password (never logged)."
    )
    kafka_ssl_cafile: str | None = Field(
        default=None, description="CA bundle (PEM) to verify the brokers."
    )
    kafka_ssl_certfile: str | None = Field(
        default=None, description="Client certificate (PEM) for mutual TLS."
    )
    kafka_ssl_keyfile: str | None = Field(
        default=None, description="Client private key (PEM) for mutual TLS."
    )

    # --- Processing ----------------------------------------------------------------------
    max_page_bytes: int = Field(
        default=5_000_000, ge=1024, description="Larger messages are rejected as too_large."
    )
    page_timeout: float = Field(
        default=10.0, gt=0, description="Seconds one page may take before it is rejected (timeout)."
    )
    min_body_words: int = Field(
        default=40, ge=1, description="Shorter bodies are rejected as no_article."
    )
    dedupe_window: timedelta = Field(
        default=timedelta(days=7),
        description="How long a story is remembered for dedupe (ISO 8601 duration or seconds).",
    )
    dedupe_tolerance: timedelta = Field(
        default=timedelta(hours=6),
        description="Same headline, declared times this close: one story.",
    )
    dedupe_fallback_tolerance: timedelta = Field(
        default=timedelta(hours=18),
        description="Same headline, no declared time, fetch times this close: one story.",
    )
    extract_processes: int = Field(
        default=1,
        ge=0,
        description="Extraction processes per worker (0 = in the worker's thread pool).",
    )
    dedupe_sweep_interval: float = Field(
        default=600.0,
        gt=0,
        description="Seconds between sweeps that delete expired dedupe entries.",
    )
    blocking_timeout: float = Field(
        default=1.0,
        ge=0,
        description="Faust logs a traceback when the event loop blocks this long (0 = off).",
    )

    # --- Runtime -------------------------------------------------------------------------
    store: Literal["rocksdb", "memory"] = Field(
        default="rocksdb", description="Dedupe table store: rocksdb (rocksdict) or memory."
    )
    data_dir: str = Field(
        default="./data", description="Directory for the table store and worker state."
    )
    web_port: int = Field(
        default=6066, ge=0, le=65535, description="HTTP port for /metrics, /healthz, /readyz."
    )
    web_host: str = Field(default="127.0.0.1", description="Interface the HTTP server binds.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level."
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="json in production, console on a terminal (auto)."
    )
    processing_guarantee: Literal["at_least_once"] = Field(
        default="at_least_once",
        description="Delivery guarantee (only at_least_once is offered; see README).",
    )

    @model_validator(mode="after")
    def _min_insync_fits_replication(self) -> Settings:
        if self.topic_min_insync is not None and self.topic_min_insync > self.topic_replication:
            raise ValueError(
                f"NEWS_TOPIC_MIN_INSYNC={self.topic_min_insync} is more than "
                f"NEWS_TOPIC_REPLICATION={self.topic_replication}: no write could ever succeed"
            )
        return self

    @property
    def min_insync_replicas(self) -> int:
        """min.insync.replicas of the worker's topics: set, or one replica short of all.

        With acks=all and 3 replicas (-> 2), an acknowledged write is on two brokers, so losing
        any one loses nothing, and writes go on while one broker is down.
        """
        if self.topic_min_insync is not None:
            return self.topic_min_insync
        return max(1, self.topic_replication - 1)

    def pipeline_options(self) -> PipelineOptions:
        """The pipeline's options object, built from these settings."""
        return PipelineOptions(
            max_page_bytes=self.max_page_bytes,
            min_body_words=self.min_body_words,
            dedupe_window=self.dedupe_window,
            dedupe_tolerance=self.dedupe_tolerance,
            dedupe_fallback_tolerance=self.dedupe_fallback_tolerance,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
