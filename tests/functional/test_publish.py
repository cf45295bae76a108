"""The send path against a scripted producer: what is acknowledged, re-sent, replaced, raised.

The producer here resolves each record's future the way aiokafka does (later, in send order)
with the outcome a script gives; the broker-facing behaviour is proven against the real
broker in tests/integration/test_delivery.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import faust
import orjson
import pytest
from aiokafka import errors as kafka_errors
from faust.exceptions import ProducerSendError
from faust.types.tuples import ConsumerMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.stream import publish
from worker.stream.metrics import WorkerMetrics
from worker.stream.publish import (
    BOUNDED_REJECTION_BYTES,
    Item,
    Output,
    ProducerBroken,
    Publisher,
    classify,
)

Outcome = BaseException | None  # None: acknowledged
Script = Callable[[int, str, bytes | None], Outcome]  # (attempt, topic, key) -> outcome


@dataclass
class ScriptedProducer:
    """Resolves each send's future later, in send order, with the script's outcome."""

    script: Script
    sent: list[tuple[str, bytes | None, bytes | None]] = field(default_factory=list)
    acked: list[tuple[str, bytes | None, bytes | None]] = field(default_factory=list)
    attempts: dict[tuple[str, bytes | None, bytes | None], int] = field(default_factory=dict)

    async def send(self, topic: str, key: bytes | None, value: bytes | None,
                   partition: int | None, timestamp: float | None, headers: Any) -> Any:
        record = (topic, key, value)
        attempt = self.attempts[record] = self.attempts.get(record, 0) + 1
        outcome = self.script(attempt, topic, key)
        if isinstance(outcome, RaisedAtSend):
            raise ProducerSendError("Error while sending") from outcome.cause
        self.sent.append(record)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def resolve() -> None:
            if outcome is None:
                self.acked.append(record)
                future.set_result(record)
            else:
                future.set_exception(outcome)

        asyncio.get_running_loop().call_soon(resolve)
        return future


class RaisedAtSend(Exception):
    """Script outcome: the producer refuses the record before queueing it (client side)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


@dataclass
class FakeApp:
    producer: ScriptedProducer
    consumer: Any = None

    async def maybe_start_producer(self) -> ScriptedProducer:
        return self.producer


@dataclass(eq=False)
class FakeEvent:
    message: ConsumerMessage


def event(offset: int, value: bytes = b'{"url": "https://x.example/a"}') -> FakeEvent:
    return FakeEvent(ConsumerMessage("pages", 0, offset, 1.7e9, 0, None, b"https://x.example/a",
                                     value, None))


@pytest.fixture(scope="module")
def topics() -> dict[str, Any]:
    app = faust.App("publish-test", broker="kafka://127.0.0.1:1")
    return {name: app.topic(name) for name in ("articles", "rejected", "stories")}


def make(script: Script, topics: dict[str, Any]) -> tuple[Publisher, ScriptedProducer,
                                                           list[float]]:
    producer = ScriptedProducer(script)
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    publisher = Publisher(FakeApp(producer), topics["rejected"], WorkerMetrics(), 10_000,
                          sleep=sleep)  # type: ignore[arg-type]  # a stand-in app
    return publisher, producer, pauses


def article(topics: dict[str, Any], key: str, value: str) -> Output:
    return Output(topics["articles"], key.encode(), value.encode(), "article.v1", "article")


def metric(publisher: Publisher, sample: str) -> float:
    for line in publisher._metrics.render().decode().splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {sample}")


async def test_returns_once_every_record_is_acknowledged(topics: dict[str, Any]) -> None:
    publisher, producer, pauses = make(lambda *_: None, topics)
    outputs = [article(topics, f"k{i}", f"v{i}") for i in range(3)]
    await publisher.publish(event(0), outputs)  # type: ignore[arg-type]
    assert producer.acked == [("articles", f"k{i}".encode(), f"v{i}".encode()) for i in range(3)]
    assert producer.sent == producer.acked and not pauses


