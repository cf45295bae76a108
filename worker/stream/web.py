"""HTTP views on the worker's web port: `/metrics`, `/healthz`, `/readyz`, and nothing else.

    /metrics   Prometheus text exposition (worker/stream/metrics.py)
    /healthz   200 while the process and its event loop are alive (the loop answers)
    /readyz    200 when the worker is doing its job; 503 with the reason otherwise
               (worker/stream/health.py: assignment, rebalance, broker, sends, stalled
               partitions, failing agents)

Faust serves its own views on the same port by default (`/` status, `/router/` cluster
topology, `/table/` table *contents*); the port is exposed for scraping, so they must not be
reachable. `web_settings()` turns Faust's built-in blueprints off with their settings and
installs an aiohttp middleware (through Faust's public `web_application_options`) that answers
404 for every other path, including the `/` index that no setting removes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web as aiohttp_web

from worker.stream.health import readiness

if TYPE_CHECKING:
    from worker.stream.app import NewsApp

# aiohttp refuses a charset inside content_type; Prometheus text is ASCII anyway.
_PROMETHEUS_TEXT = "text/plain; version=0.0.4"
SERVED_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})

_Handler = Callable[[aiohttp_web.Request], Awaitable[aiohttp_web.StreamResponse]]


@aiohttp_web.middleware
async def serve_only_our_views(
    request: aiohttp_web.Request, handler: _Handler
) -> aiohttp_web.StreamResponse:
    """404 for every path but ours, whatever Faust (or a later Faust) mounted there."""
    if request.path not in SERVED_PATHS:
        return aiohttp_web.Response(status=404, text="not found\n")
    return await handler(request)


def web_settings() -> dict[str, Any]:
    """faust.App keyword arguments that keep the web port to our three views."""
    return {
        "web_router_enabled": False,
        "web_tables_enabled": False,
        "web_stats_enabled": False,
        "web_graph_enabled": False,
        "web_metrics_enabled": False,
        "web_application_options": {"middlewares": [serve_only_our_views]},
    }


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
        ready, reason = readiness(news)  # worker/stream/health.py
        return web.text(reason + "\n", status=200 if ready else 503)
