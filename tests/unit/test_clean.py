"""Headline, author and body cleaning (shared by HTML and plain-text pages)."""

from __future__ import annotations

import pytest

from worker.pipeline.clean import (
    clean_authors,
    clean_body,
    clean_headline,
    site_name_from_title,
)

STORY = ("The council voted on Tuesday to approve a new budget for the harbour district, ending "
         "months of debate over how to pay for repairs to the ageing sea wall.")
MORE = ("Engineers warned last year that parts of the wall could fail during a severe storm, "
        "putting hundreds of homes and the old fish market at risk of flooding.")


@pytest.mark.parametrize("raw, site, url, expected", [
    ("Council approves budget - Harbour Gazette", "Harbour Gazette", None,
     "Council approves budget"),
    ("Harbour Gazette | Council approves budget", "Harbour Gazette", None,
     "Council approves budget"),
    ("Council approves budget | Local | The Beachside Blog", None,
     "https://beachside.example/x", "Council approves budget | Local"),
    ("UPDATE 1-Council approves budget", None, None, "Council approves budget"),
    ("Plague: third case in China – ‘The plague is coming’", "Express.co.uk",
     "https://www.express.co.uk/n", "Plague: third case in China – ‘The plague is coming’"),
    ("Trump - Biden debate: what we learned", "Daily Planet", "https://dailyplanet.example/",
     "Trump - Biden debate: what we learned"),
    ("Sweden drops case - BBC News", None, "https://www.bbc.co.uk/news/x", "Sweden drops case"),
    # a headline that merely starts with the site's short name keeps it
    ("ABC fined over report | Money", None, "https://abc.net.au/x",
     "ABC fined over report | Money"),
])
def test_clean_headline(raw: str, site: str | None, url: str | None, expected: str) -> None:
    assert clean_headline(raw, site, url) == expected


@pytest.mark.parametrize("raw, body, expected", [
    (["By Jane Doe and John Roe"], "", ("Jane Doe", "John Roe")),
    (["Analysis by Chris Lane, CNN Editor-at-large"], "", ("Chris Lane",)),
    (["Ilana Moss, MS, RDN"], "", ("Ilana Moss",)),
    (["Jane Doe", "jane doe", "https://facebook.com/jane"], "", ("Jane Doe",)),
    ([], "WASHINGTON (Reuters) - The Senate voted...", ("Reuters",)),
    (["Byron Smith"], "", ("Byron Smith",)),
])
def test_clean_authors(raw: list[str], body: str, expected: tuple[str, ...]) -> None:
    assert clean_authors(raw, body) == expected


def test_clean_body_removes_page_furniture() -> None:
    body = "\n\n".join([
        "Council approves harbour budget", "By Maria Jensen", "Published 4 March 2025 09:30",
        STORY, "Photo: Lars Berg/Getty Images", "READ MORE: Sea wall repairs delayed again",
        MORE, "Sign up for our morning newsletter", "Follow us on Twitter",
        "Council approves harbour budget",
        "Copyright © 2025 Harbour Gazette. All rights reserved.",
    ])
    cleaned = clean_body(body, "Council approves harbour budget", None, ("Maria Jensen",))
    assert cleaned == f"{STORY}\n\n{MORE}"


def test_clean_body_keeps_story_lines_that_look_alike() -> None:
    body = "\n\n".join([STORY, "Read the full report on the council website, officials said "
                        "on Tuesday as they published the figures.", MORE])
    # a long sentence starting "Read" is story text, not a call to action
    assert "Read the full report" in clean_body(body, "Council approves harbour budget")


@pytest.mark.parametrize("title, url, expected", [
    ("Garden city approves tram line | Lakeside Post", "https://lakesidepost.example/a",
     "Lakeside Post"),
    ("BBC News - Sweden drops case", "https://www.bbc.co.uk/news/x", "BBC News"),
    ("Garden city approves tram line", "https://lakesidepost.example/a", None),
])
def test_site_name_from_title(title: str, url: str, expected: str | None) -> None:
    assert site_name_from_title(title, url) == expected