async def test_a_retriable_failure_sends_what_is_not_acknowledged_again(
    topics: dict[str, Any],
) -> None:
    def script(attempt: int, topic: str, key: bytes | None) -> Outcome:
        return kafka_errors.NotLeaderForPartitionError() if key == b"b" and attempt < 3 else None

    publisher, producer, pauses = make(script, topics)
    outputs = [article(topics, k, k.upper()) for k in "abcd"]
    await publisher.publish(event(0), outputs)  # type: ignore[arg-type]
    keys = [key for _t, key, _v in producer.acked]
    assert keys == [b"a", b"c", b"d", b"b"]  # b failed twice, then went again on its own
    assert pauses == [0.1, 0.2]
    assert metric(publisher, 'news_send_failures_total{cause="retriable",output="article"}') == 2
    assert publisher.waiting.failing_since is None and publisher.oldest_wait() == 0.0


async def test_a_key_is_never_acknowledged_out_of_order(topics: dict[str, Any]) -> None:
    def script(attempt: int, topic: str, key: bytes | None) -> Outcome:
        return kafka_errors.KafkaTimeoutError() if attempt == 1 and key == b"k" else None

    publisher, producer, _ = make(script, topics)
    outputs = [article(topics, "k", "v1"), article(topics, "k", "v2")]
    await publisher.publish(event(0), outputs)  # type: ignore[arg-type]
    # v2 waited for v1's acknowledgement: when v1 failed, v2 was not sent at all.
    assert [v for _t, _k, v in producer.acked] == [b"v1", b"v2"]


async def test_a_record_refused_for_good_becomes_a_rejection_with_its_source(
    topics: dict[str, Any],
) -> None:
    def script(attempt: int, topic: str, key: bytes | None) -> Outcome:
        return kafka_errors.MessageSizeTooLargeError() if topic == "articles" else None

    publisher, producer, pauses = make(script, topics)
    await publisher.publish(event(7), [article(topics, "k", "big")])  # type: ignore[arg-type]
    [(topic, key, value)] = producer.acked
    rejection = orjson.loads(value or b"")
    assert topic == "rejected" and key == b"https://x.example/a"
    assert rejection["reason"] == "too_large"
    assert rejection["source"] == {"topic": "pages", "partition": 0, "offset": 7} | (
        {"timestamp": rejection["source"]["timestamp"]} if "timestamp" in rejection["source"]
        else {})
    assert "the broker refused the article record for articles" in rejection["detail"]
    assert not pauses  # nothing to wait for: the replacement goes at once
    assert metric(publisher, 'news_send_failures_total{cause="too_large",output="article"}') == 1
    assert metric(publisher, 'news_rejections_total{reason="too_large"}') == 1


async def test_a_refused_rejection_goes_again_bounded(topics: dict[str, Any]) -> None:
    refused = {"articles", "rejected-first"}

    def script(attempt: int, topic: str, key: bytes | None) -> Outcome:
        if topic == "articles" or (topic == "rejected" and "rejected-first" in refused):
            refused.discard("rejected-first") if topic == "rejected" else None
            return kafka_errors.MessageSizeTooLargeError()
        return None

    publisher, producer, _ = make(script, topics)
    page = b'{"url": "https://x.example/a", "html": "' + b"x" * 20_000 + b'"}'
    await publisher.publish(event(3, page), [article(topics, "k", "big")])  # type: ignore[arg-type]
    [(_topic, _key, value)] = producer.acked
    assert value is not None and len(value) <= BOUNDED_REJECTION_BYTES
    assert orjson.loads(value)["source"]["offset"] == 3


async def test_a_client_side_refusal_is_classified_like_the_broker_one(
    topics: dict[str, Any],
) -> None:
    def script(attempt: int, topic: str, key: bytes | None) -> Outcome:
        return (RaisedAtSend(kafka_errors.MessageSizeTooLargeError()) if topic == "articles"
                else None)

    publisher, producer, _ = make(script, topics)
    await publisher.publish(event(1), [article(topics, "k", "v")])  # type: ignore[arg-type]
    assert [t for t, _k, _v in producer.acked] == ["rejected"]


