"""Body quality on the shared aeb-dev corpus with the benchmark's own metric (skips when absent).

One pass over the 121 pages through extract + clean; the scorer's functions are imported from
../shared/corpus/aeb-dev/eval_extract.py so the metric is exactly the benchmark's.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from tests.shared_data import CORPUS, load_scorer
from worker.errors import PageRejected
from worker.pipeline.clean import clean_extracted
from worker.pipeline.extract import extract_html
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import RawPage

pytestmark = pytest.mark.corpus



@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    scorer = load_scorer()
    truth = json.loads((CORPUS / "ground-truth.json").read_text("utf-8"))
    rows, rejected = [], []
    fetched = datetime(2019, 11, 25, tzinfo=UTC)
    for page_id in sorted(truth):
        with gzip.open(CORPUS / "html" / f"{page_id}.html.gz", "rt", encoding="utf-8") as fh:
            page = RawPage(url=truth[page_id]["url"], fetched_at=fetched, html=fh.read())
        try:
            body = clean_extracted(extract_html(page, PipelineOptions()), page).body
        except PageRejected:
            body, _ = "", rejected.append(page_id)
        rows.append(scorer.page_tp_fp_fn(truth[page_id]["articleBody"], body))
    return {"metrics": scorer.aggregate(rows), "rejected": rejected}


def test_body_f1_beats_trafilatura(results: dict[str, object]) -> None:
    metrics = results["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["f1"] >= 0.970, metrics  # trafilatura 2.3.1 default: 0.961
    assert metrics["precision"] >= 0.96 and metrics["recall"] >= 0.96, metrics


def test_every_corpus_page_yields_an_article(results: dict[str, object]) -> None:
    assert results["rejected"] == []
