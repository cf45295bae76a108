"""Rule-based entities: the seed story, made-up texts, and what must never be an entity."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from tests.shared_data import SEED
from worker.pipeline import PipelineOptions, process_page
from worker.pipeline.entities import MAX_CHARS, find_entities
from worker.pipeline.types import Article, Entity


def _by_name(text: str) -> dict[str, Entity]:
    return {e.name: e for e in find_entities(text)}


def _seed_story() -> str:
    if not SEED.is_file():
        pytest.skip(f"seed page not present at {SEED}")
    text = SEED.read_text(encoding="utf-8")
    return text.split("TRENDING", 1)[0]  # the story, without the site's trending list


def test_seed_story_people_and_places() -> None:
    found = _by_name(_seed_story())
    assert found["Lee Jae Myung"].type == "person"
    assert found["Donald Trump"].type == "person"
    assert found["South Korea"].type == "place"
    assert found["North Korea"].type == "place"
    assert found["United States"].type == "place"
    # "Trump's demand", "Trump has expressed" count for the full name
    assert found["Donald Trump"].count >= 3
    assert "Trump" not in found


def test_seed_story_has_no_junk() -> None:
    names = set(_by_name(_seed_story()))
    assert not names & {"The", "However", "Amid", "Talks", "South", "Korean", "President",
                        "Korean War", "A", "As", "With"}


WIRE = (
    "SEOUL (Reuters) - President Emmanuel Macron met Prime Minister Keir Starmer in London on "
    "Tuesday, officials said. Macron told reporters that France and Britain would cooperate.\n\n"
    "The Bank of England left rates unchanged in March. Acme Widgets Inc said profits rose. "
    "Mr. Starmer later flew to Washington, where he met U.S. officials at the White House.\n\n"
    "However, Starmer's office declined to comment. On Monday, the Ministry of Defence said "
    "the UN would send observers. Jane Holloway said the plan was sound, and Holloway added "
    "that talks with the EU and NATO would continue in January."
)


def test_titles_gazetteer_and_org_cues() -> None:
    found = _by_name(WIRE)
    assert found["Emmanuel Macron"].type == "person"
    assert found["Emmanuel Macron"].count == 2
    assert found["Keir Starmer"].type == "person"
    assert found["Keir Starmer"].count == 3  # "Mr. Starmer", "Starmer's office"
    assert found["Jane Holloway"].count == 2
    assert found["United Kingdom"].type == "place"  # "Britain" normalised
    assert found["United States"].type == "place"  # "U.S." normalised
    assert found["Seoul"].type == "place"  # all-caps dateline
    for org in ("Reuters", "Bank of England", "Acme Widgets Inc", "White House",
                "Ministry of Defence", "United Nations", "European Union", "NATO"):
        assert found[org].type == "organization", org


def test_no_function_words_months_or_weekdays() -> None:
    names = set(_by_name(WIRE))
    junk = {"The", "However", "On", "Monday", "Tuesday", "March", "January", "Mr", "Prime",
            "Minister", "President", "Macron", "Starmer", "Holloway"}
    assert not names & junk


def test_sorted_by_count_then_name() -> None:
    entities = find_entities(WIRE)
    keys = [(-e.count, e.name) for e in entities]
    assert keys == sorted(keys)
    assert all(e.count >= 1 for e in entities)


def test_hyphenated_places_split_but_names_kept() -> None:
    found = _by_name("Analysts said U.S.-China tensions were rising across the Indo-Pacific "
                     "as Jean-Luc Picard said nothing.")
    assert found["United States"].count == 1
    assert found["China"].count == 1
    assert found["Indo-Pacific"].type == "place"
    assert found["Jean-Luc Picard"].type == "person"


def test_empty_and_lowercase_text() -> None:
    assert find_entities("") == ()
    assert find_entities("nothing here is capitalised at all, not even a city.") == ()


def test_sentence_start_common_words_are_dropped() -> None:
    text = ("Officials met on Friday. The officials said little. Farmers gathered outside and "
            "farmers waved flags. Germany sent a delegation.")
    found = _by_name(text)
    assert set(found) == {"Germany"}


def test_title_words_inside_organisation_names() -> None:
    found = _by_name("The Justice Department said on Monday that General Motors would pay a fine. "
                     "Secretary of State Jane Doe said the deal was fair.")
    assert found["Justice Department"].type == "organization"
    assert found["General Motors"].type == "organization"
    assert found["Jane Doe"].type == "person"
    assert "Department" not in found and "Motors" not in found


def test_and_joins_inside_names_but_separates_people() -> None:
    found = _by_name("The U.S. Securities and Exchange Commission questioned Jeremy Corbyn and "
                     "Boris Johnson, while Chief Executive Carrie Lam visited Bosnia and "
                     "Herzegovina. France and Britain agreed.")
    assert found["U.S. Securities and Exchange Commission"].type == "organization"
    assert found["Jeremy Corbyn"].type == "person"
    assert found["Boris Johnson"].type == "person"
    assert found["Carrie Lam"].type == "person"
    assert found["Bosnia and Herzegovina"].type == "place"
    assert found["France"].type == "place" and found["United Kingdom"].type == "place"


def test_person_of_an_organisation_and_weak_said_cues() -> None:
    found = _by_name("Dr Joneigh Khaldun of the Michigan Department of Health said cases rose. "
                     "Ranking Member said nothing.")
    assert found["Joneigh Khaldun"].type == "person"
    assert found["Michigan Department of Health"].type == "organization"
    assert "Ranking Member" not in found


def test_and_between_organisations_and_people() -> None:
    found = _by_name("Talks between Gannett and GateHouse Media ended. The deal involved the "
                     "Department of Homeland Security and Alex Azar, a Washington-based Council "
                     "said, and Sierra Nevada Corporation and SpaceX. Sarah Abernathy of the "
                     "University of North Carolina spoke.")
    assert found["GateHouse Media"].type == "organization"
    assert found["Department of Homeland Security"].type == "organization"
    assert found["Alex Azar"].type == "person"
    assert found["Sierra Nevada Corporation"].type == "organization"
    assert found["SpaceX"].type == "organization"
    assert found["Sarah Abernathy"].type == "person"
    assert found["University of North Carolina"].type == "organization"
    assert not any(" and " in name for name in found)
    assert "based Council" not in found


def test_titles_with_offices() -> None:
    found = _by_name("Secretary of State Mike Pompeo met Founder of Ceres Robotics Inc staff. "
                     "Director of Public Prosecution Eva Persson and NASA Administrator Jim "
                     "Bridenstine spoke. President Trump and Zelenskyy talked; the General "
                     "Manager declined. The Hollywood Reporter said the reporter left.")
    assert found["Mike Pompeo"].type == "person"
    assert found["Ceres Robotics Inc"].type == "organization"
    assert found["Jim Bridenstine"].type == "person"
    assert found["NASA"].type == "organization"
    assert found["Trump"].type == "person"  # "Zelenskyy" has no cue of his own: left out
    names = set(found)
    assert not names & {"Robotics Inc", "State Mike Pompeo", "Trump and Zelenskyy", "Manager",
                        "Administrator Jim Bridenstine", "Hollywood Reporter",
                        "Public Prosecution Eva Persson"}


def test_place_names_that_are_also_given_names() -> None:
    found = _by_name("Quarterback Jordan Smith visited Jordan, then Paris Hilton flew to Paris.")
    assert found["Jordan Smith"].type == "person"
    assert found["Jordan"].type == "place"
    assert found["Paris Hilton"].type == "person"
    assert found["Paris"].type == "place"


def test_seed_page_through_the_whole_pipeline() -> None:
    if not SEED.is_file():
        pytest.skip(f"seed page not present at {SEED}")
    message = orjson.dumps({"url": "https://www.devdiscourse.com/article/seed",
                            "text": SEED.read_text(encoding="utf-8"),
                            "fetched_at": "2025-08-23T03:00:00Z"})
    article = process_page(message, received_at=datetime(2025, 8, 23, 3, tzinfo=UTC),
                           options=PipelineOptions())
    assert isinstance(article, Article)
    kinds = {e.name: e.type for e in article.entities}
    assert kinds["Lee Jae Myung"] == kinds["Donald Trump"] == "person"
    assert kinds["South Korea"] == kinds["North Korea"] == "place"
    assert article.language == "en"
    assert "Donald Trump" in article.keywords  # derived: the text declares none


def test_long_texts_are_read_up_to_the_limit() -> None:
    filler = "nothing to see here " * (MAX_CHARS // 20)
    found = _by_name("President Donald Trump spoke. " + filler + " Germany and France agreed.")
    assert "Donald Trump" in found
    assert "Germany" not in found  # beyond the limit


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("Die Bundesregierung will mit Frankreich verhandeln. In Deutschland wächst die Kritik, "
         "hieß es am Montag in Brüssel.", {"France", "Germany", "Brussels"}),
        ("El Gobierno de España negocia con Alemania. Estados Unidos observa.",
         {"Spain", "Germany", "United States"}),
        ("Le gouvernement négocie avec l'Allemagne. Les États-Unis et la Chine observent.",
         {"Germany", "United States", "China"}),
    ],
)
def test_places_named_in_other_languages_get_their_english_names(
    text: str, places: set[str]
) -> None:
    found = {(e.name, e.type) for e in find_entities(text)}
    assert found == {(p, "place") for p in places}
