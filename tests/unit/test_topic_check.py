"""The start-up check of existing topics: what it refuses, and the line that says what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from worker.settings import Settings
from worker.stream import topics
from worker.stream.app import NewsApp, create_app, max_record_bytes
from worker.stream.topics import topic_problems, topic_specs, topic_warnings


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


# -- min.insync.replicas: how many brokers have an output before its input is committed --------

def settings_news(tmp_path: Path, **kwargs: object) -> NewsApp:
    return create_app(Settings(store="memory", data_dir=str(tmp_path), web_port=0,
                               **kwargs))  # type: ignore[arg-type]


def test_an_output_topic_acknowledging_on_fewer_brokers_than_configured_is_refused(
    tmp_path: Path,
) -> None:
    """Replication 3 and min.insync.replicas=1 (made by hand, or the broker's default): with
    acks=all an output could be acknowledged by its leader alone, its input committed, and the
    output lost with that one broker."""
    news = settings_news(tmp_path, topic_replication=3)
    articles = spec_of(news, news.settings.topic_articles)
    [problem] = topic_problems(news, articles, 4, 3, {**good(articles),
                                                      "min.insync.replicas": "1"})
    name = articles.name  # type: ignore[attr-defined]
    assert problem == (
        f"topic {name} has min.insync.replicas=1, the worker needs 2 (NEWS_TOPIC_MIN_INSYNC; "
        f"unset: replication - 1): an output acknowledged by 1 broker(s) could be lost with "
        f"them after its input was committed: kafka-configs.sh --alter --entity-type topics "
        f"--entity-name {name} --add-config min.insync.replicas=2, or set "
        f"NEWS_TOPIC_MIN_INSYNC=1 to accept that")
    # Every topic the worker writes is held to it: stories, outputs, changelogs.
    for spec in topic_specs(news):
        if spec.name != news.settings.topic_pages:
            assert topic_problems(news, spec, spec.num_partitions, 3,
                                  {**good(spec), "min.insync.replicas": "1"}), spec.name


def test_the_pages_topic_is_not_held_to_it(tmp_path: Path) -> None:
    """The worker only reads the pages topic: how durably the crawler's writes are
    acknowledged is between the crawler and Kafka."""
    news = settings_news(tmp_path, topic_replication=3)
    pages = spec_of(news, news.settings.topic_pages)
    assert topic_problems(news, pages, 4, 3, {"min.insync.replicas": "1"}) == []
    assert topic_warnings(news, pages, {"min.insync.replicas": "3"}) == []


def test_accepting_one_in_sync_replica_is_a_setting(tmp_path: Path) -> None:
    news = settings_news(tmp_path, topic_replication=3, topic_min_insync=1)
    articles = spec_of(news, news.settings.topic_articles)
    assert topic_problems(news, articles, 4, 3, {**good(articles),
                                                 "min.insync.replicas": "1"}) == []


def test_more_in_sync_replicas_than_replicas_is_refused(news: NewsApp) -> None:
    """Every acks=all write would fail with NOT_ENOUGH_REPLICAS: the partition would wait for
    good instead (NewsSendFailing)."""
    changelog = spec_of(news, "-changelog")
    [problem] = topic_problems(news, changelog, 4, 1, {**good(changelog),
                                                       "min.insync.replicas": "2"})
    assert problem.endswith("has min.insync.replicas=2 but 1 replica(s): the broker refuses "
                            "every acks=all write to it: kafka-configs.sh --alter --entity-type "
                            f"topics --entity-name {changelog.name} "  # type: ignore[attr-defined]
                            "--add-config min.insync.replicas=1")


def test_a_stricter_topic_is_a_warning_only(tmp_path: Path) -> None:
    """3 of 3 where the worker asks 2 of 3: nothing can be lost, but one broker down stops
    the writes (the README promises they go on)."""
    news = settings_news(tmp_path, topic_replication=3)
    articles = spec_of(news, news.settings.topic_articles)
    config = {**good(articles), "min.insync.replicas": "3"}
    assert topic_problems(news, articles, 4, 3, config) == []
    [warning] = topic_warnings(news, articles, config)
    assert "min.insync.replicas=3, above the worker's 2" in warning
    assert topic_warnings(news, articles, good(articles)) == []


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(replication=st.integers(1, 5), setting=st.integers(1, 5) | st.none(),
       extra_replicas=st.integers(0, 2), insync=st.integers(1, 8))
def test_a_written_topic_passes_only_if_acknowledged_outputs_are_on_enough_brokers(
    tmp_path: Path, replication: int, setting: int | None, extra_replicas: int, insync: int,
) -> None:
    """Whatever the settings and the topic: the check lets a written topic through exactly
    when acks=all puts an output on at least the worker's number of brokers and a write can
    succeed at all (min.insync.replicas no higher than the topic's replicas)."""
    assume(setting is None or setting <= replication)
    news = settings_news(tmp_path, topic_replication=replication, topic_min_insync=setting)
    needed = setting if setting is not None else max(1, replication - 1)
    replicas = replication + extra_replicas
    articles = spec_of(news, news.settings.topic_articles)
    problems = topic_problems(news, articles, 4, replicas,
                              {**good(articles), "min.insync.replicas": str(insync)})
    assert (problems == []) == (needed <= insync <= replicas), problems


class _Metadata:
    """An admin client whose brokers list the new topics only from the `shown_from`-th look."""

    def __init__(self, shown_from: int) -> None:
        self.looks, self.shown_from = 0, shown_from

    async def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        self.looks += 1
        known = self.looks >= self.shown_from
        return [{"topic": name, "error_code": 0 if known else 3,
                 "partitions": [{"partition": 0}] if known else []} for name in names]


async def test_start_up_waits_until_the_brokers_list_the_topics_it_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """KRaft brokers list a created topic a moment after the controller answers; a consumer
    joining before is assigned nothing for a metadata refresh (5 min)."""
    monkeypatch.setattr(topics, "METADATA_POLL", 0.0)
    late = _Metadata(shown_from=4)
    assert await topics.await_metadata(late, ["a", "b"], timeout=5.0)  # type: ignore[arg-type]
    assert late.looks == 4
    never = _Metadata(shown_from=10**9)
    assert not await topics.await_metadata(never, ["a"], timeout=0.05)  # type: ignore[arg-type]
    assert never.looks > 1
