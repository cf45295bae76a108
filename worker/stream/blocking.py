"""A blocking detector that only reports.

mode's `BlockingDetector` raises `Blocking` from a SIGALRM handler into whatever code the
event loop is running when it has not come round for `blocking_timeout` seconds. Faust then
crashes the app: on a busy or throttled VM a one-second stall stopped a healthy worker
(seen in the two-worker test and the crash soak). We keep the warning and its stack (the
same "Blocking detected" text) and let the worker carry on.
"""

from __future__ import annotations

import traceback
from types import FrameType

import faust
from mode.debug import BlockingDetector


class BlockingReporter(BlockingDetector):
    """Logs where the event loop was blocked; never raises."""

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        stack = "".join(traceback.format_stack(frame))
        self.log.warning("Blocking detected (timeout=%r) %s", self.timeout, stack)
        self._reset_signal()


class ReportingWorker(faust.Worker):
    """Faust's worker with the reporting blocking detector."""

    BLOCK_DETECTOR = "worker.stream.blocking:BlockingReporter"
