"""trafilatura's last resort (the whole page's text in one line) is not taken as the story when
its recall mode finds the page's paragraphs (worker/pipeline/extract.py, _is_run_together).

trafilatura returns that line when its extractors keep too little (baseline(): the text of the
page's <article> or <body> joined); wcxbdev-0188, a 20,000-character LLC guide inside a
site-wide <article>, came out as one 39,700-character line with the menus and the footer (F1
0.64; recall mode 0.93). A small page that makes trafilatura give up that way is hard to build,
so these tests replace the non-recall runs' result by that line, as trafilatura gives it;
the pages themselves are in test_corpus_wcxb.py (skipped without ../shared).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import trafilatura
from lxml.etree import Element, SubElement

from worker.pipeline.clean import clean_extracted
from worker.pipeline.extract import _is_run_together, extract_html
from worker.pipeline.options import PipelineOptions
from worker.pipeline.types import RawPage

PARA = ("The council voted on the new budget after a long debate about schools, roads and "
        "the harbour wall, and the mayor promised that work would start next spring. ")
MENU = "Business Register your business Trademarks Estate plans Divorce Real estate Attorneys"
FOOTER = "Copyright 2026 Harbor Daily. All rights reserved. Privacy Terms Sitemap"
HTML = ("<html><body><article><ul>" + "".join(f"<li><a href='/{w}'>{w}</a></li>" for w in
        MENU.split()) + "</ul><h1>How the harbour budget was decided</h1>"
        + "".join(f"<h2>Step {n}</h2><p>{PARA * 2}</p>" for n in range(8))
        + f"<footer>{FOOTER}</footer></article></body></html>")


def _run_together(real: Any, recall_too: bool) -> Any:
    def bare_extraction(*args: Any, **kwargs: Any) -> Any:
        doc = real(*args, **kwargs)
        if kwargs.get("favor_recall") and not recall_too:
            return doc
        line = " ".join([MENU, *(doc.text or "").split("\n"), FOOTER])
        body = Element("body")
        SubElement(body, "p").text = line
        doc.body, doc.text = body, line
        return doc
    return bare_extraction


def _body(monkeypatch: pytest.MonkeyPatch, recall_too: bool) -> str:
    monkeypatch.setattr(trafilatura, "bare_extraction",
                        _run_together(trafilatura.bare_extraction, recall_too))
    page = RawPage(url="https://harbordaily.example/budget", html=HTML,
                   fetched_at=datetime(2026, 4, 1, tzinfo=UTC))
    return clean_extracted(extract_html(page, PipelineOptions()), page).body


def test_a_run_together_page_takes_recall_modes_paragraphs(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    body = _body(monkeypatch, recall_too=False)
    assert body.count("\n\n") >= 8  # the story's paragraphs, one by one
    assert MENU not in body and FOOTER not in body


def test_a_recall_result_that_is_one_line_too_is_not_taken(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    body = _body(monkeypatch, recall_too=True)
    assert "\n" not in body and MENU in body  # as trafilatura gave it: nothing better found


def test_only_a_long_single_line_is_run_together() -> None:
    assert _is_run_together(PARA * 20)
    assert not _is_run_together(PARA * 2)  # a short result is another rule's (the cascade)
    assert not _is_run_together("\n".join([PARA * 10] * 2))
