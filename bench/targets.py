"""The issues' numeric targets, checked against the latest results of each section."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.stats import fmt, table

Check = tuple[str, str, Callable[[dict[str, Any]], float | None], Callable[[float], bool], int]


def _body(name: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda d: d["body"].get(name, {}).get("f1")


def _meta(name: str, field: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda d: (d["meta"].get(name, {}).get(field) or {}).get("acc_exact")


def _process_vs_traf(d: dict[str, Any]) -> float | None:
    run = d["throughput"]["runs"].get("news-worker process -j2", {})
    return (run.get("vs_trafilatura_net") or run.get("vs_trafilatura") or {}).get("median")


def _paced_p99(d: dict[str, Any]) -> float | None:
    for ph in d["phases"]:
        if ph["name"].startswith("50%"):
            return float(ph["latency_ms"].get("p99"))
    return None


def _rss(d: dict[str, Any]) -> float | None:
    return max((r["max_mb"] for r in d["rss"]), default=None)


CHECKS: list[Check] = [
    ("quality", "body F1 on HTML ≥ 0.970 (issue 3)", _body("news-worker"), lambda v: v >= 0.970,
     3),
    ("quality", "body F1 on rendered text ≥ 0.90 (issue 3)", _body("news-worker (text)"),
     lambda v: v >= 0.90, 3),
    ("quality", "headline agreement above trafilatura's (issue 3; trafilatura = "
     "the bar)", _meta("news-worker", "headline"), lambda v: True, 2),
    ("speed", "pipeline ÷ trafilatura per page ≤ 1.3 (issue 3; ratio of mean times)",
     lambda d: d["per_page"]["ratio_of_means"], lambda v: v <= 1.3, 2),
    ("speed", "process -j2 ÷ trafilatura loop ≥ 1.5 (issue 3; pages/s net of start-up)",
     _process_vs_traf,
     lambda v: v >= 1.5, 2),
    ("stream", "2 workers ÷ process -j2 ≥ 0.85 (issue 4)", lambda d: d.get("ratio_2"),
     lambda v: v >= 0.85, 2),
    ("stream", "p99 latency at 50 % of max < 250 ms (issue 4)", _paced_p99, lambda v: v < 250, 0),
    ("stream", "worker RSS < 400 MB (issue 4; max over the session)", _rss, lambda v: v < 400, 0),
]


def render(results: dict[str, dict[str, Any] | None]) -> str:
    """A table: target, measured value, met or not (or not measured)."""
    rows = []
    for section, label, value, ok, digits in CHECKS:
        data = results.get(section)
        measured: float | None = None
        if data and not data.get("skipped"):
            try:
                measured = value(data)
            except (KeyError, TypeError, ValueError):
                measured = None
        verdict = "not measured" if measured is None else ("met" if ok(measured) else "NOT met")
        if "headline" in label and measured is not None and data:
            bar = _meta("trafilatura (default, with metadata)", "headline")(data)
            verdict = "met" if bar is not None and measured > bar else "NOT met"
            label = label.replace("trafilatura = the bar", f"trafilatura {fmt(bar, 2)}")
        rows.append([label, fmt(measured, digits), verdict])
    return table(["target", "measured", ""], rows)
