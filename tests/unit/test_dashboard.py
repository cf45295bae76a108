"""The Grafana dashboard is well-formed: unique ids, panels inside the 24-column grid without
overlapping, a query in every panel. That every query returns series from a real Prometheus
scraping a real worker is tests/integration/test_monitoring.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy/grafana/dashboards/news-worker.json"


@pytest.fixture(scope="module")
def board() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text())
    assert isinstance(data, dict)
    return data


def test_identity(board: dict[str, Any]) -> None:
    assert board["uid"] == "news-worker" and board["title"] == "news-worker"
    assert board["editable"] is False  # edits go into this file, where the tests see them


def test_every_panel_has_a_query_and_a_unique_id(board: dict[str, Any]) -> None:
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["title"] and panel["description"], panel["id"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(set(refs)) == len(refs), panel["title"]
        assert all(t["expr"].strip() for t in panel["targets"]), panel["title"]


def test_panels_fit_the_grid_without_overlapping(board: dict[str, Any]) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, (panel["title"], cells.get((x, y)))
                cells[(x, y)] = panel["title"]


def test_the_panels_the_on_call_needs_are_there(board: dict[str, Any]) -> None:
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p["targets"])
    for metric in ("news_pages_total", "news_consumer_lag", "news_publish_lag_seconds_bucket",
                   "news_rejections_total", "news_duplicates_total", "news_article_updates_total",
                   "process_resident_memory_bytes", "news_extract_pool_processes",
                   "news_extract_process_restarts_total"):
        assert metric in exprs, metric
