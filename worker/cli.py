"""`news-worker`: the command-line entry point.

    news-worker worker     run the streaming worker (Faust) against Kafka
    news-worker process    raw-page JSON lines / WARC -> articles, rejections, duplicates (no Kafka)
    news-worker extract    one HTML or text file -> one article event (no Kafka)
    news-worker replay     files -> the pages topic
    news-worker tail       read articles, rejections or duplicates from their topics
    news-worker redrive    re-publish rejected originals to the pages topic

Every subcommand lives in `worker/commands/<name>.py`. Errors we expect (bad arguments,
unreadable files, unreachable brokers) print one line on stderr and exit non-zero; no
traceback ever reaches the user.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from worker import __version__
from worker.errors import ConfigError, NewsWorkerError

COMMANDS = ("worker", "process", "extract", "replay", "tail", "redrive", "migrate")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no multi-line usage block) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = _Parser(
        prog="news-worker",
        description="Turn raw news pages into clean, enriched article events.",
    )
    parser.add_argument("--version", action="version", version=f"news-worker {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"worker.commands.{name}")
        module.register(sub)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, and blame an unknown option on the subcommand it was given to."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse reports these from the top parser ("news-worker: unrecognized ..."),
        # which does not say whose option it was; the subcommand's parser does.
        # argparse keeps its subparsers private; no public way to list them.
        sub = next(a for a in parser._actions  # noqa: SLF001
                   if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
        sub.choices[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; return its exit code."""
    from worker.settings import get_settings

    parser = build_parser()
    args = _parse(parser, argv)
    try:
        # Every subcommand reads settings: a bad one is one line and exit 2, before any work.
        get_settings()
        code: int = args.run(args)
        return code
    except KeyboardInterrupt:
        print("news-worker: interrupted", file=sys.stderr)
        return 130
    except ConfigError as exc:
        print(f"news-worker {args.command}: {exc}", file=sys.stderr)
        return 2
    except NewsWorkerError as exc:
        print(f"news-worker {args.command}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
