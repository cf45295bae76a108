"""`news-worker extract` on files, and `news-worker process` on a WARC archive, end to end."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tests.factories import article_html
from worker.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = main(argv)
    out = capsys.readouterr().out
    return code, orjson.loads(out)


def test_extract_html_file_prints_the_article(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.html"
    page.write_text(article_html(published="2025-03-04T09:30:00+01:00"))
    code, event = run(["extract", str(page), "--url",
                       "https://www.harbourgazette.example/news/a?utm_source=x",
                       "--fetched-at", "2025-03-04T10:00:00Z", "--id", "p9"], capsys)
    assert code == 0
    assert event["headline"] == "Council approves harbour budget after months of debate"
    assert event["published_at"] == "2025-03-04T08:30:00Z"
    assert event["canonical_url"] == "https://www.harbourgazette.example/news/a"
    assert event["page_id"] == "p9" and event["version"] == 1
    assert "Sign up for our morning newsletter" not in str(event["body"])


def test_extract_detects_a_plain_text_page(capsys: pytest.CaptureFixture[str]) -> None:
    code, event = run(["extract", str(EXAMPLES / "deccan_metro.txt"), "--fetched-at",
                       "2025-08-23T01:05:27Z"], capsys)
    assert code == 0
    assert event["extractor"]["mode"] == "text"  # type: ignore[index]
    assert event["published_at"] == "2025-08-23T00:48:00Z"  # "Updated: ... 06:18 IST"
    assert event["language"] == "en"


def test_extract_without_an_article_prints_the_rejection_and_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "login.html"
    page.write_text("<html><body><form><input name=user><input type=password>"
                    "<button>Sign in</button></form></body></html>")
    code, rejection = run(["extract", str(page)], capsys)
    assert code == 3
    assert rejection["reason"] == "no_article"
    assert rejection["original"] == f"<{page.stat().st_size} bytes from {page}>"


def test_extract_unreadable_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["extract", str(tmp_path / "missing.html")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "cannot read" in err[0]


def _warc(path: Path, pages: list[tuple[str, int, str]]) -> None:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, status, html in pages:
            headers = StatusAndHeaders(f"{status} OK" if status == 200 else f"{status} Not Found",
                                       [("Content-Type", "text/html; charset=utf-8")],
                                       protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response",
                                               payload=io.BytesIO(html.encode("utf-8")),
                                               http_headers=headers)
            writer.write_record(record)


def test_process_reads_warc_response_records(tmp_path: Path) -> None:
    archive = tmp_path / "crawl.warc.gz"
    _warc(archive, [
        ("https://www.harbourgazette.example/news/2025/03/04/council-budget", 200,
         article_html()),
        ("https://www.harbourgazette.example/news/gone", 404, "<html>Not found</html>"),
    ])
    out, rejects = tmp_path / "articles.jsonl", tmp_path / "rejected.jsonl"
    assert main(["process", str(archive), "--out", str(out), "--rejects", str(rejects)]) == 0
    articles = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    rejected = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert [a["headline"] for a in articles] == [
        "Council approves harbour budget after months of debate"]
    assert [(r["reason"], r["url"]) for r in rejected] == [
        ("http_error", "https://www.harbourgazette.example/news/gone")]
