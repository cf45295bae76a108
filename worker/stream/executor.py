"""Run the CPU-bound pipeline off the event loop, with a per-page time limit.

    PageExecutor(options, processes=N, timeout=10.0)
      .process(message, received_at, source)  ->  Article | Rejection   (awaitable, never raises)

Each of the N slots owns one extraction process (spawned, so it shares no threads or sockets
with the worker) and one pipe. A page goes down the pipe, its result comes back; a helper
thread does the blocking send/receive so the event loop only awaits a future. When a page
takes longer than `timeout`, the slot's process is killed (SIGKILL: a stuck C extension
ignores anything gentler), the page becomes a `timeout` rejection, and a fresh process takes
the slot. A new process extracts one built-in page before it takes work, so its imports and
language models never count against a real page's limit. A process that dies by itself
(segfault, OOM kill) is replaced and the page is tried once more in the new one; a second
death rejects it as `internal_error`, so one poisonous page can never wedge a partition.

`processes=0` runs the pipeline in a worker thread instead (development and tests): a page
that overruns is rejected the same way, but its thread cannot be killed and runs on.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import orjson

from worker.errors import PageRejected, RejectReason
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.types import Article, Rejection, Source
from worker.pipeline.validate import decode_message, known_fields

log = logging.getLogger(__name__)

Result = Article | Rejection
_Job = tuple[bytes, datetime, Source]
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
    process_page(_WARM_UP, received_at=_WARM_UP_AT, options=options)
    conn.send("ready")
    while True:
        try:
            message, received_at, source = conn.recv()
        except (EOFError, OSError):
            return
        started = time.perf_counter()
        result = process_page(message, received_at=received_at, options=options, source=source)
        conn.send((result, time.perf_counter() - started))


class ExtractionDied(Exception):
    """The extraction process exited while it had a page."""


class _Slot:
    """One extraction process and the pipe to it."""

    def __init__(self, ctx: Any, options: PipelineOptions) -> None:
        self._ctx = ctx
        self._options = options
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self._warming = False  # its "ready" message is still to be read

    def start(self) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_child_main, args=(child, self._options), name="news-extract", daemon=True
        )
        process.start()
        child.close()
        self.process, self.conn = process, parent
        # Wait (off the event loop) until it has warmed up; if that is slow, the first page
        # waits for the "ready" instead (in roundtrip).
        self._warming = True
        try:
            if parent.poll(_READY_WITHIN):
                parent.recv()
                self._warming = False
        except (EOFError, OSError):
            pass  # died while starting: the first page finds out and replaces it

    def roundtrip(self, job: _Job) -> tuple[Result, float]:
        """Blocking: send one page, wait for its result (runs in a helper thread)."""
        assert self.conn is not None  # noqa: S101 - start() always runs first
        try:
            if self._warming:
                self.conn.recv()
                self._warming = False
            self.conn.send(job)
            result: tuple[Result, float] = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise ExtractionDied(str(exc) or type(exc).__name__) from None
        return result

    def kill(self) -> None:
        """Kill the process (if alive) and close the pipe; safe to call twice."""
        if self.process is not None and self.process.is_alive():
            self.process.kill()
        if self.process is not None:
            self.process.join(timeout=5)
        if self.conn is not None:
            self.conn.close()
        self.process, self.conn = None, None

    def close(self) -> None:
        """Ask the process to exit (EOF on its pipe), then make sure it did."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.process is not None:
            self.process.join(timeout=2)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout=5)
            self.process = None


class PageExecutor:
    """Runs `process_page` in extraction processes (or a thread) with a per-page time limit."""

    def __init__(
        self, options: PipelineOptions, *, processes: int = 1, timeout: float = 10.0
    ) -> None:
        self.options = options
        self.timeout = timeout
        self.processes = processes
        self.restarts = 0  # extraction processes replaced (timeouts and deaths)
        self._ctx = multiprocessing.get_context("spawn")
        self._slots: asyncio.Queue[_Slot] | None = None
        self._all: list[_Slot] = []
        # Helper threads only wait on pipes; one spare per slot covers a killed slot's thread
        # still unwinding while its replacement works.
        self._threads = ThreadPoolExecutor(
            max_workers=max(2, 2 * processes), thread_name_prefix="news-extract"
        )

    def start(self) -> None:
        """Start the extraction processes (blocking: spawning imports the pipeline)."""
        self._slots = asyncio.Queue()
        for _ in range(self.processes):
            slot = _Slot(self._ctx, self.options)
            slot.start()
            self._all.append(slot)
            self._slots.put_nowait(slot)

    def stop(self) -> None:
        """Stop every extraction process; pages in flight get no result."""
        for slot in self._all:
            slot.close()
        self._all.clear()
        self._threads.shutdown(wait=False, cancel_futures=True)

    def pids(self) -> list[int]:
        """Pids of the extraction processes (for the pool metrics; no waitpid, any thread)."""
        return [slot.process.pid for slot in list(self._all)
                if slot.process is not None and slot.process.pid is not None]

    async def process(self, message: bytes, received_at: datetime, source: Source) -> Result:
        """The pipeline's result for one message, within the time limit; never raises."""
        job: _Job = (message, received_at, source)
        if self.processes <= 0:
            return await self._in_thread(job)
        assert self._slots is not None, "PageExecutor.start() was not called"  # noqa: S101
        slot = await self._slots.get()
        try:
            for attempt in (1, 2):
                try:
                    return await self._in_slot(slot, job)
                except ExtractionDied as exc:
                    code = slot.process.exitcode if slot.process is not None else None
                    log.warning("extraction process died (exit %s, attempt %s): %s",
                                code, attempt, exc)
                    await self._replace(slot, "died")
                    if attempt == 2:
                        return self._rejection(job, RejectReason.INTERNAL_ERROR,
                                               f"extraction process died (exit code {code})")
                except TimeoutError:
                    await self._replace(slot, "timeout")
                    return self._timeout(job)
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            self._slots.put_nowait(slot)

    async def _in_slot(self, slot: _Slot, job: _Job) -> Result:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._threads, slot.roundtrip, job)
        result, _seconds = await asyncio.wait_for(future, timeout=self.timeout)
        return result

    async def _replace(self, slot: _Slot, cause: str) -> None:
        self.restarts += 1
        loop = asyncio.get_running_loop()
        # kill+join and spawn block for a moment each: keep them off the event loop too.
        await loop.run_in_executor(None, slot.kill)
        await loop.run_in_executor(None, slot.start)
        log.info("extraction process replaced (%s)", cause)

    async def _in_thread(self, job: _Job) -> Result:
        loop = asyncio.get_running_loop()
        message, received_at, source = job
        future = loop.run_in_executor(
            self._threads,
            lambda: process_page(message, received_at=received_at, options=self.options,
                                 source=source),
        )
        try:
            return await asyncio.wait_for(future, timeout=self.timeout)
        except TimeoutError:
            return self._timeout(job)

    def _timeout(self, job: _Job) -> Rejection:
        return self._rejection(job, RejectReason.TIMEOUT,
                               f"extraction took longer than {self.timeout:g} s")

    def _rejection(self, job: _Job, reason: RejectReason, detail: str) -> Rejection:
        message, received_at, source = job
        record: object = None
        try:
            record = decode_message(message, self.options)
        except PageRejected:
            pass  # only the page id and url are wanted here; the record may be anything
        page_id, url = known_fields(record)
        return Rejection(reason, detail, message, page_id, url, source, received_at)
