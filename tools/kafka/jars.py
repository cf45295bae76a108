"""Resolve Apache Kafka's jars from Maven Central into `.kafka/<version>/lib`, once.

`tools/kafka/pom.xml` names `org.apache.kafka:kafka_2.13:<version>` (the broker),
`org.apache.kafka:kafka-tools:<version>` (Kafka's CLI tools, `tools/kafka/cli.py`) and one
slf4j binding.
The binding must match what that Kafka brings: Kafka 3.x logs through reload4j
(`slf4j-reload4j`), Kafka 4.x through log4j2 (`log4j-slf4j-impl` at the log4j-core version).
We guess from the major version, then check the copied jars and resolve again if the guess
was wrong, so a future Kafka with other versions still gets a matching binding.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from pathlib import Path

POM = Path(__file__).resolve().with_name("pom.xml")
DONE_MARK = ".complete"
ARTIFACTS = ("kafka_2.13", "kafka-tools")  # both at the Kafka version

Binding = tuple[str, str, str]  # (groupId, artifactId, version)


class KafkaSetupError(RuntimeError):
    """A one-line, user-facing reason why the local broker cannot be set up or started."""


def require_tool(name: str, hint: str) -> str:
    """The path of an executable on PATH, or a clear error naming how to get it."""
    path = shutil.which(name)
    if path is None:
        raise KafkaSetupError(f"`{name}` not found on PATH; {hint}")
    return path


def _jar_version(lib: Path, artifact: str) -> str | None:
    pattern = re.compile(rf"^{re.escape(artifact)}-(\d[\w.\-]*)\.jar$")
    for jar in lib.iterdir():
        match = pattern.match(jar.name)
        if match:
            return match.group(1)
    return None


def _guess_binding(version: str) -> Binding:
    if int(version.split(".")[0]) >= 4:
        return ("org.apache.logging.log4j", "log4j-slf4j-impl", "2.24.3")
    return ("org.slf4j", "slf4j-reload4j", "1.7.36")


def _matching_binding(lib: Path) -> Binding:
    """The binding that fits the slf4j-api and logging backend found in `lib`."""
    slf4j = _jar_version(lib, "slf4j-api")
    if slf4j is None:
        raise KafkaSetupError(f"no slf4j-api jar in {lib}; unexpected Kafka dependency tree")
    slf4j2 = not slf4j.startswith("1.")
    log4j_core = _jar_version(lib, "log4j-core")
    if log4j_core is not None:
        artifact = "log4j-slf4j2-impl" if slf4j2 else "log4j-slf4j-impl"
        return ("org.apache.logging.log4j", artifact, log4j_core)
    return ("org.slf4j", "slf4j-reload4j", slf4j)


def _copy_dependencies(mvn: str, version: str, binding: Binding, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    group, artifact, binding_version = binding
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        f"-Dkafka.version={version}",
        f"-Dslf4j.binding.groupId={group}",
        f"-Dslf4j.binding.artifactId={artifact}",
        f"-Dslf4j.binding.version={binding_version}",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={out}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 -- fixed argv, no shell
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise KafkaSetupError(
            f"Maven could not resolve org.apache.kafka:kafka_2.13:{version} "
            f"(exit {result.returncode}); is Maven Central reachable?\n{tail}"
        )


def _complete(lib: Path, version: str) -> bool:
    """Whether `lib` was resolved to the end, with every artifact we need (a cache resolved
    before the tools jar was added lacks it and is resolved again)."""
    if not (lib / DONE_MARK).exists():
        return False
    return all(_jar_version(lib, artifact) == version for artifact in ARTIFACTS)


def ensure_jars(version: str, cache_dir: Path) -> Path:
    """Return `.kafka/<version>/lib`, resolving it through Maven the first time only."""
    lib = cache_dir / version / "lib"
    if _complete(lib, version):
        return lib
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Several test sessions may start at once on a fresh clone: one resolves, the others wait.
    with open(cache_dir / f".{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _complete(lib, version):
            return lib
        mvn = require_tool("mvn", "install Maven 3 (e.g. `apt-get install maven`)")
        staging = cache_dir / version / f"lib.tmp-{os.getpid()}"
        binding = _guess_binding(version)
        _copy_dependencies(mvn, version, binding, staging)
        wanted = _matching_binding(staging)
        if wanted != binding:
            _copy_dependencies(mvn, version, wanted, staging)
        for artifact in ARTIFACTS:
            if _jar_version(staging, artifact) != version:
                raise KafkaSetupError(f"{artifact}-{version}.jar missing after Maven resolution")
        (staging / DONE_MARK).write_text(":".join(wanted) + "\n")
        if lib.exists():
            shutil.rmtree(lib)
        staging.rename(lib)
    return lib
