"""repair_mojibake: double-decoded UTF-8 is undone; text without the evidence is never touched."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.test_extract_html import FETCHED, PARA
from worker.pipeline.extract import extract_html
from worker.pipeline.mojibake import repair_mojibake
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import RawPage


def twice(text: str) -> str:
    """What a crawler that reads UTF-8 bytes as Latin-1 hands us."""
    return text.encode("utf-8").decode("latin-1")


# Text without C1 controls (U+0080-U+009F): every real text; surrogates cannot be encoded.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=[
    chr(c) for c in range(0x80, 0xA0)]))


@given(_TEXT)
def test_text_without_c1_controls_is_never_changed(text: str) -> None:
    assert repair_mojibake(text) == text


@given(_TEXT.filter(lambda t: any(0x80 <= b < 0xA0 for b in t.encode("utf-8"))))
def test_double_decoded_text_is_restored(text: str) -> None:
    # the evidence: one of its UTF-8 sequences holds a byte that reads as a C1 control
    assert repair_mojibake(twice(text)) == text


@pytest.mark.parametrize(("seen", "meant"), [
    ("weâ\x80\x99ll", "we’ll"),
    ("breakdownâ\x80\x94nationally, Â£5", "breakdown—nationally, £5"),
    ("JOHNSONâ\x80\x99SÂ® and Ã©tÃ©", "JOHNSON’S® and été"),
    ("Because we\x92re sure", "Because we’re sure"),  # a lone cp1252 byte read as Latin-1
    ("a stray \x81 control", "a stray  control"),  # undefined in cp1252: not text
])
def test_examples(seen: str, meant: str) -> None:
    assert repair_mojibake(seen) == meant


def test_clean_latin_1_looking_text_stays() -> None:
    # "Ã©" alone is no evidence (no C1 control anywhere): a page may really say it
    assert repair_mojibake("SÃO PAULO Ã© café") == "SÃO PAULO Ã© café"


def test_a_double_decoded_page_gives_clean_headline_and_body() -> None:
    html = twice("<html><head><title>We’re back</title></head><body><h1>We’re back — the "
                 f"harbour café reopens</h1><p>{PARA * 2}It’s “ours” again.</p>"
                 f"<p>{PARA * 2}</p><p>{PARA * 2}</p></body></html>")
    assert "â\x80\x99" in html
    art = extract_html(RawPage(url="https://harbordaily.example/a/", fetched_at=FETCHED,
                               html=html), PipelineOptions())
    assert art.headline == "We’re back — the harbour café reopens"
    assert "It’s “ours” again." in art.body
