"""A dependency-free Kafka Metadata request: is the broker up and serving clients?

Metadata v4 is the oldest version both Kafka 3.x and 4.x accept (Kafka 4 removed v0-v3,
KIP-896) and the newest without the "flexible" encoding, so a few `struct` calls suffice.
A broker lists itself in the response only once it is registered and unfenced, which is
exactly when producers and consumers can use it. Standard library only, so `make kafka-up`
works before the virtualenv exists.
"""

from __future__ import annotations

import socket
import struct

_METADATA = 3
_VERSION = 4
_CORRELATION_ID = 0x4E57


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks.extend(chunk)
    return bytes(chunks)


def metadata_brokers(host: str, port: int, timeout: float = 2.0) -> list[tuple[int, str, int]]:
    """Send Metadata v4 (no topics) and return the live brokers as (node_id, host, port)."""
    client_id = b"localkafka-probe"
    header = struct.pack(">hhih", _METADATA, _VERSION, _CORRELATION_ID, len(client_id)) + client_id
    body = struct.pack(">ib", 0, 0)  # an empty topic list; allow_auto_topic_creation=false
    request = header + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        payload = _recv_exact(sock, size)
    correlation_id, _throttle_ms, count = struct.unpack_from(">iii", payload, 0)
    if correlation_id != _CORRELATION_ID:
        raise ConnectionError(f"unexpected correlation id {correlation_id}")
    offset = 12
    brokers = []
    for _ in range(count):
        node_id, host_len = struct.unpack_from(">ih", payload, offset)
        offset += 6
        broker_host = payload[offset : offset + host_len].decode()
        offset += host_len
        broker_port, rack_len = struct.unpack_from(">ih", payload, offset)
        offset += 6 + max(rack_len, 0)
        brokers.append((node_id, broker_host, broker_port))
    return brokers


def port_in_use(host: str, port: int) -> bool:
    """True when something already accepts connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS considers free right now (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
