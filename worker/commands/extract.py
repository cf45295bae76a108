"""`news-worker extract PATH`: one HTML or text file -> one article event on stdout."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from worker.errors import ConfigError, ToolError
from worker.inputs import utc_now
from worker.pipeline import looks_like_html, process_page
from worker.pipeline.types import Article, Source
from worker.pipeline.validate import parse_instant
from worker.settings import get_settings

EXIT_REJECTED = 3


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "extract",
        help="extract one HTML or text file into an article event (no Kafka)",
        description="Print the article event for one page file (HTML or plain text, detected "
        "from the content), or print the rejection and exit 3.",
    )
    parser.add_argument("path", help="the page file (HTML or text); - for stdin")
    parser.add_argument("--url", default=None, help="the page's URL (default: file:// is not "
                        "accepted, so https://example.invalid/<file name>)")
    parser.add_argument("--fetched-at", default=None, help="fetch time, RFC 3339 (default: now)")
    parser.add_argument("--id", default=None, help="page id to put in the event")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        raw = sys.stdin.buffer.read() if args.path == "-" else open(args.path, "rb").read()  # noqa: SIM115
    except OSError as exc:
        raise ToolError(f"cannot read {args.path}: {exc.strerror or exc}") from None
    content = raw.decode("utf-8", "replace")
    fetched_at = utc_now()
    if args.fetched_at:
        try:
            fetched_at = parse_instant(args.fetched_at)
        except ValueError:
            raise ConfigError(f"--fetched-at is not RFC 3339: {args.fetched_at!r}") from None
    name = "stdin" if args.path == "-" else args.path.rsplit("/", 1)[-1]
    url = args.url or f"https://example.invalid/{name}"
    field = "html" if looks_like_html(content) else "text"
    message = orjson.dumps({"url": url, field: content, "id": args.id,
                            "fetched_at": fetched_at.isoformat()})
    settings = get_settings()
    result = process_page(message, received_at=fetched_at, options=settings.pipeline_options(),
                          source=Source(file=args.path))
    data = result.to_dict()
    if not isinstance(result, Article):
        data["original"] = f"<{len(raw)} bytes from {args.path}>"  # don't echo the whole file
    sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    return 0 if isinstance(result, Article) else EXIT_REJECTED
