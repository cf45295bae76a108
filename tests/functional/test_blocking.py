"""The blocking detector reports a blocked event loop, never raises into it, and tells a
loop held by code from a process starved of CPU."""

from __future__ import annotations

import logging
import selectors
import signal
import socket
import sys
import threading
import time
from types import FrameType

import pytest

from worker.stream.blocking import ReportingWorker, in_select, report, stopping
from worker.stream.fence import BlockingReporter


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
    assert ReportingWorker.BLOCK_DETECTOR == "worker.stream.fence:BlockingReporter"


def test_it_fires_only_when_the_loop_is_a_whole_timeout_late(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    armed: list[float] = []
    monkeypatch.setattr("mode.debug.arm_alarm", armed.append)
    detector = BlockingReporter(timeout=1.0)
    detector._reset_signal()  # what mode's deadman switch does every 0.96 s
    detector._clear_signal()
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    assert armed == [1.96, 0]  # mode armed 1.0: it fired at 40 ms of lateness


def test_a_thread_that_waited_for_a_cpu_is_starved_not_blocked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("test.blocking")
    report(log, 1.0, sys._getframe(), waited=700_000_000)  # 0.7 s on the run queue
    assert "event loop starved" in caplog.text and "Blocking detected" not in caplog.text
    caplog.clear()
    report(log, 1.0, sys._getframe(), waited=100_000_000)  # it had the CPU: our code
    assert "Blocking detected" in caplog.text


def test_an_alarm_in_an_idle_select_is_reported_as_starvation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The loop waiting in select() when the alarm fires was starved of CPU, not blocked."""
    selector = selectors.DefaultSelector()
    reader, writer = socket.socketpair()
    selector.register(reader, selectors.EVENT_READ)
    waiting = threading.Thread(target=selector.select, args=(30,))
    waiting.start()
    previous = signal.getsignal(signal.SIGALRM)
    detector = BlockingReporter(timeout=1.0)
    try:
        frame = None
        for _ in range(500):  # until the thread is inside select()
            frame = sys._current_frames().get(waiting.ident or 0)
            if in_select(frame):
                break
            time.sleep(0.01)
        assert in_select(frame)
        detector._on_alarm(signal.SIGALRM, frame)
    finally:
        detector._clear_signal()
        signal.signal(signal.SIGALRM, previous)
        writer.send(b"x")
        waiting.join()
        selector.close()
        reader.close()
        writer.close()
    assert "event loop starved for 1.0 s" in caplog.text
    assert "Blocking detected" not in caplog.text
    assert not in_select(sys._getframe())


def test_an_alarm_during_the_shutdown_is_not_a_blocking_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def _stop_consumer() -> FrameType:  # named like Faust's shutdown step
        frame = sys._getframe()
        assert stopping(frame)
        return frame

    caplog.set_level(logging.INFO)
    previous = signal.getsignal(signal.SIGALRM)
    detector = BlockingReporter(timeout=1.0)
    try:
        detector._on_alarm(signal.SIGALRM, _stop_consumer())
    finally:
        detector._clear_signal()
        signal.signal(signal.SIGALRM, previous)
    assert "while the worker stops" in caplog.text and "Blocking detected" not in caplog.text
    assert not stopping(sys._getframe())
