"""The baseline of `news-worker process`: a plain single-process trafilatura loop.

`python -m bench.trafloop INPUT.jsonl > OUT`: for each raw-page JSON line, trafilatura
`extract(html, url=url, include_comments=False)`, one JSON line out. No pipeline, no dedupe.
"""

from __future__ import annotations

import sys

import orjson
import trafilatura


def main(argv: list[str]) -> int:
    """Extract every page of the input file; print one JSON line per page."""
    out = sys.stdout.buffer
    with open(argv[0], "rb") as stream:
        for line in stream:
            if not line.strip():
                continue
            record = orjson.loads(line)
            text = trafilatura.extract(record.get("html") or "", url=record.get("url"),
                                       include_comments=False)
            out.write(orjson.dumps({"id": record.get("id"), "text": text}) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
