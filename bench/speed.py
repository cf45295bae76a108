"""Section 2: offline speed, one core and `news-worker process` on 1 and 2 processes.

Per stage: the stage functions of worker.pipeline called directly, in the order
`build_article` calls them, interleaved page by page with trafilatura `extract()` alone and
with the whole pipeline (`process_page` + the identity stage + JSON encoding), so each pipeline
time has its baseline measured a few milliseconds away. Throughput: `news-worker process -j1`,
`-j2` and a plain trafilatura loop as subprocesses on one input file, rotated per round.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.corpus import FETCHED_AT, Page, load_pages, raw_message, repeated_messages
from bench.report import Context
from bench.stats import fmt, quantile, spread, summarize, table

NAME = "speed"
TITLE = "2. Offline speed"
STAGES = ("validate", "extract", "clean", "enrich", "dedupe", "serialize")


def _identity(state: dict[str, Any]) -> Any:
    """The identity stage `process` runs (worker/pipeline/engine.py), one per state dict."""
    if "engine" not in state:
        from worker.pipeline import PipelineOptions
        from worker.pipeline.engine import Engine
        from worker.pipeline.state import DictStore, IdentityState
        from worker.stream.positions import key_partition

        def partition_of(key: bytes) -> int:
            return key_partition(key, 4)

        state["engine"] = Engine(IdentityState(DictStore(partition_of),
                                               _OPTIONS or PipelineOptions()), partition_of)
    return state["engine"]
BIN = os.path.dirname(sys.executable)


def _stage_times(message: bytes, state: dict[str, Any], origin: str) -> dict[str, float]:
    """Milliseconds per stage for one message; stops at the stage that rejects it."""
    from worker.errors import PageRejected
    from worker.pipeline import PipelineOptions, looks_like_html
    from worker.pipeline.clean import clean_extracted
    from worker.pipeline.enrich import enrich_article
    from worker.pipeline.extract import extract_html
    from worker.pipeline.route import route_result
    from worker.pipeline.text import extract_text
    from worker.pipeline.validate import decode_message, validate_record

    options = _OPTIONS or PipelineOptions()
    out: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        out[name] = 1000 * (now - t0)
        t0 = now

    try:
        record = decode_message(message, options)
        page = validate_record(record, received_at=FETCHED_AT, options=options)
        lap("validate")
        if page.html is not None and looks_like_html(page.content):
            extracted = extract_html(page, options)
        else:
            extracted = extract_text(page, options)
        lap("extract")
        cleaned = clean_extracted(extracted, page)
        lap("clean")
        article = enrich_article(cleaned, page, options)
        lap("enrich")
        _identity(state).run(route_result(article, origin, None, None, 2**62))
        lap("dedupe")
        lap("serialize")  # the identity stage encodes its output records itself (in "dedupe")
    except PageRejected:
        out["rejected"] = 1.0
    return out


_OPTIONS: Any = None


def _pipeline(message: bytes, state: dict[str, Any], origin: str) -> None:
    """The whole pipeline as `process` runs it for one message."""
    from worker.pipeline import PipelineOptions, process_page
    from worker.pipeline.route import route_result

    options = _OPTIONS or PipelineOptions()
    result = process_page(message, received_at=FETCHED_AT, options=options)
    _identity(state).run(route_result(result, origin, None, None, 2**62))


def _trafilatura(page: Page) -> None:
    import trafilatura

    trafilatura.extract(page.html, url=page.url, include_comments=False)


def per_page(ctx: Context, pages: list[Page], rounds: int) -> dict[str, Any]:
    """Interleaved per-page timings: trafilatura, whole pipeline (HTML, text), the stages."""
    from bench.quality import render_text

    messages = {p.id: raw_message(p) for p in pages}
    text_messages = {p.id: raw_message(p, text=render_text(p.html)) for p in pages}
    samples: dict[str, dict[str, list[float]]] = {p.id: {} for p in pages}
    rejected = 0
    rnd = random.Random(ctx.seed)
    for page in pages[:5]:  # warm-up: imports, lazy caches, language model
        _trafilatura(page)
        _pipeline(messages[page.id], {}, "warm")
    for r in range(rounds):
        states: dict[str, dict[str, Any]] = {"stages": {}, "html": {}, "text": {}}
        order = pages[:]
        rnd.shuffle(order)
        for k, page in enumerate(order):
            origin = f"bench:{r}:{k}"
            html_state, text_state, stage_state = states["html"], states["text"], states["stages"]
            jobs: list[tuple[str, Callable[[], Any]]] = [
                ("trafilatura", lambda p=page: _trafilatura(p)),
                ("pipeline", lambda m=messages[page.id], s=html_state, o=origin:
                    _pipeline(m, s, o)),
                ("pipeline (text)", lambda m=text_messages[page.id], s=text_state, o=origin:
                    _pipeline(m, s, o)),
                ("stages", lambda m=messages[page.id], s=stage_state, o=origin:
                    _stage_times(m, s, o)),
            ]
            rnd.shuffle(jobs)
            for name, job in jobs:
                started = time.perf_counter()
                value = job()
                elapsed = 1000 * (time.perf_counter() - started)
                if name == "stages":
                    rejected += int("rejected" in value)
                    for stage, ms in value.items():
                        if stage != "rejected":
                            samples[page.id].setdefault(stage, []).append(ms)
                else:
                    samples[page.id].setdefault(name, []).append(elapsed)
    medians = {pid: {k: quantile(v, 0.5) for k, v in s.items()} for pid, s in samples.items()}
    keys = ["trafilatura", "pipeline", "pipeline (text)", *STAGES]
    dist = {k: summarize([m[k] for m in medians.values() if k in m]) for k in keys}
    ratios = [m["pipeline"] / m["trafilatura"] for m in medians.values()
              if m.get("trafilatura") and "pipeline" in m]
    total = {k: sum(m.get(k, 0.0) for m in medians.values()) for k in keys}
    return {"rounds": rounds, "pages": len(pages), "rejected_in_stages": rejected // rounds,
            "ms": dist, "ratio_per_page": summarize(ratios),
            "ratio_of_means": total["pipeline"] / total["trafilatura"],
            "per_page_ms": [[m.get(k) for k in keys] for m in medians.values()], "keys": keys}


def build_input(ctx: Context, pages: list[Page], n: int, name: str = "speed") -> tuple[str, str]:
    """A JSON-lines file of n raw-page messages (pages cycled, unique ids), and an empty one."""
    path = ctx.path(f"{name}_input.jsonl")
    path.write_bytes(repeated_messages(pages, n))
    empty = ctx.path(f"{name}_empty.jsonl")
    empty.write_bytes(b"")
    return str(path), str(empty)


def commands(path: str) -> dict[str, list[str]]:
    nw = os.path.join(BIN, "news-worker")
    return {
        "news-worker process -j1": [nw, "process", path, "--out", os.devnull, "-j", "1"],
        "news-worker process -j2": [nw, "process", path, "--out", os.devnull, "-j", "2"],
        "trafilatura loop (1 process)": [sys.executable, "-m", "bench.trafloop", path],
    }


def timed(cmd: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=600, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} exited {proc.returncode}: {proc.stderr[-300:]}")
    return wall, proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""


def throughput(ctx: Context, pages: list[Page], n: int, rounds: int) -> dict[str, Any]:
    """pages/s of process -j1/-j2 and the trafilatura loop, rotated per round."""
    path, empty = build_input(ctx, pages, n)
    cmds = commands(path)
    startup_cmds = commands(empty)
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    startups: dict[str, list[float]] = {k: [] for k in cmds}
    last_line: dict[str, str] = {}
    names = list(cmds)
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            startups[name].append(timed(startup_cmds[name])[0])
            wall, line = timed(cmds[name])
            walls[name].append(wall)
            last_line[name] = line
    out: dict[str, Any] = {"messages": n, "rounds": rounds, "runs": {}}
    for name in names:
        start = quantile(startups[name], 0.5)
        out["runs"][name] = {
            "wall_s": walls[name], "startup_s": startups[name],
            "pages_per_s": summarize([n / w for w in walls[name]]),
            "pages_per_s_net": summarize([n / max(w - start, 1e-3) for w in walls[name]]),
            "stderr": last_line.get(name, ""),
        }
    base_name = "trafilatura loop (1 process)"
    base = walls[base_name]
    base_start = quantile(startups[base_name], 0.5)
    for name in names[:2]:
        start = quantile(startups[name], 0.5)
        out["runs"][name]["vs_trafilatura"] = summarize(
            [b / w for b, w in zip(base, walls[name], strict=True)])
        out["runs"][name]["vs_trafilatura_net"] = summarize(
            [max(b - base_start, 1e-3) / max(w - start, 1e-3)
             for b, w in zip(base, walls[name], strict=True)])
    return out


def _plot(ctx: Context, stage: dict[str, Any], tput: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = stage["keys"]
    cols = list(zip(*stage["per_page_ms"], strict=True))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), width_ratios=[3, 2])
    data = [[v for v in cols[i] if v is not None] for i in range(len(keys))]
    ax1.boxplot(data, whis=(10, 90), showfliers=False)
    ax1.set_xticks(range(1, len(keys) + 1), keys, rotation=30, ha="right")
    ax1.set_ylabel("ms per page (per-page median; whiskers p10–p90)")
    ax1.set_title("one core, interleaved page by page")
    names = list(tput["runs"])
    meds = [tput["runs"][n]["pages_per_s"]["median"] for n in names]
    lo = [m - tput["runs"][n]["pages_per_s"]["min"] for n, m in zip(names, meds, strict=True)]
    hi = [tput["runs"][n]["pages_per_s"]["max"] - m for n, m in zip(names, meds, strict=True)]
    ax2.bar(range(len(names)), meds, yerr=[lo, hi], color=["tab:blue", "tab:blue", "tab:gray"])
    ax2.set_xticks(range(len(names)), [n.replace(" (1 process)", "") for n in names],
                   rotation=20, ha="right")
    ax2.set_ylabel("pages/s (median; whiskers min–max)")
    ax2.set_title(f"{tput['messages']} messages, subprocesses")
    fig.tight_layout()
    name = "speed.png"
    fig.savefig(ctx.path(name), dpi=100)
    plt.close(fig)
    return [name]


def run(ctx: Context) -> dict[str, Any]:
    """Per-stage timings and process throughput on the corpus pages."""
    _, _, pages = load_pages(ctx.corpus, limit=10 if ctx.quick else None)
    stage = per_page(ctx, pages, rounds=2 if ctx.quick else 3)
    tput = throughput(ctx, pages, n=40 if ctx.quick else 300, rounds=1 if ctx.quick else 3)
    return {"per_page": stage, "throughput": tput, "plots": _plot(ctx, stage, tput)}


def render(data: dict[str, Any]) -> str:
    """The section's Markdown for REPORT.md."""
    st, tp = data["per_page"], data["throughput"]
    rows = [[k, fmt(st["ms"][k].get("median")), fmt(st["ms"][k].get("p90")),
             fmt(st["ms"][k].get("p25")) + "–" + fmt(st["ms"][k].get("p75"))]
            for k in st["keys"]]
    r = st["ratio_per_page"]
    out = [
        f"{st['pages']} corpus pages × {st['rounds']} rounds, shuffled; in every round each "
        "page runs trafilatura `extract()` alone, the whole pipeline on its HTML message, the "
        "whole pipeline on its rendered-text message and the stage functions one by one, in "
        "random order. A page's time is its median over rounds; the table gives the median / "
        "p90 / IQR over pages. 'pipeline' = `process_page` + the identity stage + JSON encoding "
        f"(what `process` does per message). Pages rejected by a stage: {st['rejected_in_stages']}"
        " (their later stages are missing).",
        "",
        table(["per page", "ms median", "ms p90", "IQR"], rows),
        "",
        f"**Pipeline ÷ trafilatura, same page**: median {fmt(r['median'], 2)} "
        f"(IQR {fmt(r['p25'], 2)}–{fmt(r['p75'], 2)}, p90 {fmt(r['p90'], 2)}); ratio of mean "
        f"times {fmt(st['ratio_of_means'], 2)}.",
        "",
        f"**Throughput**: {tp['messages']} raw-page messages (the corpus pages repeated, each "
        "with its own id; repeats are duplicates, which still go through extraction) in one "
        f"JSON-lines file; {tp['rounds']} rounds, the three commands rotated per round. Gross "
        "= messages / wall time of the command; net = the same minus the median wall time of "
        "the command on an empty file (interpreter start-up and imports).",
        "",
    ]
    rows = []
    for name, run_ in tp["runs"].items():
        vs, vn = run_.get("vs_trafilatura"), run_.get("vs_trafilatura_net")
        rows.append([name, spread(run_["pages_per_s"]), fmt(run_["pages_per_s_net"]["median"]),
                     fmt(quantile(run_["startup_s"], 0.5), 2),
                     f"{fmt(vs['median'], 2)} ({fmt(vs['min'], 2)}–{fmt(vs['max'], 2)})"
                     if vs else "1",
                     f"{fmt(vn['median'], 2)} ({fmt(vn['min'], 2)}–{fmt(vn['max'], 2)})"
                     if vn else "1"])
    out += [table(["command", "pages/s gross, median [IQR]", "pages/s net", "start-up s",
                   "× trafilatura loop, gross (min–max)", "× trafilatura loop, net"], rows),
            ""]
    out += [f"![speed]({p})" for p in data["plots"]]
    return "\n".join(out)


def summary(data: dict[str, Any]) -> str:
    """The section's lines for SUMMARY.md."""
    st, tp = data["per_page"], data["throughput"]
    rows = [[k, fmt(st["ms"][k].get("median")), fmt(st["ms"][k].get("p90"))] for k in st["keys"]]
    runs = tp["runs"]
    trows = [[n, fmt(v["pages_per_s"]["median"]), fmt(v["pages_per_s_net"]["median"]),
              fmt(v["vs_trafilatura_net"]["median"], 2) if "vs_trafilatura_net" in v else "1"]
             for n, v in runs.items()]
    return "\n".join([
        f"ms per page, one core, {st['pages']} pages × {st['rounds']} interleaved rounds:", "",
        table(["", "median", "p90"], rows), "",
        f"Pipeline ÷ trafilatura per page: median {fmt(st['ratio_per_page']['median'], 2)}, "
        f"ratio of means {fmt(st['ratio_of_means'], 2)}.", "",
        f"Throughput on {tp['messages']} messages (median of {tp['rounds']} rotated rounds):", "",
        table(["command", "pages/s", "pages/s net of start-up", "× trafilatura loop (net)"],
              trows),
    ])
