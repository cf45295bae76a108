"""Small statistics for noisy timings: medians, percentiles and spread, no numpy needed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (q in [0, 1]) of the values; NaN when empty."""
    if not values:
        return math.nan
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """n, median, p10/p25/p75/p90/p95/p99, IQR, mean, min, max of the values."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": quantile(values, 0.5),
        "p10": quantile(values, 0.10),
        "p25": quantile(values, 0.25),
        "p75": quantile(values, 0.75),
        "p90": quantile(values, 0.90),
        "p95": quantile(values, 0.95),
        "p99": quantile(values, 0.99),
        "iqr": quantile(values, 0.75) - quantile(values, 0.25),
        "mean": sum(values) / len(values),
        "min": min(values),
        "max": max(values),
    }


def fmt(value: float | None, digits: int = 1) -> str:
    """A number for a Markdown table ('–' for missing or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def spread(summary: dict[str, Any], digits: int = 1) -> str:
    """'median [p25–p75]' for a table cell."""
    if not summary or summary.get("n", 0) == 0:
        return "–"
    return (f"{fmt(summary['median'], digits)} "
            f"[{fmt(summary['p25'], digits)}–{fmt(summary['p75'], digits)}]")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
