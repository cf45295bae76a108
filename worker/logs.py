"""Logging: one JSON object per line in production, a readable line on a terminal.

Call sites log a short message plus context fields, with `%s` arguments:

    log.info("page rejected: %s", reason, extra=fields("page.rejected", page_id=pid, url=url,
             topic=tp.topic, partition=tp.partition, offset=offset, duration=0.012))

Only scalar context fields are written (strings capped), and names that carry page content
(`body`, `html`, `original`, ...) are dropped, so a page body never reaches the log. The
values of secrets (the SASL password) are masked wherever they appear, tracebacks included.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable
from typing import IO, Any

import orjson

from worker.settings import Settings

# The documented fields, first and in this order; other scalar extras follow them.
CONTEXT_FIELDS = ("page_id", "url", "topic", "partition", "offset", "duration")
# Names that hold page content or credentials: never written, whatever their value.
DENIED_FIELDS = frozenset(
    {
        "body",
        "html",
        "text",
        "content",
        "original",
        "value",
        "data",
        "page",
        "raw",
        "password",
        "secret",
        "token",
        "sasl_plain_password",
        "kafka_sasl_password",
    }
)
MAX_MESSAGE = 1000  # characters of a message; a longer one is cut (it may quote input)
MAX_FIELD = 512
MAX_URL = 2048
MAX_TRACEBACK = 8000
MASK = "***"

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "event"}


def fields(event: str, **context: Any) -> dict[str, Any]:
    """The `extra=` mapping for one log call: a stable event name and context fields."""
    return {"event": event, **context}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"...(+{len(text) - limit} chars)"


class _Base(logging.Formatter):
    """Shared parts: context extraction and secret masking."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        """`text` with every secret value replaced by ***."""
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def context(self, record: logging.LogRecord) -> dict[str, Any]:
        """The record's context fields: documented ones first, scalars only, capped."""
        extras = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS}
        ordered = [k for k in CONTEXT_FIELDS if k in extras]
        ordered += sorted(k for k in extras if k not in CONTEXT_FIELDS)
        out: dict[str, Any] = {}
        for key in ordered:
            value = extras[key]
            if key.lower() in DENIED_FIELDS or key.startswith("_"):
                continue
            if isinstance(value, float) and key == "duration":
                value = round(value, 4)
            if isinstance(value, bytes):
                value = f"<{len(value)} bytes>"
            elif not isinstance(value, str | int | float | bool) and value is not None:
                value = str(value)
            if isinstance(value, str):
                value = self.mask(_cut(value, MAX_URL if key == "url" else MAX_FIELD))
            out[key] = value
        return out

    def event_name(self, record: logging.LogRecord) -> str:
        """`extra["event"]` (our stable names, e.g. `page.rejected`), else the formatted
        message (cut at 200 characters): a template such as "created topics: %s" says
        nothing on its own."""
        event = getattr(record, "event", None)
        return str(event) if event else _cut(self.message_text(record), 200)

    def message_text(self, record: logging.LogRecord) -> str:
        """The formatted message, capped and masked."""
        try:
            text = record.getMessage()
        except (TypeError, ValueError):  # bad %-args must not lose the log line
            text = f"{record.msg!s} {record.args!r}"
        return self.mask(_cut(text, MAX_MESSAGE))

    def error_text(self, record: logging.LogRecord) -> tuple[str, str] | None:
        """(one-line error, traceback) of the record's exception, masked, or None."""
        if not record.exc_info or record.exc_info[1] is None:
            return None
        exc = record.exc_info[1]
        summary = self.mask(_cut(f"{type(exc).__name__}: {exc}", MAX_FIELD))
        return summary, self.mask(_cut(self.formatException(record.exc_info), MAX_TRACEBACK))


class JsonFormatter(_Base):
    """One JSON object per line: ts, level, logger, event, message, context, error."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": self.mask(self.event_name(record)),
            "message": self.message_text(record),
        }
        out.update(self.context(record))
        error = self.error_text(record)
        if error is not None:
            out["error"], out["traceback"] = error
        return orjson.dumps(out, default=str).decode()


class ConsoleFormatter(_Base):
    """A readable line: time, level, message, then key=value context."""

    _COLOURS = {
        "DEBUG": "\x1b[2m",
        "INFO": "\x1b[32m",
        "WARNING": "\x1b[33m",
        "ERROR": "\x1b[31m",
        "CRITICAL": "\x1b[1;31m",
    }

    def __init__(self, secrets: Iterable[str] = (), *, colour: bool = False) -> None:
        super().__init__(secrets)
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        level = f"{record.levelname:<7}"
        if self.colour:
            level = f"{self._COLOURS.get(record.levelname, '')}{level}\x1b[0m"
        parts = [f"{stamp}.{int(record.msecs):03d}", level, self.message_text(record)]
        for key, value in self.context(record).items():
            shown = f"{value}s" if key == "duration" else value
            parts.append(f"{key}={shown}")
        line = "  ".join(parts[:3]) + ("  " + " ".join(parts[3:]) if parts[3:] else "")
        error = self.error_text(record)
        if error is not None:
            line += "\n" + error[1]
        return line


def use_json(settings: Settings, stream: IO[str]) -> bool:
    """Whether logs are JSON: `json`, or `auto` when the stream is not a terminal."""
    if settings.log_format == "auto":
        return not _isatty(stream)
    return settings.log_format == "json"


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def build_handler(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler (stderr by default) with the format `settings.log_format` asks for."""
    target = stream if stream is not None else sys.stderr
    secrets = []
    if settings.kafka_sasl_password is not None:
        secrets.append(settings.kafka_sasl_password.get_secret_value())
    handler = logging.StreamHandler(target)
    if use_json(settings, target):
        handler.setFormatter(JsonFormatter(secrets))
    else:
        handler.setFormatter(ConsoleFormatter(secrets, colour=_isatty(target)))
    return handler


