"""Print the README's configuration table (Markdown) from `worker.settings.Settings`.

    python tools/config_table.py > /tmp/table.md

Each row is `| NEWS_<NAME> | default | meaning |`; the default is written the way the
environment variable accepts it (durations as ISO 8601, e.g. P7D). tests/unit/
test_config_table.py keeps README.md and this output in step.
"""

from __future__ import annotations

import sys
import typing
from typing import Any

from pydantic import TypeAdapter
from pydantic.fields import FieldInfo

from worker.settings import Settings

HEADER = "| Variable | Default | Meaning |\n|---|---|---|"
UNSET = "(unset)"


def env_name(field: str) -> str:
    """The environment variable of a settings field."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


def default_text(info: FieldInfo) -> str:
    """The field's default as one would write it in the environment, or (unset)."""
    value: Any = info.get_default(call_default_factory=True)
    if value is None:
        return UNSET
    dumped = TypeAdapter(info.annotation).dump_python(value, mode="json")
    if isinstance(dumped, bool):
        return "true" if dumped else "false"
    return str(dumped)


def _choices(info: FieldInfo) -> list[str]:
    if typing.get_origin(info.annotation) is typing.Literal:
        return [str(v) for v in typing.get_args(info.annotation)]
    return []


def rows() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every settings field, in declaration order."""
    out = []
    for name, info in Settings.model_fields.items():
        meaning = (info.description or "").replace("|", "\\|")
        choices = _choices(info)
        if choices:
            meaning += " One of: " + ", ".join(f"`{c}`" for c in choices) + "."
        out.append((env_name(name), default_text(info), meaning))
    return out


def table() -> str:
    """The Markdown table, header included, one row per setting."""
    lines = [HEADER]
    for variable, default, meaning in rows():
        shown = default if default == UNSET else f"`{default}`"
        lines.append(f"| `{variable}` | {shown} | {meaning} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")
