"""A real Prometheus (Debian's `prometheus` binary) for tests, and the shipped rules scaled down.

    server = PrometheusServer(root, targets=["127.0.0.1:6066"], rules=scaled_rules(...))
    server.start()                  # free loopback port, waits for /-/ready
    server.query("sum(news_pages_total)")  -> [{"metric": {...}, "value": [ts, "3"]}]
    server.alerts()                 -> [{"labels": {...}, "state": "pending", ...}]
    server.stop()                   # always; the kernel kills it too if pytest dies

The binary must be installed (`apt-get install --no-install-recommends prometheus`; .ci/run
does it). Its absence fails the test that needs it: a monitoring kit nobody ran is not tested.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tools.kafka.localkafka import _set_parent_death_signal
from tools.kafka.probe import free_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
RULES = DEPLOY / "prometheus" / "rules" / "news-worker.yml"
JOB = "news-worker"  # the scrape job name the rules expect (up{job="news-worker"})
_DURATION = re.compile(r"(\[|for: )(\d+)([mh])\b")


def binary(name: str) -> str:
    """Path of `prometheus`/`promtool`; fails (never skips) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        raise AssertionError(
            f"{name} not found on PATH: install Debian's prometheus package "
            "(apt-get install --no-install-recommends prometheus; .ci/run does it)")
    return path


def scaled_rules(text: str) -> str:
    """The rules with every minute a second (and every hour a minute): `[15m]` -> `[15s]`,
    `for: 5m` -> `for: 5s`, so a test watches in seconds what pages after minutes."""
    def scale(match: re.Match[str]) -> str:
        prefix, amount, unit = match.groups()
        return f"{prefix}{amount}{'s' if unit == 'm' else 'm'}"

    units = re.findall(r"(?:\[|for: )\d+([a-z]+)", text)
    assert set(units) <= {"m", "h"}, f"durations in units the scaling does not handle: {units}"
    return _DURATION.sub(scale, text)


class PrometheusServer:
    """One Prometheus process scraping `targets` every second and evaluating `rules`."""

    def __init__(self, root: Path, *, targets: list[str], rules: str) -> None:
        self.root = root
        self.targets = targets
        self.rules = rules
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = root / "prometheus.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "rules.yml").write_text(self.rules)
        config = {  # JSON is YAML: no YAML library needed
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "rule_files": ["rules.yml"],
            "scrape_configs": [{"job_name": JOB,
                                "static_configs": [{"targets": self.targets}]}],
        }
        (self.root / "prometheus.yml").write_text(json.dumps(config, indent=2))
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.process = subprocess.Popen(
                [binary("prometheus"), f"--config.file={self.root / 'prometheus.yml'}",
                 f"--storage.tsdb.path={self.root / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_set_parent_death_signal,  # noqa: PLW1509 -- only prctl, no locks
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"prometheus not ready after {timeout} s:\n{self.log()}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:  # noqa: S310 - http to our loopback port
                return int(response.status) == 200
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM, SIGKILL after 10 s; safe to call twice."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def api(self, path: str, **params: str) -> Any:
        """`data` of a GET on the HTTP API; an error answer (bad PromQL) fails with its text."""
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - ditto
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{path} {params}: {exc.code} {exc.read().decode()}") from None
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant vector (or scalar, as one unlabelled sample)."""
        data = self.api("query", query=promql)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def value(self, promql: str) -> float | None:
        """The value of a query with (at most) one sample; None when it has none."""
        result = self.query(promql)
        assert len(result) <= 1, (promql, result)
        return float(result[0]["value"][1]) if result else None

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self.api("alerts")["alerts"]
        return alerts

    def rules_loaded(self) -> list[dict[str, Any]]:
        """Every rule Prometheus loaded, with its query, labels, annotations and health."""
        return [rule for group in self.api("rules")["groups"] for rule in group["rules"]]

    def wait_for(self, what: str, check: Any, timeout: float) -> Any:
        """Poll `check()` every 0.5 s until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not seen after {timeout} s; alerts now: "
                                     f"{self.alerts()}")
            time.sleep(0.5)
