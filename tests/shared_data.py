"""Where the shared data lives (../shared beside the repository), and its scorer.

Tests read it when present and skip cleanly when it is not; it is never copied into the repo.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus" / "aeb-dev"
WCXB = SHARED / "corpus" / "wcxb-dev"
SEED = SHARED / "seed" / "000_2d4e089eaedf70ad.txt"


def load_scorer() -> ModuleType:
    """The benchmark's own eval_extract.py, so our metric is exactly its metric (or skip)."""
    if not (CORPUS / "eval_extract.py").exists():
        pytest.skip(f"corpus not present at {CORPUS}")
    spec = importlib.util.spec_from_file_location("eval_extract", CORPUS / "eval_extract.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
