"""Headline and byline: what readers see on the page, when the declarations say otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

import lxml.html
import pytest

from worker.pipeline.byline import find_byline
from worker.pipeline.marks import PageMarks
from worker.pipeline.metadata import choose_headline, read_metadata

FETCHED = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("declared", "h1", "title", "expected"),
    [
        # the <h1> is the declared headline without its decoration
        ("How to Go Vegan: A Beginner's Guide | Meal Plans", "How to Go Vegan: A Beginner's Guide",
         None, "How to Go Vegan: A Beginner's Guide"),
        # an SEO title about the same story: the visible headline wins
        ("Top 11 Gaming Console Companies & Manufacturers | 2025",
         "Top 11 Gaming Console Companies Driving Innovation Globally", None,
         "Top 11 Gaming Console Companies Driving Innovation Globally"),
        # ... but an <h1> of a few words is a section label: the declared headline, tail cut
        ("Index Funds: How to Invest | Vanguard", "Index funds", None,
         "Index Funds: How to Invest"),
        ("Defer, Panic, and Recover - Go Blog", "Go Blog", "Defer, Panic, and Recover - Go Blog",
         "Defer, Panic, and Recover"),
        # a different, undecorated declared headline stays (news sites' own choice)
        ("Sweden drops Assange rape investigation",
         "Julian Assange: Sweden drops rape investigation", None,
         "Sweden drops Assange rape investigation"),
        # no usable <h1>: the declared headline without its SEO tail
        ("We Tested 6 Zoom Alternatives - Here's How They Compare", None, None,
         "We Tested 6 Zoom Alternatives"),
        # ... when another <h1> shows the whole declared headline, the tail is part of it
        ("Defer, Panic - and Recover", "The Go Blog", None, "Defer, Panic - and Recover"),
        # nothing declared: the <h1>, else <title>
        (None, "Harbour wall repairs begin", "Harbour wall | Gazette",
         "Harbour wall repairs begin"),
        (None, None, "Harbour wall | Gazette", "Harbour wall | Gazette"),
    ],
)
def test_choose_headline(declared: str | None, h1: str | None, title: str | None,
                         expected: str) -> None:
    h1s = [h1, declared] if h1 == "The Go Blog" else [h1] if h1 else []  # the page's <h1>s
    assert choose_headline(declared, h1, title, [x for x in h1s if x]) == expected


def test_a_short_tail_is_kept_when_the_head_is_too_short_to_stand_alone() -> None:
    assert choose_headline("Brexit | Live", None, None, []) == "Brexit | Live"


def _tree(body: str, head: str = "") -> lxml.html.HtmlElement:
    return lxml.html.fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<header><h1>Biking in Houston</h1><p><span>By <a href='/p/dr'>Daniel Renfrow</a>"
         "</span> <span>April 12, 2024</span></p></header>", "Daniel Renfrow"),
        ("<div><h1>Defer, Panic, and Recover</h1><p class='author'>Andrew Gerrand<br>4 August "
         "2010</p></div>", "Andrew Gerrand"),
        ("<h1>Tutoring franchises</h1><div class='meta'>September 1st, 2023 <span "
         "class='post-detail__meta-author'>By Emily Norwood</span></div>", "Emily Norwood"),
        ("<h1>Story</h1><a rel='author' href='/a/jd'>Jane Doe</a>", "Jane Doe"),
        # a commenter's name is not the byline
        ("<h1>Story</h1><p>Text.</p><div class='comments'><span class='author'>Troll42 "
         "Smith</span></div>", None),
        # a sentence in an author box is not a name
        ("<h1>Story</h1><div class='author'>This story was written by our team of many "
         "experienced reporters across the country</div>", None),
    ],
)
def test_find_byline(body: str, expected: str | None) -> None:
    tree = _tree(body)
    assert find_byline(PageMarks(tree), next(tree.iter("h1"), None), {}) == expected


def test_twitter_written_by_label_names_the_author() -> None:
    meta = {"twitter:label1": "Written by", "twitter:data1": "Jayesh Shinde"}
    assert find_byline(PageMarks(_tree("<p>Text</p>")), None, meta) == "Jayesh Shinde"


def test_an_organisation_author_gives_way_to_the_person_in_the_byline() -> None:
    ld = ('<script type="application/ld+json">{"@type": "BlogPosting", "headline": "Yoga '
          'prices", "author": {"@type": "Organization", "name": "GlossGenius"}}</script>')
    body = "<h1>Yoga prices</h1><p class='byline'>By Shauna Mitchell</p><p>Text.</p>"
    md = read_metadata(_tree(body, ld), "https://glossgenius.com/blog/yoga", FETCHED)
    assert md.authors == ["Shauna Mitchell"]
    # a person declared in JSON-LD stays, whatever the byline says
    person = ld.replace('"Organization", "name": "GlossGenius"', '"Person", "name": "Ann Lee"')
    md = read_metadata(_tree(body, person), "https://glossgenius.com/blog/yoga", FETCHED)
    assert md.authors == ["Ann Lee"]


def _headline(jsonld: str | None, og: str, h1: str, title: str) -> str | None:
    ld = f'{{"@type": "BlogPosting", "headline": "{jsonld}"}}'
    head = (f"<script type='application/ld+json'>{ld}</script>" if jsonld else "") + (
        f"<meta property='og:title' content='{og}'><title>{title}</title>")
    tree = _tree(f"<h1>{h1}</h1><p>Text.</p>", head)
    return read_metadata(tree, "https://bhf.example/a", datetime(2026, 4, 1, tzinfo=UTC)).headline


def test_the_h1_og_title_and_title_together_outvote_the_json_ld_headline() -> None:
    # wcxbdev-0148: JSON-LD says "Sample menus" (the section), the page three times
    # "7 days of healthy meals on a budget"; 0059: the JSON-LD headline is the description
    page = "7 days of healthy meals on a budget"
    assert _headline("Sample menus", page, page, f"{page} - Heart Matters magazine - BHF") == page
    # two of three are not enough: news sites write the <h1> and <title> for readers and the
    # declared headline (JSON-LD = og:title) for sharing, and the declared one is the headline
    assert _headline("Sweden drops Assange rape investigation", "Sweden drops Assange rape "
                     "investigation", "Julian Assange: Sweden drops rape investigation",
                     "Julian Assange: Sweden drops rape investigation - BBC News"
                     ) == "Sweden drops Assange rape investigation"
    assert _headline("Sample menus", page, page, "Heart Matters magazine") == "Sample menus"


def test_without_a_json_ld_headline_the_h1_and_title_outvote_og_title() -> None:
    # wcxbdev-0280 (og:title written for sharing), 0136 (og:title is the site's name)
    h1 = "Best laptops 2026: Premium, budget, gaming, 2-in-1, and more"
    assert _headline(None, "Buying a laptop? These are the 9 best laptops you can buy today",
                     h1, f"{h1} | PCWorld") == h1
    assert _headline(None, "Robomow", "Which robotic lawnmower suits which lawn size?",
                     "Which robotic lawnmower suits which lawn size? | Robomow"
                     ) == "Which robotic lawnmower suits which lawn size?"
    # an og:title made of the <h1>'s own words is the site's short form: kept (aeb-dev)
    assert _headline(None, "15 Tips to Overcome Binge Eating", "15 Helpful Tips to Overcome "
                     "Binge Eating", "15 Helpful Tips to Overcome Binge Eating"
                     ) == "15 Tips to Overcome Binge Eating"
    # the <title> saying something else: og:title against the <h1> alone is a tie, og kept
    assert _headline(None, "Buying a laptop? The 9 best laptops", h1, "PCWorld"
                     ) == "Buying a laptop? The 9 best laptops"


def test_an_h1_carrying_the_titles_section_and_site_labels_loses_them() -> None:
    # wcxbdev-0074: the <h1> is the <title>, labels and all; 0118: "... | Opinion" everywhere
    story = "How to help babies, toddlers sleep through the night"
    assert _headline(None, f"{story} | Patient Education | UC Davis Children's Hospital",
                     f"{story} | Patient Education | UC Davis Children's Hospital",
                     f"{story} | Patient Education | UC Davis Children's Hospital") == story
    # a longer part after the pipe is the headline's own (aeb-dev: a kicker, then the story)
    kicker = "Milan Design Week 2018 | Michael Anastassiades' light installation for FLOS"
    assert _headline(None, kicker, kicker, kicker) == kicker


def test_line_breaks_in_the_h1_are_spaces() -> None:
    # wcxbdev-0275: <h1>WEEKEND<br>CODING<br><span>AGENT</span></h1> read as "WEEKENDCODING AGENT"
    tree = _tree("<h1> WEEKEND<br>CODING<br> <span>AGENT</span> </h1><p>Text.</p>")
    md = read_metadata(tree, "https://thefocus.example/a", datetime(2026, 4, 1, tzinfo=UTC))
    assert md.headline == "WEEKEND CODING AGENT"
    # inline markup inside a word does not split it
    tree = _tree("<h1>Un<em>believ</em>able results<br>in <b>five <i>short</i></b> weeks</h1>")
    md = read_metadata(tree, "https://thefocus.example/a", datetime(2026, 4, 1, tzinfo=UTC))
    assert md.headline == "Unbelievable results in five short weeks"


def test_an_h1_that_is_the_titles_site_name_is_the_logo_when_nothing_is_declared() -> None:
    # wcxbdev-0202: no JSON-LD, no og:title; the <h1> is the blog's name, the <title> is the
    # post's title and then the blog's name
    def headline(h1: str, head: str = "<title>Reflections on Building a Pixel-Perfect UI "
                 "Pipeline in JUCE Applications - Part 1 | Playful Tones</title>") -> str | None:
        tree = lxml.html.fromstring(f"<html><head>{head}</head><body><h1>{h1}</h1>"
                                    "<p>Some text.</p></body></html>")
        return read_metadata(tree, "https://playfultones.example/blog/a",
                             datetime(2026, 4, 1, tzinfo=UTC)).headline

    assert headline("Playful Tones") == ("Reflections on Building a Pixel-Perfect UI Pipeline "
                                         "in JUCE Applications")
    # a real headline in the <h1> stays, and a declared headline still decides
    assert headline("Pixel-Perfect UI Pipelines in JUCE") == "Pixel-Perfect UI Pipelines in JUCE"
    declared = ("<title>Reflections on UI Pipelines | Playful Tones</title><meta "
                "property='og:title' content='UI pipelines in JUCE, part 1'>")
    assert headline("Playful Tones", declared) == "UI pipelines in JUCE, part 1"
