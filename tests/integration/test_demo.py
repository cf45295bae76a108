"""`make demo`, one of the README's two commands, run as a newcomer runs it: its own broker, the
worker, the example pages, every page accounted for, nothing left running.

It broke once unnoticed (it made the topics itself, without the configs the worker's start-up
check demands, so the worker refused to start): this test is why that cannot happen again.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.integration.workers import REPO

pytestmark = pytest.mark.integration


def test_make_demo_runs_end_to_end_and_stops_everything() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")}
    env["PYTHON"] = sys.executable
    done = subprocess.run(  # noqa: S603 -- fixed argv
        ["bash", str(REPO / "tools" / "demo.sh")], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=600, check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    pages = sum(1 for line in (REPO / "examples" / "pages.jsonl").open() if line.strip())
    assert f"all {pages} pages accounted for" in out, out[-4000:]
    assert "worker stopped (exit 0)" in out and "nothing left running" in out, out[-4000:]
    # The demo's broker is gone: its pid file names no live process.
    broker = subprocess.run(  # noqa: S603 -- fixed argv
        [sys.executable, "-m", "tools.kafka", "status", "--run-dir", str(REPO / ".kafka" / "demo")],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )
    assert broker.returncode == 3, broker.stdout + broker.stderr
