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
    # credentials stay with their name, as the page shows them
    (["Ilana Moss, MS, RDN"], "", ("Ilana Moss, MS, RDN",)),
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


@pytest.mark.parametrize("line", [
    "Publié le 5 décembre 2025 à 8h00",
    "Veröffentlicht am 2. Oktober 2025, 06:30 Uhr",
    "Publicado el 21 de octubre de 2025",
    "Aggiornato il 3 marzo 2024 alle 10:15",
    "Mis à jour le 06/12/2025 à 09h15",
])
def test_clean_body_drops_datelines_in_other_languages(line: str) -> None:
    assert clean_body("\n\n".join([STORY, line, MORE]), None) == f"{STORY}\n\n{MORE}"


def test_clean_body_keeps_a_sentence_that_opens_with_a_date_label() -> None:
    line = "Publicado el 21 de octubre de 2025 en el boletín oficial, el decreto entra en vigor."
    assert line in clean_body("\n\n".join([STORY, line, MORE]), None)


@pytest.mark.parametrize("box", [
    ["Boletín diario", "Recibe cada mañana las noticias de la comarca en tu correo. "
     "Apúntate gratis."],
    ["Newsletter", "Die wichtigsten Nachrichten jeden Morgen. Jetzt abonnieren!"],
    ["Lettre d'information", "L'essentiel de l'actualité locale chaque matin. "
     "Inscrivez-vous gratuitement."],
    ["La newsletter", "Le notizie del giorno nella tua casella. Iscriviti ora."],
    ["Nieuwsbrief", "Elke ochtend het belangrijkste nieuws. Schrijf je in."],
    ["Boletim", "As notícias do dia no seu e-mail. Inscreva-se já."],
    ["The day's top stories, in your inbox before 7am. Sign up to our free newsletter."],
])
def test_clean_body_drops_newsletter_boxes_in_european_languages(box: list[str]) -> None:
    assert clean_body("\n\n".join([STORY, MORE, *box]), None) == f"{STORY}\n\n{MORE}"


def test_clean_body_keeps_a_story_sentence_about_subscribing() -> None:
    line = ("The union urged its members to subscribe to the new pension fund before the "
            "deadline in March, its secretary said.")
    assert line in clean_body("\n\n".join([STORY, line, MORE]), None)


def test_clean_body_drops_a_kicker_above_the_headline() -> None:
    body = "\n\n".join(["Sequía", "Council approves harbour budget", STORY, MORE])
    assert clean_body(body, "Council approves harbour budget") == f"{STORY}\n\n{MORE}"


def test_clean_body_keeps_a_short_first_line_that_is_not_a_kicker() -> None:
    # a short opening line with story text after it (no header line follows) stays
    body = "\n\n".join(["Spring at last", STORY, MORE])
    assert clean_body(body, "Council approves harbour budget").startswith("Spring at last")


STANDFIRST = "Councillors voted 31 to 12 for the line, but auditors warn of the cost."


def test_clean_body_drops_the_standfirst_above_byline_and_dateline() -> None:
    body = "\n\n".join([STANDFIRST, "Par Mathilde Roussel", "Publié le 5 décembre 2025 à 8h00",
                        STORY, MORE])
    cleaned = clean_body(body, None, STANDFIRST, ("Mathilde Roussel",))
    assert cleaned == f"{STORY}\n\n{MORE}"


def test_clean_body_keeps_a_lede_the_site_copied_into_its_description() -> None:
    # og:description is often the first paragraph: with the story right after it, it is body
    assert clean_body("\n\n".join([STORY, MORE]), None, STORY) == f"{STORY}\n\n{MORE}"
