"""Plain-text pages: golden pages of different layouts (tests/fixtures/text) and the line rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.factories import message
from worker.errors import PageRejected, RejectReason
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.text import extract_text
from worker.pipeline.types import Article, RawPage, Rejection

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "text"


@dataclass(frozen=True)
class Golden:
    name: str
    url: str
    fetched_at: str
    headline: str
    published_at: datetime | None
    authors: tuple[str, ...]
    language: str
    site_name: str
    body_starts: str
    body_ends: str
    description: str | None = None
    modified_at: datetime | None = None
    absent: tuple[str, ...] = field(default_factory=tuple)


GOLDEN = [
    Golden(
        name="wire_reuters",
        url="https://www.dailyledger.example/markets/commodities/oil-prices-climb-2024-03-03/",
        fetched_at="2024-03-03T16:00:00Z",
        headline="Oil prices climb as supply worries outweigh demand fears",
        published_at=datetime(2024, 3, 3, 14, 2, tzinfo=UTC),
        authors=("Jane Doe", "Reuters"),
        language="en",
        site_name="Daily Ledger",
        body_starts="LONDON (Reuters) - Oil prices rose on Monday",
        body_ends="remains fragile.",
        absent=("Skip to main content", "By Jane Doe", "Reporting by", "Trust Principles",
                "Read Next", "Gold hits", "Most Popular", "Central bank", "Follow us",
                "Privacy", "©", "March 3, 2024"),
    ),
    Golden(
        name="blog_et",
        url="https://www.lakesideliving.example/food/sourdough-starter-winter",
        fetched_at="2024-03-04T10:00:00Z",
        headline="How to keep your sourdough starter alive through a cold winter",
        # 2:02 p.m. Eastern Standard Time (daylight saving starts on 10 March 2024)
        published_at=datetime(2024, 3, 3, 19, 2, tzinfo=UTC),
        authors=("Priya Raman",),
        language="en",
        site_name="Lakeside Living",
        description="Five small changes that make a big difference when the kitchen drops "
                    "below 18 degrees.",
        body_starts="A sourdough starter is a living thing",
        body_ends="when the days grow longer again.",
        absent=("Menu", "Newsletters", "Five small changes", "Published", "Share on",
                "Advertisement", "The best flour", "Trending", "Spring planting", "Cookie",
                "Copyright"),
    ),
    Golden(
        name="german",
        url="https://www.rheinkurier.example/wirtschaft/stadtwerke-strompreise-123.html",
        fetched_at="2024-03-03T18:00:00Z",
        headline="Stadtwerke erhöhen Strompreise zum Jahreswechsel",
        # no zone on the page: the wall-clock time is kept (has_zone=False in dates.py)
        published_at=datetime(2024, 3, 3, 14, 2, tzinfo=UTC),
        authors=("Anna Becker",),
        language="de",
        site_name="Rheinkurier",
        body_starts="Die Stadtwerke haben am Montag angekündigt",
        body_ends="heißt es dort.",
        absent=("Zum Inhalt", "Cookies", "Von Anna Becker", "Veröffentlicht", "Buslinie",
                "Meistgelesen", "Impressum", "Datenschutz", "©"),
    ),
    Golden(
        name="news_desk_ist",
        url="https://www.southernchronicle.example/india/monsoon-reservoirs-2024",
        fetched_at="2024-09-15T06:00:00Z",
        headline="Monsoon rains lift reservoir levels across southern states",
        # only "Updated:" is shown: it is the publication time too
        published_at=datetime(2024, 9, 14, 16, 15, tzinfo=UTC),
        modified_at=datetime(2024, 9, 14, 16, 15, tzinfo=UTC),
        authors=("PTI",),
        language="en",
        site_name="Southern Chronicle",
        description="Heavy rain over the past week has raised water levels in most of the large "
                    "reservoirs in the south, easing fears of shortages for farmers and cities "
                    "ahead of the dry season.",
        body_starts="Water levels in the major reservoirs of Karnataka",
        body_ends="until Tuesday.",
        absent=("Heavy rain over the past week", "Updated", "Representative image",
                "Latest News", "Markets close", "Follow us", "Privacy", "Copyright"),
    ),
]


def _process(golden: Golden) -> Article:
    text = (FIXTURES / f"{golden.name}.txt").read_text("utf-8")
    result = process_page(
        message(url=golden.url, text=text, fetched_at=golden.fetched_at),
        received_at=datetime(2025, 1, 1, tzinfo=UTC),
        options=PipelineOptions(),
    )
    assert isinstance(result, Article), result
    return result


@pytest.mark.parametrize("golden", GOLDEN, ids=[g.name for g in GOLDEN])
def test_golden_text_pages(golden: Golden) -> None:
    article = _process(golden)
    assert article.headline == golden.headline
    assert article.published_at == golden.published_at
    assert article.modified_at == golden.modified_at
    assert article.authors == golden.authors
    assert article.language == golden.language
    assert article.site_name == golden.site_name
    assert article.description == golden.description
    assert article.extractor["mode"] == "text"
    assert article.body.startswith(golden.body_starts)
    assert article.body.endswith(golden.body_ends)
    for furniture in golden.absent:
        assert furniture not in article.body, furniture
    assert golden.headline not in article.body
    assert "\n\n\n" not in article.body


def test_subheadings_inside_the_story_stay() -> None:
    article = _process(GOLDEN[1])
    paragraphs = article.body.split("\n\n")
    assert "Find a warm spot" in paragraphs
    assert "Feed it more often" in paragraphs


def _page(text: str) -> RawPage:
    return RawPage(url="https://news.example/a/1", fetched_at=datetime(2024, 1, 1, tzinfo=UTC),
                   text=text)


@pytest.mark.parametrize("text", ["", "\n\n  \n", "Home\nNews\nSport\nContact\n© 2024 Site"])
def test_a_page_without_prose_is_no_article(text: str) -> None:
    with pytest.raises(PageRejected) as info:
        extract_text(_page(text), PipelineOptions())
    assert info.value.reason is RejectReason.NO_ARTICLE


def test_comments_end_the_story() -> None:
    story = " ".join(["The council met on Tuesday and agreed the new budget for the harbour."] * 3)
    comment = " ".join(["I think this is a terrible idea and the council should resign now."] * 4)
    text = "\n\n".join([
        "Council agrees harbour budget", story, story.replace("Tuesday", "Monday"),
        "12 Comments", "reader42 says:", comment, "Reply", "other_reader says:",
        comment.replace("terrible", "great"), comment.replace("terrible", "bad"),
    ])
    extracted = extract_text(_page(text), PipelineOptions())
    assert "council should resign" not in extracted.body
    assert extracted.body.count("\n\n") == 1
    assert extracted.headline == "Council agrees harbour budget"


def test_teaser_cards_repeated_on_the_page_are_not_the_story() -> None:
    story = ("The harbour wall will be repaired over five years, the council said on Tuesday, "
             "after engineers warned that parts of it could fail in a severe storm.")
    teaser = ("Ferry timetable changes for the summer season announced by the operator today, "
              "with more sailings to the islands on weekends.")
    text = "\n".join(["Harbour wall to be repaired", story, story.replace("five", "six"),
                      teaser, teaser, "Ferry timetable", teaser])
    extracted = extract_text(_page(text), PipelineOptions())
    assert "Ferry" not in extracted.body


def test_html_field_without_markup_is_read_as_text() -> None:
    text = (FIXTURES / "wire_reuters.txt").read_text("utf-8")
    result = process_page(
        message(url=GOLDEN[0].url, html=text, fetched_at=GOLDEN[0].fetched_at),
        received_at=datetime(2025, 1, 1, tzinfo=UTC), options=PipelineOptions(),
    )
    assert isinstance(result, Article) and not isinstance(result, Rejection)
    assert result.extractor["mode"] == "text"
    assert result.headline == GOLDEN[0].headline


def test_byline_and_site_name_are_trimmed() -> None:
    story = ("The council met on Tuesday and agreed the new budget for the harbour wall, which "
             "engineers say could fail in a severe storm if repairs do not start this year.")
    text = "\n\n".join([
        "Home", "News", "Council agrees harbour budget",
        "By Chaim Gartenberg @cgartenberg Nov 19, 2019, 7:53pm EST",
        story, story.replace("Tuesday", "Monday"), story.replace("harbour", "port"),
        "© 2019 Harbour Gazette Media, LLC. All rights reserved.",
    ])
    page = RawPage(url="https://news.example/a/1", fetched_at=datetime(2019, 12, 1, tzinfo=UTC),
                   text=text)
    extracted = extract_text(page, PipelineOptions())
    assert extracted.headline == "Council agrees harbour budget"
    assert extracted.authors == ("Chaim Gartenberg",)
    assert extracted.published_at == datetime(2019, 11, 20, 0, 53, tzinfo=UTC)
    assert extracted.site_name == "Harbour Gazette Media"
    assert "Gartenberg" not in extracted.body and "©" not in extracted.body


def test_a_name_beside_the_dateline_is_the_author() -> None:
    story = ("Researchers said on Monday that the new vaccine had been tested on more than two "
             "thousand volunteers in three countries, with no serious side effects reported.")
    text = "\n".join([
        "Vaccine trial reports results | Science Daily", "Menu", "Vaccine trial reports results",
        "Louis Jacobson", "Updated on Monday, November 18th, 2019 at 5:03 p.m.", story,
        story.replace("two", "three"), story.replace("Monday", "Tuesday"),
    ])
    page = RawPage(url="https://sciencedaily.example/a/1",
                   fetched_at=datetime(2019, 12, 1, tzinfo=UTC), text=text)
    extracted = extract_text(page, PipelineOptions())
    assert extracted.authors == ("Louis Jacobson",)
    assert extracted.site_name == "Science Daily"
    assert extracted.modified_at == datetime(2019, 11, 18, 17, 3, tzinfo=UTC)  # no zone shown


def test_teaser_cards_after_a_list_header_end_the_story() -> None:
    story = ("The harbour wall will be repaired over five years, the council said on Tuesday, "
             "after engineers warned that parts of it could fail in a severe storm.")
    cards: list[str] = []
    for n, name in enumerate(["Ann Lee", "Bo Chan", "Cy Diaz", "Di Erb"] * 3):
        lead = ("The ferry operator said on Monday that it would add more sailings to the "
                f"islands at weekends from next spring, the {n}th change this year.")
        cards += [f"Ferry operator adds sailings number {n}", name,
                  f"Tuesday November {n + 10}, 2019", lead]
    text = "\n".join(["Harbour wall to be repaired", story, story.replace("five", "six"),
                      story.replace("Tuesday", "Monday"), "More from the Gazette", *cards])
    page = RawPage(url="https://gazette.example/a/1",
                   fetched_at=datetime(2019, 12, 1, tzinfo=UTC), text=text)
    extracted = extract_text(page, PipelineOptions())
    assert "ferry" not in extracted.body.casefold()
    assert extracted.body.count("\n\n") == 2


def test_standfirst_above_a_repeated_headline_is_the_description() -> None:
    story = ("The state cabinet on Friday approved two new metro lines for the western suburbs, "
             "clearing the way for tenders to be floated before the end of the year.")
    standfirst = "The two corridors, together 31 km long, should open in 2029."
    text = "\n\n".join([
        "Skip to content", "Home", "India", "Metro gets nod for two new lines", standfirst,
        "DDW Staff | Pune | Updated: 23-08-2025 06:18 IST",
        "Metro gets nod for two new lines",  # the picture's title
        story, story.replace("Friday", "Monday"), story.replace("two", "three"),
    ])
    page = RawPage(url="https://news.example/a/1", fetched_at=datetime(2025, 8, 24, tzinfo=UTC),
                   text=text)
    extracted = extract_text(page, PipelineOptions())
    assert extracted.description == standfirst
    assert extracted.body.startswith("The state cabinet on Friday")
    # a desk byline naming the outlet is what the page credits; "Staff" alone would not be
    assert extracted.authors == ("DDW Staff",)
