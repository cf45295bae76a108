"""The pipeline is pure: no Kafka, no network, no environment, no clock (STYLE.md habit 1).

An AST scan of every module in worker/pipeline/; the checker itself is tested on small
snippets so a broken scan cannot pass silently.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parents[2] / "worker" / "pipeline"

# Modules the pipeline must not import (a prefix match: "faust" covers "faust.types").
FORBIDDEN_MODULES = ("faust", "aiokafka", "kafka", "confluent_kafka", "socket", "urllib.request",
                     "http.client", "requests", "httpx", "aiohttp", "subprocess", "worker.settings")
# Dotted names the pipeline must not use: the environment and the clock.
FORBIDDEN_NAMES = ("os.environ", "os.getenv", "os.putenv", "time.time", "time.time_ns",
                   "datetime.now", "datetime.utcnow", "datetime.today", "date.today",
                   "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.date.today")


def _forbidden_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def impurities(source: str) -> list[str]:
    """What in `source` breaks the pipeline's purity rule, as readable strings."""
    found: list[str] = []
    aliases: dict[str, str] = {}  # local name -> full dotted name it stands for
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _forbidden_module(alias.name):
                    found.append(f"import {alias.name}")
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _forbidden_module(node.module):
                found.append(f"from {node.module} import ...")
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if _forbidden_module(full) or full in FORBIDDEN_NAMES:
                    found.append(f"from {node.module} import {alias.name}")
                aliases[alias.asname or alias.name] = full
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted is None:
                continue
            head, _, rest = dotted.partition(".")
            full = f"{aliases.get(head, head)}.{rest}" if rest else aliases.get(head, head)
            for name in FORBIDDEN_NAMES:
                if full == name or full.endswith("." + name) or dotted == name:
                    found.append(dotted)
                    break
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("getenv", "__import__"):
                found.append(f"{node.func.id}()")
    return found


def _modules() -> list[Path]:
    return sorted(PIPELINE.glob("*.py"))


def test_pipeline_modules_found() -> None:
    names = {p.name for p in _modules()}
    assert {"__init__.py", "enrich.py", "dedupe.py", "urls.py", "entities.py"} <= names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_pipeline_module_is_pure(path: Path) -> None:
    assert impurities(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("source", [
    "import faust",
    "import aiokafka.structs",
    "from aiokafka import AIOKafkaProducer",
    "import socket",
    "import urllib.request",
    "from urllib.request import urlopen",
    "from urllib import request",
    "import requests",
    "import os\nx = os.environ['X']",
    "import os\nx = os.environ.get('X')",
    "import os as o\nx = o.getenv('X')",
    "from os import environ",
    "from os import getenv\ngetenv('X')",
    "import time\nt = time.time()",
    "from time import time",
    "from datetime import datetime\nnow = datetime.now()",
    "from datetime import datetime as dt\nnow = dt.utcnow()",
    "import datetime\nnow = datetime.datetime.now(datetime.UTC)",
    "from datetime import date\nd = date.today()",
])
def test_checker_catches_impurities(source: str) -> None:
    assert impurities(source) != []


@pytest.mark.parametrize("source", [
    "import re\nimport hashlib\nfrom urllib.parse import urlsplit",
    "from datetime import UTC, datetime, timedelta\nx = datetime(2025, 1, 1, tzinfo=UTC)",
    "import numpy as np\nx = np.uint64(3)",
    "environ = {}\nx = environ.get('a')",
    "def now() -> int:\n    return 1",
])
def test_checker_allows_pure_code(source: str) -> None:
    assert impurities(source) == []
