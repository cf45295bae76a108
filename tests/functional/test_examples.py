"""examples/pages.jsonl through `news-worker process`: what the demo shows, checked.

Twelve messages (examples/README.md): six stories, a duplicate from an AMP URL with utm_
parameters, an update of the first story, a re-crawl of it with only its headline edited, a
syndicated copy of the wire story with a copy-edited headline, a 404 and a javascript: URL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from worker.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PAGES = EXAMPLES / "pages.jsonl"

# page id -> (headline, language, authors, published_at)
STORIES = {
    "hv-1": ("Council backs eastern tram extension despite cost warnings", "en",
             ["Eleanor Whitcombe"], "2025-09-14T06:45:00Z"),
    "rm-1": ("Altstadtbrücke bleibt bis Ostern für Autos gesperrt", "de",
             ["Katrin Albers"], "2025-10-02T04:30:00Z"),
    "dva-1": ("Los embalses de la cuenca alta recuperan el 60 % tras las lluvias de octubre", "es",
              ["Agencia Litoral"], "2025-10-21T11:20:00Z"),
    "nep-1": ("Regional airline grounds turboprop fleet after engine inspections", "en",
              ["Priya Natarajan", "Continental Press Agency"], "2025-11-03T21:40:00Z"),
    "edp-1": ("Le marché couvert de Saint-Aubrac rouvrira ses portes au printemps", "fr",
              ["Mathilde Roussel"], "2025-12-05T07:00:00Z"),
    "ddw-1": ("Metro Phase 3 gets nod for two new lines in the western suburbs", "en",
              ["DDW Staff"], "2025-08-23T00:48:00Z"),  # 06:18 IST
}

# page id -> (first words of the story, its last words)
STORY_EDGES = {
    "hv-1": ("Harbourview city council has approved", "before the end of the year."),
    "rm-1": ("Autofahrer in Neustadt müssen sich", "häufiger fahren kann."),
    "dva-1": ("Los embalses de la cuenca alta del río Serrano", "a partir de la próxima semana."),
    "nep-1": ("WESTPORT (CPA) — Skyline Regional Airlines", "ask for a full refund."),
    "edp-1": ("C'est une date que les habitants", "selon plusieurs commerçants interrogés."),
    "ddw-1": ("The state cabinet on Friday approved", "for the depot is completed."),
}

# Furniture of the pages: none of it may reach a body.
FURNITURE = [
    "cookie", "Cookies", "Accept all", "Sign up", "Subscribe", "Share on Facebook", "Read more:",
    "Most read", "More from Local", "Recommended for you", "Copyright", "©", "All rights reserved",
    "Alle akzeptieren", "Mehr zum Thema", "Newsletter", "Impressum", "Anzeige",
    "Noticias relacionadas", "Lo más leído", "Publicidad", "Aviso legal",
    "À lire aussi", "Mentions légales",
    "Trending", "Follow us on", "About Us", "Skip to content", "Representative image",
    "Updated: 23-08-2025",
]

# Furniture that only some pages have: the story's kicker and the newsletter box on the Spanish
# page, the "Publié le" date line on the French one.
PAGE_FURNITURE = {
    "dva-1": ["Sequía", "Boletín diario", "Apúntate gratis"],
    "edp-1": ["Publié le 5 décembre 2025"],
}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """(articles, duplicates, rejections) of one `news-worker process` run on the examples."""
    out = tmp_path_factory.mktemp("examples")
    articles, rejects, duplicates = out / "a.jsonl", out / "r.jsonl", out / "d.jsonl"
    code = main(["process", str(PAGES), "--out", str(articles), "--rejects", str(rejects),
                 "--duplicates", str(duplicates), "-j", "1"])
    assert code == 0
    return {"articles": read_jsonl(articles), "duplicates": read_jsonl(duplicates),
            "rejections": read_jsonl(rejects)}


def by_page(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["page_id"]: r for r in records}


def test_pages_jsonl_is_what_build_pages_writes(tmp_path: Path) -> None:
    # build_pages.py writes beside itself; run a copy of the directory so the repo stays as is.
    copy = tmp_path / "examples"
    copy.mkdir()
    for path in EXAMPLES.iterdir():
        if path.is_file() and path.name != "pages.jsonl":
            (copy / path.name).write_bytes(path.read_bytes())
    subprocess.run([sys.executable, str(copy / "build_pages.py")], check=True,
                   capture_output=True)
    assert (copy / "pages.jsonl").read_bytes() == PAGES.read_bytes(), (
        "examples/pages.jsonl is stale: run python3 examples/build_pages.py")


def test_every_message_yields_one_output(outputs: dict[str, list[dict[str, Any]]]) -> None:
    n_in = sum(1 for line in PAGES.read_text().splitlines() if line.strip())
    assert n_in == 12
    assert len(outputs["articles"]) == 8
    assert len(outputs["duplicates"]) == 2
    assert len(outputs["rejections"]) == 2


@pytest.mark.parametrize("page_id", sorted(STORIES))
def test_story_fields(outputs: dict[str, list[dict[str, Any]]], page_id: str) -> None:
    headline, language, authors, published = STORIES[page_id]
    article = by_page(outputs["articles"])[page_id]
    assert article["version"] == 1
    assert article["headline"] == headline
    assert article["language"] == language
    assert article["authors"] == authors
    assert article["published_at"] == published
    first, last = STORY_EDGES[page_id]
    assert first in article["body"]
    assert last in article["body"]


@pytest.mark.parametrize("page_id", sorted(STORIES))
def test_body_has_no_furniture(outputs: dict[str, list[dict[str, Any]]], page_id: str) -> None:
    body = by_page(outputs["articles"])[page_id]["body"]
    leaked = [s for s in FURNITURE + PAGE_FURNITURE.get(page_id, []) if s in body]
    assert leaked == []
    assert body.endswith(STORY_EDGES[page_id][1])


@pytest.mark.parametrize("page_id", sorted(STORIES))
def test_standfirst_is_description_not_body(
    outputs: dict[str, list[dict[str, Any]]], page_id: str
) -> None:
    article = by_page(outputs["articles"])[page_id]
    assert article["description"], page_id
    assert article["body"].startswith(STORY_EDGES[page_id][0])


def test_duplicate_points_at_the_story(outputs: dict[str, list[dict[str, Any]]]) -> None:
    duplicate = by_page(outputs["duplicates"])["hv-amp"]
    tram = by_page(outputs["articles"])["hv-1"]
    assert (duplicate["match"], duplicate["version"]) == ("url", 1)
    assert duplicate["url"].startswith("https://amp.harbourview-chronicle.example/")
    assert duplicate["duplicate_of"] == tram["id"]
    # The AMP host and utm_ parameters are gone from the story's canonical URL.
    assert "utm_" not in tram["canonical_url"] and "//www." in tram["canonical_url"]


def test_update_is_version_two(outputs: dict[str, list[dict[str, Any]]]) -> None:
    pages = by_page(outputs["articles"])
    first, update = pages["hv-1"], pages["hv-2"]
    assert update["id"] == first["id"]
    assert update["version"] == 2
    assert update["modified_at"] == "2025-09-14T14:20:00Z" > first["modified_at"]
    assert "Saltmarsh Residents' Association" in update["body"]
    assert "Saltmarsh Residents' Association" not in first["body"]


def test_an_edited_headline_alone_is_version_three(
    outputs: dict[str, list[dict[str, Any]]],
) -> None:
    pages = by_page(outputs["articles"])
    update, edited = pages["hv-2"], pages["hv-3"]
    assert (edited["id"], edited["version"]) == (update["id"], 3)
    assert edited["headline"] != update["headline"] and edited["body"] == update["body"]


def test_a_copy_edited_syndicated_copy_is_a_duplicate_by_body(
    outputs: dict[str, list[dict[str, Any]]],
) -> None:
    copy = by_page(outputs["duplicates"])["lc-copy"]
    wire = by_page(outputs["articles"])["nep-1"]
    assert (copy["duplicate_of"], copy["match"], copy["version"]) == (wire["id"], "body", None)
    assert copy["dedupe_key"] != wire["dedupe_key"]  # another headline: not the headline rule


def test_bad_inputs_are_rejected(outputs: dict[str, list[dict[str, Any]]]) -> None:
    reasons = {r["page_id"]: r["reason"] for r in outputs["rejections"]}
    assert reasons == {"hv-404": "http_error", "bad-url": "invalid_record"}
    bad_url = by_page(outputs["rejections"])["bad-url"]
    assert bad_url["url"] == "javascript:void(0)"


def test_examples_are_valid_json_with_example_domains() -> None:
    for line in PAGES.read_text().splitlines():
        record = json.loads(line)
        if record["id"] != "bad-url":
            host = record["url"].split("/")[2]
            assert host.endswith(".example"), host
