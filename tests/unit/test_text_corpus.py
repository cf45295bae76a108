"""Plain-text body quality on the shared aeb-dev corpus, benchmark metric (skips when absent).

Each of the 121 pages is rendered to text as a browser-based crawler would send it
(`html_text.extract_text(html, guess_layout=True)`) and goes through `process_page` as a
raw-page message with a `text` field. The scorer's functions are imported from
../shared/corpus/aeb-dev/eval_extract.py so the metric is exactly the benchmark's.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from tests.factories import message
from tests.shared_data import CORPUS, load_scorer
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.types import Article

pytestmark = pytest.mark.corpus



@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    scorer = load_scorer()
    html_text = pytest.importorskip("html_text")
    truth = json.loads((CORPUS / "ground-truth.json").read_text("utf-8"))
    rows, rejected = [], []
    received = datetime(2019, 12, 1, tzinfo=UTC)
    for page_id in sorted(truth):
        with gzip.open(CORPUS / "html" / f"{page_id}.html.gz", "rt", encoding="utf-8") as fh:
            text = html_text.extract_text(fh.read(), guess_layout=True)
        result = process_page(
            message(url=truth[page_id]["url"], text=text, page_id=page_id,
                    fetched_at="2019-12-01T00:00:00Z"),
            received_at=received, options=PipelineOptions(),
        )
        body = result.body if isinstance(result, Article) else ""
        if not isinstance(result, Article):
            rejected.append(page_id)
        rows.append(scorer.page_tp_fp_fn(truth[page_id]["articleBody"], body))
    return {"metrics": scorer.aggregate(rows), "rejected": rejected}


def test_text_body_f1(results: dict[str, object]) -> None:
    metrics = results["metrics"]
    assert isinstance(metrics, dict)
    # measured 2026-11-29: F1 0.923 (P 0.930, R 0.917); raw text 0.62-0.68, jusText 0.74-0.80
    assert metrics["f1"] >= 0.91, metrics
    assert metrics["precision"] >= 0.91 and metrics["recall"] >= 0.905, metrics


def test_almost_every_page_yields_an_article(results: dict[str, object]) -> None:
    rejected = results["rejected"]
    assert isinstance(rejected, list)
    assert len(rejected) <= 3, rejected
