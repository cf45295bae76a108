"""docker-compose.yml, Dockerfile and .dockerignore agree with each other and with the settings.

No Docker engine runs here: the compose file is parsed with PyYAML (a dev dependency: this
test must run in CI, not skip), the Dockerfile is read as text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from worker.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = {name: field.default for name, field in Settings.model_fields.items()}
TOPICS = [DEFAULTS[name] for name in
          ("topic_pages", "topic_articles", "topic_duplicates", "topic_rejected")]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in lines if line and not line.startswith("#")]


def test_services_and_their_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"kafka", "topics", "worker"} <= set(services)
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["worker"]["depends_on"]["topics"]["condition"] == (
        "service_completed_successfully")


def test_kafka_is_a_single_kraft_node_with_a_healthcheck(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert re.fullmatch(r"apache/kafka:3\.9\.\d+", kafka["image"])
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@")
    assert "test" in kafka["healthcheck"]


def test_topics_service_creates_the_worker_topics(compose: dict[str, Any]) -> None:
    topics = compose["services"]["topics"]
    assert topics["image"] == compose["services"]["kafka"]["image"]
    script = " ".join(topics["command"]) + " " + " ".join(topics.get("entrypoint", []))
    assert "/opt/kafka/bin/kafka-topics.sh" in script
    for name in TOPICS:
        assert name in script
    assert "--partitions 4" in script


def test_topics_service_creates_them_as_the_worker_would(
    compose: dict[str, Any], tmp_path: Path,
) -> None:
    """One source of truth: the configs in docker-compose.yml are the worker's topic specs
    (for the compose worker's settings), so its start-up check accepts them."""
    from worker.stream.app import create_app
    from worker.stream.topics import topic_problems, topic_specs

    script = compose["services"]["topics"]["command"][0]
    common = dict(re.findall(r"--config ([\w.]+)=(\S+)", script.split("--topic", 1)[0]))
    made = {}
    for line in script.splitlines():
        words = line.split()
        if words[:1] == ["create"]:
            made[words[1]] = {**common, **dict(re.findall(r"--config ([\w.]+)=(\S+)", line))}
    env = compose["services"]["worker"]["environment"]
    news = create_app(Settings(store="memory", data_dir=str(tmp_path), web_port=0,
                               topic_partitions=int(env["NEWS_TOPIC_PARTITIONS"])))
    specs = {spec.name: spec for spec in topic_specs(news)}
    assert set(made) == set(TOPICS) and set(made) <= set(specs)
    for name, config in made.items():
        assert config == specs[name].topic_configs, name
        assert topic_problems(news, specs[name], 4, 1, config) == []


def test_worker_builds_from_the_dockerfile_and_reaches_the_broker(
    compose: dict[str, Any],
) -> None:
    worker = compose["services"]["worker"]
    assert worker["build"]["dockerfile"] == "Dockerfile"
    assert (ROOT / worker["build"]["context"] / "Dockerfile").exists()
    env = worker["environment"]
    advertised = compose["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert env["NEWS_KAFKA_BOOTSTRAP"] in advertised
    assert env["NEWS_WEB_HOST"] == "0.0.0.0"  # noqa: S104 -- a container must listen outside
    assert "/healthz" in " ".join(worker["healthcheck"]["test"])
    assert f":{env['NEWS_WEB_PORT']}/healthz" in " ".join(worker["healthcheck"]["test"])
    # Every NEWS_* name the compose file sets is a real setting.
    for name in env:
        assert name.removeprefix("NEWS_").lower() in DEFAULTS, name


def test_dockerfile_runs_the_worker_as_a_non_root_user() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert [args for op, args in instructions if op == "CMD"][-1] == '["news-worker", "worker"]'
    assert f"{DEFAULTS['web_port']}" in " ".join(a for op, a in instructions if op == "EXPOSE")
    assert any(op == "VOLUME" for op, _ in instructions)


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".kafka"} <= ignored
    assert "bench" in ignored or "bench/results" in ignored
    # ...but not what the Dockerfile copies.
    for name in ("worker", "pyproject.toml", "README.md", "schemas", "examples"):
        assert name not in ignored


# -- the monitoring profile: Prometheus and Grafana with deploy/'s provisioning ----------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of a service's bind mounts (relative to the compose file)."""
    binds = [v.split(":") for v in service["volumes"] if v.startswith("./")]
    return {container: ROOT / host for host, container, *_ in binds}


def test_prometheus_and_grafana_run_only_under_the_monitoring_profile(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    monitoring = {n for n, s in services.items() if "monitoring" in s.get("profiles", [])}
    assert monitoring == {"prometheus", "grafana"}
    assert services["prometheus"]["depends_on"]["worker"]["condition"] == "service_started"
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_started"
    assert {"prometheus-data", "grafana-data"} <= set(compose["volumes"])


def test_published_ports_are_loopback_only_except_kafka(compose: dict[str, Any]) -> None:
    for name in ("worker", "prometheus", "grafana"):
        for port in compose["services"][name]["ports"]:
            assert str(port).startswith("127.0.0.1:"), (name, port)
    web_port = compose["services"]["worker"]["environment"]["NEWS_WEB_PORT"]
    assert compose["services"]["worker"]["ports"] == [f"127.0.0.1:{web_port}:{web_port}"]


def test_prometheus_scrapes_every_worker_container_and_loads_the_rules(
    compose: dict[str, Any],
) -> None:
    service = compose["services"]["prometheus"]
    [config_flag] = [a for a in service["command"] if a.startswith("--config.file=")]
    config_path = Path(config_flag.split("=", 1)[1])
    host_dir = mounts(service)[str(config_path.parent)]
    assert host_dir == ROOT / "deploy" / "prometheus"
    config = load_yaml(host_dir / config_path.name)
    [job] = config["scrape_configs"]
    assert job["job_name"] == "news-worker"  # the rules match up{job="news-worker"}
    [dns] = job["dns_sd_configs"]
    assert dns["names"] == ["worker"] and dns["type"] == "A"
    assert dns["port"] == compose["services"]["worker"]["environment"]["NEWS_WEB_PORT"]
    rule_files = [p for pattern in config["rule_files"] for p in host_dir.glob(pattern)]
    assert rule_files == [host_dir / "rules" / "news-worker.yml"]


def test_grafana_is_provisioned_with_that_prometheus_and_the_dashboard(
    compose: dict[str, Any],
) -> None:
    service = compose["services"]["grafana"]
    binds = mounts(service)
    provisioning = binds["/etc/grafana/provisioning"]
    [source] = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    prometheus_port = compose["services"]["prometheus"]["ports"][0].rsplit(":", 1)[1]
    assert source["url"] == f"http://prometheus:{prometheus_port}"
    assert source["type"] == "prometheus" and source["isDefault"] is True
    [provider] = load_yaml(provisioning / "dashboards" / "news-worker.yml")["providers"]
    dashboards = binds[provider["options"]["path"]]
    assert dashboards == ROOT / "deploy" / "grafana" / "dashboards"
    home = service["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (dashboards / Path(home).name).exists()
    # Every panel, query and annotation of every dashboard uses the provisioned data source.
    for path in dashboards.glob("*.json"):
        board = json.loads(path.read_text())
        uids = {p["datasource"]["uid"] for p in board["panels"]}
        uids |= {t["datasource"]["uid"] for p in board["panels"] for t in p["targets"]}
        uids |= {a["datasource"]["uid"] for a in board["annotations"]["list"]}
        uids |= {v["datasource"]["uid"] for v in board["templating"]["list"]}
        assert uids == {source["uid"]}, path.name
