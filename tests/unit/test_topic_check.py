"""The start-up check of existing topics: what it refuses, and the line that says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.settings import Settings
from worker.stream.app import NewsApp, create_app, max_record_bytes
from worker.stream.topics import topic_problems, topic_specs


@pytest.fixture
def news(tmp_path: Path) -> NewsApp:
    return create_app(Settings(store="memory", data_dir=str(tmp_path), web_port=0))


def spec_of(news: NewsApp, suffix: str) -> object:
    [spec] = [s for s in topic_specs(news) if s.name.endswith(suffix)]
    return spec


def good(spec: object) -> dict[str, str]:
    return dict(spec.topic_configs)  # type: ignore[attr-defined]


def test_a_topic_made_as_the_worker_makes_it_passes(news: NewsApp) -> None:
    for spec in topic_specs(news):
        assert topic_problems(news, spec, spec.num_partitions, spec.replication_factor,
                              good(spec)) == [], spec.name


def test_an_output_topic_with_the_broker_default_record_limit_is_refused(
    news: NewsApp,
) -> None:
    spec = spec_of(news, news.settings.topic_articles)
    [problem] = topic_problems(news, spec, 4, 1, {**good(spec), "max.message.bytes": "1048588"})
    limit = max_record_bytes(news.settings)
    assert problem == (
        f"topic {spec.name} takes records up to 1048588 bytes, the worker writes up to {limit}: "  # type: ignore[attr-defined]
        f"kafka-configs.sh --alter --entity-type topics --entity-name {spec.name} "  # type: ignore[attr-defined]
        f"--add-config max.message.bytes={limit}")


def test_co_partitioned_topics_must_match_and_changelogs_be_compacted(news: NewsApp) -> None:
    stories = spec_of(news, "-stories")
    assert "NEWS_TOPIC_PARTITIONS=8" in topic_problems(news, stories, 8, 1, good(stories))[0]
    changelog = spec_of(news, "-changelog")
    problems = topic_problems(news, changelog, 4, 1,
                              {**good(changelog), "cleanup.policy": "delete"})
    assert problems and "cleanup.policy=compact" in problems[0]
    # The pages topic may have any partition count and record limit (the worker only reads it).
    pages = spec_of(news, news.settings.topic_pages)
    assert topic_problems(news, pages, 12, 1, {"max.message.bytes": "1048588"}) == []


def test_fewer_replicas_than_configured_are_refused(tmp_path: Path) -> None:
    news = create_app(Settings(store="memory", data_dir=str(tmp_path), web_port=0,
                               topic_replication=3, min_insync_replicas=2))
    pages = spec_of(news, news.settings.topic_pages)
    [problem] = topic_problems(news, pages, 4, 1, good(pages))
    assert "has replication 1, NEWS_TOPIC_REPLICATION is 3" in problem
