"""The hostile corpus (tests/hostile.py) through `process_page`: each case quickly yields its
expected rejection, with the complete original, or an article."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from tests.hostile import AFTER, ARTICLE, CASES, MAX_PAGE_BYTES
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.types import Article, Rejection, Source

RECEIVED = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
OPTIONS = PipelineOptions(max_page_bytes=MAX_PAGE_BYTES)
LIMIT = 10.0  # seconds per case: generous for a busy 2-core machine; most take < 0.3 s


def run(data: bytes) -> Article | Rejection:
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(process_page, data, received_at=RECEIVED, options=OPTIONS,
                             source=Source("pages.raw", 0, 7))
        return future.result(timeout=LIMIT)


@pytest.mark.parametrize(("name", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_hostile_message_gets_its_outcome(name: str, data: bytes, expected: str) -> None:
    result = run(data)
    if expected == ARTICLE:
        assert isinstance(result, Article), result
        assert result.headline and result.body
        return
    assert isinstance(result, Rejection), f"{name}: {result}"
    assert result.reason.value == expected, result.detail
    assert result.original == data  # the complete original, byte for byte
    assert result.source == Source("pages.raw", 0, 7)


def test_a_normal_page_after_the_corpus_is_an_article() -> None:
    assert isinstance(run(AFTER), Article)
