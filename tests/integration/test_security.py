"""SASL_SSL against a real broker with a TLS listener: the worker and the tools connect with
the documented settings, and wrong credentials fail with one clear line.

The keystore is made here with `keytool` (a self-signed certificate for 127.0.0.1, which the
clients trust through NEWS_KAFKA_SSL_CAFILE); the broker is a second LocalKafka with a
SASL_SSL listener beside PLAINTEXT, which the test itself uses to set up and check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.factories import message
from tests.integration.workers import Cluster
from tools.kafka.localkafka import LocalKafka, SecureListener

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
USER, PASSWORD = "news-worker", "s3cret-Pa55"


def make_keystore(folder: Path) -> tuple[Path, Path]:
    """(PKCS12 keystore for the broker, PEM certificate for the clients)."""
    keytool = shutil.which("keytool")
    if keytool is None:
        pytest.fail("keytool not found: it comes with the JDK that runs Kafka")
    keystore, cert = folder / "broker.p12", folder / "ca.pem"
    common = ["-keystore", str(keystore), "-storetype", "PKCS12", "-storepass", "changeit"]
    subprocess.run([keytool, "-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize",
                    "2048", "-validity", "2", "-dname", "CN=127.0.0.1", "-ext",
                    "SAN=ip:127.0.0.1", "-ext", "bc:c", "-keypass", "changeit", *common],
                   check=True, capture_output=True)
    subprocess.run([keytool, "-exportcert", "-alias", "broker", "-rfc", "-file", str(cert),
                    *common], check=True, capture_output=True)
    return keystore, cert


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalKafka, Path]]:
    folder = tmp_path_factory.mktemp("secure-kafka")
    keystore, cert = make_keystore(folder)
    listener = SecureListener(keystore, "changeit", users={USER: PASSWORD})
    broker = LocalKafka(folder / "run", secure=listener, heap="512m", die_with_parent=True)
    broker.start()
    try:
        yield broker, cert
    finally:
        broker.stop()


def secure_env(broker: LocalKafka, cert: Path, password: str = PASSWORD) -> dict[str, str]:
    return {
        "NEWS_KAFKA_BOOTSTRAP": broker.secure_bootstrap,
        "NEWS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "NEWS_KAFKA_SASL_MECHANISM": "PLAIN",
        "NEWS_KAFKA_SASL_USERNAME": USER,
        "NEWS_KAFKA_SASL_PASSWORD": password,
        "NEWS_KAFKA_SSL_CAFILE": str(cert),
    }


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")}
    return subprocess.run([sys.executable, "-m", "worker", *args], env={**base, **env},
                          capture_output=True, text=True, timeout=120, cwd=REPO, check=False)


async def test_worker_and_tools_over_sasl_ssl(
    secure_broker: tuple[LocalKafka, Path], tmp_path: Path
) -> None:
    broker, cert = secure_broker
    env = secure_env(broker, cert)
    cluster = Cluster(broker.bootstrap, tmp_path, extra_env=env)
    await cluster.create_topics()
    try:
        cluster.start_worker()
        # replay talks SASL_SSL too; the test reads the results over PLAINTEXT.
        pages = tmp_path / "pages.jsonl"
        pages.write_bytes(message(page_id="secure-1") + b"\n")
        sent = run_cli(["replay", "--topic", cluster.topics["pages"], "--no-progress",
                        str(pages)], env)
        assert sent.returncode == 0, sent.stderr
        assert "sent 1, failed 0" in sent.stdout + sent.stderr
        got = await cluster.collect(lambda g: len(g["articles"]) >= 1)
        assert [a["page_id"] for a in got["articles"]] == ["secure-1"]
        tailed = run_cli(["tail", cluster.topics["articles"], "--from-beginning", "-n", "1",
                          "--json", "--timeout", "20"], env)
        assert tailed.returncode == 0, tailed.stderr
        assert orjson.loads(tailed.stdout.splitlines()[0])["page_id"] == "secure-1"
    finally:
        cluster.stop_all()
    log = (tmp_path / "worker-0.log").read_text()
    assert PASSWORD not in log


def test_wrong_password_is_one_clear_line(
    secure_broker: tuple[LocalKafka, Path], tmp_path: Path
) -> None:
    broker, cert = secure_broker
    pages = tmp_path / "pages.jsonl"
    pages.write_bytes(message() + b"\n")
    result = run_cli(["replay", "--topic", "nowhere", "--connect-timeout", "10", str(pages)],
                     secure_env(broker, cert, password="wrong"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "wrong" not in result.stderr  # the password itself is never printed
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("news-worker replay:"), result.stderr
    assert "Authentication failed" in last


def test_untrusted_certificate_is_refused(
    secure_broker: tuple[LocalKafka, Path], tmp_path: Path
) -> None:
    broker, _cert = secure_broker
    _other_keystore, other_cert = make_keystore(tmp_path)  # a CA the broker does not use
    pages = tmp_path / "pages.jsonl"
    pages.write_bytes(message() + b"\n")
    result = run_cli(["replay", "--topic", "nowhere", "--connect-timeout", "10", str(pages)],
                     secure_env(broker, other_cert))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("news-worker replay:"), result.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in last
