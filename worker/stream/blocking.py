"""A blocking detector that only reports, and tells a blocked loop from a starved process.

mode's `BlockingDetector` raises `Blocking` from a SIGALRM handler into whatever code the
event loop is running when it has not come round for `blocking_timeout` seconds. Faust then
crashes the app: on a busy or throttled VM a one-second stall stopped a healthy worker
(seen in the two-worker test and the crash soak). We keep the warning and let the worker
carry on.

When the alarm finds the loop inside its selector's `select()`, no code was blocking it: the
loop was waiting for I/O and the process did not get a CPU in time (a starved or throttled
machine). That is logged as `loop.starved`; and a loop held while the worker stops (Faust's
graceful stop calls `gc.collect()` while it waits for the events in flight, which takes over
a second on a big heap and a busy machine) as `loop.held_stopping`, at INFO: nothing is
consumed any more then. Neither is "Blocking detected", so that warning keeps meaning "our
code held a running worker's loop"; its stack lists the innermost frames first.
"""

from __future__ import annotations

import traceback
from types import FrameType

import faust
from mode.debug import BlockingDetector

from worker.logs import fields

_FRAMES = 12  # innermost frames shown: where the loop was held
# Frames of Faust's/mode's shutdown path: the worker is stopping, not serving.
_STOPPING = frozenset({"_stop_consumer", "stop_and_shutdown", "_shutdown_loop"})


def starved(frame: FrameType | None) -> bool:
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


class BlockingReporter(BlockingDetector):
    """Logs where the event loop was blocked; never raises."""

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if starved(frame):
            self.log.warning("event loop starved for %.1f s: waiting for I/O, the process got "
                             "no CPU (a busy machine), nothing blocked it", self.timeout,
                             extra=fields("loop.starved"))
        elif stopping(frame):
            self.log.info("event loop held for %.1f s while the worker stops (%s)",
                          self.timeout, traceback.format_stack(frame)[-1].strip(),
                          extra=fields("loop.held_stopping"))
        else:
            # Innermost frame first: the log line cap cuts the end, never where it blocked.
            stack = "".join(reversed(traceback.format_stack(frame)[-_FRAMES:]))
            self.log.warning("Blocking detected (timeout=%r), innermost frame first: %s",
                             self.timeout, stack)
        self._reset_signal()


class ReportingWorker(faust.Worker):
    """Faust's worker with the reporting blocking detector."""

    BLOCK_DETECTOR = "worker.stream.blocking:BlockingReporter"
