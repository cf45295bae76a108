"""The shared corpora (../shared/corpus/aeb-dev, wcxb-dev) and their scorer, read in place.

Pages are read from the corpus folder at run time; nothing of them is written into the
repository (bench/results/ is git-ignored except SUMMARY.md, which holds numbers only).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "aeb-dev"
# The pages were fetched around November 2019; a fixed fetch time (not today) keeps the
# pipeline's date logic (max_date = fetch time) the same on every run.
FETCHED_AT = datetime(2019, 12, 1, tzinfo=UTC)
FETCHED_AT_TEXT = "2019-12-01T00:00:00Z"
# wcxb-dev: fetched 2025-26, its latest ground-truth date is 2026-03-12; a fixed fetch time
# just after it bounds dates the same way on every run.
WCXB_FETCHED_AT = datetime(2026, 4, 1, tzinfo=UTC)


def wcxb_corpus(aeb: Path = DEFAULT_CORPUS) -> Path:
    """wcxb-dev beside aeb-dev (it has no scorer of its own: aeb-dev's scores it)."""
    return aeb.parent / "wcxb-dev"


class CorpusMissing(RuntimeError):
    """The shared corpus (or its scorer) is not there: the section is skipped."""


@dataclass(frozen=True, slots=True)
class Page:
    """One corpus page: its id, URL (from ground-truth.json) and HTML."""

    id: str
    url: str
    html: str


def load_scorer(corpus: Path = DEFAULT_CORPUS) -> ModuleType:
    """The corpus's eval_extract.py imported as a module (its metric, silver labels)."""
    path = corpus / "eval_extract.py"
    if not path.is_file():
        raise CorpusMissing(f"no scorer at {path}")
    spec = importlib.util.spec_from_file_location("aeb_eval_extract", path)
    if spec is None or spec.loader is None:
        raise CorpusMissing(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_pages(
    corpus: Path = DEFAULT_CORPUS, limit: int | None = None, scorer_from: Path | None = None
) -> tuple[ModuleType, dict[str, Any], list[Page]]:
    """(scorer, ground truth, pages in id order); `limit` takes an evenly spread sample.

    `scorer_from`: the folder whose eval_extract.py scores this corpus (default: its own).
    """
    if not (corpus / "ground-truth.json").is_file() or not (corpus / "html").is_dir():
        raise CorpusMissing(f"corpus not found at {corpus}")
    scorer = load_scorer(scorer_from or corpus)
    gt: dict[str, Any] = scorer.load_gt(corpus / "ground-truth.json")
    ids = sorted(gt)
    if limit is not None and limit < len(ids):
        step = len(ids) / limit
        ids = [ids[int(k * step)] for k in range(limit)]
    pages = [Page(i, gt[i].get("url", ""), scorer.read_html(corpus / "html", i)) for i in ids]
    return scorer, gt, pages


def raw_message(
    page: Page, *, text: str | None = None, page_id: str | None = None, url: str | None = None,
    fetched_at: datetime = FETCHED_AT,
) -> bytes:
    """The raw-page message a crawler would publish for this page (HTML, or `text` instead)."""
    record: dict[str, Any] = {
        "id": page_id or page.id,
        "url": url or page.url,
        "fetched_at": fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if text is None:
        record["html"] = page.html
    else:
        record["text"] = text
    return orjson.dumps(record)


def repeated_messages(pages: list[Page], n: int) -> bytes:
    """The throughput input: n raw-page messages as JSON lines, the pages cycled, each with its
    own id (repeats are duplicates, which still go through extraction)."""
    cycled = (pages[k % len(pages)] for k in range(n))
    return b"".join(raw_message(page, page_id=f"{page.id[:16]}-{k}") + b"\n"
                    for k, page in enumerate(cycled))
