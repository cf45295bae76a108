"""The shared seed page (a browser's rendering of a Devdiscourse story) through the whole pipeline.

Read from ../shared/seed (never copied into the repository); skips when it is absent.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.factories import message
from tests.shared_data import SEED
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.types import Article

URL = "https://www.devdiscourse.com/article/politics/3089123-tensions-in-the-peninsula-us-south-korea"


@pytest.fixture(scope="module")
def article() -> Article:
    if not SEED.exists():
        pytest.skip(f"seed page not present at {SEED}")
    text = SEED.read_text("utf-8")
    result = process_page(
        message(url=URL, text=text, fetched_at="2025-08-23T09:15:00Z"),
        received_at=datetime(2025, 8, 23, 9, 15, 5, tzinfo=UTC),
        options=PipelineOptions(),
    )
    assert isinstance(result, Article), result
    return result


def test_metadata(article: Article) -> None:
    assert article.headline == "Tensions in the Peninsula: U.S.-South Korea Alliance at Crossroads"
    assert article.published_at == datetime(2025, 8, 23, 0, 48, tzinfo=UTC)
    assert article.modified_at == datetime(2025, 8, 23, 0, 48, tzinfo=UTC)
    assert article.authors == ("Devdiscourse News Desk",)
    assert article.language == "en"
    assert article.site_name == "Devdiscourse"
    assert article.date_source == "dateline"
    assert article.extractor["mode"] == "text"
    assert article.description is not None
    assert article.description.startswith("As South Korean President Lee Jae Myung prepares")
    assert article.description.endswith("the alliance's future hangs in the balance.")


def test_body_is_the_three_story_paragraphs(article: Article) -> None:
    paragraphs = article.body.split("\n\n")
    assert paragraphs[0].startswith("South Korean President Lee Jae Myung is slated to meet")
    assert paragraphs[1].startswith("A key issue for the talks will be Trump's demand")
    assert paragraphs[2].startswith("Amid discussions on strategic flexibility")
    assert paragraphs[3:] in ([], ["(With inputs from agencies.)"])
    assert article.word_count >= 120


@pytest.mark.parametrize(
    "furniture",
    [
        "Left Menu", "Tensions in the Peninsula", "Updated:", "IST", "Devdiscourse News Desk",
        "AI-generated", "illustrative purposes", "As South Korean President Lee Jae Myung prepares",
        "TRENDING", "Hoshiarpur", "Natural Honey", "OPINION", "Hybrid deep learning", "DevShots",
        "Connect us", "LinkedIn", "Newsletter", "info@devdiscourse.com", "+91", "Privacy Policy",
        "Copyright", "©",
    ],
)
def test_body_has_no_page_furniture(article: Article, furniture: str) -> None:
    assert furniture not in article.body
