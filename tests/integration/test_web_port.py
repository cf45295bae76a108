"""The worker's web port serves /healthz, /readyz and /metrics, and 404 for everything else
(Faust's own `/`, `/router/`, `/table/` views included), on a real running worker."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.workers import Cluster, worker_cluster  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

# What Faust 0.15 serves on its web port unless told otherwise, and a few near misses.
FAUST_DEFAULT_VIEWS = ("/", "/router/", "/router", "/table/", "/table/dedupe/",
                       "/table/dedupe/x/", "/graph/", "/stats/", "/performance/")
NEAR_MISSES = ("/metrics/", "/healthz/", "/readyz/x", "/METRICS", "/metrics.txt", "//metrics")


async def test_only_health_readiness_and_metrics_are_served(
    worker_cluster: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster(partitions=1)
    worker = cluster.start_worker()  # waits for /readyz 200
    assert worker.get("/healthz") == (200, "ok\n")
    assert worker.get("/readyz") == (200, "ready\n")
    status, text = worker.get("/metrics")
    assert status == 200 and "news_pages_total 0.0" in text
    served = {path: worker.get(path) for path in FAUST_DEFAULT_VIEWS + NEAR_MISSES}
    assert {path: status for path, (status, _) in served.items()} == dict.fromkeys(served, 404)
    assert all(body == "not found\n" for _, body in served.values()), served
