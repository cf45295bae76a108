"""A long section printed twice in a page is kept once (worker/pipeline/repeats.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from worker.pipeline.clean import clean_extracted
from worker.pipeline.extract import extract_html
from worker.pipeline.options import PipelineOptions
from worker.pipeline.repeats import drop_repeated_runs
from worker.pipeline.types import RawPage

COSTS = ("labour material permit design demolition electrical plumbing flooring lighting "
         "painting tiling appliances cleanup contingency").split()
SECTION = [f"Step {n}: the {w} costs of a kitchen remodel depend on the size of the room, the "
           f"cabinets and counters you choose, and whether the plumbing has to move ({n})."
           for n, w in enumerate(COSTS, 1)]
INTRO = "Remodeling a kitchen in California costs more than in most states."


def test_a_long_run_repeated_word_for_word_is_kept_once() -> None:
    # wcxbdev-0040: the whole cost guide three times in the HTML (F1 0.50 -> 0.985)
    story = "\n\n".join([INTRO, *SECTION])
    assert len("\n\n".join(SECTION)) >= 2000
    body = "\n\n".join([story, "Related posts", story, "Reach us", story])
    assert drop_repeated_runs(body) == "\n\n".join([story, "Related posts", "Reach us"])


def test_short_repeats_stay() -> None:
    # a meal plan repeating its day's meals, a call to action, a pull quote: under 2,000
    # characters a repeat is the story's own (aeb-dev: a 1,567-character run in the truth)
    day = ["Pre-workout meal", "Oatmeal with berries and a scoop of protein.", "Lunch",
           "Chicken, rice and broccoli with olive oil."]
    body = "\n\n".join(["Monday", *day, "Tuesday", *day, "Sign up for our newsletter", "More",
                        "Sign up for our newsletter", "More"])
    assert drop_repeated_runs(body) == body
    assert drop_repeated_runs("One paragraph.") == "One paragraph."


def test_the_pipeline_keeps_a_story_printed_twice_once() -> None:
    # a desktop and a mobile layout of the same story in one page
    copy = "".join(f"<p>{p}</p>" for p in [INTRO, *SECTION])
    html = (f"<html><body><h1>What a kitchen remodel costs in California</h1><article>"
            f"<div class='desktop'>{copy}</div><div class='mobile'>{copy}</div></article>"
            "</body></html>")
    page = RawPage(url="https://remodel.example/kitchen", html=html,
                   fetched_at=datetime(2026, 4, 1, tzinfo=UTC))
    body = clean_extracted(extract_html(page, PipelineOptions()), page).body
    assert body.count(SECTION[5]) == 1
    assert SECTION[-1] in body and INTRO in body
