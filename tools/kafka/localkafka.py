"""A real Apache Kafka broker as a plain JVM process, from Maven Central jars (no Docker).

One combined KRaft broker+controller on loopback: the client listener on `port`, the
controller listener on `controller_port`, a static `controller.quorum.voters`, and
single-broker settings (replication 1, few internal partitions, no rebalance delay).
The same class serves `make kafka-up`/`kafka-down` (state in `.kafka/run/`), the pytest
fixture (free ports, temp dir) and the demo; `cluster.LocalCluster` runs several of them as
one multi-node cluster (`make kafka-up NODES=3`).

    python3 -m tools.kafka up [--port 9092] [--controller-port 9093]
    python3 -m tools.kafka down | status | fetch

`KAFKA_VERSION` picks the Kafka release (default 3.9.2; 4.1.x works too);
`KAFKA_RETENTION_HOURS` how long it keeps records (default 168, read at every start).
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tools.kafka import jars, probe
from tools.kafka.jars import KafkaSetupError

DEFAULT_VERSION = "3.9.2"
DEFAULT_RETENTION_HOURS = 168
REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".kafka"
LOG_TAIL_LINES = 25
_START_MARK = "=== localkafka: starting"
# Kafka's log4j ERROR/FATAL lines, and the exception lines of a stack trace (not its frames).
_ERROR_LINE = re.compile(r"\b(?:ERROR|FATAL)\b|^\S*(?:Exception|Error)\b")

_LOG4J1 = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.zookeeper=WARN
"""
_LOG4J2 = """\
status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
"""


def kafka_version() -> str:
    """The Kafka release to run: `KAFKA_VERSION`, else the default."""
    return os.environ.get("KAFKA_VERSION") or DEFAULT_VERSION


def retention_hours() -> int:
    """How long the local broker keeps records: `KAFKA_RETENTION_HOURS`, else 168 (7 days,
    Kafka's own default and NEWS_DEDUPE_WINDOW): `redrive` needs the originals that long."""
    text = os.environ.get("KAFKA_RETENTION_HOURS") or str(DEFAULT_RETENTION_HOURS)
    if not text.isdigit() or int(text) < 1:
        raise KafkaSetupError(
            f"KAFKA_RETENTION_HOURS={text!r} is not a whole number of hours >= 1 (e.g. 168)"
        )
    return int(text)


def new_cluster_id() -> str:
    """16 random bytes, base64url without padding (what `kafka-storage random-uuid` prints)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):  # Kafka avoids these too: they look like CLI flags
            return cluster_id


def _set_parent_death_signal() -> None:
    """Runs in the child before exec: SIGKILL the broker if the test process dies (Linux)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


@dataclass(frozen=True)
class SecureListener:
    """A SASL_SSL listener (SASL/PLAIN users, TLS from a PKCS12 keystore) beside PLAINTEXT.

    For tests of the clients' security settings against a real broker; the PLAINTEXT listener
    stays, so the test can set up topics and check results without credentials.
    """

    keystore: Path
    keystore_password: str
    users: Mapping[str, str] = field(default_factory=dict)  # user name -> password
    port: int | None = None


def _jaas_plain(users: Mapping[str, str]) -> str:
    # Inter-broker traffic stays on PLAINTEXT, so the broker's own login is never used, but
    # PlainLoginModule requires one.
    entries = " ".join(f'user_{name}="{password}"' for name, password in users.items())
    return (
        'org.apache.kafka.common.security.plain.PlainLoginModule required '
        f'username="broker" password="broker-secret" user_broker="broker-secret" {entries};'
    )


