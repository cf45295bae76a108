"""The safety rule: most of what trafilatura found is cut only on the evidence of link text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from worker.pipeline.blocks import Block, filter_blocks
from worker.pipeline.clean import clean_extracted
from worker.pipeline.extract import extract_html
from worker.pipeline.options import PipelineOptions
from worker.pipeline.safety import KEEP_SHARE, LINK_EVIDENCE, removal_is_proven, unfiltered
from worker.pipeline.types import Extracted, RawPage, Unfiltered

FETCHED = datetime(2025, 6, 1, tzinfo=UTC)
INTRO = ("These American labels were rated on their labour, environment and animal policies, "
         "and each of them scored well enough to make this list of our favourites this year.")
LABELS = ["Proclaim", "Svala", "Katla", "Harvest and Mill", "Miakoda", "Parker Clay", "Neococo",
          "Toad and Co"]


def page(html: str) -> RawPage:
    return RawPage(url="https://guide.example/labels", fetched_at=FETCHED, html=html)


def listicle() -> str:
    """A round-up: one intro paragraph, then the story as a list of linked names + details."""
    items = "".join(
        f'<li><a href="/brands/{k}">{name} organic cotton basics and underwear</a> sewn in '
        "small Los Angeles workshops, sizes XS to 3XL.</li>" for k, name in enumerate(LABELS))
    return (f"<html><head><title>Eight clothing labels from the USA</title></head><body>"
            f"<nav><a href='/'>Home</a> <a href='/brands'>Brands</a></nav><article>"
            f"<h1>Eight clothing labels from the USA</h1><p>{INTRO}</p><ul>{items}</ul>"
            f"</article><footer><p>Copyright 2025 Example Guides</p></footer></body></html>")


def story_with_related() -> str:
    """A short story, then a long list of fully linked headlines to other stories."""
    story = ("<p>The harbour board approved a new ferry timetable on Monday after six months of "
             "talks with operators and residents.</p><p>The first sailings under the timetable "
             "leave at six in the morning, and the last one returns shortly before midnight.</p>")
    # long linked headlines: trafilatura keeps such lists as listings (average link >= 100 chars)
    related = "".join(
        f'<li><a href="/news/{k}">Council weighs a new plan for the eastern waterfront, with '
        f"housing, a school and a tram stop, in consultation number {k} this week</a></li>"
        for k in range(9))
    return (f"<html><body><article><h1>Ferry timetable approved</h1>{story}"
            f"<h2>Related</h2><ul>{related}</ul></article></body></html>")


@pytest.mark.parametrize(
    ("total", "kept", "cut_link", "proven"),
    [
        (100, 60, 0.0, True),    # most of it kept: no evidence needed
        (100, 50, 0.0, True),    # exactly half kept
        (100, 30, 70.0, True),   # 70 words cut, all of them link text: a link list
        (100, 30, 56.0, True),   # 80 % of the cut words were links: the threshold
        (100, 30, 55.0, False),  # just under it
        (100, 30, 10.0, False),  # a story cut on shape alone
        (0, 0, 0.0, True),       # nothing found, nothing to protect
    ],
)
def test_which_evidence_allows_cutting_most_of_the_text(
    total: int, kept: int, cut_link: float, proven: bool
) -> None:
    source = Unfiltered(text="", words=total, cut_words=total - kept, cut_link_words=cut_link)
    assert removal_is_proven(source, kept) is proven
    assert KEEP_SHARE == 0.5 and LINK_EVIDENCE == 0.8  # the numbers the cases above pin


def test_unfiltered_counts_the_link_words_of_the_cut_blocks() -> None:
    story = Block("p", "word " * 30, 0.0, 0)
    links = [Block("item", "other story headline here", 1.0, 1, True),
             Block("item", "half linked item text here", 0.5, 1, True)]
    source = unfiltered([story, *links], [story])
    assert (source.words, source.cut_words, source.cut_link_words) == (39, 9, 6.5)


def test_a_listicle_is_kept_although_its_list_looks_like_links() -> None:
    raw = page(listicle())
    art = clean_extracted(extract_html(raw, PipelineOptions()), raw)
    for name in LABELS:
        assert f"{name} organic cotton basics and underwear sewn in small" in art.body
    assert art.body.startswith("These American labels")
    assert "Copyright" not in art.body and "Brands" not in art.body.split()
    # the evidence: the block filter alone would cut the list (lead links, ~half link text),
    # and it is what the safety rule overrules
    source = art.unfiltered
    assert source is not None and source.cut_words > KEEP_SHARE * source.words
    assert source.cut_link_words < LINK_EVIDENCE * source.cut_words


def test_related_links_after_a_short_story_are_cut_on_link_evidence() -> None:
    raw = page(story_with_related())
    art = clean_extracted(extract_html(raw, PipelineOptions(min_body_words=20)), raw)
    assert "The harbour board approved" in art.body
    assert "shortly before midnight" in art.body
    assert "eastern waterfront" not in art.body
    source = art.unfiltered
    assert source is not None and source.cut_words > KEEP_SHARE * source.words
    assert source.cut_link_words >= LINK_EVIDENCE * source.cut_words


def test_line_cleaning_that_removes_most_of_the_text_is_not_trusted() -> None:
    # Every paragraph starts like furniture ("Source: ..."), so line cleaning would drop them
    # all; with no link evidence the text trafilatura found is kept.
    lines = [f"Source: the harbour board's minutes, item {k}, on ferry fares and timetables"
             for k in range(8)]
    text = "\n\n".join(lines)
    extracted = Extracted(body=text, headline="Ferry minutes",
                          unfiltered=Unfiltered(text, 96, 0, 0.0))
    raw = page("<html></html>")
    assert clean_extracted(replace(extracted, unfiltered=None), raw).body == text  # `or` fallback
    kept = clean_extracted(extracted, raw).body
    assert kept == text


def test_filter_blocks_alone_cuts_what_the_rule_restores() -> None:
    intro = Block("p", INTRO, 0.0, 0)
    items = [Block("item", f"{n} organic cotton basics and underwear sewn in small workshops",
                   0.47, 1, True) for n in LABELS]
    assert filter_blocks([intro, *items]) == [intro]
