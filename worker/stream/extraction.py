"""One extraction process and the pipe to it (worker/stream/executor.py runs a pool of them).

Each process is spawned (it shares no threads or sockets with the worker), extracts one
built-in page before it takes work (its imports and language models never count against a
real page's limit), then answers each page with (result, seconds, its resident memory), so
the pool can recycle a process that grew. SIGINT and SIGTERM are ignored there: the worker
decides when it stops (EOF on its pipe, or SIGKILL).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import orjson

from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.types import Article, Rejection, Source

Result = Article | Rejection
Job = tuple[bytes, datetime, Source]
Reply = tuple[Result, float, int]  # result, seconds, resident bytes after the page
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_READY_WITHIN = 60.0  # seconds a new extraction process may take to import and warm up
_WARM_UP_AT = datetime(2025, 1, 1, tzinfo=UTC)
# An article the process extracts once at start-up: the lazy imports and language models
# cost about a second, which must not count against the first real page's time limit.
_WARM_UP = orjson.dumps({
    "url": "https://warm-up.invalid/news/2025/01/01/harbour",
    "html": "<html lang=en><head><title>Harbour wall repairs begin</title></head><body><h1>"
            "Harbour wall repairs begin</h1>" + "<p>The council said on Tuesday that work "
            "on the ageing sea wall would start in May, after months of debate about how to "
            "pay for it, and that the ferry terminal would stay open during the repairs.</p>"
            * 4 + "</body></html>",
})


def _child_main(conn: Connection, options: PipelineOptions) -> None:
    """Extraction process: pages in, results out, until the worker closes the pipe."""
    # The worker decides when we stop (it closes the pipe or kills us); a Ctrl-C sent to the
    # whole process group must not kill a page half-way.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # The language model from its decompressed cache: ~0.05 s instead of ~0.6 s a process.
    # (Imported here: the worker's own process imports this module and needs neither.)
    from worker.pipeline.enrich import use_language_identifier
    from worker.stream.langmodel import load_identifier

    use_language_identifier(load_identifier())
    process_page(_WARM_UP, received_at=_WARM_UP_AT, options=options)
    # Modules, models and caches live as long as the process: out of the collector's sight,
    # so its full collections walk only what pages allocate (measured: GC 0.19 -> 0.09 s
    # over 271 corpus pages).
    gc.freeze()
    conn.send("ready")
    while True:
        try:
            message, received_at, source = conn.recv()
        except (EOFError, OSError):
            # The worker hung up: nothing is left to send or write. Exit now, without the
            # interpreter's teardown of the pipeline's modules and models (~0.1 s, which the
            # worker waits for at every stop and recycle).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        started = time.perf_counter()
        result = process_page(message, received_at=received_at, options=options, source=source)
        conn.send((result, time.perf_counter() - started, resident_bytes()))


class ExtractionDied(Exception):
    """The extraction process exited while it had a page."""


class Slot:
    """One extraction process and the pipe to it."""

    def __init__(self, ctx: Any, options: PipelineOptions) -> None:
        self._ctx = ctx
        self._options = options
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self.pages = 0  # pages this process has extracted
        self._warming = False  # its "ready" message is still to be read

    def start(self) -> None:
        """Spawn the process and wait until it has warmed up (blocking)."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start the process; it imports the pipeline and extracts a warm-up page."""
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_child_main, args=(child, self._options), name="news-extract", daemon=True
        )
        process.start()
        child.close()
        self.process, self.conn, self.pages = process, parent, 0
        self._warming = True

    def wait_ready(self) -> None:
        """Wait (off the event loop) until it has warmed up; if that is slow, the first page
        waits for the "ready" instead (in roundtrip)."""
        if self.conn is None or not self._warming:
            return
        try:
            if self.conn.poll(_READY_WITHIN):
                self.conn.recv()
                self._warming = False
        except (EOFError, OSError):
            pass  # died while starting: the first page finds out and replaces it

    def roundtrip(self, job: Job) -> Reply:
        """Blocking: send one page, wait for (result, seconds, resident bytes after it)."""
        if self.conn is None:  # a replacement that was interrupted: the pool replaces it
            raise ExtractionDied("no extraction process")
        try:
            if self._warming:
                self.conn.recv()
                self._warming = False
            self.conn.send(job)
            reply: Reply = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise ExtractionDied(str(exc) or type(exc).__name__) from None
        self.pages += 1
        return reply

    def cpu_seconds(self) -> float | None:
        """CPU seconds the process has used (user + system, Linux /proc; None: unreadable)."""
        process = self.process
        pid = process.pid if process is not None else None
        if pid is None:
            return None
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                # Fields after the command name, which is in parentheses and may hold spaces:
                # utime and stime are the 14th and 15th fields of the line.
                fields = stat.read().rpartition(b")")[2].split()
            return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> None:
        """Kill the process (if alive) and close the pipe; safe to call twice."""
        if self.process is not None and self.process.is_alive():
            self.process.kill()
        if self.process is not None:
            self.process.join(timeout=5)
        if self.conn is not None:
            self.conn.close()
        self.process, self.conn = None, None

    def hang_up(self) -> None:
        """Ask the process to exit (EOF on its pipe) without waiting (see close)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def close(self) -> None:
        """Ask the process to exit (EOF on its pipe), then make sure it did."""
        self.hang_up()
        if self.process is not None:
            self.process.join(timeout=2)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout=5)
            self.process = None


def resident_bytes() -> int:
    """This process's resident memory (Linux /proc; 0 where that cannot be read)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
