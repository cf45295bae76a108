"""tools/kafka without a broker: the CLI tool command line, the tools jar in the jar check,
the retention setting reaching the broker's config, the ports a broker is given, and what a
failed start-up says."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tools.kafka import jars, probe
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


def _outside_ephemeral(port: int) -> bool:
    low, high = probe.ephemeral_range()
    return not low <= port <= high


def test_brokers_listen_outside_the_range_the_kernel_gives_outgoing_connections() -> None:
    # A port in that range can be any client's local port by the time the broker binds it,
    # invisible to a connect probe: the cause of a 3-node start-up failing in CI.
    ports = [probe.free_port() for _ in range(50)]
    assert all(_outside_ephemeral(p) for p in ports), ports
    base = probe.free_run(6)
    assert all(_outside_ephemeral(base + i) for i in range(6))
    for port in range(base, base + 6):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # free, as promised


def test_a_failed_start_up_names_its_cause_not_only_the_shutdown_after_it(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path, port=1, controller_port=2)
    shutdown = [f"[t] INFO [Reaper-{i}]: Shutdown completed (kafka.server.X)" for i in range(40)]
    broker.log_file.write_text("\n".join([
        "=== localkafka: starting Kafka 3.9.2 on 127.0.0.1:1",
        "[t] ERROR an old start's error (kafka.Kafka$)",
        "=== localkafka: starting Kafka 3.9.2 on 127.0.0.1:1",
        "[t] INFO starting (kafka.server.KafkaRaftServer)",
        "[t] ERROR Unable to start acceptor for ListenerName(PLAINTEXT) (kafka.network.Acceptor)",
        "org.apache.kafka.common.KafkaException: Socket server failed to bind to "
        "127.0.0.1:1: Address already in use.",
        "\tat kafka.network.Acceptor.openServerSocket(SocketServer.scala:751)",
        "Caused by: java.net.BindException: Address already in use",
        *shutdown,
    ]) + "\n")
    assert broker.start_errors() == [
        "[t] ERROR Unable to start acceptor for ListenerName(PLAINTEXT) (kafka.network.Acceptor)",
        "org.apache.kafka.common.KafkaException: Socket server failed to bind to "
        "127.0.0.1:1: Address already in use.",
    ]
    assert "Address already in use" not in broker.log_tail()  # what CI showed: nothing useful
    message = broker._start_failure()
    assert message.startswith("[t] ERROR Unable to start acceptor")
    assert message.endswith(shutdown[-1])
