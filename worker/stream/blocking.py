"""A blocking detector that only reports, and that tells a blocked loop from a starved one.

mode's `BlockingDetector` raises `Blocking` from a SIGALRM handler into whatever code the
event loop is running when it has not come round in time, and Faust then crashes the app: on
a busy or throttled VM a one-second stall stopped a healthy worker. Its alarm was also far
tighter than its name says: re-armed every 0.96 x timeout for timeout, it fired whenever the
loop came round 40 ms late. Our reporter (worker/stream/fence.py BlockingReporter) never
raises, fires only when the loop is a whole `blocking_timeout` late, and says what it saw:

    loop.starved        the main thread spent at least half of that time runnable but not
                        running (Linux schedstat run-queue wait), or idle in select(): the
                        machine gave the worker no CPU; no code of ours held the loop
    loop.held_stopping  the worker is stopping (Faust's graceful stop calls gc.collect()
                        while it waits for the events in flight): INFO, nothing is consumed
    Blocking detected   anything else: code held a running worker's loop; the stack, innermost
                        frame first, says where
"""

from __future__ import annotations

import logging
import traceback
from types import FrameType
from typing import Any

import faust

from worker.logs import fields

_FRAMES = 12  # innermost frames shown: where the loop was held
# Frames of Faust's/mode's shutdown path: the worker is stopping, not serving.
_STOPPING = frozenset({"_stop_consumer", "stop_and_shutdown", "_shutdown_loop"})
STARVED = 0.5  # share of the timeout spent waiting for a CPU that makes it starvation


def in_select(frame: FrameType | None) -> bool:
    """Whether the alarm caught the loop idle in a selector's select() (no code blocking)."""
    return (frame is not None and frame.f_code.co_name == "select"
            and frame.f_code.co_filename.endswith("selectors.py"))


def stopping(frame: FrameType | None) -> bool:
    """Whether the alarm caught the loop inside the worker's shutdown."""
    while frame is not None:
        if frame.f_code.co_name in _STOPPING:
            return True
        frame = frame.f_back
    return False


def run_queue_wait() -> int | None:
    """Nanoseconds the calling thread has waited for a CPU while runnable (Linux), or None."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as stat:
            return int(stat.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None


def report(log: Any, timeout: float, frame: FrameType | None,
           waited: int | None) -> None:
    """Log what the alarm saw; `waited`: run-queue nanoseconds since the loop last came round."""
    if in_select(frame) or (waited is not None and waited >= STARVED * timeout * 1e9):
        log.warning("event loop starved for %.1f s: the process got no CPU (a busy machine), "
                    "nothing blocked it", timeout, extra=fields("loop.starved"))
    elif stopping(frame):
        log.log(logging.INFO, "event loop held for %.1f s while the worker stops (%s)",
                timeout, traceback.format_stack(frame)[-1].strip(),
                extra=fields("loop.held_stopping"))
    else:
        # Innermost frame first: the log line cap cuts the end, never where it blocked.
        stack = "".join(reversed(traceback.format_stack(frame)[-_FRAMES:]))
        log.warning("Blocking detected (timeout=%r), innermost frame first: %s", timeout,
                    stack)


class ReportingWorker(faust.Worker):
    """Faust's worker with the reporting blocking detector."""

    BLOCK_DETECTOR = "worker.stream.fence:BlockingReporter"
