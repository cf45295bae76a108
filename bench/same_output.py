"""Does a speed change leave `news-worker process`'s output byte for byte the same?

    python -m bench.same_output BEFORE_DIR [AFTER_DIR]   (AFTER_DIR: this checkout)

BEFORE_DIR is a checkout of the code to compare with (`git worktree add --detach /tmp/b main`);
both run with this checkout's .venv (PYTHONPATH selects the code). Inputs, written to a
temporary folder: aeb-dev's 121 and wcxb-dev's 364 pages as HTML messages and as rendered text
(html-text), and the 300-message throughput input of bench/speed.py (pages repeated: the
duplicate path). `process -j2 --clock` fixed, so nothing in the output depends on the run;
prints one sha256 per output and exits 1 when any differs.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.corpus import (
    DEFAULT_CORPUS,
    FETCHED_AT,
    WCXB_FETCHED_AT,
    load_pages,
    raw_message,
    repeated_messages,
    wcxb_corpus,
)

REPO = Path(__file__).resolve().parents[1]
CLOCK = "2026-04-02T00:00:00Z"
_RUN = "import sys; from worker.cli import main; sys.exit(main())"


def write_inputs(folder: Path) -> list[Path]:
    """The JSON-lines inputs (see the module docstring)."""
    from bench.quality import render_text

    paths = []
    for name, corpus, fetched in (("aeb", DEFAULT_CORPUS, FETCHED_AT),
                                  ("wcxb", wcxb_corpus(), WCXB_FETCHED_AT)):
        _, _, pages = load_pages(corpus, scorer_from=DEFAULT_CORPUS)
        html, text = folder / f"{name}-html.jsonl", folder / f"{name}-text.jsonl"
        html.write_bytes(b"".join(raw_message(p, fetched_at=fetched) + b"\n" for p in pages))
        text.write_bytes(b"".join(
            raw_message(p, text=render_text(p.html), fetched_at=fetched) + b"\n" for p in pages))
        paths += [html, text]
        if name == "aeb":
            repeated = folder / "speed300.jsonl"
            repeated.write_bytes(repeated_messages(pages, 300))
            paths.append(repeated)
    return paths


def digests(code: Path, inputs: list[Path], out: Path) -> dict[str, str]:
    """sha256 of what `process` (the code in `code`) writes for each input (in `out`)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    found = {}
    for path in inputs:
        target = out / f"{code.name}-{path.stem}.out"
        # The input by its name (cwd is its folder): a rejection records its source file, and
        # the temporary folder's path would make digests differ from one run to the next.
        subprocess.run([sys.executable, "-c", _RUN, "process", path.name, "--out", str(target),
                        "-j", "2", "--clock", CLOCK], env=env, cwd=out, check=True,
                       stderr=subprocess.DEVNULL)
        found[path.stem] = hashlib.sha256(target.read_bytes()).hexdigest()
    return found


def main(argv: list[str]) -> int:
    before = Path(argv[0]).resolve()
    after = Path(argv[1]).resolve() if len(argv) > 1 else REPO
    with tempfile.TemporaryDirectory(prefix="same-output-") as tmp:
        folder = Path(tmp)
        inputs = write_inputs(folder)
        old, new = digests(before, inputs, folder), digests(after, inputs, folder)
    same = True
    for name in old:
        mark = "same" if old[name] == new[name] else "DIFFERENT"
        same &= old[name] == new[name]
        print(f"{name:14} {old[name][:16]} {new[name][:16]} {mark}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
