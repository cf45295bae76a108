"""`news-worker tail` (not implemented yet)."""

from __future__ import annotations

import argparse
from typing import Any

from worker.errors import ToolError


def register(sub: Any) -> None:
    parser = sub.add_parser("tail", help="(not implemented yet)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    raise ToolError("not implemented yet")
