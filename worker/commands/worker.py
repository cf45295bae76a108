"""`news-worker worker`: run the streaming worker (Faust) against Kafka.

Everything comes from `NEWS_*` settings. SIGTERM or Ctrl-C stops it gracefully: fetching
stops, the pages in flight are finished and published, offsets are committed and the
consumer group is left; then the extraction processes are stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from worker.errors import ConfigError, ToolError


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "worker",
        help="run the streaming worker: pages topic -> articles, duplicates, rejections",
        description="Consume raw pages from Kafka and publish article events, duplicate "
        "records and rejections. Configured by NEWS_* environment variables (see README); "
        "serves /metrics, /healthz and /readyz on NEWS_WEB_HOST:NEWS_WEB_PORT.",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Faust is heavy to import: load it only for this command.
    import faust

    from worker.logs import configure_logging
    from worker.settings import get_settings
    from worker.stream.agents import install_agents
    from worker.stream.app import create_app
    from worker.stream.blocking import ReportingWorker
    from worker.stream.executor import PageExecutor
    from worker.stream.health import install_health
    from worker.stream.ready import announce_ready, check_web_port, lock_data_dir
    from worker.stream.topics import ensure_topics
    from worker.stream.web import install_views

    settings = get_settings()
    configure_logging(settings)
    check_web_port(settings)  # one line now, not a traceback after Kafka and recovery
    lock_data_dir(settings)  # held until the process exits: one worker per data dir
    try:
        news = create_app(settings)
    except faust.exceptions.ImproperlyConfigured as exc:
        raise ConfigError(f"bad worker settings: {exc}") from None
    executor = PageExecutor(
        news.options, processes=settings.extract_processes, timeout=settings.page_timeout,
        max_pages=settings.extract_max_pages, max_rss=settings.extract_max_rss_mb * 1_000_000,
        clock=news.health.clock,
    )
    install_agents(news, executor)
    install_views(news)
    install_health(news)
    asyncio.run(ensure_topics(news))
    worker = ReportingWorker(
        news.app,
        loglevel=settings.log_level,
        blocking_timeout=settings.blocking_timeout or None,
        override_logging=False,
        redirect_stdouts=False,
        quiet=True,
    )
    # Faust's start-up spinner writes terminal escapes (cursor hide/show) even when stdout is
    # a pipe or a log file, where they corrupt the first JSON log line; our logs say enough.
    worker.spinner = None
    announce_ready(news, worker, settings.extract_processes)
    executor.start()
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # the worker crashed; faust has logged the traceback
        raise ToolError(f"worker crashed: {type(exc).__name__}: {exc}") from None
    finally:
        executor.stop()
    print("news-worker worker: stopped", file=sys.stderr)
    return 0
