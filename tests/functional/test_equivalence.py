"""One generated page sequence through `news-worker process` and through the streaming agents.

Both run the same extraction, routing and identity code; here we check they also make the same
decisions, record for record: every article and duplicate identical, every rejection with the
same reason and original. The sequence mixes stories, URL variants, copies on other sites,
headline and body edits, pages without `fetched_at` (the receive time: the Kafka timestamp in
the worker, `--clock` offline), a `fetched_at` in the future (clamped the same way), bad input.
The agents get one page at a time (the order one worker sees), from one pages partition.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from tests.functional.harness import running_agents, value
from tests.stories import RECEIVED, html_pages
from worker.cli import main


def comparable(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    if kind != "rejected":
        return record
    return {k: record.get(k) for k in ("reason", "detail", "page_id", "url", "original")}


def offline(pages: list[bytes], tmp_path: Path) -> list[tuple[str, dict[str, Any]]]:
    source = tmp_path / "pages.jsonl"
    source.write_bytes(b"\n".join(pages) + b"\n")
    paths = {name: tmp_path / f"{name}.jsonl" for name in ("articles", "duplicates", "rejected")}
    assert main(["process", str(source), "--out", str(paths["articles"]), "--duplicates",
                 str(paths["duplicates"]), "--rejects", str(paths["rejected"]), "-j", "1",
                 "--clock", RECEIVED.isoformat()]) == 0
    found = []
    for kind, path in paths.items():
        for line in path.read_bytes().splitlines():
            record = orjson.loads(line)
            found.append((kind, comparable(kind, record)))
    return found


async def test_process_and_the_agents_decide_the_same(tmp_path: Path) -> None:
    pages = [page for page, _ in html_pages(seed=20261129, n=36)]
    expected = await asyncio.to_thread(offline, pages, tmp_path)  # it runs its own loop
    streamed = []
    async with running_agents() as harness:
        for page in pages:
            try:
                key = orjson.loads(page).get("url", "").encode()
            except orjson.JSONDecodeError:
                key = b"broken"
            await harness.put(page, key=key, timestamp=RECEIVED.timestamp())
            kind, event = await harness.next_output()
            streamed.append((kind, comparable(kind, value(event))))
    assert len(streamed) == len(pages)
    kinds = {kind for kind, _ in streamed}
    assert kinds == {"articles", "duplicates", "rejected"}
    versions = {r["version"] for kind, r in streamed if kind == "articles"}
    matches = {r["match"] for kind, r in streamed if kind == "duplicates"}
    assert max(versions) >= 2 and {"url", "headline", "canonical"} <= matches, (versions, matches)

    def order(items: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
        return sorted(orjson.dumps([k, r], option=orjson.OPT_SORT_KEYS) for k, r in items)

    # The same records (process writes each kind to its own file, so compare as sets).
    assert order(streamed) == order(expected)
