"""A network namespace joined to this one by a veth pair, to cut a process off the network.

    link = NetnsLink.create()       # ip netns add + a veth pair, 10.231.N.1 here, .2 there
    subprocess.Popen([*link.wrap, "python", ...])   # runs inside; reaches link.host_ip
    link.cut(); link.heal()          # the veth goes down (packets dropped, not refused) / up
    link.remove()                    # the veth and the namespace, whatever happened

Needs root and iproute2 (`ip`): CI runs as root. A Kafka cluster the process inside should
reach must listen on `link.host_ip` (LocalCluster(host=...)), since the namespace has its own
loopback. Names carry this process's PID, so concurrent sessions do not collide.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from dataclasses import dataclass

_COUNTER = itertools.count()


def unavailable() -> str | None:
    """Why network namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)  # noqa: S603, S607 - fixed argv


def _used_subnets() -> set[int]:
    out = subprocess.run(["ip", "-o", "-4", "addr", "show"], check=True, capture_output=True,  # noqa: S607 - fixed argv
                         text=True).stdout
    return {int(part.split(".")[2]) for part in out.split() if part.startswith("10.231.")}


@dataclass(frozen=True)
class NetnsLink:
    """One namespace and the veth pair that joins it to this one."""

    name: str
    subnet: int

    @property
    def host_ip(self) -> str:
        return f"10.231.{self.subnet}.1"

    @property
    def ns_ip(self) -> str:
        return f"10.231.{self.subnet}.2"

    @property
    def wrap(self) -> tuple[str, ...]:
        """The command prefix that runs a program inside the namespace."""
        return ("ip", "netns", "exec", self.name)

    @property
    def _host_end(self) -> str:
        return f"{self.name}h"

    @classmethod
    def create(cls) -> NetnsLink:
        """Make the namespace and its link (cleaned up again if any step fails)."""
        used = _used_subnets()
        subnet = next(n for n in range(os.getpid() % 200 + 20, 256) if n not in used)
        link = cls(f"nwp{os.getpid() % 100000}{next(_COUNTER)}", subnet)
        inside = f"{link.name}w"
        try:
            _ip("netns", "add", link.name)
            _ip("link", "add", link._host_end, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", link.name)
            _ip("addr", "add", f"{link.host_ip}/30", "dev", link._host_end)
            _ip("link", "set", link._host_end, "up")
            for args in (("addr", "add", f"{link.ns_ip}/30", "dev", inside),
                         ("link", "set", inside, "up"), ("link", "set", "lo", "up")):
                _ip("netns", "exec", link.name, "ip", *args)
        except (OSError, subprocess.CalledProcessError):
            link.remove()
            raise
        return link

    def cut(self) -> None:
        """Take the link down: from now on packets between the two sides are dropped."""
        _ip("link", "set", self._host_end, "down")

    def heal(self) -> None:
        """Bring the link up again (TCP connections that have not timed out carry on)."""
        _ip("link", "set", self._host_end, "up")

    def remove(self) -> None:
        """Delete the veth pair and the namespace; missing pieces are fine."""
        for args in (("link", "del", self._host_end), ("netns", "del", self.name)):
            subprocess.run(["ip", *args], check=False, capture_output=True)  # noqa: S603, S607 - fixed argv
