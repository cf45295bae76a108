"""readability-lxml's second opinion: asked only when the fast result missed, taken only by rule."""

from __future__ import annotations

from datetime import UTC, datetime

import lxml.html
import pytest

import worker.pipeline.extract as extract
from worker.pipeline.clean import clean_extracted
from worker.pipeline.fallback import (
    EXTEND_RATIO,
    prefer_readability,
    readability_text,
    summary_text,
)
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import RawPage

FETCHED = datetime(2025, 6, 1, tzinfo=UTC)
STORY = [
    "The harbour authority approved a new dredging plan on Monday after two years of study "
    "and public hearings in the port town.",
    "Engineers said the channel had silted up faster than predicted, leaving larger ships "
    "waiting for high tide before they could dock.",
    "Residents raised concerns about noise and the disposal of sediment, which the authority "
    "said would be tested before any of it moved.",
    "The work is expected to begin in the spring and to last eighteen months, with night "
    "shifts limited to the winter season only.",
    "Fishing crews welcomed the decision but asked for compensation for the weeks when the "
    "outer basin will be closed to their boats.",
    "A final report on the environmental survey will be published in March, the chair told "
    "the council on Monday evening after the vote.",
]
CARDS = [f"Product card {k}: a teaser for another page of the site, with its price {k}9.99 "
         f"dollars and a button to buy it today" for k in range(8)]


def text(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs)


# --- the rule, on text --------------------------------------------------------------------
def test_trim_takes_readabilitys_core_when_it_cut_furniture_around_the_story() -> None:
    ours = text(STORY[:3] + CARDS[:3])  # the story and, around it, a grid of cards
    assert prefer_readability(ours, text(STORY[:3]))


@pytest.mark.parametrize(("theirs", "why"), [
    (STORY[:1], "keeps under half of ours: readability took one container of the story"),
    (STORY[:6], "keeps nine tenths or more: nothing worth the change"),
    (STORY[:3] + ["An unrelated sentence about a football match that ended with two goals "
                  "in the last minutes of extra time."], "not within ours"),
])
def test_trim_needs_a_core_of_ours(theirs: list[str], why: str) -> None:
    ours = text([*STORY, "Share this story with friends"])
    assert not prefer_readability(ours, text(theirs)), why


def test_extend_takes_readability_when_it_holds_our_fragment_and_much_more_prose() -> None:
    ours = "Home\n\nGuides\n\nPosted on Nov 21\n\n" + STORY[0]  # breadcrumbs + the opening
    assert prefer_readability(ours, text(STORY))


def test_extend_refuses_a_list_of_items_even_when_much_longer() -> None:
    items = [f"Tool {k} is lightweight" for k in range(60)]  # short lines, not prose
    theirs = text([STORY[0], *items])
    assert len(theirs) > EXTEND_RATIO * len(STORY[0])
    assert not prefer_readability(STORY[0], theirs)


def test_extend_refuses_text_not_twice_ours_or_not_holding_ours() -> None:
    assert not prefer_readability(text(STORY[:3]), text(STORY[:5]))  # 5/3 < 2
    other = ["Another story on the page about a council vote on parking fees that lasted "
             f"well into the night, part {k} of it." for k in range(8)]
    assert not prefer_readability(STORY[0], text(other))


def test_nothing_on_either_side_keeps_ours() -> None:
    assert not prefer_readability("", text(STORY))
    assert not prefer_readability(text(STORY), "")


# --- readability's text ---------------------------------------------------------------------
def test_summary_text_gives_paragraphs_and_leaves_out_figure_captions() -> None:
    summary = lxml.html.fromstring(
        f"<div><p>{STORY[0]}</p><figure><img src='x.jpg'><figcaption>Dredgers at work. "
        f"Credit: A. Photographer</figcaption></figure><div>{STORY[1]}<br>{STORY[2]}</div>"
        f"<ul><li>{STORY[3]}</li></ul></div>")
    assert summary_text(summary).split("\n\n") == STORY[:4]


def test_readability_text_finds_the_story_and_leaves_the_tree_alone() -> None:
    html = (f"<html><body><div class='hidden' hidden><p>{CARDS[0]}</p></div><nav><a href='/'>"
            f"Home</a></nav><div class='article'>{''.join(f'<p>{s}</p>' for s in STORY)}"
            "</div></body></html>")
    tree = lxml.html.fromstring(html)
    before = lxml.html.tostring(tree)
    assert readability_text(tree) == text(STORY)
    assert lxml.html.tostring(tree) == before  # readability drops hidden elements: a copy


# --- where it runs ----------------------------------------------------------------------------
def _page(html: str) -> RawPage:
    return RawPage(url="https://harbor.example/a", fetched_at=FETCHED, html=html)


NEWS = (f"<html><body><nav><a href='/'>Home</a></nav><article><h1>Dredging plan approved</h1>"
        f"{''.join(f'<p>{s}</p>' for s in STORY)}</article><footer><p>Copyright 2025 Harbour "
        "Daily</p></footer></body></html>")


def test_readability_is_not_asked_when_the_fast_result_holds_the_story(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(extract, "readability_text", lambda tree: calls.append(tree) or "")
    assert extract.extract_html(_page(NEWS), PipelineOptions()).body == text(STORY)
    assert calls == []


def test_when_the_fast_result_missed_readabilitys_text_replaces_it_by_the_rule(
        monkeypatch: pytest.MonkeyPatch) -> None:
    html = (f"<html><body><article><p>{STORY[0]}</p>{''.join(f'<p>{c}</p>' for c in CARDS[:5])}"
            "</article></body></html>")
    monkeypatch.setattr(extract, "_needs_full_cascade", lambda *args: True)
    monkeypatch.setattr(extract, "readability_text", lambda tree: text([STORY[0], *CARDS[:2]]))
    page = _page(html)
    art = clean_extracted(extract.extract_html(page, PipelineOptions()), page)
    # readability's core of ours (the trim rule) is the body, and cleaning's safety rule
    # measures against readability's text, not against the longer text it replaced
    assert art.body == text([STORY[0], *CARDS[:2]])
