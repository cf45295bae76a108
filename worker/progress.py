"""A one-line progress bar on stderr for the tools (drawn only on a terminal).

Small enough to own: a bar, a count, a rate; no dependency for what is one `\\r` line.
"""

from __future__ import annotations

import sys
import time
from typing import IO

from worker.errors import ToolError

_WIDTH = 30
_INTERVAL = 0.1  # redraw at most ten times a second


def count_messages(paths: list[str]) -> int | None:
    """Messages in JSON-lines inputs (non-blank lines); None when unknown (WARC, stdin).

    Opens every file, so an unreadable input fails before anything is sent.
    """
    total = 0
    known = True
    for path in paths:
        if path == "-":
            known = False
            continue
        try:
            with open(path, "rb") as stream:
                if path.endswith((".warc", ".warc.gz")):
                    known = False  # counting records means parsing the archive twice
                    continue
                total += sum(1 for line in stream if line.strip())
        except OSError as exc:
            raise ToolError(f"cannot read {path}: {exc.strerror or exc}") from None
    return total if known else None


class Progress:
    """`[#####-----] 120/400  30%  85/s  failed 0`, redrawn in place."""

    def __init__(self, total: int | None, *, enabled: bool, stream: IO[str] | None = None) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()
        self.drawn_at = 0.0
        self.drawn = False

    def render(self, done: int, failed: int) -> str:
        """The progress line for `done` sent and `failed` messages."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = f"{(done + failed) / elapsed:,.0f}/s"
        tail = f"{rate}  failed {failed}"
        if self.total:
            share = min(1.0, (done + failed) / self.total)
            filled = int(share * _WIDTH)
            bar = "#" * filled + "-" * (_WIDTH - filled)
            return f"[{bar}] {done + failed}/{self.total} {share:4.0%}  {tail}"
        return f"{done + failed} messages  {tail}"

    def update(self, done: int, failed: int, *, force: bool = False) -> None:
        """Redraw if enabled and the last draw is old enough."""
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.drawn_at < _INTERVAL:
            return
        self.drawn_at = now
        self.drawn = True
        self.stream.write("\r" + self.render(done, failed) + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line so the next output starts on a fresh one."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
