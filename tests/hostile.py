"""A corpus of hostile pages-topic messages, each with the outcome the worker must give.

    CASES: list of (name, message bytes, expected reason or "article")

Shared by tests/unit/test_hostile.py (through `process_page`, each case time-bounded) and
tests/integration/test_hostile.py (through the real worker, followed by a normal page that
must still come out). Both run with `MAX_PAGE_BYTES`, so the oversize case stays small.
"""

from __future__ import annotations

from typing import Any

import orjson

from tests.factories import article_html, message

MAX_PAGE_BYTES = 300_000
ARTICLE = "article"

_ARABIC = [
    "وافق مجلس المدينة يوم الثلاثاء على ميزانية جديدة لمنطقة الميناء بعد أشهر من النقاش "
    "حول كيفية تمويل إصلاح الجدار البحري القديم الذي يحمي المنازل والسوق.",
    "وقال أعضاء المجلس إن الخطة ستكلف نحو أربعين مليون يورو على مدى خمس سنوات، ويأتي معظم "
    "المال من صندوق إقليمي للبنية التحتية أنشئ في الربيع الماضي.",
    "وحذر المهندسون العام الماضي من أن أجزاء من الجدار قد تنهار خلال عاصفة شديدة، مما يعرض "
    "مئات المنازل وسوق السمك القديم لخطر الفيضانات.",
    "Residents of the Al-Mina district (حي الميناء) said the work on the 2.4 km wall would "
    "start in May, according to the mayor's office.",
]
_PLAIN = [
    "The city council voted on Tuesday to approve a new budget for the harbour district, "
    "ending months of debate over how to pay for repairs to the ageing sea wall.",
    "Council members said the plan would cost about 40 million euros over five years, with "
    "most of the money coming from a regional infrastructure fund set up last spring.",
    "Engineers warned last year that parts of the wall could fail during a severe storm, "
    "putting hundreds of homes and the old fish market at risk of flooding.",
]
_CONTROL = "".join(chr(c) for c in (0, 1, 7, 8, 11, 12, 27, 127)) + "\u200b\u202e\ufeff"


def _page(page_id: str, **kwargs: Any) -> bytes:
    kwargs.setdefault("url", f"https://www.hostile.example/news/2025/03/04/{page_id}")
    return message(page_id=page_id, **kwargs)


def _record(**fields: Any) -> bytes:
    return orjson.dumps(fields)


def _entity_bomb() -> str:
    # Billion laughs: internal entities expanding to each other (an XML parser that expands
    # them would need gigabytes); plus a run of character references.
    doctype = '<!DOCTYPE html [<!ENTITY a "lollollollollollollollollollol">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
    ) + "]>"
    return doctype + "<html><body><p>&j;</p>" + "&#x1F4A3;&amp;&lt;" * 5_000 + "</body></html>"


CASES: list[tuple[str, bytes, str]] = [
    # Not JSON at all, or JSON we refuse.
    ("empty", b"", "invalid_json"),
    ("truncated_json", _page("trunc")[:300], "invalid_json"),
    ("malformed_json", b'{"id": "m1", url: "https://x.example/a"}', "invalid_json"),
    ("invalid_utf8", b'{"id": "u1", "url": "https://x.example/a", "html": "\xff\xfe<p>x"}',
     "invalid_json"),
    ("nan_literal", b'{"id": "n1", "url": "https://x.example/a", "status": NaN}',
     "invalid_json"),
    ("deep_json", b"[" * 50_000 + b"]" * 50_000, "invalid_json"),
    ("binary_garbage", bytes(range(256)) * 40, "invalid_json"),
    # JSON, but not a raw page.
    ("json_list", b'["a", "list"]', "invalid_record"),
    ("json_string", b'"just a string"', "invalid_record"),
    ("json_number", b"42", "invalid_record"),
    ("json_null", b"null", "invalid_record"),
    ("no_url", _record(id="nu1", html=article_html()), "invalid_record"),
    ("html_not_string", _record(id="w1", url="https://x.example/a", html=42), "invalid_record"),
    ("url_not_string", _record(id="w2", url=["https://x.example/a"], html="<p>x</p>"),
     "invalid_record"),
    ("status_not_int", _record(id="w3", url="https://x.example/a", html="<p>x</p>",
                               status="200"), "invalid_record"),
    ("file_url", _record(id="f1", url="file:///etc/passwd", html=article_html()),
     "invalid_record"),
    ("javascript_url", _record(id="j1", url="javascript:alert(1)", html=article_html()),
     "invalid_record"),
    ("data_url", _record(id="d1", url="data:text/html,<p>hi</p>", html=article_html()),
     "invalid_record"),
    # A page the crawler failed to fetch.
    ("status_404", _page("gone", status=404), "http_error"),
    ("status_503", _page("busy", status=503), "http_error"),
    # Too big: refused before parsing.
    ("oversize", _page("big", html=article_html() + "<!--" + "x" * MAX_PAGE_BYTES + "-->"),
     "too_large"),
    # Valid records whose content is hostile or not an article.
    ("login_page", _page("login", html=(
        "<html><head><title>Sign in</title></head><body><form><h1>Sign in</h1>"
        "<input type=email><input type=password><button>Sign in</button></form></body></html>"
    )), "no_article"),
    ("script_only", _page("script", html=(
        "<html><body>" + "<script>document.write('<p>' + 'x'.repeat(9999))</script>" * 50
        + "<noscript>Enable JavaScript</noscript></body></html>")), "no_article"),
    ("nested_divs", _page("nested", html="<div>" * 20_000 + "hello" + "</div>" * 20_000),
     "no_article"),
    ("nested_tables", _page("tables", html="<table><tr><td>" * 5_000 + "x"), "no_article"),
    ("entity_bomb", _page("bomb", html=_entity_bomb()), "no_article"),
    ("giant_title", _page("title", html=article_html(headline="Council " * 4_000)), ARTICLE),
    ("control_chars", _page("ctrl", html=article_html(
        headline=f"Council{_CONTROL} approves harbour budget",
        paragraphs=[f"{p} {_CONTROL}" for p in _PLAIN],
    )), ARTICLE),
    ("rtl_mixed_scripts", _page("rtl", html=article_html(
        headline="المجلس يوافق على ميزانية الميناء بعد أشهر من النقاش", paragraphs=_ARABIC,
        lang="ar")), ARTICLE),
]

#: A normal page sent after the corpus: it must come out as an article (no stall).
AFTER = _page("after-hostile", html=article_html(
    headline="Ferry service resumes after the harbour wall repairs are finished"))
