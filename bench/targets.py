"""The issues' numeric targets, checked against the latest results of each section."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.stats import fmt, table

Value = Callable[[dict[str, Any]], float | None]
# (section, label, our value, met?, digits, trafilatura's value from the same run or None)
Check = tuple[str, str, Value, Callable[[float], bool], int, Value | None]


def _corpus(d: dict[str, Any], corpus: str) -> dict[str, Any]:
    return d.get("corpora", {}).get(corpus) or {}


def _body(corpus: str, name: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda d: _corpus(d, corpus).get("body", {}).get(name, {}).get("f1")


def _meta(corpus: str, name: str, field: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda d: (_corpus(d, corpus).get("meta", {}).get(name, {}).get(field)
                      or {}).get("acc_exact")


def _worst_page(corpus: str) -> Callable[[dict[str, Any]], float | None]:
    def value(d: dict[str, Any]) -> float | None:
        worst = _corpus(d, corpus).get("pages", {}).get("worst")
        return float(worst[0]["delta"]) if worst else None
    return value


def _process_vs_traf(d: dict[str, Any]) -> float | None:
    """process -j2 ÷ the trafilatura loop, start-up included (wall time of each command)."""
    run = d["throughput"]["runs"].get("news-worker process -j2", {})
    return (run.get("vs_trafilatura") or {}).get("median")


def _paced_p99(d: dict[str, Any]) -> float | None:
    for ph in d["phases"]:
        if ph["name"].startswith("50%"):
            return float(ph["latency_ms"].get("p99"))
    return None


def _rss(d: dict[str, Any]) -> float | None:
    return max((r["max_mb"] for r in d["rss"]), default=None)


NW, TRAF, TRAF_META = "news-worker", "trafilatura (default)", "trafilatura (default, with metadata)"
CHECKS: list[Check] = [
    ("quality", "aeb-dev body F1 ≥ 0.978 (issue 14)", _body("aeb-dev", NW),
     lambda v: v >= 0.978, 3, _body("aeb-dev", TRAF)),
    ("quality", "aeb-dev rendered-text body F1 ≥ 0.92 (issue 14)",
     _body("aeb-dev", "news-worker (text)"), lambda v: v >= 0.92, 3,
     _body("aeb-dev", "trafilatura (default, <p> per line)")),
    ("quality", "wcxb-dev body F1 ≥ 0.945 (issue 14)", _body("wcxb-dev", NW),
     lambda v: v >= 0.945, 3, _body("wcxb-dev", TRAF)),
    ("quality", "wcxb-dev: no page > 0.30 F1 below trafilatura (issue 14; worst difference)",
     _worst_page("wcxb-dev"), lambda v: v >= -0.30, 3, None),
    ("quality", "wcxb-dev headline ≥ 0.85 (issue 14)", _meta("wcxb-dev", NW, "headline"),
     lambda v: v >= 0.85, 3, _meta("wcxb-dev", TRAF_META, "headline")),
    ("quality", "wcxb-dev publication date ≥ 0.90 (issue 14)",
     _meta("wcxb-dev", NW, "datePublished"), lambda v: v >= 0.90, 3,
     _meta("wcxb-dev", TRAF_META, "datePublished")),
    ("quality", "wcxb-dev author ≥ 0.75 (issue 14)", _meta("wcxb-dev", NW, "author"),
     lambda v: v >= 0.75, 3, _meta("wcxb-dev", TRAF_META, "author")),
    ("quality", "aeb-dev silver author ≥ 0.94 (issue 14)", _meta("aeb-dev", NW, "author"),
     lambda v: v >= 0.94, 3, _meta("aeb-dev", TRAF_META, "author")),
    ("quality", "aeb-dev headline agreement above trafilatura's (issue 3)",
     _meta("aeb-dev", NW, "headline"), lambda v: True, 3,
     _meta("aeb-dev", TRAF_META, "headline")),
    ("speed", "pipeline ÷ trafilatura per page ≤ 1.15 (issue 14; ratio of mean times)",
     lambda d: d["per_page"]["ratio_of_means"], lambda v: v <= 1.15, 2, None),
    ("speed", "process -j2 ÷ trafilatura loop ≥ 1.5, start-up included (issue 14)",
     _process_vs_traf, lambda v: v >= 1.5, 2, None),
    ("stream", "2 workers ÷ process -j2 ≥ 0.85 (issue 4)", lambda d: d.get("ratio_2"),
     lambda v: v >= 0.85, 2, None),
    ("stream", "p99 latency at 50 % of max < 250 ms (issue 4)", _paced_p99, lambda v: v < 250, 0,
     None),
    ("stream", "worker RSS < 400 MB (issue 4; max over the session)", _rss, lambda v: v < 400, 0,
     None),
]


def _value(fn: Value | None, data: dict[str, Any] | None) -> float | None:
    if fn is None or not data or data.get("skipped"):
        return None
    try:
        return fn(data)
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def render(results: dict[str, dict[str, Any] | None]) -> str:
    """A table: target, measured value, trafilatura's in the same run, met or not."""
    rows = []
    for section, label, value, ok, digits, baseline in CHECKS:
        data = results.get(section)
        measured, bar = _value(value, data), _value(baseline, data)
        verdict = "not measured" if measured is None else ("met" if ok(measured) else "NOT met")
        if "above trafilatura's" in label and measured is not None:
            verdict = "met" if bar is not None and measured > bar else "NOT met"
        rows.append([label, fmt(measured, digits), fmt(bar, digits), verdict])
    return table(["target", "measured", "trafilatura, same run", ""], rows)
