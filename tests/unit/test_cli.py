"""The command line: bad arguments, unreadable files and an unreachable broker give one line
on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from worker.cli import COMMANDS, main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Exit code and the non-blank stderr lines of `news-worker <argv>` run in-process."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse exits on bad arguments
        code = int(exc.code or 0)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return code, err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")}
    return subprocess.run(
        [sys.executable, "-X", "dev", "-m", "worker", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **(env or {})},
        check=False,
    )


def test_help_lists_every_subcommand() -> None:
    result = _cli("--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert f"    {name} " in result.stdout
    assert "not implemented" not in result.stdout.split("replay", 1)[1]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["replay"],
        ["replay", "x.jsonl", "--rate", "0"],
        ["replay", "x.jsonl", "--rate", "fast"],
        ["tail", "-n", "0"],
        ["tail", "-n", "many"],
        ["tail", "--from-beginning", "--from-end"],
        ["tail", "--timeout", "-1"],
        ["redrive", "--reason", "no_such_reason"],
        ["redrive", "--since", "yesterday"],
        ["redrive", "--since", "2025-03-05T00:00:00Z", "--until", "2025-03-04T00:00:00Z"],
        ["tail", "--connect-timeout", "0"],
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(argv, capsys)
    assert code == 2
    assert len(err) == 1, err
    assert err[0].startswith("news-worker")
    assert "Traceback" not in err[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_mistyped_option_names_the_subcommand(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = {"process": ["x.jsonl"], "extract": ["x.html"], "replay": ["x.jsonl"]}
    code, err = _run([command, *args.get(command, []), "--jsn"], capsys)
    assert code == 2
    assert err == [
        f"news-worker {command}: unrecognized arguments: --jsn "
        f"(see news-worker {command} --help)"
    ]


def test_replay_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = _run(["replay", str(tmp_path / "nope.jsonl")], capsys)
    assert code == 1
    assert err == [
        f"news-worker replay: cannot read {tmp_path / 'nope.jsonl'}: No such file or directory"
    ]


def test_replay_directory_is_unreadable(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = _run(["replay", str(tmp_path)], capsys)
    assert code == 1
    assert len(err) == 1 and "cannot read" in err[0]


def test_replay_unreadable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "locked.jsonl"
    path.write_text('{"url": "https://a.example/x", "text": "hello"}\n')
    path.chmod(0)
    if os.geteuid() != 0:
        code, err = _run(["replay", str(path)], capsys)
    else:
        # Root reads anything (CI runs as root): run the real CLI with the two capabilities
        # that let root ignore file modes dropped from its bounding set (util-linux setpriv).
        done = subprocess.run(
            ["setpriv", "--bounding-set", "-dac_override,-dac_read_search",
             sys.executable, "-m", "worker", "replay", str(path)],
            capture_output=True, text=True, timeout=60, check=False)
        code, err = done.returncode, [line for line in done.stderr.splitlines() if line.strip()]
    assert code == 1
    assert err == [f"news-worker replay: cannot read {path}: Permission denied"]


def test_sasl_without_credentials_is_a_config_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWS_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    code, err = _run(["tail", "--bootstrap", f"127.0.0.1:{_closed_port()}"], capsys)
    assert code == 2
    assert len(err) == 1 and "NEWS_KAFKA_SASL_USERNAME" in err[0]


@pytest.mark.parametrize("command", [["tail"], ["redrive", "--dry-run"], ["replay", "{file}"]])
def test_a_refused_connection_fails_at_once_in_one_line(command: list[str], tmp_path: Path) -> None:
    path = tmp_path / "pages.jsonl"
    path.write_text('{"url": "https://a.example/x", "text": "hello"}\n')
    bootstrap = f"127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    args = [a.replace("{file}", str(path)) for a in command]
    result = _cli(*args, "--bootstrap", bootstrap, "--connect-timeout", "60")
    elapsed = time.monotonic() - started
    err = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1
    assert len(err) == 1, result.stderr  # no aiokafka log lines, no Unclosed... warnings
    assert err[0].startswith(
        f"news-worker {command[0]}: cannot reach Kafka at {bootstrap}: connection refused ("
    )
    assert "Connect call failed" in err[0]  # aiokafka's reason, kept in the one line
    assert err[0].endswith("is the broker running, and is this its address?")
    assert elapsed < 30  # at once, not after --connect-timeout (60 s) of retries


def test_a_broker_that_never_answers_is_one_line_after_the_connect_timeout() -> None:
    # Accepts connections (the kernel completes the handshake) and never answers a request.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        bootstrap = f"127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        result = _cli("tail", "--bootstrap", bootstrap, "--connect-timeout", "2")
        elapsed = time.monotonic() - started
    err = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1
    assert len(err) == 1, result.stderr
    assert err[0].startswith(f"news-worker tail: cannot reach Kafka at {bootstrap} within 2 s (")
    assert 2 <= elapsed < 30