async def test_a_broken_producer_raises_and_marks_nothing_done(topics: dict[str, Any]) -> None:
    done: list[Any] = []

    class Consumer:
        def confirmed(self) -> bool:
            return True

        def owns(self, message: Any) -> bool:
            return True

        def mark_done(self, message: Any) -> None:
            done.append(message)

    publisher, _producer, _ = make(lambda *_: kafka_errors.ProducerFenced(), topics)
    with pytest.MonkeyPatch.context() as patch, pytest.raises(ProducerBroken):
        patch.setattr(publish, "input_consumer", lambda _consumer: Consumer())
        await publisher.publish(event(0), [article(topics, "k", "v")])  # type: ignore[arg-type]
    assert not done
    ok, _producer, _ = make(lambda *_: None, topics)
    with pytest.MonkeyPatch.context() as patch:  # the same consumer sees a success
        patch.setattr(publish, "input_consumer", lambda _consumer: Consumer())
        await ok.publish(event(0), [article(topics, "k", "v")])  # type: ignore[arg-type]
    assert len(done) == 1


@pytest.mark.parametrize(("error", "cause"), [
    (kafka_errors.KafkaConnectionError(), "retriable"),
    (kafka_errors.NotEnoughReplicasError(), "retriable"),
    (kafka_errors.KafkaTimeoutError(), "timeout"),
    (kafka_errors.RecordListTooLargeError(), "too_large"),
    (kafka_errors.TopicAuthorizationFailedError(), "unauthorized"),
    (kafka_errors.InvalidTopicError(), "refused"),
    (TypeError("bad key"), "refused"),
    (kafka_errors.OutOfOrderSequenceNumber(), "broken"),
    (kafka_errors.ProducerClosed(), "broken"),
])
def test_classify(error: BaseException, cause: str) -> None:
    assert classify(error) == cause
    wrapped = ProducerSendError("Error while sending")
    wrapped.__cause__ = error
    assert classify(wrapped) == cause