class RepeatLimiter(logging.Filter):
    """At most `burst` records per (logger, message template) per `window` seconds from the
    Kafka client; the next one let through says how many were dropped (`suppressed`).

    During a broker outage aiokafka logs each failed reconnect, about 4000 lines a second.
    """

    def __init__(self, prefix: str = "aiokafka", burst: int = 5, window: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.prefix, self.burst, self.window, self.clock = prefix, burst, window, clock
        self._seen: dict[tuple[str, str], list[float]] = {}  # [window start, count, dropped]

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefix):
            return True
        now = self.clock()
        key = (record.name, str(record.msg))
        state = self._seen.setdefault(key, [now, 0.0, 0.0])
        if now - state[0] >= self.window:
            dropped = int(state[2])
            state[:] = [now, 0.0, 0.0]
            if dropped:
                record.suppressed = dropped
        state[1] += 1
        if state[1] > self.burst:
            state[2] += 1
            return False
        return True


# Library INFO lines kept at INFO (the rest is start-up and shutdown chatter: DEBUG): one
# line per rebalance and the group left on shutdown (aiokafka), and a long changelog
# recovery's progress (faust), which explains why a worker is not ready yet.
_KEPT_INFO = (
    "Setting newly assigned partitions",
    "LeaveGroup request succeeded",
    "Restoring state from changelog topics",
    "Still fetching changelog topics",
    "Done reading from changelog topics",
)
_CHATTY = ("faust.", "mode.", "aiokafka")
# Errors that are normal for a while: the group coordinator of a fresh cluster or after a
# broker restart (the offsets topic is still being created or moved).
_TRANSIENT = ("CoordinatorNotAvailable", "NotCoordinator", "CoordinatorLoadInProgress")
TRANSIENT_GRACE = 30.0  # seconds a transient error stays at DEBUG before it is a WARNING


class LibraryNoise(logging.Filter):
    """Demote Faust/mode/aiokafka start-up chatter to DEBUG, and expected transient errors to
    DEBUG for `grace` seconds (WARNING after that: then they are news).

    A handler filter: the record's level is changed and it is dropped when the handler's
    configured `level` no longer admits it.
    """

    def __init__(self, level: int, grace: float = TRANSIENT_GRACE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.level, self.grace, self.clock = level, grace, clock
        self._first_seen: float | None = None
        self._last_seen = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        # mode's services ("[^--InputConsumer]: Starting...") log under their own module's
        # logger, ours included.
        service = str(record.msg).startswith("[^")
        if not record.name.startswith(_CHATTY) and not service:
            return True
        if record.levelno == logging.INFO:
            if any(kept in str(record.msg) for kept in _KEPT_INFO):
                return True
            return self._relevel(record, logging.DEBUG)
        if record.levelno >= logging.WARNING and self._transient(record):
            now = self.clock()
            if self._first_seen is None or now - self._last_seen > self.grace:
                self._first_seen = now  # a new episode
            self._last_seen = now
            if now - self._first_seen < self.grace:
                return self._relevel(record, logging.DEBUG)
            return self._relevel(record, logging.WARNING)
        return True

    @staticmethod
    def _transient(record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            text = str(record.msg)
        return any(name in text for name in _TRANSIENT)

    def _relevel(self, record: logging.LogRecord, level: int) -> bool:
        record.levelno, record.levelname = level, logging.getLevelName(level)
        return level >= self.level


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Route every logger (ours, Faust's, aiokafka's, warnings) through one handler.

    Returns the handler. Faust/mode replace the root handlers when their Worker starts, so
    start it with `override_logging=False` after calling this.
    """
    handler = build_handler(settings, stream)
    handler.addFilter(LibraryNoise(logging.getLevelName(settings.log_level)))
    handler.addFilter(RepeatLimiter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    logging.captureWarnings(True)
    return handler
