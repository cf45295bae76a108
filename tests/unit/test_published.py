"""Publication dates on small made-up pages: each test shows one rule of published.py /
metadata.py and the page shape that made it necessary (wcxb-dev pages, named in comments)."""

from __future__ import annotations

from datetime import UTC, datetime

from worker.pipeline.clean import clean_extracted
from worker.pipeline.extract import extract_html
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import Extracted, RawPage

FETCHED = datetime(2026, 4, 1, tzinfo=UTC)
PARA = ("The council voted on the new budget after a long debate about schools, roads and "
        "the harbour wall, and the mayor promised that work would start next spring. ")
STORY = f"<p>{PARA}</p><p>{PARA.replace('council', 'board')}</p><p>{PARA * 2}</p>"


def run(html: str, url: str = "https://harbordaily.example/a/") -> Extracted:
    page = RawPage(url=url, fetched_at=FETCHED, html=html)
    return clean_extracted(extract_html(page, PipelineOptions()), page)


def test_the_headline_is_found_by_position_not_by_a_word_a_menu_shares_with_it() -> None:
    # wcxbdev-0335: "Docs", a menu entry 14 lines before the date, is also a word of the
    # headline; found by words, the headline was placed there and the date fell outside the
    # twelve lines read after it
    menu = "".join(f"<li><a href='/{w}'>{w}</a></li>" for w in (
        "Docs Blog Pricing Download Contact Security Careers Explore Features Teams Login "
        "Signup Help Status").split())
    html = (f"<html><body><div><nav><ul>{menu}</ul></nav><div><a href='/blog'>Back to blog</a>"
            "<span>9 min read</span><p>Jan 15, 2026</p></div><h1>A Notion alternative for "
            f"Teams Managing Docs and Ongoing Work</h1></div>{STORY}</body></html>")
    art = run(html)
    assert (art.published_at, art.date_source) == (datetime(2026, 1, 15, tzinfo=UTC),
                                                   "dateline")


def test_a_declared_numeric_date_is_day_first_unless_that_is_after_the_fetch() -> None:
    # wcxbdev-0202: <time datetime="02-12-2025">, shown beside "December 02, 2025" elsewhere;
    # dateutil read it month first (12 February); wcxbdev-0211 (fetched April 2026) declares
    # "03-09-2026": day first would be September, after the fetch, so it is 9 March
    def declared(value: str) -> datetime | None:
        return run(f"<html><body><h1>Pixel-perfect user interfaces</h1><time datetime='{value}'>"
                   f"</time>{STORY}</body></html>").published_at

    assert declared("02-12-2025") == datetime(2025, 12, 2, tzinfo=UTC)
    assert declared("03-09-2026") == datetime(2026, 3, 9, tzinfo=UTC)
    assert declared("13/11/2025 09:21:40") == datetime(2025, 11, 13, 9, 21, 40, tzinfo=UTC)
    assert declared("2025/02/12") == datetime(2025, 2, 12, tzinfo=UTC)  # year first: Y-M-D
    us = run("<html lang='en-US'><body><h1>Pixel-perfect user interfaces</h1><time datetime="
             f"'02-12-2025'></time>{STORY}</body></html>")
    assert us.published_at == datetime(2025, 2, 12, tzinfo=UTC)  # a US page: month first
