"""A local multi-node Apache Kafka cluster: N KRaft nodes on loopback, one JVM each.

Every node is a combined broker+controller (`LocalKafka` with its own node id, ports and
data dir under `run_dir/node-<id>`), all voters of one static controller quorum, formatted
with one cluster id. Topics default to replication 3 with `min.insync.replicas=2` (so one
node may be down while acks=all writes go on), and Kafka's own topics (consumer offsets,
transactions) are replicated the same way.

Why combined nodes and not 3 brokers + 1 controller (measured 2026-11-29 on the 2-core
development VM, other jobs running, Kafka 3.9.2, 384 MB heaps, two runs each): the three
combined JVMs were ready in 7.7-11.8 s using 0.95 GB RSS and 7-9 CPU seconds; 3 brokers plus
a controller took 10.8-12.4 s, 1.1-1.2 GB and 8-9 CPU seconds. And a 3-voter quorum survives
the loss of any one node, where a single controller would be a node we could never kill.
(Stopping is slower: ~6 s, as combined nodes negotiate their controlled shutdowns.)
The JVM flags favour start-up (C1 only, serial GC): 8-10 s and ~8.5 CPU s against 10-17 s
and 12.5-14 CPU s with the JVM's defaults, in the same runs.

    cluster = LocalCluster(tmp, nodes=3, die_with_parent=True)
    cluster.start()                      # all nodes, returns once every broker is registered
    cluster.bootstrap                    # "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
    cluster.kill(2); cluster.start_node(2)   # crash one node, bring it back on its data
    cluster.stop()                       # SIGTERM all (SIGKILL after a grace period)

`python3 -m tools.kafka up --nodes 3` runs one in the background (state in `.kafka/run/`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tools.kafka import probe
from tools.kafka.jars import KafkaSetupError
from tools.kafka.localkafka import LocalKafka, new_cluster_id

CLUSTER_FILE = "cluster.json"
DEFAULT_HEAP = "384m"
# Start-up is JIT and class loading bound on a small machine; a local test broker never runs
# long enough to profit from C2 or a parallel collector (numbers in the module docstring).
FAST_START_JVM = (
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-XX:CICompilerCount=1",
    "-Xshare:auto",
)


def cluster_settings(nodes: int, min_insync: int) -> dict[str, str]:
    """server.properties entries for an N-node cluster (replication = N, up to 3)."""
    replication = str(min(nodes, 3))
    isr = str(min_insync)
    return {
        "default.replication.factor": replication,
        "min.insync.replicas": isr,
        "offsets.topic.replication.factor": replication,
        "transaction.state.log.replication.factor": replication,
        "transaction.state.log.min.isr": isr,
        "share.coordinator.state.topic.replication.factor": replication,
        "share.coordinator.state.topic.min.isr": isr,
        # Never elect a leader that lacks acknowledged writes (Kafka's default, said aloud).
        "unclean.leader.election.enable": "false",
        "num.partitions": "1",
    }


class LocalCluster:
    """N local KRaft nodes as one cluster; node ids are 1..N."""

    def __init__(
        self,
        run_dir: Path,
        *,
        nodes: int = 3,
        ports: Sequence[int] | None = None,
        controller_ports: Sequence[int] | None = None,
        version: str | None = None,
        host: str = "127.0.0.1",
        heap: str = DEFAULT_HEAP,
        min_insync: int | None = None,
        die_with_parent: bool = False,
    ) -> None:
        if nodes < 1:
            raise KafkaSetupError(f"a cluster needs at least one node, not {nodes}")
        self.run_dir = Path(run_dir).resolve()
        self.host = host
        self.min_insync = min_insync if min_insync is not None else max(1, min(nodes, 3) - 1)
        saved = self._load()
        if saved is not None and ports is None and controller_ports is None:
            ports, controller_ports = saved["ports"], saved["controller_ports"]
            cluster_id = str(saved["cluster_id"])
        else:
            cluster_id = new_cluster_id()
        if ports is None or controller_ports is None:
            fresh = self._free_ports(2 * nodes)
            ports = list(ports) if ports is not None else fresh[:nodes]
            controller_ports = (
                list(controller_ports) if controller_ports is not None else fresh[nodes:]
            )
        if len(ports) != nodes or len(controller_ports) != nodes:
            raise KafkaSetupError(f"{nodes} nodes need {nodes} client and controller ports")
        quorum = ",".join(f"{i}@{host}:{port}" for i, port in enumerate(controller_ports, 1))
        settings = cluster_settings(nodes, self.min_insync)
        self.cluster_id = cluster_id
        self.nodes = [
            LocalKafka(
                self.run_dir / f"node-{i}",
                port=port,
                controller_port=cport,
                version=version,
                host=host,
                heap=heap,
                die_with_parent=die_with_parent,
                node_id=i,
                quorum=quorum,
                cluster_id=cluster_id,
                broker_settings=settings,
                jvm_flags=FAST_START_JVM,
            )
            for i, (port, cport) in enumerate(zip(ports, controller_ports, strict=True), 1)
        ]
        self.version = self.nodes[0].version

    # --- addresses -------------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        """Every node's client listener, comma-separated (what clients should be given)."""
        return ",".join(node.bootstrap for node in self.nodes)

    def node(self, node_id: int) -> LocalKafka:
        """The node with this Kafka node id (1-based)."""
        if not 1 <= node_id <= len(self.nodes):
            raise KafkaSetupError(f"no node {node_id} in a {len(self.nodes)}-node cluster")
        return self.nodes[node_id - 1]

    @property
    def pids(self) -> dict[int, int]:
        """node id -> PID of every running node."""
        return {n.node_id: pid for n in self.nodes if (pid := n.pid) is not None}

    # --- lifecycle -------------------------------------------------------------------
    def start(self, timeout: float = 180.0) -> None:
        """Start every node that is not running; return once all N brokers are registered."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._save()
        # Together: a node waits for a quorum of voters before it serves anything.
        idle = [n for n in self.nodes if n.pid is None]
        try:
            libs: list[Path] = []
            self._each(idle, lambda n: libs.append(n.prepare()))  # JVMs, so in parallel
            for node in idle:  # from this thread: a pool thread's exit would kill it
                node.launch(libs[0])
            self._each(idle, lambda n: n.wait_ready(timeout))
            self.wait_brokers(len(self.nodes), timeout)
        except BaseException:
            self._each(idle, LocalKafka.kill)
            raise

    def start_node(self, node_id: int, timeout: float = 180.0, *, wait: bool = True) -> None:
        """Start one node again (same ports and data); with `wait`, until the cluster lists it.

        Call it from the main thread (with `die_with_parent`); `wait_node` may run elsewhere.
        """
        node = self.node(node_id)
        node.launch(node.prepare())
        if wait:
            self.wait_node(node_id, timeout)

    def wait_node(self, node_id: int, timeout: float = 180.0) -> None:
        """Wait until a started node serves and the cluster lists every running node."""
        self.node(node_id).wait_ready(timeout)
        self.wait_brokers(len(self.pids), timeout)

    def kill(self, node_id: int) -> None:
        """SIGKILL one node (a crash); its data stays for `start_node`."""
        self.node(node_id).kill()

    def stop_node(self, node_id: int, timeout: float = 30.0) -> None:
        """SIGTERM one node (controlled shutdown: it hands its leaderships over first)."""
        self.node(node_id).stop(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every node at once: SIGTERM, SIGKILL whatever is left after `timeout`.

        All together, because a node stopped last would wait in vain for a controller quorum
        to approve its controlled shutdown.
        """
        self._each([n for n in self.nodes if n.pid is not None], lambda n: n.stop(timeout))

    def wait_brokers(self, count: int, timeout: float = 120.0) -> None:
        """Wait until every running node's metadata lists `count` live brokers.

        Every node, not just one: a client may bootstrap from any of them, and a node learns
        of the others' registrations a moment apart (`up` once returned while node 3 still
        listed 2 brokers).
        """
        deadline = time.monotonic() + timeout
        seen: list[tuple[int, str, int]] = []
        while time.monotonic() < deadline:
            running = [node for node in self.nodes if node.pid is not None]
            complete = 0
            for node in running:
                try:
                    seen = probe.metadata_brokers(self.host, node.port)
                except (OSError, ValueError):
                    break
                if len(seen) < count:
                    break
                complete += 1
            if running and complete == len(running):
                return
            time.sleep(0.25)
        raise KafkaSetupError(
            f"the cluster lists {len(seen)} of {count} brokers after {timeout:.0f}s "
            f"(running: {sorted(self.pids)})"
        )

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of every node's log, for error messages."""
        return "\n".join(f"--- node {n.node_id}\n{n.log_tail(lines)}" for n in self.nodes)

    # --- internals -------------------------------------------------------------------
    @staticmethod
    def _each(nodes: Sequence[LocalKafka], action: Callable[[LocalKafka], None]) -> None:
        if not nodes:
            return
        with ThreadPoolExecutor(len(nodes)) as pool:
            for future in [pool.submit(action, n) for n in nodes]:
                future.result()  # re-raise the first failure

    def _free_ports(self, count: int) -> list[int]:
        ports: set[int] = set()
        while len(ports) < count:
            ports.add(probe.free_port(self.host))
        return sorted(ports)

    def _load(self) -> dict[str, object] | None:
        try:
            data: dict[str, object] = json.loads((self.run_dir / CLUSTER_FILE).read_text())
        except (OSError, ValueError):
            return None
        return data

    def _save(self) -> None:
        (self.run_dir / CLUSTER_FILE).write_text(json.dumps({
            "cluster_id": self.cluster_id,
            "ports": [n.port for n in self.nodes],
            "controller_ports": [n.controller_port for n in self.nodes],
        }) + "\n")
