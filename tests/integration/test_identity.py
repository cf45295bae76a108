"""The identity contract on the real topics: two workers, a generated sequence, a crash.

Pages of three stories (re-crawls with edited headlines and growing bodies, URL variants, copies
on other sites, pages declaring the story's URL canonical) go to two workers in one group; one
is SIGKILLed mid-stream and restarted, so its uncommitted pages are replayed. The articles topic
is then read back and checked as a consumer sees it (in partition order):
  * every page is accounted for (an article or a duplicate);
  * no (id, version) with two contents; per id, versions only go up (a repeat only identical);
  * an article's id is its canonical URL's; a version > 1 comes from the story's own site;
  * every duplicate points at a published article; one story per URL; one story's pages per id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.test_worker import accounted, keyed
from tests.integration.workers import Cluster, worker_cluster  # noqa: F401 - the fixture
from tests.stories import html_pages
from worker.pipeline.fingerprint import record_hash
from worker.pipeline.records import article_from_wire
from worker.pipeline.urls import canonicalize_url, make_article_id, source_domain

pytestmark = pytest.mark.integration


def content(record: dict[str, Any]) -> str:
    """The record hash of a published article (what one (id, version) must not vary in)."""
    data = {k: v for k, v in record.items() if not k.startswith("_") and k != "schema"}
    for name in ("published_at", "modified_at", "fetched_at"):
        data[name] = data[name].replace("Z", "+00:00") if data[name] else None
    data["entities"] = data["entities"] or []
    return record_hash(article_from_wire(data))


def check_contract(got: dict[str, list[Any]], story_of: dict[str, int]) -> None:
    contents: dict[tuple[str, int], str] = {}
    latest: dict[str, int] = {}
    first: dict[tuple[str, int], dict[str, Any]] = {}
    for article in got["articles"]:  # per id: one articles partition, read in order
        key = (article["id"], article["version"])
        earlier = first.setdefault(key, article)
        assert contents.setdefault(key, content(article)) == content(article), (key, {
            k: (earlier[k], article[k]) for k in article if earlier.get(k) != article[k]})
        assert latest.get(article["id"], 0) <= article["version"], key
        latest[article["id"]] = article["version"]
        assert article["id"] == make_article_id(canonicalize_url(article["canonical_url"]))
        if article["version"] > 1:
            assert source_domain(article["url"]) == source_domain(article["canonical_url"])
    for duplicate in got["duplicates"]:
        assert duplicate["duplicate_of"] in latest, duplicate
    url_story: dict[str, str] = {}
    id_story: dict[str, set[int]] = {}
    for record in got["articles"] + got["duplicates"]:
        story = record.get("id") or record["duplicate_of"]
        id_story.setdefault(story, set()).add(story_of[record["page_id"]])
        if source_domain(record["url"]) == source_domain(record["canonical_url"]):
            assert url_story.setdefault(record["canonical_url"], story) == story, record
    assert all(len(found) == 1 for found in id_story.values()), id_story
    assert max(v for _, v in contents) >= 2  # the sequence did make versions


async def test_two_workers_and_a_crash_keep_the_identity_contract(
    worker_cluster: Any,  # noqa: F811
) -> None:
    cluster: Cluster = worker_cluster()
    await cluster.create_topics()
    # Times near now: a page without fetched_at gets the Kafka timestamp (now), and a data
    # clock moved months ahead of the other pages would expire their URLs' identity.
    now = datetime.now(UTC)
    pages = html_pages(seed=11, n=90, bad=False, start=now - timedelta(days=2), received=now)
    story_of = {f"e{k}": story for k, (_, story) in enumerate(pages) if story is not None}
    first = cluster.start_worker()
    cluster.start_worker()
    await cluster.send_pages([keyed(page) for page, _ in pages[:60]])
    await cluster.collect(lambda g: len(accounted(g)) >= 20, timeout=120)
    first.kill()  # its uncommitted pages are replayed by whoever owns them next
    cluster.start_worker(index=0)
    await cluster.send_pages([keyed(page) for page, _ in pages[60:]])
    got = await cluster.collect(lambda g: accounted(g) >= set(story_of), timeout=180)
    assert accounted(got) == set(story_of) and not got["rejected"]
    check_contract(got, story_of)


async def test_migrate_carries_the_previous_releases_versions_over(
    worker_cluster: Any,  # noqa: F811
) -> None:
    """Upgrade: the old `dedupe` changelog -> `news-worker migrate` -> re-crawls go on."""
    import subprocess
    import sys

    import orjson
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from tests.factories import article_html, message
    from tests.integration.workers import REPO
    from tests.stories import body
    from worker.settings import Settings
    from worker.stream.app import max_record_bytes

    cluster: Cluster = worker_cluster()
    url = "https://www.gazette.example/news/2025/03/04/tram-depot-plans"
    story = make_article_id(canonicalize_url(url))
    old = {"stories": [{"id": story, "v": 3, "a": "2025-03-04T08:30:00Z", "d": True, "h": "x",
                        "m": "2025-03-04T09:00:00Z", "s": "2025-03-04T09:10:00Z", "o": {}}]}
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([
            NewTopic(f"{cluster.app_id}-dedupe-changelog", 4, 1,
                     topic_configs={"cleanup.policy": "compact"}),
            NewTopic(f"{cluster.app_id}-stories", 4, 1, topic_configs={  # the worker's limit
                "max.message.bytes": str(max_record_bytes(Settings()))})])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(f"{cluster.app_id}-dedupe-changelog",
                                     key=b"0123456789abcdef0123", value=orjson.dumps(old))
    finally:
        await producer.stop()
    env = cluster.env(0, 0)
    result = subprocess.run([sys.executable, "-m", "worker", "migrate"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith("1 stories from 1 keys: sent 1, failed 0")
    cluster.start_worker()
    page = message(page_id="after", url=url, fetched_at="2025-03-05T10:00:00Z",
                   html=article_html(headline="Tram depot plans unveiled",
                                     paragraphs=body(77).split("\n\n")))
    await cluster.send_pages([keyed(page)])
    got = await cluster.collect(lambda g: len(g["articles"]) >= 1)
    [article] = got["articles"]
    assert (article["id"], article["version"]) == (story, 4)  # never version 1 again


async def test_a_page_stamped_far_in_the_future_is_refused_by_the_pages_topic(
    worker_cluster: Any,  # noqa: F811
) -> None:
    """A crawler clock a day ahead: its records' CreateTime is refused where it sees it."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaError

    from tests.factories import message

    cluster: Cluster = worker_cluster()
    cluster.start_worker()  # creates the pages topic with message.timestamp.after.max.ms
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all")
    await producer.start()
    try:
        ahead = int((datetime.now(UTC) + timedelta(days=1)).timestamp() * 1000)
        with pytest.raises(KafkaError, match="(?i)timestamp"):
            await producer.send_and_wait(cluster.topics["pages"], message(page_id="ahead"),
                                         timestamp_ms=ahead)
        now = int(datetime.now(UTC).timestamp() * 1000)
        await producer.send_and_wait(cluster.topics["pages"], message(page_id="now"),
                                     timestamp_ms=now)
    finally:
        await producer.stop()
    got = await cluster.collect(lambda g: len(g["articles"]) >= 1)
    assert [a["page_id"] for a in got["articles"]] == ["now"]
