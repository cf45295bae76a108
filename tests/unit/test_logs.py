"""Logging: JSON lines in production, readable on a terminal, no bodies, no secrets."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest
from pydantic import SecretStr

from worker.logs import (
    MASK,
    MAX_MESSAGE,
    LibraryNoise,
    RepeatLimiter,
    configure_logging,
    fields,
    use_json,
)
from worker.settings import Settings


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_root() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.captureWarnings(False)


def _settings(**overrides: object) -> Settings:
    # model_construct: the defaults plus overrides, without reading the real environment.
    return Settings.model_construct(**overrides)


def _lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line]


def test_json_line_carries_the_documented_fields() -> None:
    out = io.StringIO()
    configure_logging(_settings(log_format="json"), out)
    logging.getLogger("worker.stream.agents").info(
        "page rejected: %s",
        "no_article",
        extra=fields(
            "page.rejected",
            page_id="p-1",
            url="https://news.example/a",
            topic="pages.raw",
            partition=2,
            offset=17,
            duration=0.0123456,
        ),
    )
    [line] = _lines(out)
    record = orjson.loads(line)
    assert record["level"] == "info"
    assert record["event"] == "page.rejected"
    assert record["message"] == "page rejected: no_article"
    assert record["logger"] == "worker.stream.agents"
    assert (record["page_id"], record["url"], record["topic"]) == (
        "p-1",
        "https://news.example/a",
        "pages.raw",
    )
    assert (record["partition"], record["offset"], record["duration"]) == (2, 17, 0.0123)
    assert record["ts"].endswith("Z")


def test_event_defaults_to_the_formatted_message() -> None:
    """Reported: `event` held the template ("created topics: %s"), which says nothing."""
    out = io.StringIO()
    configure_logging(_settings(log_format="json"), out)
    logging.getLogger("x").warning("lag %s on %s", 120, "pages.raw")
    logging.getLogger("x").warning("long %s", "y" * 500)
    first, second = (orjson.loads(line) for line in _lines(out))
    assert first["event"] == first["message"] == "lag 120 on pages.raw"
    assert second["event"].startswith("long yyy") and len(second["event"]) < 230


def _record(name: str, level: int, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_library_start_up_chatter_is_debug_and_our_lines_stay() -> None:
    noise = LibraryNoise(logging.INFO)
    coordinator = "aiokafka.consumer.group_coordinator"
    chatter = [
        _record("faust.worker", logging.INFO, "[^Worker]: Starting..."),
        _record("mode.supervisors", logging.INFO, "[^--Supervisor: (1@0x7f)]: Starting..."),
        _record("worker.stream.consumer", logging.INFO, "[^--InputConsumer]: Stopping..."),
        _record("faust.transport.producer", logging.INFO, "[^--Producer]: Creating %r", "x"),
        _record(coordinator, logging.INFO, "(Re-)joining group %s", "g"),
        _record("faust.tables.recovery", logging.INFO, "[^---Recovery]: Resuming flow..."),
    ]
    kept = [
        _record(coordinator, logging.INFO,
                "Setting newly assigned partitions %s for group %s", "{...}", "g"),
        _record(coordinator, logging.INFO, "LeaveGroup request succeeded"),
        _record("faust.tables.recovery", logging.INFO,
                "[^---Recovery]: Still fetching changelog topics for recovery, estimated ..."),
        _record("worker.stream.topics", logging.INFO, "created topics: %s", "a, b"),
        _record("faust.worker", logging.WARNING, "[^Worker]: something is wrong"),
    ]
    for record in chatter:
        assert not noise.filter(record) and record.levelname == "DEBUG", record.msg
    for record in kept:
        level = record.levelno
        assert noise.filter(record) and record.levelno == level, record.msg
    # At DEBUG everything is shown.
    starting = _record("faust.worker", logging.INFO, "[^W]: Starting...")
    assert LibraryNoise(logging.DEBUG).filter(starting)


def test_a_transient_coordinator_error_is_debug_until_it_lasts() -> None:
    now = [0.0]
    noise = LibraryNoise(logging.INFO, grace=30.0, clock=lambda: now[0])
    error = "Group Coordinator Request failed: [Error 15] CoordinatorNotAvailableError"

    def coordinator() -> logging.LogRecord:
        return _record("aiokafka.consumer.group_coordinator", logging.ERROR, "%s", error)

    first = coordinator()
    assert not noise.filter(first) and first.levelname == "DEBUG"  # a cold start: normal
    now[0] = 20.0
    assert not noise.filter(coordinator())
    now[0] = 31.0  # still failing after the grace period: now it is news
    late = coordinator()
    assert noise.filter(late) and late.levelname == "WARNING"
    now[0] = 200.0  # a new episode after a quiet while starts at DEBUG again
    assert not noise.filter(coordinator())
    other = _record("aiokafka.conn", logging.ERROR, "Unable connect to %s", "b:1")
    assert noise.filter(other) and other.levelname == "ERROR"


def test_page_bodies_never_reach_the_log() -> None:
    out = io.StringIO()
    configure_logging(_settings(log_format="json"), out)
    body = "The council voted on Tuesday to approve the harbour budget. " * 200
    logging.getLogger("x").info(
        "extracted",
        extra=fields(
            "page.extracted", page_id="p", body=body, html=body, original=body.encode(), text=body
        ),
    )
    logging.getLogger("x").info("echo %s", body)
    first, second = (orjson.loads(line) for line in _lines(out))
    assert not {"body", "html", "original", "text"} & set(first)
    assert first["page_id"] == "p"
    assert len(second["message"]) < MAX_MESSAGE + 40
    assert body not in out.getvalue()


def test_secrets_are_masked_in_messages_fields_and_tracebacks() -> None:
    out = io.StringIO()
    secret = "s3cr3t-pa55word"  # noqa: S105 - a made-up secret the log must mask
    configure_logging(_settings(log_format="json", kafka_sasl_password=SecretStr(secret)), out)
    log = logging.getLogger("x")
    log.info("connecting with %s", secret, extra=fields("connect", detail=f"pw={secret}"))
    try:
        raise RuntimeError(f"SASL authentication failed for password {secret}")
    except RuntimeError:
        log.exception("broker refused us")
    text = out.getvalue()
    assert secret not in text
    records = [orjson.loads(line) for line in _lines(out)]
    assert records[0]["message"] == f"connecting with {MASK}"
    assert records[0]["detail"] == f"pw={MASK}"
    assert records[1]["error"] == f"RuntimeError: SASL authentication failed for password {MASK}"
    assert "Traceback" in records[1]["traceback"]


def test_console_format_is_one_readable_line() -> None:
    out = io.StringIO()
    configure_logging(_settings(log_format="console"), out)
    logging.getLogger("x").info(
        "page rejected", extra=fields("page.rejected", page_id="p-1", offset=3, duration=0.5)
    )
    [line] = _lines(out)
    assert not line.startswith("{")
    assert "INFO" in line and "page rejected" in line
    assert "page_id=p-1" in line and "offset=3" in line and "duration=0.5s" in line


def test_auto_is_console_on_a_terminal_and_json_elsewhere() -> None:
    settings = _settings(log_format="auto")
    assert use_json(settings, io.StringIO())
    assert not use_json(settings, _Tty())
    assert use_json(_settings(log_format="json"), _Tty())
    assert not use_json(_settings(log_format="console"), io.StringIO())


def test_level_from_settings_filters_and_warnings_are_logged() -> None:
    out = io.StringIO()
    configure_logging(_settings(log_format="json", log_level="WARNING"), out)
    logging.getLogger("x").info("hidden")
    logging.getLogger("x").warning("shown")
    import warnings

    warnings.warn("a library complains", UserWarning, stacklevel=1)
    messages = [orjson.loads(line)["message"] for line in _lines(out)]
    assert messages[0] == "shown"
    assert "a library complains" in messages[1]
    assert len(messages) == 2


def test_configure_replaces_existing_handlers() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(_settings(log_format="json"), first)
    configure_logging(_settings(log_format="json"), second)
    logging.getLogger("x").error("once")
    assert first.getvalue() == ""
    assert len(_lines(second)) == 1


def test_kafka_client_repeats_are_limited_and_counted() -> None:
    clock = [100.0]
    limiter = RepeatLimiter(burst=2, window=10.0, clock=lambda: clock[0])

    def record(name: str = "aiokafka") -> logging.LogRecord:
        return logging.makeLogRecord({"name": name, "msg": "Unable connect to node %s",
                                      "args": (1,)})

    assert [limiter.filter(record()) for _ in range(5)] == [True, True, False, False, False]
    assert all(limiter.filter(record("worker.stream.agents")) for _ in range(5))  # ours: never
    clock[0] += 10.0
    first = record()
    assert limiter.filter(first) and first.suppressed == 3  # type: ignore[attr-defined]
