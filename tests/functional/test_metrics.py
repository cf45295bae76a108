"""The metrics read at scrape time: the extraction pool's processes and memory, the worker's
own process metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from prometheus_client.parser import text_string_to_metric_families

from worker.stream.metrics import WorkerMetrics, resident_bytes


def samples(metrics: WorkerMetrics) -> dict[str, float]:
    return {s.name: s.value for family in text_string_to_metric_families(
        metrics.render().decode()) for s in family.samples if not s.labels}


def test_pool_counts_live_processes_and_sums_their_memory() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        metrics = WorkerMetrics()
        metrics.extraction_pool.source = lambda: [child.pid, gone.pid]
        got = samples(metrics)
        assert got["news_extract_pool_processes"] == 1
        child_rss = resident_bytes(child.pid)
        assert child_rss is not None and child_rss > 1_000_000
        # The child's memory, not the worker's (the test process is much larger).
        assert got["news_extract_pool_resident_memory_bytes"] < got[
            "process_resident_memory_bytes"]
        assert got["news_extract_pool_resident_memory_bytes"] > 1_000_000
    finally:
        child.kill()
        child.wait()


def test_a_killed_process_not_yet_reaped_is_not_live() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert resident_bytes(child.pid) is not None
        child.kill()
        deadline = time.monotonic() + 10
        while open(f"/proc/{child.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the killed child never became a zombie"
            time.sleep(0.01)
        metrics = WorkerMetrics()
        metrics.extraction_pool.source = lambda: [child.pid]
        assert resident_bytes(child.pid) is None
        assert samples(metrics)["news_extract_pool_processes"] == 0
    finally:
        child.kill()
        child.wait()


def test_no_pool_is_zero_processes() -> None:
    got = samples(WorkerMetrics())
    assert got["news_extract_pool_processes"] == 0
    assert got["news_extract_pool_resident_memory_bytes"] == 0


def test_the_worker_process_metrics_are_its_own() -> None:
    got = samples(WorkerMetrics())
    rss = resident_bytes(os.getpid())
    assert rss is not None
    assert abs(got["process_resident_memory_bytes"] - rss) < 0.2 * rss
    assert got["process_cpu_seconds_total"] > 0
