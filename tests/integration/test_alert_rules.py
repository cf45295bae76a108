"""The alert rules under promtool: valid, their unit tests pass, every alert has a case that
fires and one that stays silent, and the README documents exactly these alerts.

promtool comes with Debian's `prometheus` package (.ci/run installs it); without it these
tests fail, they do not skip. tests/integration/test_monitoring.py runs the same rules in a
real Prometheus against a real worker.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.prometheus import DEPLOY, RULES, binary

pytestmark = pytest.mark.integration

RULE_TESTS = DEPLOY / "prometheus" / "tests" / "news-worker.test.yml"
CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
README = DEPLOY.parent / "README.md"


def promtool(*args: str) -> str:
    done = subprocess.run([binary("promtool"), *args], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def alert_names() -> list[str]:
    return re.findall(r"^\s*- alert: (\w+)$", RULES.read_text(), flags=re.MULTILINE)


def test_the_rules_are_valid() -> None:
    out = promtool("check", "rules", str(RULES))
    assert f"SUCCESS: {len(alert_names()) + 1} rules found" in out  # + the recording rule


def test_the_rule_unit_tests_pass() -> None:
    assert "SUCCESS" in promtool("test", "rules", str(RULE_TESTS))


def test_the_compose_prometheus_config_is_valid_and_loads_the_rules() -> None:
    out = promtool("check", "config", str(CONFIG))
    assert "SUCCESS: 1 rule files found" in out


def test_promtool_fails_a_wrong_expectation(tmp_path: Path) -> None:
    """The unit tests can fail: the same file expecting silence when it fires does."""
    text = RULE_TESTS.read_text().replace("../rules/news-worker.yml", str(RULES))
    silent = "      - eval_time: 4m\n        alertname: NewsWorkerDown\n        exp_alerts: []\n"
    assert silent in text
    (tmp_path / "wrong.test.yml").write_text(
        text.replace(silent, silent.replace("eval_time: 4m", "eval_time: 6m")))
    done = subprocess.run([binary("promtool"), "test", "rules", str(tmp_path / "wrong.test.yml")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "NewsWorkerDown" in done.stdout + done.stderr


def test_every_alert_has_a_case_that_fires_and_one_that_stays_silent() -> None:
    # Each `alertname:` line of the test file, and whether the expectation after it is empty.
    cases = re.findall(r"alertname: (\w+)\n\s+exp_alerts:( \[\])?", RULE_TESTS.read_text())
    fires = {name for name, empty in cases if not empty}
    silent = {name for name, empty in cases if empty}
    assert set(alert_names()) == fires, set(alert_names()) ^ fires
    assert set(alert_names()) == silent, set(alert_names()) ^ silent


def test_the_readme_lists_every_alert_with_a_runbook_entry() -> None:
    text = README.read_text()
    section = text.split("### Alerts", 1)[1].split("\n### ", 1)[0]
    listed = re.findall(r"^\| \[`(\w+)`\]\(#(\w+)\) \| (critical|warning) \|", section,
                        flags=re.MULTILINE)
    entries = re.findall(r"^#### (\w+)$", section, flags=re.MULTILINE)
    assert [name for name, _, _ in listed] == alert_names() == entries
    assert all(anchor == name.lower() for name, anchor, _ in listed)
    rules = RULES.read_text()
    for name, _, severity in listed:
        rule = rules.split(f"- alert: {name}\n", 1)[1].split("- alert:", 1)[0]
        assert f"severity: {severity}" in rule, name
        assert f'runbook_url: "README.md#{name.lower()}"' in rule, name
