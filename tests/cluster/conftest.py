"""A real 3-node Kafka cluster for the session, and worker groups on it.

The cluster (tools/kafka/cluster.py: three combined broker+controller JVMs on free loopback
ports, replication 3, min.insync.replicas 2) starts the first time a test asks for it and is
stopped when the session ends; `die_with_parent` makes the kernel kill the JVMs if pytest
itself dies. A test that kills or stops a node need not restart it: after every test, any
node that is down is started again, so the next test gets all three.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.harness import delete_topics
from tests.integration.workers import Cluster
from tools.kafka.cluster import LocalCluster


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path_factory.mktemp("kafka-cluster"), nodes=3,
                           die_with_parent=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def all_nodes_up(kafka_cluster: LocalCluster) -> Iterator[LocalCluster]:
    """The session cluster with every node running, before and after the test."""
    _revive(kafka_cluster)
    try:
        yield kafka_cluster
    finally:
        _revive(kafka_cluster)


def _revive(cluster: LocalCluster) -> None:
    for node in cluster.nodes:
        if node.pid is None:
            cluster.start_node(node.node_id)


@pytest.fixture
def worker_group(all_nodes_up: LocalCluster, tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    """A factory of worker groups (one app id each) on the cluster, replication 3.

    Every worker a group started is stopped at teardown, whatever the test did.
    `CLUSTER_TEST_LOG_LEVEL=DEBUG` in the environment sets the workers' log level (their logs
    are in the test's tmp dir: keep them with `--basetemp DIR`).
    """
    groups: list[Cluster] = []
    level = os.environ.get("CLUSTER_TEST_LOG_LEVEL")

    def make(**kwargs: Any) -> Cluster:
        kwargs.setdefault("replication", 3)
        if level:
            kwargs.setdefault("extra_env", {}).setdefault("NEWS_LOG_LEVEL", level)
        group = Cluster(all_nodes_up.bootstrap, tmp_path / f"g{len(groups)}", **kwargs)
        group.root.mkdir(parents=True)
        groups.append(group)
        return group

    try:
        yield make
    finally:
        for group in groups:
            group.stop_all()
        # Each group leaves ~28 partitions x 3 replicas behind; replicating them keeps the
        # session's idle brokers busy (0.4 of a core after a few tests), so they go.
        asyncio.run(delete_topics(all_nodes_up.bootstrap, [g.app_id for g in groups]))
