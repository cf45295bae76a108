"""Settings from the environment: a bad value is one line naming the variable, the value and
what it accepts, exit 2, for every subcommand through the real entry point; choices in any
case; durations as ISO 8601, seconds or 30m/6h/7d/1w, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from worker.cli import COMMANDS
from worker.errors import ConfigError
from worker.settings import DURATION_FORMS, Settings, get_settings, parse_duration

REPO = Path(__file__).resolve().parents[2]
HTML = REPO / "examples" / "northfield_wire.html"
PAGES = REPO / "examples" / "pages.jsonl"


def news_worker(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The installed `news-worker` console script (what a user runs), else `-m worker`."""
    script = Path(sys.executable).with_name("news-worker")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "worker"]
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")}
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=60,
                          env={**base, **env}, check=False, cwd=REPO)


# The reported values, one per subcommand: every subcommand refuses them the same way.
BAD = {
    "worker": ("NEWS_LOG_LEVEL", "verbose", "one of DEBUG, INFO, WARNING, ERROR (any case)"),
    "process": ("NEWS_STORE", "redis", "one of rocksdb, memory (any case)"),
    "extract": ("NEWS_TOPIC_PARTITIONS", "zero", "a whole number >= 1"),
    "replay": ("NEWS_PROCESSING_GUARANTEE", "exactly_once", "one of at_least_once (any case)"),
    "tail": ("NEWS_DEDUPE_TOLERANCE", "7days", "a duration: " + DURATION_FORMS),
    "redrive": ("NEWS_PAGE_TIMEOUT", "fast",
                "a number of seconds > 0 (or a duration: 30s, PT10S, 2m)"),
    "migrate": ("NEWS_IDENTITY_HORIZON", "forever", "a duration: " + DURATION_FORMS),
}
ARGS = {"worker": [], "process": [str(PAGES), "--out", os.devnull], "extract": [str(HTML)],
        "replay": [str(PAGES)], "tail": [], "redrive": ["--dry-run"], "migrate": ["--dry-run"]}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_setting_is_one_line_and_exit_2_for_every_subcommand(command: str) -> None:
    variable, value, accepted = BAD[command]
    result = news_worker(command, *ARGS[command], env={variable: value})
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"news-worker {command}: {variable}={value!r} is not valid: expected {accepted}"
    ]
    assert result.stdout == ""


def test_lower_case_level_and_plain_seconds_are_accepted_through_the_cli() -> None:
    result = news_worker(
        "extract", str(HTML), "--url", "https://northfieldpost.example/a",
        env={"NEWS_LOG_LEVEL": "debug", "NEWS_DEDUPE_TOLERANCE": "21600",
             "NEWS_DEDUPE_WINDOW": "1w", "NEWS_STORE": "Memory"},
    )
    assert result.returncode == 0, result.stderr
    assert '"schema": "article.v1"' in result.stdout


def test_several_bad_settings_share_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWS_STORE", "redis")
    monkeypatch.setenv("NEWS_WEB_PORT", "70000")
    with pytest.raises(ConfigError) as caught:
        get_settings()
    assert str(caught.value) == (
        "NEWS_STORE='redis' is not valid: expected one of rocksdb, memory (any case); "
        "NEWS_WEB_PORT='70000' is not valid: expected a whole number >= 0 and <= 65535"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT6H", timedelta(hours=6)), ("P7D", timedelta(days=7)), ("p1w", timedelta(weeks=1)),
        ("P1DT12H", timedelta(days=1, hours=12)), ("PT1M30S", timedelta(seconds=90)),
        ("PT0.5S", timedelta(seconds=0.5)), ("21600", timedelta(hours=6)),
        ("2.5", timedelta(seconds=2.5)), ("30s", timedelta(seconds=30)),
        ("30m", timedelta(minutes=30)), ("6h", timedelta(hours=6)), ("7d", timedelta(days=7)),
        ("1w", timedelta(weeks=1)), ("1.5d", timedelta(hours=36)), (" 6h ", timedelta(hours=6)),
    ],
)
def test_durations_accept_iso_seconds_and_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["7days", "6 hours", "6H", "1y", "P1M", "P1Y", "P", "PT", "P1DT", "-6h", "-21600",
     "06:00:00", "1 day, 0:00:00", "", "h", "6hh", "PT6H30", "nan", "inf"],
)
def test_other_duration_forms_are_refused(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)
    monkeypatch.setenv("NEWS_DEDUPE_WINDOW", text)
    with pytest.raises(ConfigError, match=r"^NEWS_DEDUPE_WINDOW=.* expected a duration: ISO"):
        get_settings()


def test_choices_in_any_case_become_the_canonical_value(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("NEWS_LOG_LEVEL", "warning"), ("NEWS_STORE", "MEMORY"),
                        ("NEWS_KAFKA_SECURITY_PROTOCOL", "sasl_ssl"),
                        ("NEWS_LOG_FORMAT", " Json ")):
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert (settings.log_level, settings.store, settings.kafka_security_protocol,
            settings.log_format) == ("WARNING", "memory", "SASL_SSL", "json")


def test_seconds_settings_take_durations_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWS_PAGE_TIMEOUT", "PT15S")
    monkeypatch.setenv("NEWS_DEDUPE_SWEEP_INTERVAL", "10m")
    monkeypatch.setenv("NEWS_BLOCKING_TIMEOUT", "0")
    settings = Settings()
    assert (settings.page_timeout, settings.dedupe_sweep_interval,
            settings.blocking_timeout) == (15.0, 600.0, 0.0)
    monkeypatch.setenv("NEWS_PAGE_TIMEOUT", "0s")
    with pytest.raises(ConfigError, match=r"^NEWS_PAGE_TIMEOUT='0s' is not valid"):
        get_settings()


def test_a_secret_value_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from worker.settings import describe_error

    with pytest.raises(ValidationError) as caught:
        Settings(kafka_sasl_password=["not", "a", "string"])  # type: ignore[arg-type]
    assert describe_error(caught.value) == (
        "NEWS_KAFKA_SASL_PASSWORD=(hidden) is not valid: expected a string")
