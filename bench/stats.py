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


def paired_bootstrap(
    rows: dict[str, list[Any]], aggregate: Any, base: str, n: int, seed: int
) -> dict[str, dict[str, float]]:
    """95 % percentile intervals of each extractor's F1 and of its difference to `base`.

    `rows[name]` are per-page (tp, fp, fn) in the same page order for every extractor; each
    resample draws the same pages for all of them (paired), so the difference's interval says
    whether a gap to `base` is more than the choice of pages.
    """
    import random

    names = list(rows)
    pages = len(rows[base])
    if pages == 0 or n < 2:
        return {}
    rnd = random.Random(seed)
    samples: dict[str, list[float]] = {name: [] for name in names}
    diffs: dict[str, list[float]] = {name: [] for name in names if name != base}
    for _ in range(n):
        idx = [rnd.randrange(pages) for _ in range(pages)]
        base_f1 = aggregate([rows[base][k] for k in idx])["f1"]
        samples[base].append(base_f1)
        for name in names:
            if name == base:
                continue
            f1 = aggregate([rows[name][k] for k in idx])["f1"]
            samples[name].append(f1)
            diffs[name].append(f1 - base_f1)
    out: dict[str, dict[str, float]] = {}
    for name in names:
        out[name] = {"lo": quantile(samples[name], 0.025), "hi": quantile(samples[name], 0.975)}
        if name in diffs:
            out[name]["diff_lo"] = quantile(diffs[name], 0.025)
            out[name]["diff_hi"] = quantile(diffs[name], 0.975)
    return out
