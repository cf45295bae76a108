"""Run the CPU-bound pipeline off the event loop, with a per-page time limit.

    PageExecutor(options, processes=N, timeout=10.0, max_pages=1000, max_rss=512 MiB,
                 clock=LoopClock(), on_restart=callback)
      .process(message, received_at, source)  ->  Article | Rejection   (awaitable, never raises)

Each of the N slots owns one extraction process (worker/stream/extraction.py) and one pipe;
a helper thread does the blocking send/receive, so the event loop only awaits a future.

    time limit   a page that takes more than `timeout` seconds *of its extraction process's
                 CPU* (Linux /proc), or, where that cannot be read (and in thread mode), of the
                 worker's running time (`clock`: a SIGSTOP freeze or a starved loop is not
                 blamed on the page), gets its process killed (SIGKILL: a stuck C extension
                 ignores anything gentler) and becomes a `timeout` rejection; a fresh process
                 takes the slot. CPU, because on a machine short of it (more processes than
                 cores, a neighbour's load) a page waits for a core through no fault of its
                 own: judged by the wall clock, the same page was a timeout under load and an
                 article otherwise. A page stuck without using CPU is caught by a backstop,
                 STUCK_AFTER x `timeout` of the worker's running time
    death        a process that dies by itself (segfault, OOM kill) is replaced and the page
                 tried once more; a second death rejects it as `internal_error`, so one
                 poisonous page can never wedge a partition
    recycling    after `max_pages` pages, or when a page leaves it above `max_rss` bytes
                 resident, a process is replaced (gracefully) before its slot takes another
                 page: one huge page does not leave a process hundreds of MB large for good
    cancelled    a caller cancelled while its page is in flight (a rebalance, a shutdown):
                 the slot goes back to the pool only once that page's result has been read
                 (or its process replaced), so no later page can receive it
Every replacement calls `on_restart(cause)`: "timeout", "died" or "recycled".

`processes=0` runs the pipeline in a worker thread instead (development and tests): a page
that overruns is rejected the same way, but its thread cannot be killed and runs on.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from worker.errors import PageRejected, RejectReason
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.types import Rejection, Source
from worker.pipeline.validate import decode_message, known_fields
from worker.stream.extraction import ExtractionDied, Job, Reply, Result, Slot

log = logging.getLogger(__name__)

STUCK_AFTER = 5  # x timeout of running time: a page that uses no CPU meanwhile is stuck


class Clock(Protocol):
    """Seconds of running time (worker/stream/health.py LoopClock)."""

    def now(self) -> float: ...


class PageExecutor:
    """Runs `process_page` in extraction processes (or a thread) with a per-page time limit."""

    def __init__(
        self, options: PipelineOptions, *, processes: int = 1, timeout: float = 10.0,
        max_pages: int = 0, max_rss: int = 0, clock: Clock | None = None,
        on_restart: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options
        self.timeout = timeout
        self.processes = processes
        self.max_pages = max_pages  # 0: never recycle by count
        self.max_rss = max_rss  # bytes; 0: never recycle by size
        self.clock = clock
        self.on_restart = on_restart
        self.restarts = 0  # extraction processes replaced (all causes)
        self._ctx = multiprocessing.get_context("spawn")
        self._slots: asyncio.Queue[Slot] | None = None
        self._all: list[Slot] = []
        self._background: set[asyncio.Task[None]] = set()
        # Helper threads only wait on pipes; one spare per slot covers a killed slot's thread
        # still unwinding while its replacement works.
        self._threads = ThreadPoolExecutor(
            max_workers=max(2, 2 * processes), thread_name_prefix="news-extract"
        )

    def start(self) -> None:
        """Start the extraction processes (blocking: spawning imports the pipeline)."""
        self._slots = asyncio.Queue()
        # All processes start at once, then each is waited for: N slots cost about one
        # process start-up (imports + warm-up page, ~1 s), not N in a row.
        slots = [Slot(self._ctx, self.options) for _ in range(self.processes)]
        for slot in slots:
            slot.spawn()
            self._all.append(slot)  # stop() reaches it even if a later spawn fails
        for slot in slots:
            slot.wait_ready()
            self._slots.put_nowait(slot)

    def stop(self) -> None:
        """Stop every extraction process; pages in flight get no result."""
        for task in list(self._background):
            task.cancel()
        for slot in self._all:  # all hang up first: the processes exit side by side
            slot.hang_up()
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
        job: Job = (message, received_at, source)
        if self.processes <= 0:
            return await self._in_thread(job)
        assert self._slots is not None, "PageExecutor.start() was not called"  # noqa: S101
        slot = await self._slots.get()
        release = True
        try:
            for attempt in (1, 2):
                future = asyncio.get_running_loop().run_in_executor(
                    self._threads, slot.roundtrip, job)
                try:
                    result, _seconds, resident = await self._within(future, slot.cpu_seconds)
                except asyncio.CancelledError:
                    release = False  # the page is still in that process: settle it first
                    self._spawn(self._settle(slot, future))
                    raise
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
                else:
                    if self._worn(slot, resident):
                        release = False  # recycled in the background, then released
                        self._spawn(self._recycle(slot, resident))
                    return result
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            if release:
                self._slots.put_nowait(slot)

    async def _within(self, future: asyncio.Future[Reply],
                      cpu: Callable[[], float | None] | None = None) -> Reply:
        """The reply, or TimeoutError once the page used `timeout` seconds of `cpu` (its
        process's CPU seconds; None: unreadable) or, without it, of running time; or ran
        STUCK_AFTER times that long."""
        future.add_done_callback(_consume)
        clock = self.clock
        if clock is None and cpu is None:
            return await asyncio.wait_for(asyncio.shield(future), timeout=self.timeout)
        running = clock.now if clock is not None else asyncio.get_running_loop().time
        started, cpu_start = running(), cpu() if cpu is not None else None
        while True:
            ran = running() - started
            now_cpu = cpu() if cpu is not None else None
            used = ran if cpu_start is None or now_cpu is None else now_cpu - cpu_start
            if used >= self.timeout or ran >= STUCK_AFTER * self.timeout:
                raise TimeoutError
            # A process uses at most one CPU second a second (the pipeline is one thread).
            left = min(self.timeout - used, STUCK_AFTER * self.timeout - ran)
            done, _pending = await asyncio.wait({future}, timeout=max(left, 0.01))
            if done:
                return future.result()

    def _worn(self, slot: Slot, resident: int) -> bool:
        return bool((self.max_pages and slot.pages >= self.max_pages)
                    or (self.max_rss and resident > self.max_rss))

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _settle(self, slot: Slot, future: asyncio.Future[Reply]) -> None:
        """After a cancelled page: read its result (dropped) or replace the process."""
        try:
            await self._within(future, slot.cpu_seconds)
        except (TimeoutError, ExtractionDied):
            await self._replace(slot, "timeout" if not future.done() else "died")
        self._release(slot)

    async def _recycle(self, slot: Slot, resident: int) -> None:
        log.info("recycling an extraction process after %s pages (%s MB resident)",
                 slot.pages, resident // 1_000_000)
        await self._replace(slot, "recycled", gently=True)
        self._release(slot)

    def _release(self, slot: Slot) -> None:
        if self._slots is not None and slot in self._all:
            self._slots.put_nowait(slot)

    async def _replace(self, slot: Slot, cause: str, *, gently: bool = False) -> None:
        self.restarts += 1
        if self.on_restart is not None:
            self.on_restart(cause)
        loop = asyncio.get_running_loop()
        # kill+join and spawn block for a moment each: keep them off the event loop too.
        await loop.run_in_executor(None, slot.close if gently else slot.kill)
        await loop.run_in_executor(None, slot.start)
        log.info("extraction process replaced (%s)", cause)

    async def _in_thread(self, job: Job) -> Result:
        loop = asyncio.get_running_loop()
        message, received_at, source = job
        future = loop.run_in_executor(
            self._threads,
            lambda: (process_page(message, received_at=received_at, options=self.options,
                                  source=source), 0.0, 0),
        )
        try:
            result, _seconds, _resident = await self._within(future)
        except TimeoutError:
            return self._timeout(job)
        return result

    def _timeout(self, job: Job) -> Rejection:
        return self._rejection(job, RejectReason.TIMEOUT,
                               f"extraction took longer than {self.timeout:g} s")

    def _rejection(self, job: Job, reason: RejectReason, detail: str) -> Rejection:
        message, received_at, source = job
        record: object = None
        try:
            record = decode_message(message, self.options)
        except PageRejected:
            pass  # only the page id and url are wanted here; the record may be anything
        page_id, url = known_fields(record)
        return Rejection(reason, detail, message, page_id, url, source, received_at)


def _consume(future: asyncio.Future[Any]) -> None:
    """Read a helper future's outcome so an abandoned one logs nothing at exit."""
    if not future.cancelled():
        future.exception()
