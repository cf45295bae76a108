"""The pure parts of the tools: redrive's choice and time parsing, tail's rendering, the
progress bar and input counting. (The Kafka side is in tests/integration/test_tools.py.)"""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from tests import factories
from worker.commands.redrive import Candidate, choose, parse_time
from worker.commands.render import render_json, render_pretty
from worker.commands.tail import resolve_topic
from worker.errors import ToolError
from worker.pipeline import process_page
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import Article, Rejection, Source
from worker.progress import Progress, count_messages
from worker.settings import Settings

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
TS = int(datetime(2025, 3, 4, 11, 0, tzinfo=UTC).timestamp() * 1000)


def _record(
    value: bytes | None,
    *,
    key: bytes | None = None,
    topic: str = "pages.rejected",
    partition: int = 1,
    offset: int = 9,
    timestamp: int = TS,
) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(
        topic,
        partition,
        offset,
        timestamp,
        0,
        key,
        value,
        None,
        len(key or b""),
        len(value or b""),
        [],
    )


def _rejection(original: bytes, **fields: Any) -> bytes:
    result = process_page(
        original,
        received_at=NOW,
        options=PipelineOptions(),
        source=Source(topic="pages.raw", partition=0, offset=3),
    )
    assert isinstance(result, Rejection)
    data = result.to_dict()
    data.update(fields)
    return orjson.dumps(data)


# --- redrive ------------------------------------------------------------------------------