FAILURES = st.sampled_from([None, None, None, "retriable", "timeout", "too_large"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(keys=st.lists(st.sampled_from("abc"), min_size=1, max_size=8),
       plan=st.lists(FAILURES, max_size=30))
def test_every_record_arrives_and_each_key_in_order(
    topics: dict[str, Any], keys: list[str], plan: list[str | None],
) -> None:
    """Whatever fails when, every input's record is acknowledged once or the input is
    rejected, and per key the acknowledgements come in the order the records were given."""
    script_plan = iter(plan)
    errors = {"retriable": kafka_errors.KafkaConnectionError, "timeout":
              kafka_errors.KafkaTimeoutError, "too_large": kafka_errors.MessageSizeTooLargeError}

    def script(attempt: int, topic: str, key: bytes | None) -> Outcome:
        if topic == "rejected":
            return None
        failure = next(script_plan, None)
        return errors[failure]() if failure else None

    publisher, producer, _ = make(script, topics)
    outputs = [article(topics, key, f"{key}{i}") for i, key in enumerate(keys)]
    # A batch: one input event per output (as the extract agent publishes a batch of pages).
    items = [Item(event(i), [output]) for i, output in enumerate(outputs)]  # type: ignore[arg-type]
    asyncio.run(publisher.publish_many(items))  # type: ignore[arg-type]
    acked = [(k.decode(), v.decode()) for t, k, v in producer.acked if t == "articles" and k
             and v]
    rejected = len({v for t, _k, v in producer.acked if t == "rejected"})  # repeats identical
    published = {v for _k, v in acked}
    assert len(published) + rejected == len(outputs)
    for key in set(keys):
        intended = [f"{key}{i}" for i, k in enumerate(keys) if k == key]
        mine = [v for k, v in acked if k == key]
        assert mine == [v for v in intended if v in published]  # once each, in order


def test_rejections_of_refused_outputs_match_the_schema() -> None:
    from tests.unit.test_schemas import validator
    from worker.errors import RejectReason
    from worker.pipeline.types import Source
    from worker.stream.publish import Origin

    check = validator("rejection.v2.json")
    page = Origin.of(event(4), page_id="p", url="https://x.example/a")  # type: ignore[arg-type]
    key, value = page.rejection(RejectReason.TOO_LARGE, "refused", 1_000_000)
    record = orjson.loads(value)
    check.validate(record)
    assert key == b"p" and record["original_omitted"] is None and record["key"]
    # Without room for the original: omitted for its size, fetched from `source` by redrive.
    _key, value = page.rejection(RejectReason.TOO_LARGE, "refused", 300)
    record = orjson.loads(value)
    check.validate(record)
    assert record["original_omitted"] == "size" and record["original_bytes"] > 0
    # A later stage has only the page's position: "not_kept", and its size is unknown.
    later = Origin(Source("pages", 2, 9), b"", timestamp=1.7e9, url="https://x.example/a",
                   kept=False)
    key, value = later.rejection(RejectReason.INTERNAL_ERROR, "failed", 1_000_000)
    record = orjson.loads(value)
    check.validate(record)
    assert key == b"https://x.example/a"
    assert record["original"] is None and record["original_omitted"] == "not_kept"
    assert record["original_bytes"] is None and record["headers"] is None
    assert record["source"] == {"topic": "pages", "partition": 2, "offset": 9,
                                "timestamp": 1_700_000_000_000}


async def test_state_writes_go_after_the_outputs_and_their_changelog_is_awaited(
    topics: dict[str, Any],
) -> None:
    """The state never runs ahead of published outputs, and the offset waits for both."""
    from faust.types.tuples import FutureMessage, PendingMessage

    done: list[Any] = []

    class Consumer:
        def confirmed(self) -> bool:
            return True

        def owns(self, message: Any) -> bool:
            return True

        def mark_done(self, message: Any) -> None:
            done.append(message)

    publisher, producer, _ = make(lambda *_: None, topics)
    changelog = FutureMessage(PendingMessage(topics["stories"], b"u:1", b"state", 0, None,
                                             None, None, None, None, None))
    seen: list[int] = []

    def state_writes(landed: frozenset[int]) -> None:
        assert landed == {0}
        seen.append(len(producer.acked))  # outputs acknowledged by now
        collecting = publish._COLLECTING.get()
        assert collecting is not None
        collecting.append(changelog)  # as TrackedTable.send_changelog does

    async def broker_acks_changelog_later() -> None:
        await asyncio.sleep(0.05)
        assert not done  # not done while its changelog record is unacknowledged
        changelog.set_result(None)

    acking = asyncio.ensure_future(broker_acks_changelog_later())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(publisher, "_changelog", True)
        patch.setattr(publish, "input_consumer", lambda _consumer: Consumer())
        await publisher.publish(event(0), [article(topics, "k", "v")],  # type: ignore[arg-type]
                                state_writes=state_writes)
    await acking
    assert seen == [1] and len(done) == 1


async def test_state_writes_learn_which_outputs_landed(
    topics: dict[str, Any],
) -> None:
    """An output refused for good is replaced by the event's rejection: the event's state
    writes hear which of its outputs landed as themselves (none: an empty set), so the state
    need not remember what no consumer received (identity-review FINDING 13)."""
    def script(_attempt: int, topic: str, key: bytes | None) -> Outcome:
        if key in (b"refused", b"hop-refused"):
            return kafka_errors.TopicAuthorizationFailedError()
        return kafka_errors.MessageSizeTooLargeError() if key == b"too-big" else None

    publisher, producer, _ = make(script, topics)
    story = Output(topics["stories"], b"hop-refused", b"h", None, "story")
    calls: dict[int, list[frozenset[int]]] = {}

    def writes(index: int) -> Any:
        return lambda landed: calls.setdefault(index, []).append(landed)

    batch = [
        Item(event(0), [article(topics, "a0", "v")], None, writes(0)),  # all landed
        Item(event(1), [article(topics, "a1", "v"), story], None, writes(1)),  # hop refused
        Item(event(2), [article(topics, "refused", "v"), story], None, writes(2)),  # none
        Item(event(3), [], None, writes(3)),  # nothing to land
        Item(event(4), [article(topics, "too-big", "v"),  # first refused, second landed
                        Output(topics["stories"], b"h4", b"h", None, "story")], None, writes(4)),
    ]
    await publisher.publish_many(batch)  # type: ignore[arg-type]
    assert calls == {0: [frozenset({0})], 1: [frozenset({0})], 2: [frozenset()],
                     3: [frozenset()], 4: [frozenset({1})]}
    rejected = [orjson.loads(v)["source"]["offset"] for t, _k, v in producer.acked
                if t == "rejected"]
    assert rejected == [1, 2, 4]  # each input with a refused output rejected once


async def test_a_zombie_holds_its_sends_then_drops_what_it_no_longer_owns(
    topics: dict[str, Any],
) -> None:
    """After a freeze past the session timeout, nothing goes out until the membership is
    confirmed; then the outputs of events whose partition moved away are dropped."""
    kept, moved = event(1), event(2)
    done: list[Any] = []

    class Consumer:
        def confirmed(self) -> bool:
            return True

        def owns(self, message: Any) -> bool:
            return message is kept.message

        def mark_done(self, message: Any) -> None:
            done.append(message)

    class WokenClock:
        checks = 0

        def woke_within(self, window: float, now: float | None = None) -> bool:
            self.checks += 1
            return self.checks <= 5  # woke from a freeze; confirmed after a few checks

    publisher, producer, pauses = make(lambda *_: None, topics)
    publisher._clock = WokenClock()  # type: ignore[assignment]
    publisher._app.rebalancing = False  # type: ignore[attr-defined]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(publish, "input_consumer", lambda _consumer: Consumer())
        await publisher.publish_many([
            Item(kept, [article(topics, "k1", "v1")]),  # type: ignore[arg-type]
            Item(moved, [article(topics, "k2", "v2")]),  # type: ignore[arg-type]
        ])
    assert pauses == [0.1] * 4  # held while the wake-up was unconfirmed, sending nothing
    assert producer.sent == [("articles", b"k1", b"v1")]
    assert done == [kept.message]  # the moved one stays uncommitted here: its owner has it


async def test_a_zombie_whose_partitions_are_handed_over_mid_rebalance_drops_them_at_once(
    topics: dict[str, Any],
) -> None:
    """Woken from a freeze while the group rebalances: Faust's revocation waits for the events
    in flight, so holding them until the rebalance ends would never end (the cluster zombie
    test wedged so, 13fff49). Once the hand-over took the partition away, they are dropped."""
    held = event(1)
    checks = 0

    class Consumer:
        def confirmed(self) -> bool:
            return False  # the group cannot confirm it before the rebalance completes

        def owns(self, message: Any) -> bool:
            nonlocal checks
            checks += 1
            return checks <= 3  # the revocation hands the partition over meanwhile

        def mark_done(self, message: Any) -> None:
            raise AssertionError("a dropped event is never marked done")

    class WokenClock:
        def woke_within(self, window: float, now: float | None = None) -> bool:
            return True

    publisher, producer, pauses = make(lambda *_: None, topics)

    async def bounded(seconds: float) -> None:
        pauses.append(seconds)
        assert len(pauses) < 50, "held for good: the rebalance waits for this very event"

    publisher._sleep = bounded  # type: ignore[method-assign]
    publisher._clock = WokenClock()  # type: ignore[assignment]
    publisher._app.rebalancing = True  # type: ignore[attr-defined]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(publish, "input_consumer", lambda _consumer: Consumer())
        await publisher.publish_many([Item(held, [article(topics, "k1", "v1")])])  # type: ignore[arg-type]
    assert producer.sent == []  # nothing of it went out: its next owner processes it
    assert len(pauses) < 5


async def test_a_worker_cut_off_during_its_sends_writes_no_state_for_partitions_it_lost(
    topics: dict[str, Any],
) -> None:
    """Its sends went out after a network partition healed, but the group has not answered
    since (the consumer's lease expired): the table writes wait, and are dropped with the
    done-mark for the events whose partition moved meanwhile -- a zombie's writes would land
    in the changelog after its successor's and win at the next restore."""
    kept, moved = event(1), event(2)
    done: list[Any] = []
    writes: list[str] = []
    lost: set[Any] = set()

    class Consumer:
        checks = 0

        def confirmed(self) -> bool:
            if producer.acked:  # the outputs are out: the cut is noticed now
                self.checks += 1
                if self.checks == 3:  # the group answers: the rejoin revoked `moved`
                    lost.add(moved.message)
                return self.checks > 3
            return True

        def owns(self, message: Any) -> bool:
            return message not in lost

        def mark_done(self, message: Any) -> None:
            done.append(message)

    publisher, producer, pauses = make(lambda *_: None, topics)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(publish, "input_consumer", lambda _consumer: Consumer())
        await publisher.publish_many([
            Item(kept, [article(topics, "k1", "v1")], None,  # type: ignore[arg-type]
                 lambda _landed: writes.append("kept")),
            Item(moved, [article(topics, "k2", "v2")], None,  # type: ignore[arg-type]
                 lambda _landed: writes.append("moved")),
        ])
    assert len(producer.sent) == 2 and pauses  # both sent, then held before the writes
    assert writes == ["kept"] and done == [kept.message]
