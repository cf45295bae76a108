"""The app's declarations: Kafka security mapped to Faust credentials, topics, readiness."""

from __future__ import annotations

from pathlib import Path

import faust
import pytest
from pydantic import SecretStr

from worker.errors import ConfigError
from worker.settings import Settings
from worker.stream.app import broker_credentials, create_app, max_record_bytes
from worker.stream.topics import topic_specs
from worker.stream.web import readiness


def test_plaintext_has_no_credentials() -> None:
    assert broker_credentials(Settings()) is None


def test_sasl_plaintext_maps_user_password_and_mechanism() -> None:
    creds = broker_credentials(Settings(
        kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="crawler", kafka_sasl_password=SecretStr("s3cret"),
    ))
    assert isinstance(creds, faust.SASLCredentials)
    assert (creds.username, creds.password) == ("crawler", "s3cret")
    assert creds.mechanism.value == "SCRAM-SHA-512" and creds.protocol.value == "SASL_PLAINTEXT"


def test_sasl_ssl_carries_a_tls_context() -> None:
    creds = broker_credentials(Settings(
        kafka_security_protocol="SASL_SSL", kafka_sasl_username="u",
        kafka_sasl_password=SecretStr("p"),
    ))
    assert isinstance(creds, faust.SASLCredentials)
    assert creds.protocol.value == "SASL_SSL" and creds.ssl_context is not None


def test_ssl_without_sasl_is_ssl_credentials() -> None:
    creds = broker_credentials(Settings(kafka_security_protocol="SSL"))
    assert isinstance(creds, faust.SSLCredentials)


def test_sasl_without_user_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="NEWS_KAFKA_SASL_USERNAME"):
        broker_credentials(Settings(kafka_security_protocol="SASL_SSL"))


def test_unreadable_ca_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="TLS files"):
        broker_credentials(Settings(kafka_security_protocol="SSL",
                                    kafka_ssl_cafile="/nonexistent/ca.pem"))


def test_every_topic_gets_our_partitions_and_room_for_a_quoted_page() -> None:
    settings = Settings(app_id="decl", topic_partitions=6, topic_pages="in", store="memory")
    specs = {t.name: t for t in topic_specs(create_app(settings))}
    assert set(specs) == {"in", "decl-stories", "articles", "pages.rejected",
                          "articles.duplicates", "decl-identity-changelog"}
    assert {t.num_partitions for t in specs.values()} == {6}
    limit = int(specs["pages.rejected"].topic_configs["max.message.bytes"])
    assert limit == max_record_bytes(settings) > settings.max_page_bytes * 4 // 3
    assert specs["decl-identity-changelog"].topic_configs["cleanup.policy"] == "compact"


def test_not_ready_before_an_assignment() -> None:
    news = create_app(Settings(app_id="ready", store="memory"))
    assert readiness(news) == (False, "waiting for a partition assignment")


@pytest.mark.parametrize(("replication", "min_insync", "expected"),
                         [(1, None, 1), (2, None, 1), (3, None, 2), (5, None, 4), (3, 3, 3)])
def test_every_topic_gets_replication_and_min_insync_from_settings(
    replication: int, min_insync: int | None, expected: int,
) -> None:
    settings = Settings(app_id="dur", store="memory", topic_replication=replication,
                        topic_min_insync=min_insync)
    news = create_app(settings)
    specs = {t.name: t for t in topic_specs(news)}
    # Complete: every topic NewsApp declares and every table's changelog, whatever is added.
    declared = {v.get_topic_name() for v in vars(news).values() if isinstance(v, faust.Topic)}
    declared |= {t.changelog_topic.get_topic_name() for t in news.app.tables.values()}
    assert declared <= set(specs) and len(declared) >= 6
    for spec in specs.values():
        assert spec.replication_factor == replication, spec.name
        assert spec.topic_configs["min.insync.replicas"] == str(expected), spec.name
    # Faust's own declarations (if it ever creates one first) carry the same settings.
    assert news.app.conf.topic_replication_factor == replication
    channels = [v for v in vars(news).values() if isinstance(v, faust.Topic)]
    for channel in [*channels, *(t.changelog_topic for t in news.app.tables.values())]:
        assert channel.config["min.insync.replicas"] == str(expected), channel
    assert news.app.conf.producer_acks == -1  # acks=all: min.insync.replicas applies


def test_min_insync_above_replication_is_refused() -> None:
    with pytest.raises(ValueError, match="NEWS_TOPIC_MIN_INSYNC=3 is more than"):
        Settings(topic_replication=2, topic_min_insync=3)


def test_tables_have_no_standby_replicas(tmp_path: Path) -> None:
    # faust-streaming 0.15.3's standby reads skipped records and a promoted standby missed
    # them (docs/faust-upstream.md #6): a table partition is read only by its owner.
    news = create_app(Settings(store="memory", data_dir=str(tmp_path), web_port=0))
    assert news.app.conf.table_standby_replicas == 0
