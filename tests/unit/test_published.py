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


def test_a_date_shown_beside_the_headline_days_before_the_declared_one_is_the_publication() -> None:
    # wcxbdev-0352 (a 2013 post re-hosted, declared 2024-08-07), 0172 ("On 8 Oct 2022",
    # declared 2022-10-24), 0043 (a paper shown "24 Apr 2000", declared 2025-12-01)
    def page(shown: str, declared: str = "2024-08-07T12:01:51Z") -> Extracted:
        return run(f"<html><head><meta property='article:published_time' content='{declared}'>"
                   "</head><body><header><h1>Startup lessons learned from my failed startup</h1>"
                   f"<div><span>Sergio Schuler</span><span>7 min read</span><span>{shown}</span>"
                   f"</div></header>{STORY}</body></html>")

    art = page("Dec 30, 2013")
    assert (art.published_at, art.date_source) == (datetime(2013, 12, 30, tzinfo=UTC), "dateline")
    # one day off is a zone (the declared UTC instant, the local day shown): declared kept
    art = page("Aug 6, 2024")
    assert (art.published_at, art.date_source) == (datetime(2024, 8, 7, 12, 1, 51, tzinfo=UTC),
                                                   "meta")
    # a later shown date is an update, never the first publication
    assert page("Updated Sep 5, 2025").published_at == datetime(2024, 8, 7, 12, 1, 51, tzinfo=UTC)
    assert page("Sep 5, 2025").published_at == datetime(2024, 8, 7, 12, 1, 51, tzinfo=UTC)
    # an earlier date shown only as an update is not a publication either
    assert page("Updated Dec 30, 2013").published_at == datetime(2024, 8, 7, 12, 1, 51, tzinfo=UTC)


def test_a_labelled_date_anywhere_in_the_page_when_none_is_found_elsewhere() -> None:
    # wcxbdev-0053: "Posted on" / "Nov 21, 2018" in unnamed spans, in a column far from the
    # headline's block; nothing declared, no element named for a date
    aside = ("<div class='col'><div><span>Posted on</span><div><span>Nov 21, 2018</span></div>"
             "</div><div><span>Updated at</span><div><span>Dec 10, 2025</span></div></div></div>")
    html = (f"<html><body><div class='grid'><div><div><h1>What is an online course?</h1></div>"
            f"</div></div>{STORY}{aside}</body></html>")
    art = run(html)
    assert (art.published_at, art.date_source) == (datetime(2018, 11, 21, tzinfo=UTC), "dateline")
    assert art.modified_at == datetime(2025, 12, 10, tzinfo=UTC)
    # a commenter's "Posted on" is not the story's date, nor is a bare date in the text
    comments = ("<div class='comments'><p>Posted on March 3, 2020 by Troll42</p></div>"
                "<p>Next meeting: 5 January 2026.</p>")
    art = run(f"<html><body><h1>What is an online course?</h1>{STORY}{comments}</body></html>",
              url="https://harbordaily.example/what-is-an-online-course")
    assert art.published_at is None


def test_the_declared_instant_is_written_in_the_offset_the_page_shows_it_in() -> None:
    # wcxbdev-0215: article:published_time in UTC (the 19th), the story's own <time> in the
    # page's zone (-08:00, "December 18, 2025"); wcxbdev-0237: declared -05:00, shown as a UTC
    # stamp ("Posted 2024-01-12T00:30:27+00:00")
    def page(declared: str, shown: str) -> Extracted:
        return run(f"<html><head><meta property='article:published_time' content='{declared}'>"
                   "</head><body><header><h1>Are the new harbour rules fair to fishermen?</h1>"
                   f"{shown}</header>{STORY}</body></html>")

    art = page("2025-12-19T03:05:00+00:00",
               "<time datetime='2025-12-18T19:05:00-08:00'>December 18, 2025</time>")
    assert art.published_at is not None
    assert art.published_at.isoformat() == "2025-12-18T19:05:00-08:00"  # the same instant
    art = page("2024-01-11T19:30:00-05:00",
               "<div class='timestamp'>Posted <date id='created-date'>2024-01-12T00:30:27+00:00"
               "</date></div>")
    assert art.published_at is not None
    assert art.published_at.isoformat() == "2024-01-12T00:30:00+00:00"
    # another instant shown (a comment, another story's card) leaves the declared offset alone
    art = page("2025-12-19T03:05:00+00:00",
               "<time datetime='2025-12-19T16:35:00-08:00'>December 19, 2025</time>")
    assert art.published_at is not None
    assert art.published_at.isoformat() == "2025-12-19T03:05:00+00:00"
    # a shown stamp without a zone says nothing about the page's offset
    art = page("2025-12-19T03:05:00+00:00", "<time datetime='2025-12-18T19:05:00'>Dec 18</time>")
    assert art.published_at is not None
    assert art.published_at.isoformat() == "2025-12-19T03:05:00+00:00"


def test_a_labelled_month_is_its_first_day_when_the_page_shows_no_date() -> None:
    # wcxbdev-0357: a health explainer whose only date is "Last Updated: June 2022" under the
    # story (in a <b> label and its text); nothing declared, nothing beside the headline
    def page(line: str) -> Extracted:
        return run("<html><body><h1>Meditation and mindfulness: what you need to know</h1>"
                   f"{STORY}<div class='row'>{line}</div></body></html>")

    art = page("<b>Last Updated: </b>June 2022")
    assert (art.published_at, art.date_source) == (datetime(2022, 6, 1, tzinfo=UTC), "dateline")
    assert page("<b>Last Updated: </b>June 12, 2022").published_at == datetime(2022, 6, 12,
                                                                               tzinfo=UTC)
    # a month in prose is not a date; nor a labelled month after the fetch
    assert page("<p>Updated guidance came in June 2022 from the board.</p>").published_at is None
    assert page("<b>Last Updated: </b>June 2027").published_at is None
