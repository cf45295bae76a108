"""HTTP views on the worker's web port: `/metrics`, `/healthz`, `/readyz`.

    /metrics   Prometheus text exposition (worker/stream/metrics.py)
    /healthz   200 while the process and its event loop are alive (the loop answers)
    /readyz    200 once partitions are assigned, table recovery is done and no rebalance is
               running; 503 with the reason otherwise
"""

from __future__ import annotations

from typing import Any

from worker.stream.app import NewsApp

# aiohttp refuses a charset inside content_type; Prometheus text is ASCII anyway.
_PROMETHEUS_TEXT = "text/plain; version=0.0.4"


def readiness(news: NewsApp) -> tuple[bool, str]:
    """(ready, reason): ready once assigned, recovered and not rebalancing."""
    app = news.app
    if not news.health.assigned:
        return False, "waiting for a partition assignment"
    recovery = app.tables.recovery  # type: ignore[attr-defined]  # on TableManager, not its T
    if app.rebalancing or app.in_recovery or not recovery.completed.is_set():
        return False, "rebalancing or recovering table state"
    return True, "ready"


def install_views(news: NewsApp) -> None:
    """Register the three views on the Faust web server."""
    app = news.app

    @app.page("/metrics", name="metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(news.metrics.render(), content_type=_PROMETHEUS_TEXT)

    @app.page("/healthz", name="healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.text("ok\n")

    @app.page("/readyz", name="readyz")
    async def readyz(web: Any, request: Any) -> Any:
        ready, reason = readiness(news)
        return web.text(reason + "\n", status=200 if ready else 503)
