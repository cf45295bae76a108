"""Story-level dedupe: decide() on the cases a news feed produces."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from worker.pipeline.dedupe import (
    Decision,
    DedupeEntry,
    Verdict,
    decide,
    expire_entry,
    make_dedupe_key,
    normalize_headline,
)
from worker.pipeline.enrich import content_hash
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import Article
from worker.pipeline.urls import canonicalize_url, make_article_id, source_domain

OPTS = PipelineOptions()
T0 = datetime(2025, 8, 23, 6, 0, tzinfo=UTC)
HEADLINE = "South Korea's Lee to meet Trump as alliance faces defence-cost test"
BODY = "South Korean President Lee Jae Myung will meet U.S. President Donald Trump on Monday."


def article_factory(
    *,
    url: str = "https://www.wire.example/world/lee-trump-summit",
    headline: str = HEADLINE,
    body: str = BODY,
    published_at: datetime | None = T0,
    modified_at: datetime | None = None,
    fetched_at: datetime | None = None,
    page_id: str = "p1",
) -> Article:
    canonical = canonicalize_url(url)
    return Article(
        id=make_article_id(canonical), version=1, page_id=page_id, url=url,
        canonical_url=canonical, source_domain=source_domain(canonical), site_name=None,
        headline=headline, description=None, body=body, authors=(), published_at=published_at,
        modified_at=modified_at, fetched_at=fetched_at or T0 + timedelta(minutes=30),
        language="en", image_url=None, tags=(), keywords=(), entities=(),
        word_count=len(body.split()), reading_time_seconds=5, content_hash=content_hash(body),
        simhash="0" * 16, dedupe_key=make_dedupe_key(headline), date_source=None,
        extractor={"name": "test", "version": "0"},
    )


def run(*articles: Article, origins: list[str | None] | None = None) -> list[Decision]:
    """Feed articles in order through decide(), keeping the entry per dedupe key."""
    state: dict[str, DedupeEntry] = {}
    decisions = []
    for k, article in enumerate(articles):
        origin = origins[k] if origins else f"raw:0:{k}"
        decision = decide(state.get(article.dedupe_key), article, OPTS, origin=origin)
        state[article.dedupe_key] = decision.entry
        decisions.append(decision)
    return decisions


def test_first_sighting_is_new_version_1() -> None:
    (decision,) = run(article_factory())
    assert decision.verdict is Verdict.NEW
    assert decision.article is not None and decision.article.version == 1
    assert decision.duplicate is None
    assert len(decision.entry.stories) == 1


def test_changed_content_with_later_modified_time_is_an_update() -> None:
    first = article_factory()
    second = article_factory(body=BODY + " The talks were moved to Tuesday.",
                             modified_at=T0 + timedelta(hours=2),
                             fetched_at=T0 + timedelta(hours=3), page_id="p2")
    third = article_factory(body=BODY + " Talks ended without a deal.",
                            modified_at=T0 + timedelta(hours=5),
                            fetched_at=T0 + timedelta(hours=6), page_id="p3")
    decisions = run(first, second, third)
    assert [d.verdict for d in decisions] == [Verdict.NEW, Verdict.UPDATE, Verdict.UPDATE]
    assert [d.article.version for d in decisions if d.article] == [1, 2, 3]
    assert {d.article.id for d in decisions if d.article} == {first.id}


def test_changed_content_without_later_modified_time_is_a_duplicate() -> None:
    first = article_factory(modified_at=T0 + timedelta(hours=2))
    no_time = article_factory(body=BODY + " Extra.", fetched_at=T0 + timedelta(hours=3))
    older = article_factory(body=BODY + " Older.", modified_at=T0 + timedelta(hours=1))
    decisions = run(first, no_time, older)
    assert [d.verdict for d in decisions] == [Verdict.NEW, Verdict.DUPLICATE, Verdict.DUPLICATE]


def test_same_content_later_modified_time_is_a_duplicate() -> None:
    decisions = run(article_factory(), article_factory(modified_at=T0 + timedelta(hours=1)))
    assert decisions[1].verdict is Verdict.DUPLICATE


@pytest.mark.parametrize("url", [
    "https://www.wire.example/world/lee-trump-summit?utm_source=twitter#comments",
    "https://m.wire.example/world/lee-trump-summit/amp",
    "http://wire.example/world/lee-trump-summit",
])
def test_url_variants_are_duplicates(url: str) -> None:
    first, second = run(article_factory(), article_factory(url=url, page_id="p2"))
    assert second.verdict is Verdict.DUPLICATE
    assert second.duplicate is not None
    assert first.article is not None
    assert second.duplicate.duplicate_of == first.article.id
    assert second.duplicate.version == 1
    assert second.article is None


def test_recrawl_of_the_same_page_is_a_duplicate() -> None:
    again = article_factory(fetched_at=T0 + timedelta(hours=4), page_id="p1-recrawl")
    decisions = run(article_factory(), again)
    assert decisions[1].verdict is Verdict.DUPLICATE
    assert decisions[1].duplicate is not None and decisions[1].duplicate.page_id == "p1-recrawl"


def test_one_wire_story_on_two_sites_is_one_story() -> None:
    wire = article_factory()
    syndicated = article_factory(
        url="https://news.local-paper.example/2025/08/23/lee-trump",
        headline="UPDATE 1-South Korea’s Lee to meet Trump as alliance faces defence-cost test",
        published_at=T0 + timedelta(minutes=20), page_id="p9")
    assert syndicated.id != wire.id  # different sites, different URLs
    decisions = run(wire, syndicated)
    assert decisions[1].verdict is Verdict.DUPLICATE
    assert decisions[1].duplicate is not None
    assert decisions[1].duplicate.duplicate_of == wire.id


def test_same_message_twice_is_a_redelivery_of_the_same_version() -> None:
    article = article_factory()
    decisions = run(article, article, origins=["raw:0:7", "raw:0:7"])
    assert [d.verdict for d in decisions] == [Verdict.NEW, Verdict.REDELIVERY]
    replay = decisions[1].article
    assert replay is not None and replay.id == article.id and replay.version == 1


def test_same_page_from_another_message_is_a_duplicate_not_a_redelivery() -> None:
    article = article_factory()
    decisions = run(article, article, origins=["raw:0:7", "raw:0:8"])
    assert decisions[1].verdict is Verdict.DUPLICATE


def test_replay_of_an_older_version_is_a_duplicate_of_the_newer_one() -> None:
    first = article_factory()
    update = article_factory(body=BODY + " New detail.", modified_at=T0 + timedelta(hours=1),
                             fetched_at=T0 + timedelta(hours=2))
    decisions = run(first, update, first, update,
                    origins=["raw:0:1", "raw:0:2", "raw:0:1", "raw:0:2"])
    assert [d.verdict for d in decisions] == [
        Verdict.NEW, Verdict.UPDATE, Verdict.DUPLICATE, Verdict.REDELIVERY]
    assert decisions[2].duplicate is not None and decisions[2].duplicate.version == 2
    assert decisions[3].article is not None and decisions[3].article.version == 2


def test_same_headline_on_different_days_is_a_different_story() -> None:
    monday = article_factory(url="https://wire.example/markets/2025-08-25",
                             headline="Stocks close mixed", published_at=T0)
    tuesday = article_factory(url="https://wire.example/markets/2025-08-26",
                              headline="Stocks close mixed", published_at=T0 + timedelta(days=1),
                              fetched_at=T0 + timedelta(days=1, minutes=30))
    decisions = run(monday, tuesday)
    assert [d.verdict for d in decisions] == [Verdict.NEW, Verdict.NEW]
    assert len(decisions[1].entry.stories) == 2


def test_declared_times_just_outside_the_tolerance_are_different_stories() -> None:
    later = T0 + OPTS.dedupe_tolerance + timedelta(minutes=1)
    decisions = run(article_factory(),
                    article_factory(url="https://b.example/x", published_at=later,
                                    fetched_at=later + timedelta(minutes=5)))
    assert decisions[1].verdict is Verdict.NEW


def test_without_declared_times_fetch_times_use_the_wider_tolerance() -> None:
    first = article_factory(published_at=None, fetched_at=T0)
    close = article_factory(url="https://b.example/x", published_at=None,
                            fetched_at=T0 + OPTS.dedupe_tolerance + timedelta(hours=3))
    far = article_factory(url="https://c.example/x", published_at=None,
                          fetched_at=T0 + OPTS.dedupe_fallback_tolerance + timedelta(hours=1))
    assert OPTS.dedupe_tolerance + timedelta(hours=3) <= OPTS.dedupe_fallback_tolerance
    decisions = run(first, close)
    assert decisions[1].verdict is Verdict.DUPLICATE
    decisions = run(first, far)
    assert decisions[1].verdict is Verdict.NEW


def test_one_declared_and_one_undeclared_time_use_the_fallback_tolerance() -> None:
    declared = article_factory(published_at=T0, fetched_at=T0 + timedelta(minutes=5))
    undeclared = article_factory(url="https://b.example/x", published_at=None,
                                 fetched_at=T0 + timedelta(hours=10))
    assert run(declared, undeclared)[1].verdict is Verdict.DUPLICATE


def test_stories_expire_after_the_window() -> None:
    first = article_factory(published_at=None, fetched_at=T0)
    state = run(first)[0].entry
    assert expire_entry(state, T0 + OPTS.dedupe_window, OPTS).stories
    assert not expire_entry(state, T0 + OPTS.dedupe_window + timedelta(seconds=1), OPTS).stories
    # A much later sighting (no declared time) finds nothing left and starts a new story.
    late = replace(first, fetched_at=T0 + OPTS.dedupe_window + timedelta(days=1))
    decision = decide(state, late, OPTS, origin="raw:0:99")
    assert decision.verdict is Verdict.NEW
    assert len(decision.entry.stories) == 1


def test_sightings_keep_a_story_alive() -> None:
    first = article_factory(published_at=None, fetched_at=T0)
    again = article_factory(published_at=None, fetched_at=T0 + timedelta(hours=12))
    entry = run(first, again)[1].entry
    assert entry.stories[0].last_seen == T0 + timedelta(hours=12)


def test_entry_round_trips_through_its_table_form() -> None:
    decisions = run(article_factory(),
                    article_factory(body=BODY + " More.", modified_at=T0 + timedelta(hours=1)))
    entry = decisions[1].entry
    restored = DedupeEntry.from_dict(entry.to_dict())
    assert restored.to_dict() == entry.to_dict()
    assert DedupeEntry.from_dict(None).stories == []


@pytest.mark.parametrize(("a", "b"), [
    ("UPDATE 2-Stocks close mixed", "Stocks close mixed"),
    ("EXCLUSIVE: Stocks close mixed", "stocks CLOSE mixed!"),
    ("Café prices rise", "Cafe prices rise"),
    ("Stocks  close\u00a0mixed", "Stocks close mixed"),
])
def test_headline_normalisation(a: str, b: str) -> None:
    assert normalize_headline(a) == normalize_headline(b)
    assert make_dedupe_key(a) == make_dedupe_key(b)


def test_different_headlines_have_different_keys() -> None:
    assert make_dedupe_key("Stocks close mixed") != make_dedupe_key("Stocks close higher")
