"""The README's configuration table and worker/settings.py stay in step.

Every Settings field appears in README.md as `NEWS_<NAME>` with its default, and every
`NEWS_*` row of the table is a real setting. The defaults the table prints are accepted back
by the environment and give the same values (tools/config_table.py writes the table).
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from types import ModuleType

import pytest

from worker.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
_ROW = re.compile(r"^\|\s*`(NEWS_[A-Z0-9_]+)`\s*\|\s*(.*?)\s*\|")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("config_table", ROOT / "tools/config_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _documented(markdown: str) -> dict[str, str]:
    """{variable: default as shown} for every `NEWS_*` table row of a Markdown text."""
    rows: dict[str, str] = {}
    for line in markdown.splitlines():
        match = _ROW.match(line.strip())
        if match:
            rows[match.group(1)] = match.group(2).strip("`")
    return rows


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("NEWS_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_generated_table_has_one_row_per_setting() -> None:
    rows = _documented(_generator().table())
    assert set(rows) == {f"NEWS_{name.upper()}" for name in Settings.model_fields}
    assert rows["NEWS_KAFKA_BOOTSTRAP"] == "127.0.0.1:9092"
    assert rows["NEWS_TOPIC_PAGES"] == "pages.raw"
    assert rows["NEWS_KAFKA_SASL_PASSWORD"] == "(unset)"  # noqa: S105 - the documented "no default"


def test_documented_defaults_read_back_as_the_defaults(clean_env: pytest.MonkeyPatch) -> None:
    defaults = Settings()
    rows = _documented(_generator().table())
    for variable, shown in rows.items():
        if shown != "(unset)":
            clean_env.setenv(variable, shown)
    from_table = Settings()
    assert from_table == defaults


def test_readme_table_matches_settings() -> None:
    readme = ROOT / "README.md"
    assert readme.is_file(), "README.md is missing: its configuration table is required"
    documented = _documented(readme.read_text(encoding="utf-8"))
    expected = _documented(_generator().table())
    missing = sorted(set(expected) - set(documented))
    unknown = sorted(set(documented) - set(expected))
    assert not missing, f"settings missing from README.md: {missing} (run tools/config_table.py)"
    assert not unknown, f"README.md documents settings that do not exist: {unknown}"
    wrong = {k: (documented[k], expected[k]) for k in expected if documented[k] != expected[k]}
    assert not wrong, f"README.md defaults differ (README, settings): {wrong}"