class LocalKafka:
    """One local KRaft broker+controller; `start()`, `stop()`, `kill()`, `restart()`."""

    def __init__(
        self,
        run_dir: Path,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        version: str | None = None,
        host: str = "127.0.0.1",
        heap: str = "1g",
        die_with_parent: bool = False,
        secure: SecureListener | None = None,
        node_id: int = 1,
        quorum: str | None = None,
        cluster_id: str | None = None,
        broker_settings: Mapping[str, str] | None = None,
        jvm_flags: Sequence[str] = (),
    ) -> None:
        """`node_id`, `quorum` (controller.quorum.voters), `cluster_id` and `broker_settings`
        (server.properties entries that win over ours) let `cluster.LocalCluster` run several
        of these as one cluster; a single broker needs none of them."""
        self.run_dir = Path(run_dir).resolve()
        self.version = version or kafka_version()
        self.host = host
        self.heap = heap
        self.die_with_parent = die_with_parent
        self._auto_ports = port is None and controller_port is None
        self.port = port if port is not None else probe.free_port(host)
        self.controller_port = (
            controller_port if controller_port is not None else probe.free_port(host)
        )
        self.secure = secure
        self.secure_port = (
            (secure.port or probe.free_port(host)) if secure is not None else None
        )
        self.node_id = node_id
        self.quorum = quorum
        self.cluster_id = cluster_id
        self.broker_settings = dict(broker_settings or {})
        self.jvm_flags = tuple(jvm_flags)
        self._proc: subprocess.Popen[bytes] | None = None

    # --- paths ---------------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        """Bootstrap servers string for clients, e.g. "127.0.0.1:9092"."""
        return f"{self.host}:{self.port}"

    @property
    def secure_bootstrap(self) -> str:
        """Bootstrap servers of the SASL_SSL listener (only with `secure=`)."""
        if self.secure_port is None:
            raise KafkaSetupError("this broker has no SASL_SSL listener")
        return f"{self.host}:{self.secure_port}"

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "kafka.log"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "kafka.pid"

    @property
    def config_file(self) -> Path:
        return self.run_dir / "server.properties"

    # --- lifecycle -------------------------------------------------------------------
    def start(self, timeout: float = 120.0) -> None:
        """Start the broker (formatting storage on first use); return once it serves metadata."""
        if self.pid is not None:
            raise KafkaSetupError(
                f"a broker from {self.run_dir} is already running (pid {self.pid})"
            )
        lib = jars.ensure_jars(self.version, CACHE_DIR)
        jars.require_tool(
            "java", "install Java 17+ (e.g. `apt-get install openjdk-17-jre-headless`)"
        )
        for attempt in range(3):
            for port in (self.port, self.controller_port):
                if probe.port_in_use(self.host, port):
                    if not self._auto_ports or attempt == 2:
                        raise KafkaSetupError(
                            f"{self.host}:{port} is already in use (another broker? "
                            "try `make kafka-down`)"
                        )
                    self.port, self.controller_port = (
                        probe.free_port(self.host),
                        probe.free_port(self.host),
                    )
            self._write_config()
            self._format_storage(lib)
            self._spawn(lib)
            try:
                self._wait_ready(timeout)
                return
            except KafkaSetupError:
                # Free ports are only free when we looked; another process may have won the race.
                bind_failed = any("Address already in use" in e for e in self.start_errors())
                if self._auto_ports and bind_failed and attempt < 2:
                    self.kill()
                    self.port, self.controller_port = (
                        probe.free_port(self.host),
                        probe.free_port(self.host),
                    )
                    continue
                self.kill()
                raise

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the broker: SIGTERM, then SIGKILL if it is still alive after `timeout`."""
        pid = self.pid
        if pid is None:
            return
        self._signal(pid, signal.SIGTERM)
        if not self._wait_exit(pid, timeout):
            self._signal(pid, signal.SIGKILL)
            self._wait_exit(pid, 10.0)
        self._forget()

    def kill(self) -> None:
        """SIGKILL the broker now (a crash, for outage tests); data stays for `start()`."""
        pid = self.pid
        if pid is None:
            return
        self._signal(pid, signal.SIGKILL)
        self._wait_exit(pid, 10.0)
        self._forget()

    def restart(self, timeout: float = 120.0) -> None:
        """Stop and start again on the same ports and data."""
        self.stop()
        self.start(timeout)

    # --- for cluster.LocalCluster, whose nodes must all run before any is ready ------
    def prepare(self) -> Path:
        """Write the config and format the storage (fine in a worker thread); the jars' dir."""
        lib = jars.ensure_jars(self.version, CACHE_DIR)
        jars.require_tool(
            "java", "install Java 17+ (e.g. `apt-get install openjdk-17-jre-headless`)"
        )
        self._write_config()
        self._format_storage(lib)
        return lib

    def launch(self, lib: Path) -> None:
        """Spawn the JVM of a `prepare`d node on its fixed ports, without waiting."""
        if self.pid is not None:
            raise KafkaSetupError(f"node {self.node_id} is already running (pid {self.pid})")
        for port in (self.port, self.controller_port):
            if probe.port_in_use(self.host, port):
                raise KafkaSetupError(f"{self.host}:{port} is already in use")
        self._spawn(lib)

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Return once this node serves metadata; SIGKILL it and raise if it does not."""
        try:
            self._wait_ready(timeout)
        except KafkaSetupError:
            self.kill()
            raise

    @property
    def pid(self) -> int | None:
        """PID of the running broker (ours, or recorded in the pid file by another process)."""
        if self._proc is not None:
            return self._proc.pid if self._proc.poll() is None else None
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        # Guard against a recycled PID: only a kafka.Kafka with our config counts.
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        if b"kafka.Kafka" in cmdline and str(self.config_file).encode() in cmdline:
            return pid
        return None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of the broker's log, for error messages."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no broker log)"
        return "\n".join(text.splitlines()[-lines:])

    def start_errors(self, lines: int = 10) -> list[str]:
        """The errors the broker logged since it was last started (the first `lines`).

        A broker that fails to start logs its cause, then a long orderly shutdown: the log's
        tail alone shows only the shutdown.
        """
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return []
        since_start = text.rpartition(_START_MARK)[2].splitlines()
        return [line for line in since_start if _ERROR_LINE.search(line)][:lines]

    def _start_failure(self) -> str:
        errors = "\n".join(self.start_errors()) or "(no error logged)"
        return f"{errors}\nlast lines of log {self.log_file}:\n{self.log_tail(8)}"

    # --- internals -------------------------------------------------------------------
    def _java(self, lib: Path, main: str, *args: str, heap: str) -> list[str]:
        return [
            "java",
            f"-Xmx{heap}",
            *self.jvm_flags,
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.run_dir / 'log4j.properties'}",
            f"-Dlog4j2.configurationFile={self.run_dir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.run_dir / 'logs'}",
            "-cp",
            f"{lib}/*",
            main,
            *args,
        ]

    def _write_config(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        version_file = self.run_dir / "version"
        if self.data_dir.exists() and version_file.exists():
            if version_file.read_text().strip() != self.version:
                # A 4.x metadata log cannot be read by 3.x (and vice versa): start afresh.
                import shutil

                shutil.rmtree(self.data_dir)
        version_file.write_text(self.version + "\n")
        (self.run_dir / "log4j.properties").write_text(_LOG4J1)
        (self.run_dir / "log4j2.properties").write_text(_LOG4J2)
        h = self.host
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.quorum or f"{self.node_id}@{h}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{h}:{self.port},CONTROLLER://{h}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{h}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
            "num.network.threads": "2",
            "num.io.threads": "4",
            "log.retention.hours": str(retention_hours()),
        }
        if self.secure is not None:
            secure = f"SASL_SSL://{h}:{self.secure_port}"
            settings["listeners"] += "," + secure
            settings["advertised.listeners"] += "," + secure
            settings["listener.security.protocol.map"] += ",SASL_SSL:SASL_SSL"
            settings.update({
                "sasl.enabled.mechanisms": "PLAIN",
                "listener.name.sasl_ssl.plain.sasl.jaas.config": _jaas_plain(self.secure.users),
                "ssl.keystore.type": "PKCS12",
                "ssl.keystore.location": str(self.secure.keystore),
                "ssl.keystore.password": self.secure.keystore_password,
                "ssl.key.password": self.secure.keystore_password,
            })
        settings.update(self.broker_settings)
        self.config_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))

    def _format_storage(self, lib: Path) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        cmd = self._java(
            lib,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            self.cluster_id or new_cluster_id(),
            "-c",
            str(self.config_file),
            heap="256m",
        )
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 -- fixed argv, no shell
        if result.returncode != 0:
            output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise KafkaSetupError(
                f"formatting KRaft storage failed (exit {result.returncode}):\n{output}"
            )

    def _spawn(self, lib: Path) -> None:
        # With die_with_parent, PR_SET_PDEATHSIG fires when the *thread* that forked exits,
        # not the process: spawn from the main thread or one that outlives the broker.
        cmd = self._java(lib, "kafka.Kafka", str(self.config_file), heap=self.heap)
        with open(self.log_file, "ab") as log:
            log.write(
                f"\n{_START_MARK} Kafka {self.version} on {self.bootstrap}\n".encode()
            )
            log.flush()
            self._proc = subprocess.Popen(  # noqa: S603 -- fixed argv, no shell
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.run_dir,
                # Own session: a Ctrl-C in the terminal reaches pytest/make, which stop us cleanly.
                start_new_session=True,
                preexec_fn=_set_parent_death_signal if self.die_with_parent else None,  # noqa: PLW1509 -- only prctl, no locks
            )
        self.pid_file.write_text(f"{self._proc.pid}\n")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                code = self._proc.returncode
                raise KafkaSetupError(
                    f"Kafka {self.version} exited with code {code} during start-up:\n"
                    f"{self._start_failure()}"
                )
            try:
                if probe.metadata_brokers(self.host, self.port):
                    return
                last_error = "metadata lists no broker yet"
            except (OSError, ValueError) as exc:
                last_error = str(exc) or type(exc).__name__
            time.sleep(0.25)
        raise KafkaSetupError(
            f"Kafka {self.version} on {self.bootstrap} not ready after {timeout:.0f}s "
            f"({last_error}):\n{self._start_failure()}"
        )

    def _signal(self, pid: int, sig: int) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            try:
                self._proc.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists():
                return True
            time.sleep(0.1)
        return False

    def _forget(self) -> None:
        self._proc = None
        self.pid_file.unlink(missing_ok=True)
