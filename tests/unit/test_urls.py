"""URL canonicalisation and article ids."""

from __future__ import annotations

import pytest

from worker.pipeline.urls import canonicalize_url, make_article_id, source_domain

STORY = "https://www.example.com/world/2025/08/23/summit-talks"


@pytest.mark.parametrize("variant", [
    STORY,
    STORY + "?utm_source=twitter&utm_medium=social&utm_campaign=x",
    STORY + "?fbclid=IwAR0abc&gclid=Cj0KCQ&mc_cid=12&mc_eid=34&ref=homepage",
    STORY + "#comments",
    STORY + "?utm_content=a#top",
    "https://WWW.Example.COM/world/2025/08/23/summit-talks",
    "https://www.example.com:443/world/2025/08/23/summit-talks",
    "http://www.example.com:80/world/2025/08/23/summit-talks",
    "  " + STORY + "\n",
])
def test_tracking_fragment_case_port_variants_are_one_url(variant: str) -> None:
    canonical = canonicalize_url(variant)
    assert canonical.split("://", 1)[1] == "www.example.com/world/2025/08/23/summit-talks"
    assert make_article_id(canonical) == make_article_id(STORY)


@pytest.mark.parametrize("variant", [
    "https://m.example.com/world/2025/08/23/summit-talks",
    "https://amp.example.com/world/2025/08/23/summit-talks",
    "https://www.example.com/world/2025/08/23/summit-talks/amp",
    "https://www.example.com/world/2025/08/23/summit-talks/amp/",
    "https://www.example.com/amp/world/2025/08/23/summit-talks",
    "https://www.example.com/world/amp/2025/08/23/summit-talks",
    "https://www.example.com/world/2025/08/23/summit-talks?outputType=amp",
    "https://www.example.com/world/2025/08/23/summit-talks?amp=1",
    "https://example.com/world/2025/08/23/summit-talks",
])
def test_amp_and_mobile_variants_share_the_id(variant: str) -> None:
    assert make_article_id(canonicalize_url(variant)) == make_article_id(canonicalize_url(STORY))


def test_amp_file_suffix() -> None:
    assert canonicalize_url("https://news.example.org/a/story-1.amp.html") == (
        "https://news.example.org/a/story-1.html")


def test_meaningful_query_parameters_stay_sorted_and_encoded() -> None:
    url = "https://example.com/article.php?page=2&id=123&q=a%20b&utm_source=x"
    assert canonicalize_url(url) == "https://example.com/article.php?id=123&page=2&q=a%20b"
    # an "amp" parameter that is not an AMP switch is kept
    assert canonicalize_url("https://example.com/s?amp=full-text") == (
        "https://example.com/s?amp=full-text")


def test_non_default_port_and_path_kept() -> None:
    assert canonicalize_url("https://example.com:8443/News/Story/") == (
        "https://example.com:8443/News/Story/")
    assert canonicalize_url("https://example.com") == "https://example.com/"
    assert canonicalize_url("https://example.com/amp") == "https://example.com/amp"


def test_scheme_does_not_change_the_id() -> None:
    http = canonicalize_url("http://example.com/story")
    https = canonicalize_url("https://example.com/story")
    assert make_article_id(http) == make_article_id(https)


def test_different_stories_have_different_ids() -> None:
    one = make_article_id(canonicalize_url("https://example.com/story-1"))
    two = make_article_id(canonicalize_url("https://example.com/story-2"))
    other_site = make_article_id(canonicalize_url("https://example.org/story-1"))
    assert len({one, two, other_site}) == 3
    assert len(one) == 24 and int(one, 16) >= 0


@pytest.mark.parametrize("url", [
    "", "not a url", "http://[::1", "http://host:99999/x", "mailto:someone@example.com",
    "/relative/path?utm_source=x#frag", "https://[2001:db8::1]:8080/a?ref=x", "http://é.example/ü",
])
def test_malformed_urls_never_raise(url: str) -> None:
    canonical = canonicalize_url(url)
    assert "#" not in canonical
    assert len(make_article_id(canonical)) == 24
    source_domain(url)


def test_source_domain() -> None:
    assert source_domain("https://WWW.BBC.co.uk/news") == "bbc.co.uk"
    assert source_domain("https://m.example.com/x") == "example.com"
    assert source_domain("https://amp.theguardian.com/x") == "theguardian.com"
    assert source_domain("https://m.co/x") == "m.co"
    assert source_domain("garbage") == ""


@pytest.mark.parametrize(("declared", "page", "used"), [
    ("https://www.example.com/", "https://www.example.com/news/2025/x", None),
    ("https://www.example.com", "https://www.example.com/news/2025/x", None),
    ("https://www.example.com/news/2025/x", "https://m.example.com/news/2025/x/amp",
     "https://www.example.com/news/2025/x"),
    ("https://www.example.com/", "https://www.example.com/", "https://www.example.com/"),
    (None, "https://www.example.com/news/2025/x", None),
])
def test_a_home_page_declared_as_canonical_is_ignored(declared: str | None, page: str,
                                                      used: str | None) -> None:
    from worker.pipeline.urls import usable_canonical

    assert usable_canonical(declared, page) == used
