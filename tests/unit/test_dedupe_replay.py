"""Crash replays against the dedupe state: only the latest version is ever re-published."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.factories import article_html, message
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.dedupe import DedupeEntry, Verdict, decide
from worker.pipeline.types import Article

OPTIONS = PipelineOptions()
RECEIVED = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
UPDATED = [
    "The council reversed its decision late on Tuesday after a second vote, delaying the "
    "harbour budget until an independent review of the sea wall costs is finished.",
    "Members said the review would take about three months and that no construction "
    "contracts would be signed before its results were published in the summer.",
    "The mayor called the delay regrettable but said the extra scrutiny would reassure "
    "residents who had questioned the timetable during the public meetings.",
]


def article(**kwargs: object) -> Article:
    result = process_page(message(**kwargs), received_at=RECEIVED, options=OPTIONS)
    assert isinstance(result, Article), result
    return result


def test_replay_of_latest_version_republishes_it_identically() -> None:
    first = article(page_id="p1")
    d1 = decide(None, first, OPTIONS, origin="pages:0:1")
    d2 = decide(DedupeEntry.from_dict(d1.entry.to_dict()), first, OPTIONS, origin="pages:0:1")
    assert d2.verdict is Verdict.REDELIVERY
    assert d2.article == d1.article


def test_replay_of_an_older_version_is_a_duplicate_of_the_newer_one() -> None:
    first = article(page_id="p1")
    update = article(page_id="p2", html=article_html(
        paragraphs=UPDATED, modified="2025-03-04T18:00:00+01:00"))
    d1 = decide(None, first, OPTIONS, origin="pages:0:1")
    d2 = decide(d1.entry, update, OPTIONS, origin="pages:0:2")
    assert (d2.verdict, d2.article and d2.article.version) == (Verdict.UPDATE, 2)
    # The v1 message again (a crash before its offset was committed): re-publishing v1 now
    # would put stale content after v2 on the compacted articles topic.
    stored = DedupeEntry.from_dict(d2.entry.to_dict())
    d3 = decide(stored, first, OPTIONS, origin="pages:0:1")
    assert d3.verdict is Verdict.DUPLICATE and d3.article is None
    assert d3.duplicate is not None
    assert (d3.duplicate.duplicate_of, d3.duplicate.version) == (first.id, 2)
    # ...while the v2 message again is the v2 article again.
    d4 = decide(stored, update, OPTIONS, origin="pages:0:2")
    assert d4.verdict is Verdict.REDELIVERY and d4.article == d2.article
