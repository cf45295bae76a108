"""A local broker that cannot start says why, in its error's first lines (real Kafka)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tools.kafka import probe
from tools.kafka.jars import KafkaSetupError
from tools.kafka.localkafka import LocalKafka

pytestmark = pytest.mark.integration


def test_a_port_held_by_an_outgoing_connection_fails_the_start_with_the_bind_error(
    tmp_path: Path,
) -> None:
    # The CI failure's mechanism: a connected socket's local port answers no connect probe,
    # yet the broker cannot bind it.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            held = client.getsockname()[1]
            assert not probe.port_in_use("127.0.0.1", held)
            broker = LocalKafka(tmp_path / "kafka", port=held,
                                controller_port=probe.free_port(), die_with_parent=True)
            with pytest.raises(KafkaSetupError) as failed:
                broker.start(timeout=120)
    assert broker.pid is None
    first_lines = str(failed.value).splitlines()[:4]
    assert any(f"failed to bind to 127.0.0.1:{held}: Address already in use" in line
               for line in first_lines), first_lines
