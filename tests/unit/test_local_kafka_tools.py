"""tools/kafka without a broker: the CLI tool command line, the tools jar in the jar check,
and the retention setting reaching the broker's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.kafka import jars
from tools.kafka.cli import TOOLS, command
from tools.kafka.jars import KafkaSetupError
from tools.kafka.localkafka import LocalKafka, retention_hours


def test_the_local_broker_is_the_default_bootstrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    monkeypatch.delenv("KAFKA_PORT", raising=False)
    cmd = command("consumer-groups", ["--describe", "--group", "g"], lib=lib)
    assert cmd[-6:] == [TOOLS["consumer-groups"], "--bootstrap-server", "127.0.0.1:9092",
                        "--describe", "--group", "g"]
    monkeypatch.setenv("KAFKA_PORT", "19092")
    assert "127.0.0.1:19092" in command("topics", ["--list"], lib=lib)
    given = command("topics", ["--bootstrap-server=b:1", "--list"], lib=lib)
    assert given[-3:] == [TOOLS["topics"], "--bootstrap-server=b:1", "--list"]
    assert f"{lib}/*" in given
    with pytest.raises(KafkaSetupError, match="unknown tool 'console-consumer'"):
        command("console-consumer", [], lib=lib)


def test_a_cache_without_the_tools_jar_is_not_complete(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / jars.DONE_MARK).write_text("done\n")
    (lib / "kafka_2.13-3.9.2.jar").write_bytes(b"")
    assert not jars._complete(lib, "3.9.2")  # resolved before kafka-tools was added
    (lib / "kafka-tools-api-3.9.2.jar").write_bytes(b"")
    assert not jars._complete(lib, "3.9.2")
    (lib / "kafka-tools-3.9.2.jar").write_bytes(b"")
    assert jars._complete(lib, "3.9.2")


def test_retention_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_RETENTION_HOURS", raising=False)
    assert retention_hours() == 168
    broker = LocalKafka(tmp_path, port=1, controller_port=2)
    broker._write_config()
    assert "log.retention.hours=168\n" in broker.config_file.read_text()
    monkeypatch.setenv("KAFKA_RETENTION_HOURS", "2")
    broker._write_config()
    assert "log.retention.hours=2\n" in broker.config_file.read_text()
    monkeypatch.setenv("KAFKA_RETENTION_HOURS", "1d")
    with pytest.raises(KafkaSetupError, match="KAFKA_RETENTION_HOURS='1d'"):
        retention_hours()
