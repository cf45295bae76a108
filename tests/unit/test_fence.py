"""The libraries whose internals the worker uses are exactly the tested versions.

worker/stream/fence.py lists every private Faust, mode and aiokafka name the worker touches;
they are not API and may change in any release. `make setup`, the Dockerfile and CI install
with requirements/constraints.txt; this test fails loudly, naming the versions, when anything
else is installed (a hand-run `pip install -U`, an image built without the constraints).
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

from worker.stream.fence import PINNED

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"


def pins() -> dict[str, str]:
    found = {}
    for line in CONSTRAINTS.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


@pytest.mark.parametrize("name", sorted(PINNED))
def test_the_fenced_libraries_are_the_tested_versions(name: str) -> None:
    installed = version(name)
    assert installed == PINNED[name], (
        f"{name} {installed} is installed, but the worker relies on internals of {name} "
        f"{PINNED[name]} (worker/stream/fence.py): install with `make setup` (pip -c "
        f"requirements/constraints.txt), or re-verify the fenced names before moving the pin")


def test_the_constraints_file_pins_the_fenced_versions_and_every_direct_dependency() -> None:
    pinned = pins()
    for name, tested in PINNED.items():
        assert pinned.get(name) == tested, (name, pinned.get(name), tested)
    # Every dependency the package declares is pinned exactly (nothing floats in CI).
    text = (ROOT / "pyproject.toml").read_text()
    block = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    declared = re.findall(r'^\s*"([A-Za-z0-9_.\-]+)', block, flags=re.MULTILINE)
    assert declared and all(d.lower().replace("_", "-") in pinned for d in declared), (
        sorted(set(declared) - set(pinned)))


def test_the_installed_versions_match_the_constraints() -> None:
    mismatched = {name: (tested, version(name)) for name, tested in pins().items()
                  if _installed(name) not in (None, tested)}
    assert not mismatched, f"installed versions differ from requirements/constraints.txt " \
        f"(pinned, installed): {mismatched}; run `make setup`"


def test_the_private_names_the_worker_uses_exist() -> None:
    """The fenced names are where fence.py says (a renamed one would otherwise fail late)."""
    from aiokafka.consumer.consumer import AIOKafkaConsumer
    from aiokafka.consumer.group_coordinator import GroupCoordinator
    from faust.transport.consumer import Consumer, ThreadDelegateConsumer
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
    from mode.debug import BlockingDetector

    for owner, names in (
        (Consumer, ("_new_offset", "_add_gap", "_commit_offsets")),
        (ThreadDelegateConsumer, ("_new_consumer_thread",)),
        (AIOKafkaConsumerThread, ("_fetch_records", "_ensure_consumer",
                                  "_create_worker_consumer")),
        (GroupCoordinator, ("_do_heartbeat",)),
        (BlockingDetector, ("_on_alarm", "_reset_signal", "_arm")),
    ):
        for name in names:
            assert hasattr(owner, name), f"{owner.__qualname__}.{name} is gone"
    assert "_coordinator" in AIOKafkaConsumer.__init__.__code__.co_names
    assert "_subscription" in AIOKafkaConsumer.__init__.__code__.co_names
    # InputConsumerThread sets _isolation_level after construction: only a value start()
    # reads (for its Fetcher) takes effect, so both must still use the name.
    assert "_isolation_level" in AIOKafkaConsumer.__init__.__code__.co_names
    assert "_isolation_level" in AIOKafkaConsumer.start.__code__.co_names
    from aiokafka.consumer.subscription_state import (
        Assignment,
        SubscriptionState,
        TopicPartitionState,
    )
    assert isinstance(SubscriptionState.subscription, property)
    assert hasattr(Assignment, "state_value")
    assert {"has_valid_position", "position"} <= set(vars(TopicPartitionState))
    assert "highwater" in TopicPartitionState.__init__.__code__.co_names


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """{name: (version, number of sha256 hashes)} of a pip-compile --generate-hashes lock."""
    found: dict[str, tuple[str, int]] = {}
    name = ""
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+) \\", line)
        if match:
            name = _norm(match.group(1))
            found[name] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            found[name] = (found[name][0], found[name][1] + 1)
        elif line and not line.startswith((" ", "#")):
            raise AssertionError(f"{path.name}: unexpected line {line!r}")
    return found


@pytest.mark.parametrize("lock", ["dev.txt", "runtime.txt"])
def test_the_hash_locks_agree_with_the_constraints(lock: str) -> None:
    """`make setup` (dev.txt) and the Dockerfile (runtime.txt) install the locks with
    --require-hashes: each must pin the constraints' versions, every one with hashes, and
    dev.txt all of them. A pin moved in constraints.txt without `make lock` fails here."""
    pinned = {_norm(name): tested for name, tested in pins().items()}
    got = locked(CONSTRAINTS.with_name(lock))
    assert got, lock
    differ = {name: (tested, pinned.get(name)) for name, (tested, _) in got.items()
              if pinned.get(name) != tested}
    assert not differ, f"{lock} (locked, constraints.txt): {differ}: run `make lock`"
    assert all(hashes for _, hashes in got.values()), lock
    for name in ("faust-streaming", "aiokafka", "mode-streaming", "setuptools", "wheel"):
        assert name in got, (lock, name)
    if lock == "dev.txt":
        assert set(got) == set(pinned), sorted(set(pinned) ^ set(got))


def test_setup_and_the_image_install_the_locks_with_hashes_checked() -> None:
    """The locks protect nothing unless what installs uses them in hash-checking mode, and
    nothing else pulls dependencies in unchecked (the package goes in --no-deps, built with
    the locked backend rather than an isolated, unchecked download)."""
    makefile = (ROOT / "Makefile").read_text()
    makefile = makefile.split("$(STAMP):", 1)[1].split("setup: $(STAMP)", 1)[0]  # its recipe
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes --no-deps -r requirements/dev.txt" in makefile
    assert "--no-deps --no-build-isolation -e ." in makefile
    assert "--require-hashes --no-deps -r requirements/runtime.txt" in dockerfile
    assert "--no-deps --no-build-isolation ." in dockerfile
    assert "-c requirements/constraints.txt" not in makefile


def _installed(name: str) -> str | None:
    try:
        return version(name)
    except Exception:  # noqa: BLE001 - not installed here (e.g. a bench-only package)
        return None


def test_faust_cython_stream_iterator_still_books_acks_by_itself() -> None:
    """Why InputConsumer keeps its own booked offsets (worker/stream/consumer.py `_booked`):
    the accelerated iterator inlines Consumer.ack. If a Faust release stops doing so, the
    note in consumer.py and this test go; if the module moves, re-check the bypass."""
    import faust._cython.streams as cython_streams

    source = Path(cython_streams.__file__).with_name("streams.pyx").read_text()
    assert "consumer._acked[tp]" in source
