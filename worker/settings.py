"""The only module that reads the environment: one frozen `Settings` object, built once.

Every setting is `NEWS_<NAME>`; the README's configuration table lists them all, and a test
keeps that table and this class in step. `get_settings()` turns a bad value into one
`ConfigError` line naming the variable, the value and what it accepts (the CLI prints it and
exits 2). Choices are accepted in any case (`NEWS_LOG_LEVEL=debug`); durations as ISO 8601
(`PT6H`, `P7D`), plain seconds (`21600`) or `30s`, `30m`, `6h`, `7d`, `1w`.
"""

from __future__ import annotations

import os
import re
import typing
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

import annotated_types
from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.errors import ConfigError
from worker.pipeline.options import PipelineOptions

DURATION_FORMS = "ISO 8601 (PT6H, P7D), seconds (21600), or 30s, 30m, 6h, 7d, 1w"
_UNIT = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_SECONDS = re.compile(r"^\d+(?:\.\d+)?$")
_NUMBER = r"(\d+(?:\.\d+)?)"
# ISO 8601 durations without years and months (their length depends on the calendar).
_ISO = re.compile(
    rf"^P(?:{_NUMBER}W)?(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?$",
    re.IGNORECASE,
)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """A duration from ISO 8601 (`PT6H`), seconds (`21600`, `2.5`) or `30m`/`6h`/`7d`/`1w`."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    text = str(value).strip()
    if _SECONDS.match(text):
        return timedelta(seconds=float(text))
    unit = _UNIT.match(text)
    if unit:
        return timedelta(seconds=float(unit.group(1)) * _UNITS[unit.group(2)])
    iso = _ISO.match(text)
    if iso and text.upper() not in ("P", "PT") and not text.upper().endswith("T"):
        weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in iso.groups())
        return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    raise ValueError(f"not a duration: {text[:80]!r}")


def _seconds(value: object) -> object:
    """Seconds for a float setting: a number, or any duration form (`30s`, `PT10S`)."""
    if isinstance(value, str) and not _SECONDS.match(value.strip()):
        try:
            return parse_duration(value).total_seconds()
        except ValueError:
            return value  # pydantic refuses it, and the error names the forms
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
_AS_SECONDS = BeforeValidator(_seconds)
Seconds = Annotated[float, _AS_SECONDS]


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
        "(unset: replication - 1, at least 1; at most the replication); an existing topic "
        "the worker writes with less stops it at start-up.",
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
    page_timeout: Seconds = Field(
        default=10.0, gt=0,
        description="Seconds of CPU one page may take before it is rejected (timeout).",
    )
    min_body_words: int = Field(
        default=40, ge=1, description="Shorter bodies are rejected as no_article."
    )
    identity_horizon: Duration = Field(
        default=timedelta(days=90),
        description="How long a URL keeps its story id and latest version after it was last "
        "seen (a duration; a URL coming back within it never starts again at version 1).",
    )
    dedupe_window: Duration = Field(
        default=timedelta(days=7),
        description="How long a story stays matchable from other URLs by headline or body "
        "(data time; a duration: P7D, 7d, 604800).",
    )
    dedupe_tolerance: Duration = Field(
        default=timedelta(hours=6),
        description="Another URL with the same headline (or body key) and a near-identical "
        "body, declared times this close: one story.",
    )
    dedupe_fallback_tolerance: Duration = Field(
        default=timedelta(hours=18),
        description="The same, when a page declares no time: fetch times this close.",
    )
    extract_processes: int = Field(
        default=1,
        ge=0,
        description="Extraction processes per worker (0 = in the worker's thread pool).",
    )
    dedupe_sweep_interval: Seconds = Field(
        default=600.0,
        gt=0,
        description="Seconds between expiry sweeps of the identity state (each runs in "
        "slices of at most 20 ms of event-loop time).",
    )
    blocking_timeout: Seconds = Field(
        default=1.0,
        ge=0,
        description="Faust logs a traceback when the event loop blocks this long (0 = off).",
    )
    buffer_mb: int = Field(
        default=64,
        ge=1,
        description="MB of input records each stream holds in memory (at most 64 records) "
        "before fetching pauses.",
    )
    extract_max_pages: int = Field(
        default=1000,
        ge=0,
        description="Pages an extraction process handles before it is replaced (0 = never).",
    )
    extract_max_rss_mb: int = Field(
        default=400,
        ge=0,
        description="An extraction process left above this many MB resident by a page is "
        "replaced (0 = never).",
    )
    stall_timeout: Seconds = Field(
        default=60.0,
        gt=0,
        description="/readyz is 503 when an input partition with lag has not moved, or a "
        "send has waited for the broker, this long.",
    )
    commit_interval: Seconds = Field(
        default=1.0,
        gt=0,
        description="Seconds between commits of processed input offsets (a rebalance or a "
        "stop commits at once); what a kill -9 makes the next owner process again.",
    )
    routing_attempts: int = Field(
        default=3,
        ge=1,
        description="Attempts to route one record before it is rejected as internal_error.",
    )
    producer_timeout: Seconds = Field(
        default=30.0,
        gt=0,
        description="Seconds one produce request may take; unacknowledged records are sent "
        "again until the broker has them.",
    )

    # --- Runtime -------------------------------------------------------------------------
    store: Literal["rocksdb", "memory"] = Field(
        default="rocksdb",
        description="Identity table store: rocksdb (rocksdict) or memory (tests only).",
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

    @field_validator("*", mode="before")
    @classmethod
    def _choice_in_any_case(cls, value: Any, info: Any) -> Any:
        """`debug` is DEBUG: a choice is matched without regard to case."""
        field = cls.model_fields.get(info.field_name)
        if isinstance(value, str) and field is not None:
            for choice in _choices(field):
                if choice.lower() == value.strip().lower():
                    return choice
        return value

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
            identity_horizon=self.identity_horizon,
            dedupe_tolerance=self.dedupe_tolerance,
            dedupe_fallback_tolerance=self.dedupe_fallback_tolerance,
        )


def _choices(field: FieldInfo) -> list[str]:
    if typing.get_origin(field.annotation) is Literal:
        return [str(v) for v in typing.get_args(field.annotation)]
    return []


def accepted_forms(field: FieldInfo) -> str:
    """What a setting accepts, in words: `one of DEBUG, INFO, ...`, `a whole number >= 1`."""
    choices = _choices(field)
    if choices:
        return "one of " + ", ".join(choices) + " (any case)"
    kinds = [a for a in typing.get_args(field.annotation) if a is not type(None)]
    kind = kinds[0] if kinds else field.annotation
    bounds = []
    for item in field.metadata:
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if isinstance(item, getattr(annotated_types, attr.capitalize())):
                bounds.append(f"{sign} {getattr(item, attr)}")
    limit = (" " + " and ".join(bounds)) if bounds else ""
    if kind is timedelta:
        return "a duration: " + DURATION_FORMS
    if _AS_SECONDS in field.metadata:
        return f"a number of seconds{limit} (or a duration: 30s, PT10S, 2m)"
    if kind is int:
        return f"a whole number{limit}"
    if kind is float:
        return f"a number{limit}"
    return "a string"


def describe_error(exc: ValidationError) -> str:
    """One line for every bad setting: `NEWS_X='value' is not valid: expected ...`."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    parts = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        field = Settings.model_fields.get(name)
        if field is None:  # a check across settings: its message says it all
            parts.append(str(error["msg"]).removeprefix("Value error, "))
            continue
        variable = f"{prefix}{name}".upper()
        # The value as written in the environment (validators may have converted it).
        raw = os.environ.get(variable, error.get("input"))
        shown = "(hidden)" if field.annotation in (SecretStr, SecretStr | None) else (
            repr(str(raw)[:100]))
        parts.append(f"{variable}={shown} is not valid: expected {accepted_forms(field)}")
    return "; ".join(parts)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use.

    Raises ConfigError (one line) when a variable has a value the setting does not accept.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(describe_error(exc)) from None
