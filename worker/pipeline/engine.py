"""The identity stage without Kafka: what `process`, the tests and the benchmark run.

    engine = Engine(state, partition_of)
    outputs = engine.run(route_result(...))   # article / duplicate / rejection records

Records for the stories topic are run through `identity_step` right away, first in first
out, each against the data clock of the partition its key would have on the topic
(`partition_of`, the same murmur2 partitioner Kafka's clients use). One page's records are
all handled before the next page's: the order a single worker sees when pages arrive one by
one, so the streaming worker and `process` make the same decisions on the same sequence.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from worker.pipeline.route import STORIES, Routed, identity_step
from worker.pipeline.state import IdentityState


class Engine:
    """Runs stories records to completion against one state."""

    def __init__(self, state: IdentityState, partition_of: Callable[[bytes], int]) -> None:
        self.state = state
        self.partition_of = partition_of

    def step(self, record: Routed) -> list[Routed]:
        """One stories record: what it outputs (stories records included)."""
        assert record.key is not None  # noqa: S101 - stories records are always keyed
        return identity_step(record.value, self.partition_of(record.key), self.state)

    def run(self, records: Iterable[Routed]) -> list[Routed]:
        """Every output the records lead to, stories records resolved, in order."""
        queue = deque(records)
        published: list[Routed] = []
        while queue:
            record = queue.popleft()
            if record.kind == STORIES:
                queue.extend(self.step(record))
            else:
                published.append(record)
        return published