def test_parse_time_accepts_rfc3339_and_ages() -> None:
    assert parse_time("2025-03-04T09:30:00+01:00") == datetime(2025, 3, 4, 8, 30, tzinfo=UTC)
    assert parse_time("2025-03-04T09:30:00Z") == datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    assert parse_time("2h", now=NOW) == NOW - timedelta(hours=2)
    assert parse_time("30m", now=NOW) == NOW - timedelta(minutes=30)
    assert parse_time("1.5d", now=NOW) == NOW - timedelta(days=1.5)
    assert parse_time("1w", now=NOW) == NOW - timedelta(weeks=1)
    for bad in ("yesterday", "2h ago", "", "12"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_time(bad)


def test_choose_sends_the_utf8_original_keyed_by_url() -> None:
    original = factories.message(status=503)
    value = _rejection(original, rejected_at="2025-03-04T10:00:00Z")
    chosen = choose(_record(value), {"http_error"}, None, None)
    assert chosen == Candidate(
        "http_error", original, factories.raw_page()["url"].encode(), "pages.rejected/1@9"
    )


def test_choose_decodes_base64_originals() -> None:
    original = b"\xff\xfe\x00 binary junk"
    value = _rejection(original)
    assert orjson.loads(value)["original_encoding"] == "base64"
    chosen = choose(_record(value, key=b"input-key"), None, None, None)
    assert isinstance(chosen, Candidate)
    assert chosen.value == original
    assert chosen.key == b"input-key"  # no url anywhere: the rejection's own key


def test_choose_filters_by_reason_and_window() -> None:
    value = _rejection(factories.message(status=404), rejected_at="2025-03-04T10:00:00Z")
    record = _record(value)
    at = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    assert choose(record, {"timeout"}, None, None) is None
    assert choose(record, None, at + timedelta(seconds=1), None) is None
    assert choose(record, None, None, at) is None  # --until is exclusive
    assert isinstance(choose(record, None, at, at + timedelta(seconds=1)), Candidate)


def test_choose_uses_the_message_timestamp_without_rejected_at() -> None:
    value = _rejection(factories.message(status=404), rejected_at=None)
    record = _record(value, timestamp=TS)
    kafka_time = datetime.fromtimestamp(TS / 1000, tz=UTC)
    assert choose(record, None, kafka_time + timedelta(seconds=1), None) is None
    assert isinstance(choose(record, None, kafka_time, None), Candidate)


def test_choose_falls_back_to_the_url_inside_the_original() -> None:
    original = factories.message(url="https://news.example/inner", status=500)
    value = _rejection(original, url=None)
    chosen = choose(_record(value), None, None, None)
    assert isinstance(chosen, Candidate) and chosen.key == b"https://news.example/inner"


def test_choose_reports_unusable_records() -> None:
    assert choose(_record(b"not json"), None, None, None) == "not a rejection record"
    assert choose(_record(b'{"reason": "timeout"}'), None, None, None) == "not a rejection record"
    broken = orjson.dumps({"reason": "timeout", "original": "%%%", "original_encoding": "base64"})
    assert choose(_record(broken), None, None, None) == "original is not valid base64"


# --- tail rendering -----------------------------------------------------------------------


def _article() -> dict[str, Any]:
    result = process_page(factories.message(), received_at=NOW, options=PipelineOptions())
    assert isinstance(result, Article)
    return result.to_dict()


def test_pretty_article_shows_headline_id_version_date_authors_url_first_line() -> None:
    article = _article()
    text = render_pretty(_record(orjson.dumps(article), topic="articles", offset=41))
    lines = text.split("\n")
    assert lines[0] == article["headline"]
    assert f"id {article['id']} v1" in lines[1]
    assert article["published_at"] in lines[1] and "Maria Jensen" in lines[1]
    assert "en" in lines[1] and "articles/1@41" in lines[1]
    assert lines[2].strip() == article["url"]
    assert lines[3].strip().rstrip("…")[:40] == article["body"][:40]
    assert "\n" not in lines[3] and len(lines[3]) <= 130
    assert "update" in render_pretty(_record(orjson.dumps(dict(article, version=2))))


def test_pretty_rejection_and_duplicate() -> None:
    value = _rejection(b"{broken", rejected_at="2025-03-04T10:00:00Z")
    text = render_pretty(_record(value))
    assert text.startswith("rejected invalid_json: ")
    assert "from pages.raw/0@3" in text and "2025-03-04T10:00:00Z" in text
    duplicate = {
        "schema": "duplicate.v1",
        "url": "https://a.example/x?utm=1",
        "duplicate_of": "abc123",
        "version": 2,
        "fetched_at": "2025-03-04T10:00:00Z",
    }
    text = render_pretty(_record(orjson.dumps(duplicate)))
    assert text.startswith("duplicate https://a.example/x?utm=1")
    assert "duplicate of abc123 v2" in text


def test_pretty_other_values_and_colour() -> None:
    assert render_pretty(_record(b"\xff not json", offset=5)).startswith("pages.rejected/1@5 ")
    page = render_pretty(_record(factories.message(), topic="pages.raw"))
    assert page.startswith(factories.raw_page()["url"]) and "chars" in page
    plain = render_pretty(_record(orjson.dumps(_article())))
    coloured = render_pretty(_record(orjson.dumps(_article())), colour=True)
    assert "\x1b[" not in plain and "\x1b[1m" in coloured


def test_render_json_is_one_line_per_message() -> None:
    article = _article()
    pretty_input = orjson.dumps(article, option=orjson.OPT_INDENT_2)
    line = render_json(_record(pretty_input))
    assert "\n" not in line and orjson.loads(line) == article
    assert orjson.loads(render_json(_record(b"plain \xff text"))) == "plain \ufffd text"
    assert render_json(_record(None)) == "null"


def test_resolve_topic_aliases_follow_settings() -> None:
    settings = Settings.model_construct(topic_articles="a2", topic_rejected="r2")
    assert resolve_topic("articles", settings) == "a2"
    assert resolve_topic("rejected", settings) == "r2"
    assert resolve_topic("duplicates", settings) == "articles.duplicates"
    assert resolve_topic("my.topic", settings) == "my.topic"


# --- progress and counting ------------------------------------------------------------------


def test_count_messages_counts_non_blank_lines_and_checks_files(tmp_path: Path) -> None:
    a = tmp_path / "a.jsonl"
    a.write_bytes(b'{"url": 1}\n\n   \n{"url": 2}\n{"url": 3}')
    b = tmp_path / "b.jsonl"
    b.write_bytes(b'{"url": 4}\n')
    assert count_messages([str(a), str(b)]) == 4
    assert count_messages([str(a), "-"]) is None
    warc = tmp_path / "c.warc.gz"
    warc.write_bytes(b"")
    assert count_messages([str(a), str(warc)]) is None
    with pytest.raises(ToolError, match="cannot read .*missing.jsonl"):
        count_messages([str(a), str(tmp_path / "missing.jsonl")])


def test_progress_draws_only_when_enabled() -> None:
    out = io.StringIO()
    bar = Progress(200, enabled=True, stream=out)
    bar.update(50, 0, force=True)
    bar.update(100, 2, force=True)
    bar.close()
    text = out.getvalue()
    assert "50/200" in text and " 25%" in text and "102/200" in text and "failed 2" in text
    assert text.endswith("\n") and text.count("\r") == 2
    silent = io.StringIO()
    off = Progress(200, enabled=False, stream=silent)
    off.update(10, 0, force=True)
    off.close()
    assert silent.getvalue() == ""
    assert Progress(None, enabled=True).render(7, 1).startswith("8 messages")


# --- Kafka client options -------------------------------------------------------------------


def test_client_options_plaintext_and_sasl_ssl(tmp_path: Path) -> None:
    import ssl

    from pydantic import SecretStr

    from worker.errors import ConfigError
    from worker.kafka_client import client_options

    plain = client_options(Settings.model_construct(), "kafka-1:9092")
    assert plain["bootstrap_servers"] == "kafka-1:9092"
    assert plain["security_protocol"] == "PLAINTEXT"
    assert "sasl_plain_password" not in plain and "ssl_context" not in plain

    secure = Settings.model_construct(
        kafka_bootstrap="b1:9093,b2:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="news",
        kafka_sasl_password=SecretStr("pw"),
    )
    options = client_options(secure)
    assert options["bootstrap_servers"] == "b1:9093,b2:9093"
    assert (
        options["sasl_mechanism"],
        options["sasl_plain_username"],
        options["sasl_plain_password"],
    ) == ("SCRAM-SHA-512", "news", "pw")
    assert isinstance(options["ssl_context"], ssl.SSLContext)

    with pytest.raises(ConfigError, match="NEWS_KAFKA_SASL_USERNAME"):
        client_options(Settings.model_construct(kafka_security_protocol="SASL_PLAINTEXT"))
    broken = Settings.model_construct(
        kafka_security_protocol="SSL", kafka_ssl_cafile=str(tmp_path / "missing-ca.pem")
    )
    with pytest.raises(ConfigError, match="cannot load the Kafka TLS files"):
        client_options(broken)
