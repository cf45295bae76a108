"""A blocking detector that only reports, and tells a blocked loop from a starved process.

mode's `BlockingDetector` raises `Blocking` from a SIGALRM handler into whatever code the
event loop is running when it has not come round for `blocking_timeout` seconds. Faust then
crashes the app: on a busy or throttled VM a one-second stall stopped a healthy worker
(seen in the two-worker test and the crash soak). We keep the warning and let the worker
carry on.

When the alarm finds the loop inside its selector's `select()`, no code was blocking it: the
loop was waiting for I/O and the process did not get a CPU in time (a starved or throttled
machine). That is logged as `loop.starved`, not as "Blocking detected", so the blocking
warning keeps meaning "our code held the loop"; its stack lists the innermost frames first,
the ones that say where.
"""

from __future__ import annotations

import traceback
from types import FrameType

import faust
from mode.debug import BlockingDetector

from worker.logs import fields

_FRAMES = 12  # innermost frames shown: where the loop was held


def starved(frame: FrameType | None) -> bool:
    """Whether the alarm caught the loop idle in a selector's select() (no code blocking)."""
    return (frame is not None and frame.f_code.co_name == "select"
            and frame.f_code.co_filename.endswith("selectors.py"))


class BlockingReporter(BlockingDetector):
    """Logs where the event loop was blocked; never raises."""

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if starved(frame):
            self.log.warning("event loop starved for %.1f s: waiting for I/O, the process got "
                             "no CPU (a busy machine), nothing blocked it", self.timeout,
                             extra=fields("loop.starved"))
        else:
            # Innermost frame first: the log line cap cuts the end, never where it blocked.
            stack = "".join(reversed(traceback.format_stack(frame)[-_FRAMES:]))
            self.log.warning("Blocking detected (timeout=%r), innermost frame first: %s",
                             self.timeout, stack)
        self._reset_signal()


class ReportingWorker(faust.Worker):
    """Faust's worker with the reporting blocking detector."""

    BLOCK_DETECTOR = "worker.stream.blocking:BlockingReporter"
