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
from worker.commands.redrive import Outgoing, outgoing, parse_time
from worker.commands.rejections import Chains, Filters, Stored, plan, read_rejection
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


def _read(value: bytes, **kwargs: Any) -> Stored:
    item = read_rejection(_record(value, **kwargs))
    assert isinstance(item, Stored), item
    return item


def _send(item: Stored, filters: Filters | None = None, *others: Stored) -> Outgoing | str:
    """What redrive does with `item` among `others`: the Outgoing message or the skip."""
    chains = Chains()
    for one in (item, *others):
        chains.add(one)
    verdict = plan(item, filters or Filters(), chains)
    return verdict if verdict is not None else outgoing(item, None)


def _v2(original: bytes, **fields: Any) -> bytes:
    """A rejection.v2 record as the worker writes it, from a message with key and headers."""
    result = process_page(
        original, received_at=NOW, options=PipelineOptions(),
        source=Source(topic="pages.raw", partition=0, offset=3),
    )
    assert isinstance(result, Rejection)
    headers = fields.pop("headers", [("crawler", b"fleet-7"), ("trace", b"\xff\x00")])
    stamped = result.with_message(fields.pop("key", b"crawler-key"), headers, TS / 1000)
    data = stamped.to_dict()
    data.update(fields)
    return orjson.dumps(data)


def test_v2_original_goes_back_with_its_key_headers_and_timestamp() -> None:
    original = factories.message(status=503)
    message = _send(_read(_v2(original)))
    assert isinstance(message, Outgoing)
    assert message.value == original
    assert message.key == b"crawler-key"  # the original key, not the URL
    assert message.timestamp_ms == TS
    assert message.headers == (
        ("crawler", b"fleet-7"), ("trace", b"\xff\x00"),
        ("news-redrive-of", b"pages.rejected/1@9"), ("news-redrive-origin", b"pages.raw/0@3"),
    )


def test_v2_keeps_a_missing_key_missing() -> None:
    message = _send(_read(_v2(factories.message(status=503), key=None)))
    assert isinstance(message, Outgoing) and message.key is None


def test_v1_original_is_keyed_by_its_url_without_headers() -> None:
    original = factories.message(status=503)
    item = _read(_rejection(original, schema="rejection.v1", rejected_at="2025-03-04T10:00:00Z"))
    message = _send(item)
    assert isinstance(message, Outgoing)
    assert (message.value, message.key, message.timestamp_ms) == (
        original, factories.raw_page()["url"].encode(), None)
    assert [name for name, _ in message.headers] == ["news-redrive-of", "news-redrive-origin"]


def test_base64_originals_are_decoded() -> None:
    original = b"\xff\xfe\x00 binary junk"
    value = _v2(original)
    assert orjson.loads(value)["original_encoding"] == "base64"
    message = _send(_read(value))
    assert isinstance(message, Outgoing) and message.value == original


def test_filters_by_reason_and_window() -> None:
    item = _read(_v2(factories.message(status=404), rejected_at="2025-03-04T10:00:00Z"))
    at = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    assert _send(item, Filters(reasons={"timeout"})) == "filtered"
    assert _send(item, Filters(since=at + timedelta(seconds=1))) == "filtered"
    assert _send(item, Filters(until=at)) == "filtered"  # --until is exclusive
    assert isinstance(_send(item, Filters(since=at, until=at + timedelta(seconds=1))), Outgoing)


def test_the_message_timestamp_stands_in_for_a_missing_rejected_at() -> None:
    item = _read(_v2(factories.message(status=404), rejected_at=None), timestamp=TS)
    kafka_time = datetime.fromtimestamp(TS / 1000, tz=UTC)
    assert _send(item, Filters(since=kafka_time + timedelta(seconds=1))) == "filtered"
    assert isinstance(_send(item, Filters(since=kafka_time)), Outgoing)


def test_a_redriven_copy_rejected_again_supersedes_the_first_rejection() -> None:
    page = factories.message(status=503)
    first = _read(_v2(page, rejected_at="2025-03-04T10:00:00Z"), offset=9)
    again = _read(_v2(page, rejected_at="2025-03-04T11:00:00Z", headers=[
        ("crawler", b"fleet-7"), ("news-redrive-of", b"pages.rejected/1@9"),
        ("news-redrive-origin", b"pages.raw/0@3")]), offset=20)
    assert again.redrive_of == "pages.rejected/1@9" and again.origin == first.origin
    assert _send(first, None, again) == "superseded"
    assert _send(again, None, first) == "redriven"  # skipped unless asked
    message = _send(again, Filters(again=True), first)
    assert isinstance(message, Outgoing)
    assert message.headers[-2:] == (
        ("news-redrive-of", b"pages.rejected/1@20"), ("news-redrive-origin", b"pages.raw/0@3"))
    assert [n for n, _ in message.headers].count("news-redrive-of") == 1


def test_a_redelivered_rejection_is_sent_once() -> None:
    page = factories.message(status=503)
    one = _read(_v2(page, rejected_at="2025-03-04T10:00:00Z"), offset=9)
    two = _read(_v2(page, rejected_at="2025-03-04T10:00:00Z"), offset=10)  # crash replay
    assert _send(one, None, two) == "superseded"
    assert isinstance(_send(two, None, one), Outgoing)


def test_originals_over_the_page_limit_are_skipped() -> None:
    item = _read(_v2(factories.message(status=503)))
    assert _send(item, Filters(max_bytes=item.size - 1)) == "too_large"
    assert isinstance(_send(item, Filters(max_bytes=item.size)), Outgoing)


def test_an_omitted_original_is_incomplete_and_keeps_its_source() -> None:
    full = orjson.loads(_v2(factories.message(status=503)))
    value = orjson.dumps(dict(full, original=None, original_encoding=None,
                              original_omitted="size"))
    item = _read(value)
    assert not item.complete and item.value is None
    assert item.source == ("pages.raw", 0, 3) and item.size > 0


def test_unusable_records_say_why() -> None:
    assert read_rejection(_record(b"not json")) == "not a rejection record"
    assert read_rejection(_record(b'{"reason": "timeout"}')) == "not a rejection record"
    broken = orjson.dumps({"reason": "timeout", "original": "%%%", "original_encoding": "base64"})
    assert "not valid base64" in str(read_rejection(_record(broken)))
    assert read_rejection(_record(orjson.dumps(
        {"schema": "rejection.v9", "reason": "x", "original": "y"}))) == (
        "unknown schema 'rejection.v9'")
    omitted = orjson.dumps({"schema": "rejection.v2", "reason": "too_large", "original": None,
                            "original_omitted": "size", "source": {"file": "a.jsonl"}})
    assert read_rejection(_record(omitted)) == (
        "original omitted and no source position to fetch it from")


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


def test_pretty_rejection_of_v1_v2_redriven_and_omitted() -> None:
    v1 = _rejection(b"{broken", schema="rejection.v1", rejected_at="2025-03-04T10:00:00Z")
    assert render_pretty(_record(v1)).startswith("rejected invalid_json: ")
    copy = _v2(factories.message(status=503), headers=[
        ("news-redrive-of", b"pages.rejected/1@4"), ("news-redrive-origin", b"pages.raw/0@3")])
    assert "redriven copy of pages.rejected/1@4" in render_pretty(_record(copy))
    omitted = orjson.loads(_v2(factories.message(status=503)))
    omitted.update(original=None, original_encoding=None, original_omitted="size")
    text = render_pretty(_record(orjson.dumps(omitted)))
    assert "original omitted (size): redrive reads it from the source" in text


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
