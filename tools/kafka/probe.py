"""A dependency-free Kafka Metadata request: is the broker up and serving clients?

Metadata v4 is the oldest version both Kafka 3.x and 4.x accept (Kafka 4 removed v0-v3,
KIP-896) and the newest without the "flexible" encoding, so a few `struct` calls suffice.
A broker lists itself in the response only once it is registered and unfenced, which is
exactly when producers and consumers can use it. Standard library only, so `make kafka-up`
works before the virtualenv exists.
"""

from __future__ import annotations

import random
import socket
import struct
from pathlib import Path

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


# Listening ports are picked below the kernel's ephemeral range. A port in that range may be
# handed to any outgoing connection (the brokers' own, every client's) between our check and
# the broker's bind; a connected socket's local port answers no connect, so `port_in_use`
# cannot see it, yet it makes the bind fail with "Address already in use". Below the range a
# port is only taken by a process that binds it on purpose, as we do.
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LINUX_EPHEMERAL = (32768, 60999)
_LOWEST = 10000  # under this: well-known and registered services


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux's default if unknown)."""
    try:
        low, high = (int(n) for n in _EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        return _LINUX_EPHEMERAL
    return low, high


def _listen_band() -> range | None:
    """The ports we pick from: below the ephemeral range, else above it, else none."""
    low, high = ephemeral_range()
    if low - _LOWEST >= 1000:
        return range(_LOWEST, low)
    if 65535 - high >= 1000:
        return range(high + 1, 65536)
    return None


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_run(count: int, host: str = "127.0.0.1") -> int:
    """The first of `count` consecutive ports free right now, outside the ephemeral range.

    Another process may still take one before it is bound; with random picks from a band
    of some 20,000 ports, that is another test that picked the same ones.
    """
    band = _listen_band()
    if band is not None:
        for _ in range(200):
            base = random.randrange(band.start, band.stop - count)  # noqa: S311 -- not crypto
            if all(_bindable(host, base + i) for i in range(count)):
                return base
    if count == 1:  # no band (an unusual port range): the kernel's pick
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
            return port
    raise OSError(f"no {count} consecutive free ports on {host}")


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now, outside the ephemeral range (another process may still take it)."""
    return free_run(1, host)
