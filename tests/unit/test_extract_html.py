"""HTML extraction on golden pages written for these tests (tests/fixtures/html/)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.errors import PageRejected, RejectReason
from worker.pipeline.clean import clean_extracted
from worker.pipeline.extract import extract_html
from worker.pipeline.metadata import parse_declared
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import Extracted, RawPage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "html"
FETCHED = datetime(2025, 8, 24, 12, 0, tzinfo=UTC)
OPTIONS = PipelineOptions()


def run(html: str, url: str = "https://harbordaily.example/a/") -> Extracted:
    if not html.lstrip().startswith("<") and len(html) < 40:  # a fixture name
        html = (FIXTURES / f"{html}.html").read_text("utf-8")
    page = RawPage(url=url, fetched_at=FETCHED, html=html)
    return clean_extracted(extract_html(page, OPTIONS), page)


PARA = ("The council voted on the new budget after a long debate about schools, roads and "
        "the harbour wall, and the mayor promised that work would start next spring. ")


class TestWireStory:
    @pytest.fixture(scope="class")
    def art(self) -> Extracted:
        return run("wire_story", "https://harbordaily.example/business/port-strike/?ref=home")

    def test_body_keeps_the_story(self, art: Extracted) -> None:
        assert art.body.startswith("MUMBAI, Aug 23 (Reuters) - Dockworkers")
        assert "Shipping analysts said the settlement" in art.body
        assert len(art.body.split("\n\n")) == 5

    @pytest.mark.parametrize("furniture", [
        "Port strike ends as dockworkers", "By Priya Raman", "Updated:", "Getty Images",
        "Read more", "Shipping rates climb", "Sign up", "newsletter", "Follow us",
        "Share on", "Related stories", "Rupee steadies", "Copyright", "Privacy", "Sign in",
        "Reporting by", "Editing by",
    ])
    def test_body_drops_furniture(self, art: Extracted, furniture: str) -> None:
        assert furniture not in art.body

    def test_metadata(self, art: Extracted) -> None:
        assert art.headline == "Port strike ends as dockworkers accept new pay offer"
        assert art.authors == ("Priya Raman", "Reuters")
        assert art.published_at == datetime(2025, 8, 23, 0, 48, tzinfo=UTC)
        assert art.modified_at == datetime(2025, 8, 23, 3, 35, tzinfo=UTC)
        assert art.date_source == "jsonld"
        assert art.site_name == "Harbor Daily"
        assert art.description == ("Dockworkers at the country's busiest container port voted "
                                   "to end a nine-day strike.")
        assert art.canonical_url == "https://harbordaily.example/business/port-strike-ends-2025-08-23/"
        assert art.image_url == "https://cdn.harbordaily.example/img/port-cranes.jpg"
        assert art.language_hint == "en-GB"
        assert art.tags == ("Ports", "Labour", "Business")
        assert art.keywords == ("strike", "dockworkers", "shipping")


class TestLocalByline:
    @pytest.fixture(scope="class")
    def art(self) -> Extracted:
        return run("local_byline", "https://lakesidepost.example/cidade/tram-line")

    def test_body(self, art: Extracted) -> None:
        assert art.body.startswith("Councillors in Garden City voted")
        assert art.body.endswith("the city's transport secretary said after the vote.")
        for furniture in ("By Ana Lima", "Published 14 March", "Tags:", "Comments",
                          "Heatwave", "Trending", "direitos", "Assine"):
            assert furniture not in art.body

    def test_metadata(self, art: Extracted) -> None:
        assert art.headline == "Garden city approves new tram line"  # no " | Lakeside Post"
        assert art.authors == ("Ana Lima", "Tom Berg")
        assert art.published_at == datetime(2025, 3, 14, 21, 45, tzinfo=UTC)
        assert art.date_source == "meta"
        assert art.language_hint == "pt-BR"
        assert art.site_name == "Lakeside Post"  # from the <title> decoration
        assert art.keywords == ("transport", "trams", "council")


@pytest.mark.parametrize("name", ["login", "section_index"])
def test_pages_without_an_article_are_rejected(name: str) -> None:
    with pytest.raises(PageRejected) as info:
        run(name)
    assert info.value.reason is RejectReason.NO_ARTICLE


def test_time_element_and_agency_dateline() -> None:
    html = (f"<html><body><article><h1>Harbour wall</h1><time datetime='2024-05-02T10:15:00-04:00'>"
            f"May 2</time><p>BOSTON (AP) — {PARA}</p><p>{PARA}</p></article></body></html>")
    art = run(html)
    assert art.published_at == datetime(2024, 5, 2, 14, 15, tzinfo=UTC)
    assert art.date_source == "time"
    assert art.authors == ("AP",)


def test_undeclared_date_falls_back_to_htmldate_not_after_fetch() -> None:
    # nothing declared or shown beside a headline / in a date element: htmldate's fast look
    # (here the URL), never a date after the fetch
    html = (f"<html><body><p>{PARA}</p><p>{PARA.replace('council', 'board')}</p>"
            "<p>Next event: 5 January 2031</p></body></html>")
    art = run(html, "https://example.com/news/2025/02/03/story")
    assert art.date_source == "htmldate"
    assert art.published_at == datetime(2025, 2, 3, tzinfo=UTC)


def test_a_date_shown_beside_the_headline_is_used_when_none_is_declared() -> None:
    html = (f"<html><body><div class='hero'><h5>January 23, 2025</h5><h1>Solar panels in four "
            f"steps</h1></div><p>{PARA}</p><p>{PARA}</p><div class='card'><span class='date'>"
            "March 3, 2025</span></div></body></html>")
    art = run(html)
    assert art.date_source == "dateline"
    assert art.published_at == datetime(2025, 1, 23, tzinfo=UTC)


def test_a_date_element_after_the_headline_wins_over_teaser_cards_before_it() -> None:
    cards = "".join(f"<div class='card'><a href='/s/{k}'>Other story {k}</a><span "
                    f"class='card-date'>Mar 13, 2025</span></div>" for k in range(8))
    # the story's date is outside the headline's block (three levels up from the <h1>)
    html = (f"<html><body><div class='trending'>{cards}</div><main><header><div><div><h1>Five "
            "tips for indie game design</h1></div></div></header><section><div class='contrib"
            "utors'><a href='/a/z'>Zander Dejah</a><p class='contributor-date'>October 24, 2024"
            f"</p></div></section><p>{PARA * 2}</p><p>{PARA * 2}</p><p>{PARA * 2}</p></main>"
            "</body></html>")
    art = run(html)
    assert art.date_source == "dateline"
    assert art.published_at == datetime(2024, 10, 24, tzinfo=UTC)
    # without a headline to order by, the first such element in the page still counts
    assert run(html.replace("<h1>", "<h4>").replace("</h1>", "</h4>")).published_at == datetime(
        2025, 3, 13, tzinfo=UTC)


def test_microdata_and_a_split_label_give_the_publication_date() -> None:
    micro = (f"<html><body><h1>Zoom alternatives</h1><div itemprop='datePublished' "
             f"content='2023-10-03T05:30:41-04:00'></div><p>{PARA}</p><p>{PARA}</p></body></html>")
    art = run(micro)
    assert (art.published_at, art.date_source) == (datetime(2023, 10, 3, 9, 30, 41, tzinfo=UTC),
                                                   "meta")
    assert art.published_at is not None and art.published_at.isoformat().endswith("-04:00")
    split = (f"<html><body><article><h1>API documentation done right</h1><p><span>Last updated "
             f"on:</span> <span>August 20, 2025</span></p><p><span>Published:</span> <span>"
             f"October 29, 2024</span></p><p>{PARA}</p><p>{PARA.replace('council', 'board')}</p>"
             "</article></body></html>")
    art = run(split)
    assert art.published_at == datetime(2024, 10, 29, tzinfo=UTC)
    assert art.modified_at == datetime(2025, 8, 20, tzinfo=UTC)


def test_json_ld_article_body_recovers_a_missed_half() -> None:
    story = [f"Paragraph {i} of the declared story says the harbour budget grows by {i} "
             f"million euros and the council will vote again in month {i}." for i in range(12)]
    joined = "\\n".join(story)
    ld = f'{{"@type": "NewsArticle", "headline": "Budget", "articleBody": "{joined}"}}'
    html = (f"<html><head><script type='application/ld+json'>{ld}</script></head><body>"
            f"<article><p>{story[0]}</p><p>{story[1]}</p><p>{story[2]}</p></article>"
            "<div class='paywall'>Subscribe to read more</div></body></html>")
    art = run(html)
    assert "Paragraph 11 of the declared story" in art.body


@pytest.mark.parametrize("value, expected", [
    ("2025-08-23T06:18:00+05:30", datetime(2025, 8, 23, 0, 48, tzinfo=UTC)),
    ("2019-11-19T07:03:25Z", datetime(2019, 11, 19, 7, 3, 25, tzinfo=UTC)),
    ("Mon, 18 Nov 2019 16:07:38 -0600", datetime(2019, 11, 18, 22, 7, 38, tzinfo=UTC)),
    ("November 19, 2019 07:47 PM EST", datetime(2019, 11, 20, 0, 47, tzinfo=UTC)),
    ("0001-01-01T00:00:00Z", None),
    ("not a date", None),
])
def test_parse_declared(value: str, expected: datetime | None) -> None:
    assert parse_declared(value) == expected


PATHOLOGICAL = {
    "deep_nesting": "<html><body>" + "<div>" * 200_000 + f"<p>{PARA}</p>" + "</div>" * 200_000,
    "mixed_nesting": "<html><body>" + "<div><span><b><i>" * 50_000 + PARA,
    "entity_bomb": ('<!DOCTYPE html [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
                    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]>'
                    "<html><body><p>&c;&c;&c;</p></body></html>"),
    "many_entities": "<html><body><p>" + "&amp;&lt;&#x41;&#0;&#xD800;" * 100_000 + "</p>",
    "too_many_elements": "<html><body>" + "<p>x</p>" * 120_000 + "</body></html>",
    "control_chars": f"<html><body>\x00\x01\x1b<p>{PARA * 3}</p>\ufffe\ud800</body></html>",
    "script_only": "<html><head><script>var a = 1;</script></head><body><script>x()</script>",
    "broken_json_ld": ("<html><head><script type='application/ld+json'>" + "[" * 50_000
                       + f"</script></head><body><p>{PARA * 3}</p></body></html>"),
    "not_html": "\x89PNG\r\n\x1a\n" + "\x00" * 1000,
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_pathological_html_gives_article_or_rejection_quickly(name: str) -> None:
    started = time.process_time()  # CPU, not wall time: a busy machine must not fail it
    try:
        art = run(PATHOLOGICAL[name])
        assert art.body.strip()
    except PageRejected as exc:
        assert exc.reason in (RejectReason.NO_ARTICLE, RejectReason.UNSUPPORTED_CONTENT)
    # No blow-up (quadratic parsing, regex backtracking): each takes under 2 s of CPU today.
    assert time.process_time() - started < 20


_TAGS = st.sampled_from(["<div>", "</div>", "<p>", "</p>", "<a href='/x'>", "</a>", "<h1>",
                         "<script>", "</script>", "<table><tr><td>", "<li>", "<br>", "&amp;",
                         "&#0;", "<!--", "-->", "<![CDATA[", "<?xml ?>", "<time datetime='x'>",
                         "<meta property='article:published_time' content='2024-13-45'>"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_TAGS, st.text(max_size=40)), max_size=80))
def test_any_markup_gives_article_or_rejection(parts: list[str]) -> None:
    html = "<html><body>" + "".join(parts) + f"<p>{PARA}</p>" * (len(parts) % 3)
    try:
        art = run(html)
    except PageRejected as exc:
        assert exc.reason in (RejectReason.NO_ARTICLE, RejectReason.UNSUPPORTED_CONTENT)
    else:
        assert art.body.strip()


STANDFIRST = "Councillors voted 31 to 12 for the tram line, but auditors say the budget is tight."
PARAS = "".join(f"<p>{n}. {PARA}</p>" for n in range(1, 6))
HEAD = ('<html><head><title>Council backs tram line</title>'
        f'<meta property="og:description" content="{STANDFIRST}"></head><body>')


def test_standfirst_beside_the_story_is_description_not_body() -> None:
    html = (f'{HEAD}<article><p class="kicker">Transport</p><h1>Council backs tram line</h1>'
            f'<p class="dek">{STANDFIRST}</p><div class="story-body">'
            f"{PARAS}</div></article></body></html>")
    art = run(html)
    assert art.description == STANDFIRST
    assert art.body.startswith("1. The council voted")
    assert "Transport" not in art.body


def test_lede_copied_into_the_description_stays_in_the_body() -> None:
    # the same text as the first paragraph *inside* the story's container is its lede
    html = (f'{HEAD}<article><h1>Council backs tram line</h1><div class="story-body">'
            f"<p>{STANDFIRST}</p>{PARAS}</div></article></body></html>")
    assert run(html).body.startswith(STANDFIRST)


def test_kicker_and_heading_standfirst_are_not_body() -> None:
    html = (f'{HEAD}<article><p class="antetitulo">Sequía</p><h1>Council backs tram line</h1>'
            f'<h2 class="entradilla">{STANDFIRST}</h2><div class="cuerpo">'
            f"{PARAS}</div></article></body></html>")
    body = run(html).body
    assert body.startswith("1. The council voted")
    assert "Sequía" not in body


def _discarding(calls: list[dict[str, object]], real: object, discard: int) -> object:
    """trafilatura.bare_extraction, recording its options, with the first `discard` calls
    returning None (what its size check does to a page it finds nothing on)."""
    def fake(*args: object, **kwargs: object) -> object:
        calls.append(kwargs)
        if len(calls) <= discard:
            return None
        return real(*args, **kwargs)  # type: ignore[operator]
    return fake


def test_recall_mode_runs_only_when_the_cascade_kept_nothing_of_a_page_with_paragraphs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import worker.pipeline.extract as extract

    calls: list[dict[str, object]] = []
    real = extract.trafilatura.bare_extraction
    monkeypatch.setattr(extract.trafilatura, "bare_extraction", _discarding(calls, real, 2))
    html = ("<html><body><h1>Budget passes</h1>" + f"<p>{PARA * 2}</p>" * 5  # 1,700 characters
            + "</body></html>")
    art = run(html)
    assert [c.get("fast") for c in calls[:2]] == [True, False]
    assert calls[2].get("favor_recall") is True and len(calls) == 3
    assert "the mayor promised" in art.body

    # a page without paragraphs (an index, a form) never pays for a third run
    calls.clear()
    links = "".join(f"<div><a href='/s/{k}'>Story number {k} about the harbour</a></div>"
                    for k in range(80))
    with pytest.raises(PageRejected):
        run(f"<html><body>{links}</body></html>")
    assert len(calls) == 2


def test_the_parser_gives_every_tag_the_element_class_lxml_html_gives_it() -> None:
    """parse_html's C lookup table (extract.HTML_CLASSES) must give each tag the same class as
    lxml.html's own lookup: trafilatura, readability and htmldate get our tree."""
    import lxml.html
    from lxml.html import defs

    from worker.pipeline.extract import parse_html

    tags = sorted(defs.tags | {"svg", "math", "template", "custom-tag"})
    html = "<html><head><title>t</title></head><body>" + "".join(
        f"<div><{tag}>x</{tag}></div>" for tag in tags if tag not in (
            "html", "head", "body", "title")) + "<!-- c --></body></html>"
    ours = [(el.tag, type(el)) for el in parse_html(html).iter()]
    theirs = [(el.tag, type(el)) for el in lxml.html.fromstring(html).iter()
              if not isinstance(el, lxml.html.HtmlComment)]  # parse_html drops comments
    assert ours == theirs
    assert {cls.__name__ for _, cls in ours} >= {"FormElement", "InputElement", "LabelElement",
                                                   "SelectElement", "TextareaElement"}
