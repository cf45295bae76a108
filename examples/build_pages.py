"""Build examples/pages.jsonl from the example pages beside this script (stdlib only).

    python3 examples/build_pages.py          # rewrites examples/pages.jsonl

One raw_page.v1 message per line: the six pages, then a duplicate, two updates (one of them
only an edited headline), a syndicated copy with a copy-edited headline and two bad inputs,
so that a run shows every output the worker has (see examples/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "pages.jsonl"
CRAWLER = "examples"

# (file, page id, URL as fetched, fetch time)
PAGES = [
    ("harbourview_tram.html", "hv-1",
     "https://www.harbourview-chronicle.example/news/local/2025/09/14/council-backs-eastern-tram-extension",
     "2025-09-14T08:30:12Z"),
    ("rheintaler_bruecke.html", "rm-1",
     "https://www.rheintaler-morgenpost.example/region/neustadt/altstadtbruecke-gesperrt-bis-ostern-a-48213.html",
     "2025-10-02T09:40:03Z"),
    ("vallealto_embalses.html", "dva-1",
     "https://www.diariovallealto.example/sociedad/2025/10/21/embalses-cuenca-alta-lluvias-octubre.html",
     "2025-10-21T12:31:44Z"),
    ("northfield_wire.html", "nep-1",
     "https://northfieldpost.example/business/2025/11/03/regional-airline-grounds-turboprop-fleet",
     "2025-11-03T23:20:00Z"),
    ("echo_plateau_marche.html", "edp-1",
     "https://www.echo-plateau.example/actualites/saint-aubrac/marche-couvert-reouverture-printemps-2025-12-05",
     "2025-12-05T07:15:09Z"),
    ("deccan_metro.txt", "ddw-1",
     "https://www.deccandailywire.example/city/pune/metro-phase-3-two-new-lines-western-suburbs",
     "2025-08-23T01:05:27Z"),
]

# The same tram story from the AMP host with campaign parameters: a duplicate of hv-1.
DUPLICATE_URL = (
    "https://amp.harbourview-chronicle.example/news/local/2025/09/14/"
    "council-backs-eastern-tram-extension?utm_source=newsletter&utm_medium=email&utm_campaign=am-briefing"
)

# The tram story re-crawled in the afternoon: a new paragraph and a later dateModified.
UPDATE_MODIFIED = ('"dateModified": "2025-09-14T09:10:00+01:00"',
                   '"dateModified": "2025-09-14T15:20:00+01:00"')
UPDATE_ANCHOR = "<p>A public consultation on the detailed design"
UPDATE_PARAGRAPH = (
    "<p><strong>Update, 3.20pm:</strong> The Saltmarsh Residents' Association said on Sunday "
    "afternoon that it would ask the regional transport board to review the decision, arguing "
    "that the council had not answered questions about night-time construction noise near the "
    "health centre.</p>\n    "
)


# The tram story in the evening: only the headline was edited (the body is unchanged).
TRAM_HEADLINE = "Council backs eastern tram extension despite cost warnings"
TRAM_EDITED = "Eastern tram extension wins council backing despite cost warnings"

# The wire story as another paper ran it: its own URL and site name, a copy-edited headline.
WIRE_HEADLINE = "Regional airline grounds turboprop fleet after engine inspections"
WIRE_EDITED = "Skyline Regional grounds its turboprops after inspectors find engine wear"
COPY_URL = "https://www.lakesidecourier.example/nation/2025/11/03/skyline-grounds-turboprops"


def message(url: str, page_id: str, fetched_at: str, **fields: object) -> dict[str, object]:
    """One raw_page.v1 record as a crawler would send it."""
    return {"url": url, "id": page_id, "fetched_at": fetched_at, "status": 200,
            "crawler": CRAWLER, **fields}


def page_fields(filename: str) -> dict[str, object]:
    """`html` (with its content-type header) or `text`, by the file's kind."""
    content = (HERE / filename).read_text(encoding="utf-8")
    if filename.endswith(".txt"):
        return {"text": content}
    return {"html": content, "headers": {"content-type": "text/html; charset=utf-8"}}


def build() -> list[dict[str, object]]:
    """All example messages, in the order the demo replays them."""
    records = [message(url, page_id, fetched, **page_fields(name))
               for name, page_id, url, fetched in PAGES]

    tram = (HERE / "harbourview_tram.html").read_text(encoding="utf-8")
    records.append(message(DUPLICATE_URL, "hv-amp", "2025-09-14T08:47:55Z",
                           html=tram, headers={"content-type": "text/html; charset=utf-8"}))

    if UPDATE_MODIFIED[0] not in tram or UPDATE_ANCHOR not in tram:
        raise SystemExit("harbourview_tram.html changed: fix UPDATE_MODIFIED / UPDATE_ANCHOR")
    updated = tram.replace(*UPDATE_MODIFIED)
    updated = updated.replace(UPDATE_ANCHOR, UPDATE_PARAGRAPH + UPDATE_ANCHOR)
    records.append(message(PAGES[0][2], "hv-2", "2025-09-14T14:35:00Z",
                           html=updated, headers={"content-type": "text/html; charset=utf-8"}))

    if TRAM_HEADLINE not in updated:
        raise SystemExit("harbourview_tram.html changed: fix TRAM_HEADLINE")
    records.append(message(PAGES[0][2], "hv-3", "2025-09-14T19:05:00Z",
                           html=updated.replace(TRAM_HEADLINE, TRAM_EDITED),
                           headers={"content-type": "text/html; charset=utf-8"}))

    wire = (HERE / "northfield_wire.html").read_text(encoding="utf-8")
    if WIRE_HEADLINE not in wire or PAGES[3][2] not in wire:
        raise SystemExit("northfield_wire.html changed: fix WIRE_HEADLINE")
    copy = (wire.replace(WIRE_HEADLINE, WIRE_EDITED).replace(PAGES[3][2], COPY_URL)
            .replace("Northfield Evening Post", "Lakeside Courier"))
    records.append(message(COPY_URL, "lc-copy", "2025-11-04T00:10:00Z", html=copy,
                           headers={"content-type": "text/html; charset=utf-8"}))

    records.append(message(
        "https://www.harbourview-chronicle.example/news/local/2025/09/01/removed-story",
        "hv-404", "2025-09-14T08:31:02Z", status=404,
        html="<html><head><title>Page not found</title></head><body><h1>Sorry, we couldn't "
             "find that page</h1><p>It may have been moved or deleted.</p></body></html>",
    ))
    records.append(message(
        "javascript:void(0)", "bad-url", "2025-09-14T08:31:05Z",
        html="<html><body><a href=\"#\">Load more stories</a></body></html>",
    ))
    return records


def main() -> None:
    records = build()
    with OUT.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} messages to {OUT.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
