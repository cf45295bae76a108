"""Kafka's own command-line tools against the local broker, from the same Maven jars.

    python3 -m tools.kafka cli consumer-groups --describe --group news-worker
    python3 -m tools.kafka cli topics --list
    python3 -m tools.kafka cli --bootstrap-server HOST:PORT configs --describe --topic pages.raw

`TOOL` is the name of Kafka's shell script without `kafka-` and `.sh` (`consumer-groups` is
`kafka-consumer-groups.sh`), and every argument after it is passed through unchanged, so a
runbook written for a real cluster's scripts runs here the same way. `--bootstrap-server`
defaults to the local broker (127.0.0.1:$KAFKA_PORT, 9092 unless set); it is added only when
the arguments do not give one. The tools' own log lines go to stderr at WARN.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tools.kafka import jars
from tools.kafka.jars import KafkaSetupError

# The main classes behind Kafka's scripts (the same in Kafka 3.9 and 4.x; before 3.7 several
# lived in kafka_2.13 under kafka.admin).
TOOLS = {
    "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "topics": "org.apache.kafka.tools.TopicCommand",
    "configs": "kafka.admin.ConfigCommand",
    "delete-records": "org.apache.kafka.tools.DeleteRecordsCommand",
    "get-offsets": "org.apache.kafka.tools.GetOffsetShell",
}
_LOG4J1 = """\
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
"""
_LOG4J2 = """\
status = warn
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = STDERR
"""


def default_bootstrap() -> str:
    """The local broker `make kafka-up` starts: 127.0.0.1:$KAFKA_PORT (9092)."""
    return f"127.0.0.1:{os.environ.get('KAFKA_PORT') or 9092}"


def command(
    tool: str, args: list[str], *, lib: Path, bootstrap: str | None = None
) -> list[str]:
    """The java command line that runs `tool` with `args` (and a bootstrap server)."""
    if tool not in TOOLS:
        raise KafkaSetupError(f"unknown tool {tool!r}; one of: {', '.join(sorted(TOOLS))}")
    given = any(a == "--bootstrap-server" or a.startswith("--bootstrap-server=") for a in args)
    extra = [] if given else ["--bootstrap-server", bootstrap or default_bootstrap()]
    config = lib.parent
    (config / "tools-log4j.properties").write_text(_LOG4J1)
    (config / "tools-log4j2.properties").write_text(_LOG4J2)
    return [
        "java",
        "-Xmx256m",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{config / 'tools-log4j.properties'}",
        f"-Dlog4j2.configurationFile={config / 'tools-log4j2.properties'}",
        "-cp",
        f"{lib}/*",
        TOOLS[tool],
        *extra,
        *args,
    ]


def run_tool(tool: str, args: list[str], *, version: str, cache_dir: Path,
             bootstrap: str | None = None) -> int:
    """Run one Kafka tool in the foreground; its exit code."""
    lib = jars.ensure_jars(version, cache_dir)
    jars.require_tool("java", "install Java 17+ (e.g. `apt-get install openjdk-17-jre-headless`)")
    cmd = command(tool, args, lib=lib, bootstrap=bootstrap)
    return subprocess.run(cmd, check=False).returncode  # noqa: S603 -- fixed argv, no shell
