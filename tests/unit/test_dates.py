"""dates.py: visible dates with zones, numeric order, labels, and never an exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from worker.pipeline.dates import find_dateline, parse_date, parse_zone

FETCHED = datetime(2025, 9, 1, tzinfo=UTC)


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Updated: 23-08-2025 06:18 IST", _utc(2025, 8, 23, 0, 48)),
        # US Eastern: daylight saving from the 2nd Sunday of March to the 1st Sunday of November
        ("Published March 3, 2024 2:02 p.m. ET", _utc(2024, 3, 3, 19, 2)),
        ("March 10, 2024 3:30 a.m. ET", _utc(2024, 3, 10, 7, 30)),
        ("March 10, 2024 1:30 a.m. ET", _utc(2024, 3, 10, 6, 30)),
        ("Nov. 3, 2024 1:30 a.m. ET", _utc(2024, 11, 3, 5, 30)),
        ("July 4, 2024 12:00 p.m. PT", _utc(2024, 7, 4, 19, 0)),
        ("Jan 10, 2024 9:00 a.m. EST", _utc(2024, 1, 10, 14, 0)),
        ("3 Mar 2024, 14:02 CET", _utc(2024, 3, 3, 13, 2)),
        ("3 July 2024, 14:02 CEST", _utc(2024, 7, 3, 12, 2)),
        ("2024/03/03 14:02 JST", _utc(2024, 3, 3, 5, 2)),
        ("Published 14:02 GMT, 3 March 2024", _utc(2024, 3, 3, 14, 2)),
        ("3 March 2024 14:02 GMT+3", _utc(2024, 3, 3, 11, 2)),
        ("3 March 2024 14:02 +05:30", _utc(2024, 3, 3, 8, 32)),
        ("2024-03-03T14:02:00+01:00", _utc(2024, 3, 3, 13, 2)),
        ("2024-03-03T14:02:00Z", _utc(2024, 3, 3, 14, 2)),
        ("Sun, 03 Mar 2024 14:02:00 GMT", _utc(2024, 3, 3, 14, 2)),
        ("Publicado el 3 de marzo de 2024 a las 14:02 CET", _utc(2024, 3, 3, 13, 2)),
        ("08/23/2025 10:00 EDT", _utc(2025, 8, 23, 14, 0)),
    ],
)
def test_zoned_dates_become_exact_utc_instants(text: str, expected: datetime) -> None:
    parsed = parse_date(text, not_after=FETCHED)
    assert parsed is not None
    assert parsed.instant == expected
    assert parsed.has_time and parsed.has_zone and parsed.exact


def test_numeric_dates_are_day_first_unless_told_otherwise() -> None:
    assert parse_date("05/06/2024").instant == _utc(2024, 6, 5)  # type: ignore[union-attr]
    assert parse_date("05/06/2024", day_first=False).instant == _utc(2024, 5, 6)  # type: ignore[union-attr]
    assert parse_date("13/06/2024").instant == _utc(2024, 6, 13)  # type: ignore[union-attr]
    assert parse_date("06/13/2024").instant == _utc(2024, 6, 13)  # type: ignore[union-attr]
    # a US zone makes the date month-first
    us = parse_date("05/06/2024 10:00 ET")
    assert us is not None and us.instant == _utc(2024, 5, 6, 14, 0)


def test_the_fetch_time_breaks_ties_towards_the_past() -> None:
    # day-first "5 August" would be after the fetch; the month-first reading "8 May" is not
    parsed = parse_date("05/08/2025", not_after=datetime(2025, 5, 10, tzinfo=UTC))
    assert parsed is not None and parsed.instant == _utc(2025, 5, 8)
    later = parse_date("05/08/2025", not_after=datetime(2025, 9, 1, tzinfo=UTC))
    assert later is not None and later.instant == _utc(2025, 8, 5)


@pytest.mark.parametrize(
    ("text", "expected", "has_time"),
    [
        ("Veröffentlicht am 3. März 2024, 14:02 Uhr", _utc(2024, 3, 3, 14, 2), True),
        ("2024年3月3日 14時02分", _utc(2024, 3, 3, 14, 2), True),
        ("Oct 12, 2017", _utc(2017, 10, 12), False),
        ("23 de novembro de 2019", _utc(2019, 11, 23), False),
        ("2024-03-03", _utc(2024, 3, 3), False),
    ],
)
def test_dates_without_a_zone_say_so(text: str, expected: datetime, has_time: bool) -> None:
    parsed = parse_date(text)
    assert parsed is not None
    assert parsed.instant == expected
    assert parsed.has_time is has_time
    assert parsed.has_zone is False and not parsed.exact


@pytest.mark.parametrize(
    "text",
    ["", "   ", "garbage", "LONDON (Reuters) - twelve people", "99/99/2024", "31/02/2024 10:00",
     "2024-13-45T99:99", "Sun, 99 Foo 2024 99:99:99 GMT", "+" * 500, "1" * 1000,
     "Updated: IST", "14:02 GMT+99", "\x00\ud7ff\uffff", "2024-02-30"],
)
def test_garbage_gives_none_and_never_raises(text: str) -> None:
    assert parse_date(text) is None


def test_parse_zone() -> None:
    assert parse_zone("IST") == ("IST", timedelta(hours=5, minutes=30))
    assert parse_zone(" (CET)") == ("CET", timedelta(hours=1))
    assert parse_zone("ET") == ("ET", None)  # daylight saving decided by the date
    assert parse_zone("GMT-3") == ("GMT-3", timedelta(hours=-3))
    assert parse_zone("+3") is None
    assert parse_zone("XYZ") is None
    assert parse_zone("GMT, 3 March") == ("GMT", timedelta(0))


def test_find_dateline_reads_labelled_publication_and_modification() -> None:
    lines = [
        "Left Menu",
        "Devdiscourse News Desk | Updated: 23-08-2025 06:18 IST | Created: 23-08-2025 05:10 IST",
    ]
    found = find_dateline(lines, not_after=FETCHED)
    assert found.published is not None and found.modified is not None
    assert found.published.instant == _utc(2025, 8, 22, 23, 40)
    assert found.modified.instant == _utc(2025, 8, 23, 0, 48)
    assert found.indices == (1,)


def test_find_dateline_takes_a_bare_date_line_and_ignores_the_future() -> None:
    lines = ["Home", "Posted 1 January 2030", "March 3, 2024", "Some text"]
    found = find_dateline(lines, not_after=FETCHED)
    assert found.published is not None
    assert found.published.instant == _utc(2024, 3, 3)
    assert found.modified is None
    assert found.indices == (2,)
    assert find_dateline([], not_after=FETCHED) == find_dateline(["no dates here"])


def test_html_pages_use_a_visible_dateline_when_nothing_declares_a_time() -> None:
    from tests.factories import article_html, message
    from worker.pipeline import PipelineOptions, process_page
    from worker.pipeline.types import Article

    page = article_html(published=None).replace(
        '<p class="byline">', '<p class="date">Updated: 23-08-2025 06:18 IST</p><p class="byline">')
    result = process_page(message(html=page, fetched_at="2025-08-23T09:00:00Z"),
                          received_at=FETCHED, options=PipelineOptions())
    assert isinstance(result, Article), result
    assert result.published_at == _utc(2025, 8, 23, 0, 48)
    assert result.modified_at == _utc(2025, 8, 23, 0, 48)
    assert result.date_source == "dateline"
    assert "Updated" not in result.body


def test_a_bare_date_after_a_labelled_line_is_not_the_publication_date() -> None:
    lines = ["By Jane Doe Updated Nov 13, 2019, 10:28am EST", "Some story text here.",
             "— A Tweeter (@tweeter) November 1, 2019"]
    found = find_dateline(lines, not_after=FETCHED)
    assert found.published is None
    assert found.modified is not None and found.modified.instant == _utc(2019, 11, 13, 15, 28)
