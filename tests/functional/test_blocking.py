"""The blocking detector reports a blocked event loop and never raises into it."""

from __future__ import annotations

import signal
import sys

import pytest

from worker.stream.blocking import BlockingReporter, ReportingWorker


def test_an_alarm_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    previous = signal.getsignal(signal.SIGALRM)
    detector = BlockingReporter(timeout=30.0)
    try:
        detector._on_alarm(signal.SIGALRM, sys._getframe())  # mode's would raise Blocking
    finally:
        detector._clear_signal()
        signal.signal(signal.SIGALRM, previous)
    assert "Blocking detected (timeout=30.0)" in caplog.text
    assert "test_an_alarm_is_logged_not_raised" in caplog.text  # where it was blocked


def test_the_worker_uses_it() -> None:
    assert ReportingWorker.BLOCK_DETECTOR == "worker.stream.blocking:BlockingReporter"
