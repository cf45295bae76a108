"""What the worker says when it starts: a web port it cannot have, in one line before anything
else happens, and one line of its own once it is ready.

    check_web_port(settings)        ToolError naming NEWS_WEB_PORT when it cannot be bound
    lock_data_dir(settings)         ToolError naming NEWS_DATA_DIR and the other worker's pid
                                    when another worker on this host uses the directory
    announce_ready(news, processes) logs "ready: consuming pages.raw (4 partitions, 4 here)
                                    -> articles, articles.duplicates, pages.rejected ..."

Faust binds its web server only after connecting to Kafka and recovering the tables, and a
port in use there crashes the app with a traceback; checking first turns that into one line.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
from pathlib import Path
from typing import Any

from worker.errors import ToolError
from worker.logs import fields
from worker.settings import Settings
from worker.stream.app import NewsApp

log = logging.getLogger(__name__)


def check_web_port(settings: Settings) -> None:
    """Bind NEWS_WEB_HOST:NEWS_WEB_PORT for a moment, as Faust's server will (SO_REUSEADDR)."""
    if settings.web_port == 0:
        return
    where = f"{settings.web_host}:{settings.web_port}"
    try:
        infos = socket.getaddrinfo(settings.web_host, settings.web_port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ToolError(
            f"NEWS_WEB_HOST={settings.web_host!r} is not an address this machine has: {exc}"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                reason = f"{where} is already in use (another worker? each needs its own port)"
            else:
                reason = f"cannot listen on {where}: {exc.strerror or exc}"
            raise ToolError(
                f"NEWS_WEB_PORT={settings.web_port}: {reason}; set another NEWS_WEB_PORT, "
                "or 0 for no web server"
            ) from None


def ready_line(news: NewsApp, processes: int) -> tuple[str, dict[str, Any]]:
    """The ready message and its log fields."""
    settings, app = news.settings, news.app
    pages = settings.topic_pages
    try:
        total = app.consumer.topic_partitions(pages)
        here = sum(1 for tp in app.assignor.assigned_actives() if tp.topic == pages)
    except Exception:  # noqa: BLE001 - the line is informative; never fail start-up over it
        total, here = None, None
    counts = f"{total} partitions, {here} here" if total else "partitions unknown"
    outputs = ", ".join([settings.topic_articles, settings.topic_duplicates,
                         settings.topic_rejected])
    web = f"http://{settings.web_host}:{settings.web_port}" if settings.web_port else "no web"
    text = (
        f"ready: consuming {pages} ({counts}) -> {outputs}; group {settings.app_id}; "
        f"{processes} extraction process{'es' if processes != 1 else ''}; {web}"
    )
    context = fields(
        "worker.ready", topic=pages, partitions=total, assigned=here, group=settings.app_id,
        outputs=outputs, extract_processes=processes, web=web,
        blocking_timeout=settings.blocking_timeout,
    )
    return text, context


def announce_ready(news: NewsApp, worker: Any, processes: int) -> None:
    """Log the ready line when Faust has finished starting (after the first recovery)."""
    finished = worker.on_startup_finished  # the Worker's own (starts the blocking detector)

    async def on_startup_finished() -> None:
        await finished()
        text, context = ready_line(news, processes)
        log.info("%s", text, extra=context)

    # An instance attribute: the Worker hands `self.on_startup_finished` to the app when it
    # starts (Worker.on_init_dependencies), so this one is called in its place.
    worker.on_startup_finished = on_startup_finished


def lock_data_dir(settings: Settings) -> int:
    """Hold an exclusive lock on NEWS_DATA_DIR for the life of the process (the open fd).

    Two workers on one host with the same data dir fight over the RocksDB stores ("DB for
    partition 1 is locked! Retry in 1s" for as long as the other one runs) while holding
    partitions: pages come out late and repeated. The second one now stops at once.
    """
    directory = Path(settings.data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "worker.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            os.close(fd)
            raise ToolError(f"cannot lock NEWS_DATA_DIR={settings.data_dir}: {exc}") from None
        other = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise ToolError(
            f"NEWS_DATA_DIR={settings.data_dir} is in use by another worker (pid {other}): "
            "give each worker on this host its own NEWS_DATA_DIR") from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd
