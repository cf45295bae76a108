"""Articles for identity tests, and a feed that runs them through the identity stage.

`article(...)` builds an `Article` the way enrich would (real content hash, SimHash, dedupe
key, id from the canonical URL) without extracting a page, so rule tests stay fast. Bodies
come from `body(seed)`: paragraphs of made-up words, deterministic per seed; different seeds
are unrelated texts (their SimHashes differ by about 32 bits).

    feed = Feed()
    [out] = feed.send(article(url=..., headline=...))     # decoded output records
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from tests.factories import article_html, message
from worker.pipeline.dedupe import make_dedupe_key
from worker.pipeline.engine import Engine
from worker.pipeline.enrich import content_hash, simhash64
from worker.pipeline.options import PipelineOptions
from worker.pipeline.route import Routed, route_result
from worker.pipeline.state import DictStore, IdentityState
from worker.pipeline.types import Article
from worker.pipeline.urls import canonicalize_url, make_article_id, source_domain
from worker.stream.positions import key_partition

T0 = datetime(2025, 11, 3, 6, 0, tzinfo=UTC)
PARTITIONS = 4
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "da", "fe", "go", "hu",
              "ji", "pa", "qe", "bri", "str", "ton", "mar", "vel", "dun", "pre", "cal"]


def words(seed: int, count: int) -> list[str]:
    """`count` made-up words, the same for the same seed."""
    rnd = random.Random(seed)
    return ["".join(rnd.choice(_SYLLABLES) for _ in range(rnd.randint(1, 3)))
            for _ in range(count)]


def paragraph(seed: int, count: int = 30) -> str:
    return " ".join(words(seed, count)).capitalize() + "."


def body(seed: int, paragraphs: int = 5) -> str:
    """An article body: `paragraphs` paragraphs of 30 words, unrelated to other seeds'."""
    return "\n\n".join(paragraph(seed * 100 + k) for k in range(paragraphs))


def article(
    *, url: str = "https://www.harbourgazette.example/news/2025/11/03/storm-floods-city",
    headline: str = "Storm floods city centre streets", text: str | None = None,
    published: datetime | None = T0, modified: datetime | None = None,
    fetched: datetime | None = None, page_id: str = "p1", canonical: str | None = None,
) -> Article:
    """An article as the pipeline would make it from such a page."""
    text = body(1) if text is None else text
    canonical_url = canonicalize_url(canonical or url)
    return Article(
        id=make_article_id(canonical_url), version=1, page_id=page_id, url=url,
        canonical_url=canonical_url, source_domain=source_domain(canonical_url),
        site_name=None, headline=headline, description=None, body=text, authors=(),
        published_at=published, modified_at=modified,
        fetched_at=fetched or (published or T0) + timedelta(minutes=20), language="en",
        image_url=None, tags=(), keywords=(), entities=(), word_count=len(text.split()),
        reading_time_seconds=60, content_hash=content_hash(text), simhash=simhash64(text),
        dedupe_key=make_dedupe_key(headline), date_source=None,
        extractor={"name": "test", "version": "0"},
    )


def partition_of(key: bytes) -> int:
    return key_partition(key, PARTITIONS)


@dataclass
class Feed:
    """The identity stage on a dict store: articles in, decoded output records out."""

    options: PipelineOptions = field(default_factory=PipelineOptions)
    store: DictStore = field(default_factory=lambda: DictStore(partition_of))
    sent: int = 0
    unreadable: list[tuple[str, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = IdentityState(self.store, self.options,
                                   lambda stage, key: self.unreadable.append((stage, key)))
        self.engine = Engine(self.state, partition_of)

    def records(self, item: Article, origin: str | None = None) -> list[Routed]:
        """The extract stage's records for an article (origin: a fresh position)."""
        if origin is None:
            origin = f"pages:0:{self.sent}"
        self.sent += 1
        return route_result(item, origin, None, None, 10_000_000)

    def send(self, item: Article, origin: str | None = None) -> list[dict[str, Any]]:
        """Run one article through to its outputs (one per page: article or duplicate)."""
        return [decode(r) for r in self.engine.run(self.records(item, origin))]

    def one(self, item: Article, origin: str | None = None) -> dict[str, Any]:
        [out] = self.send(item, origin)
        return out


def decode(record: Routed) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(record.value)
    value["_kind"] = record.kind
    value["_key"] = record.key
    value["_verdict"] = record.verdict.value if record.verdict else None
    return value


# --- raw pages (HTML) for the functional and integration identity tests -------------------
RECEIVED = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
START = datetime(2025, 12, 30, 6, 0, tzinfo=UTC)
HEADLINES = [("Rail strike talks collapse as unions walk out",
              "Rail strike: talks collapse, walkout begins at midnight"),
             ("Flood barrier fails at the old harbour", "Harbour flood barrier gives way"),
             ("City orders review of tram depot costs", "Tram depot costs to be reviewed")]
SITES = ["www.gazette.example", "news.herald.example", "courier.example"]


def html_pages(seed: int, n: int, *, bad: bool = True, start: datetime = START,
               received: datetime = RECEIVED) -> list[tuple[bytes, int | None]]:
    """`n` raw pages (and bad input if `bad`), with the story each one shows (None: none).

    Three stories seen as re-crawls, URL variants, copies on other sites, pages declaring the
    story's URL canonical, headline edits and growing bodies; some pages without fetched_at
    (they get `received`, the Kafka timestamp or `process --clock`), some with a fetched_at
    30 days after it (clamped). Times run from `start`.
    """
    rnd = random.Random(seed)
    pages: list[tuple[bytes, int | None]] = []
    now = start
    for k in range(n):
        now += timedelta(minutes=rnd.choice([5, 20, 60, 180]))
        story = rnd.randrange(3)
        home = f"https://{SITES[story]}/news/2025/12/30/story-{story}"
        where = rnd.choice(["own", "own", "amp", "utm", "copy", "declared"])
        url = {"own": home, "utm": home + "?utm_source=rss",
               "amp": home.replace("https://www.", "https://amp.").replace(
                   "https://news.", "https://amp.news.") + "/amp",
               "copy": f"https://{SITES[(story + 1) % 3]}/wire/story-{story}",
               "declared": f"https://aggregator.example/s/{k}"}[where]
        grown = rnd.randrange(3)
        paragraphs = body(40 + story).split("\n\n") + [paragraph(4000 + story * 10 + g)
                                                        for g in range(grown)]
        html = article_html(
            headline=HEADLINES[story][rnd.randrange(2)], paragraphs=paragraphs,
            published=(start + timedelta(hours=story)).isoformat(),
            modified=rnd.choice([None, now.isoformat()]),
            canonical=home if where == "declared" else None)
        fetched: str | None = now.isoformat()
        if k % 9 == 4:
            fetched = None  # the receive time decides
        elif k % 9 == 7:
            fetched = (received + timedelta(days=30)).isoformat()  # a crawler clock ahead
        pages.append((message(page_id=f"e{k}", url=url, html=html, fetched_at=fetched), story))
        if bad and k % 11 == 5:
            pages.append((b'{"url": "https://x.example/broken", "html": ', None))
        if bad and k % 13 == 6:
            pages.append((message(page_id=f"gone{k}", url=home, status=404), None))
    return pages
