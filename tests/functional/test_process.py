"""`news-worker process`: one output record per input, the same decisions on 1 or 2 cores."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.factories import article_html, message
from worker.cli import main

UPDATED_PARAGRAPHS = [
    "The city council voted on Tuesday to approve a new budget for the harbour district, "
    "ending months of debate over how to pay for repairs to the ageing sea wall.",
    "Late on Tuesday the regional government confirmed it would cover half of the cost, "
    "a decision that council members said removed the last obstacle to the project.",
    "Council members said the plan would cost about 40 million euros over five years, with "
    "most of the money coming from a regional infrastructure fund set up last spring.",
    "Engineers warned last year that parts of the wall could fail during a severe storm, "
    "putting hundreds of homes and the old fish market at risk of flooding.",
]


def write_inputs(path: Path) -> list[bytes]:
    lines = [
        message(page_id="p1"),
        # The same page again, and a tracking-parameter variant: duplicates of p1.
        message(page_id="p2"),
        message(page_id="p3",
                url="https://m.harbourgazette.example/news/2025/03/04/council-budget?utm_source=x"),
        # A real update: changed body and a later dateModified.
        message(page_id="p4", html=article_html(
            paragraphs=UPDATED_PARAGRAPHS, modified="2025-03-04T18:00:00+01:00")),
        # The same headline a day later is a different story (daily column).
        message(page_id="p5", url="https://www.harbourgazette.example/news/2025/03/05/budget",
                html=article_html(published="2025-03-05T09:30:00+01:00"),
                fetched_at="2025-03-05T10:00:00Z"),
        b"{broken json",
        message(page_id="p7", status=404),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return lines


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


@pytest.mark.parametrize("processes", ["1", "2"])
def test_process_routes_every_input_once(tmp_path: Path, processes: str) -> None:
    inputs = tmp_path / "pages.jsonl"
    write_inputs(inputs)
    out, rej, dup = tmp_path / "a.jsonl", tmp_path / "r.jsonl", tmp_path / "d.jsonl"
    code = main(["process", str(inputs), "--out", str(out), "--rejects", str(rej),
                 "--duplicates", str(dup), "-j", processes])
    assert code == 0
    articles, rejections, duplicates = read_jsonl(out), read_jsonl(rej), read_jsonl(dup)
    assert len(articles) + len(rejections) + len(duplicates) == 7

    by_page = {a["page_id"]: a for a in articles}
    assert set(by_page) == {"p1", "p4", "p5"}
    assert by_page["p1"]["version"] == 1
    assert by_page["p4"]["id"] == by_page["p1"]["id"]
    assert by_page["p4"]["version"] == 2
    assert by_page["p5"]["id"] != by_page["p1"]["id"]
    assert by_page["p5"]["version"] == 1

    assert {d["page_id"] for d in duplicates} == {"p2", "p3"}
    assert all(d["duplicate_of"] == by_page["p1"]["id"] for d in duplicates)
    assert sorted(r["reason"] for r in rejections) == ["http_error", "invalid_json"]
    broken = next(r for r in rejections if r["reason"] == "invalid_json")
    assert broken["original"] == "{broken json"
    assert broken["source"]["line"] == 6


def test_process_reports_unreadable_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from worker.cli import main as cli_main

    code = cli_main(["process", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.jsonl" in err[0]
