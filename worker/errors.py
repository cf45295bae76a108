"""The exception tree, and the machine-readable reasons a page is rejected.

    NewsWorkerError                 root: everything we raise on purpose
    ├── ConfigError                 bad settings / arguments (the CLI prints one line, exits 2)
    ├── ToolError                   a CLI tool cannot do its job (unreadable file, no broker)
    └── PageRejected                expected branch: this page yields no article
                                    carries a RejectReason and a human detail

A `PageRejected` never leaves the pipeline as an exception: `worker.pipeline.process_page`
turns it into a `Rejection` value, the one boundary per message where that happens.
"""

from __future__ import annotations

from enum import StrEnum


class RejectReason(StrEnum):
    """Why a page was rejected; the `reason` field of schemas/rejection.v2.json."""

    INVALID_JSON = "invalid_json"
    INVALID_RECORD = "invalid_record"
    TOO_LARGE = "too_large"
    HTTP_ERROR = "http_error"
    UNSUPPORTED_CONTENT = "unsupported_content"
    NO_ARTICLE = "no_article"
    TIMEOUT = "timeout"
    INTERNAL_ERROR = "internal_error"


class NewsWorkerError(Exception):
    """Root of every error news-worker raises on purpose."""


class ConfigError(NewsWorkerError):
    """Settings or command-line arguments are wrong."""


class ToolError(NewsWorkerError):
    """A command-line tool cannot do its job (unreadable file, unreachable broker, ...)."""


class PageRejected(NewsWorkerError):
    """This page yields no article; `reason` says why in a machine-readable way."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
