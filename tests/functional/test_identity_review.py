"""Review of issue #11 on the real agents (in memory, tests/functional/harness.py).

Each test reproduces a way to break a README identity promise where the promise is about the
worker (Kafka timestamps, the agents), not only the pure stage. Failing tests here are findings
reported on the board to @identity and stay on the `idreview` branch until fixed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from tests.factories import article_html, message
from tests.functional.harness import running_agents, value
from tests.stories import body, paragraph, partition_of
from worker.pipeline.state import url_key
from worker.pipeline.urls import canonicalize_url, make_article_id

NOW = datetime.now(UTC).replace(microsecond=0)  # the worker bounds CreateTime by its clock
URL = "https://www.gazette.example/news/2026/11/29/harbour-budget"


def partition_of_url(url: str) -> int:
    return partition_of(url_key(make_article_id(canonicalize_url(url))))


def other_url_on_the_same_partition(url: str) -> str:
    k = 0
    while partition_of_url(f"https://crawler-b.example/news/{k}") != partition_of_url(url):
        k += 1
    return f"https://crawler-b.example/news/{k}"


async def test_a_crawler_with_a_bad_clock_cannot_age_out_other_stories() -> None:
    # README: "A fetched_at more than 5 minutes after the receive time (the Kafka message
    # timestamp ...) is clamped to it, so a crawler with a bad clock cannot age out other
    # stories." A crawler whose clock is a year ahead stamps its Kafka records with that
    # clock too (a producer's default CreateTime; the worker's topics keep CreateTime and
    # Kafka 3.x accepts any), so nothing is clamped: the stories partition's data clock jumps
    # a year, every URL on it is past NEWS_IDENTITY_HORIZON, and the next crawl of a story
    # already at version 1 is published as version 1 again, with another content.
    paragraphs = body(41).split("\n\n")
    ahead = NOW + timedelta(days=365)
    async with running_agents() as harness:
        await harness.put(message(page_id="a1", url=URL, fetched_at=NOW.isoformat(),
                                  html=article_html(paragraphs=paragraphs)),
                          key=URL.encode(), timestamp=NOW.timestamp())
        other = other_url_on_the_same_partition(URL)
        await harness.put(message(page_id="bad", url=other, fetched_at=ahead.isoformat(),
                                  html=article_html(headline="Ferry timetable changes",
                                                    paragraphs=body(42).split("\n\n"))),
                          key=other.encode(), timestamp=ahead.timestamp())
        later = NOW + timedelta(hours=1)
        await harness.put(message(page_id="a2", url=URL, fetched_at=later.isoformat(),
                                  html=article_html(paragraphs=[*paragraphs, paragraph(9)])),
                          key=URL.encode(), timestamp=later.timestamp())
        got = {}
        for _ in range(3):
            kind, event = await harness.next_output()
            record = value(event)
            got[record["page_id"]] = (kind, record.get("id") or record.get("duplicate_of"),
                                      record.get("version"))
    assert got["a1"][0] == "articles" and got["a1"][2] == 1
    assert got["a2"] == ("articles", got["a1"][1], 2), got


class ThroughPublisher:
    """The identity stage as handle_identity runs it, through the real Publisher, with a
    scripted producer (tests/functional/test_publish.py) refusing what `refuse` says."""

    def __init__(self, refuse: Any) -> None:
        import faust

        from tests.functional.test_publish import FakeApp, ScriptedProducer
        from tests.stories import Feed
        from worker.stream.metrics import WorkerMetrics
        from worker.stream.publish import Publisher

        app = faust.App("identity-review", broker="kafka://127.0.0.1:1")
        self.channels = {name: app.topic(name) for name in ("articles", "duplicates",
                                                            "rejected", "stories")}
        self.producer = ScriptedProducer(lambda _attempt, topic, key: refuse(topic, key))

        async def no_sleep(_seconds: float) -> None:
            return None

        self.publisher = Publisher(FakeApp(self.producer), self.channels["rejected"],  # type: ignore[arg-type]
                                   WorkerMetrics(), 10_000_000, sleep=no_sleep)
        self.feed = Feed()
        self.offset = 0

    async def run(self, item: Any, origin: str) -> None:
        from tests.functional.test_publish import event
        from worker.pipeline.route import STORIES, identity_record
        from worker.pipeline.state import IdentityState, Staged
        from worker.stream.publish import Item, Output

        queue = self.feed.records(item, origin)
        while queue:
            record = queue.pop(0)
            staged = Staged(self.feed.store)
            step = identity_record(record.value, partition_of(record.key or b""),
                                   IdentityState(staged, self.feed.options))
            routed = step.outputs
            outputs = [Output(self.channels[{"article": "articles", "duplicate": "duplicates",
                                             "rejection": "rejected", "stories": "stories"}[
                r.kind]], r.key, r.value, r.schema, r.kind) for r in routed]
            writes = staged.writes_for(None, step.needs, step.fallback)  # as handle_identity
            await self.publisher.publish_many([Item(event(self.offset, record.value), outputs,
                                                    None, writes)])
            self.offset += 1
            # What reached the stories topic is what the next steps read.
            queue += [r for r in routed if r.kind == STORIES and ("stories", r.key, r.value)
                      in self.producer.acked]


async def test_an_article_the_broker_refuses_is_not_remembered_as_published() -> None:
    # README: "Every duplicate points at a published article", "Per id, versions only go up,
    # one at a time: 1, 2, 3". The publisher (worker/stream/publish.py) turns a record the
    # broker refuses for good (here: not authorised to write the articles topic, an ACL
    # mistake during a deploy) into a rejection of the input event -- and then applies that
    # event's `state_writes` anyway (publish_many runs them for every item). The identity
    # state now says the story's version 1 was published. Once the ACL is fixed, the page
    # redriven (same content, a new origin) is a *duplicate of version 1*, which no consumer
    # ever received; the story itself is never published.
    from aiokafka import errors as kafka_errors

    from tests.stories import article

    acl_fixed = False

    def refuse(topic: str, key: bytes | None) -> Any:
        return None if acl_fixed or topic != "articles" else (
            kafka_errors.TopicAuthorizationFailedError())

    stage = ThroughPublisher(refuse)
    await stage.run(article(page_id="p1"), "pages:0:1")
    assert [t for t, _k, _v in stage.producer.acked if t != "stories"] == ["rejected"]
    # The rejection names the version the refused article keeps (a gap in the story's numbers
    # until the page is redriven).
    [rejected] = [v for t, _k, v in stage.producer.acked if t == "rejected"]
    assert f"(id {article().id}, version 1)" in orjson.loads(rejected)["detail"]
    acl_fixed = True
    [redriven] = stage.feed.send(article(page_id="p1"), "pages:0:9")
    assert redriven["_kind"] == "article", (
        f"the redriven page is a {redriven['_kind']} of version {redriven.get('version')}, "
        "which was never published")


async def test_a_probe_hop_the_broker_refuses_does_not_wedge_its_url() -> None:
    # The same publisher behaviour on a probe hop: the `u:` record's output (its `b:` hop) is
    # refused for good, the page is rejected, but the `u:` record's writes (the URL now
    # *pending*) are applied. No verdict will ever come back: every later page of the URL is
    # parked behind a probe that does not exist (on main for NEWS_IDENTITY_HORIZON; with a
    # pending entry that never expires, for ever).
    from aiokafka import errors as kafka_errors

    from tests.stories import T0, article, body, decode, paragraph

    def refuse(topic: str, key: bytes | None) -> Any:
        return kafka_errors.MessageSizeTooLargeError() if (
            topic == "stories" and (key or b"").startswith(b"b:")) else None

    stage = ThroughPublisher(refuse)
    await stage.run(article(page_id="p1"), "pages:0:1")
    assert [t for t, _k, _v in stage.producer.acked if t != "stories"] == ["rejected"]
    later = article(page_id="p2", text=body(1) + "\n\n" + paragraph(4),
                    fetched=T0 + timedelta(hours=1))
    answered = [decode(r)["page_id"] for r in stage.feed.engine.run(stage.feed.records(
        later, "pages:0:5"))]
    assert answered == ["p2"], "a later page of the URL parks behind a probe that never returns"
