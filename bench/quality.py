"""Section 1: extraction quality on aeb-dev and wcxb-dev, scored by aeb-dev's eval_extract.py.

Every extractor sees every page, page by page (the order rotated per page). aeb-dev (121 news
pages, 2019) is also run on the pages rendered as plain text, and its metadata is compared with
what each page declares (`--silver-meta`); wcxb-dev (364 article pages, 2025-26) has human-
checked headline, date and author to compare with. Per corpus: body F1/P/R (`score_bodies`),
95 % paired-bootstrap intervals of F1 and of each extractor's difference to trafilatura, both
halves of the corpus (sorted ids, alternating: A = 1st, 3rd, ...), and the pages where
news-worker is furthest below trafilatura.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import adapters
from bench.corpus import FETCHED_AT, WCXB_FETCHED_AT, CorpusMissing, load_pages, wcxb_corpus
from bench.quality_report import plot, render, summary
from bench.report import Context
from bench.stats import paired_bootstrap, summarize

NAME = "quality"
TITLE = "1. Extraction quality (aeb-dev and wcxb-dev, the benchmark's own scorer)"
NW, TRAF, TRAF_META = "news-worker", "trafilatura (default)", "trafilatura (default, with metadata)"
TRAF_TEXT = "trafilatura (default, <p> per line)"
__all__ = ["NAME", "TITLE", "render", "run", "summary"]
_ZONED = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$")


@dataclass(frozen=True, slots=True)
class Spec:
    """One corpus: where it is, when its pages were fetched, what it can be scored on."""

    name: str
    path: Path
    fetched_at: datetime
    rendered_text: bool  # also run every extractor on the pages rendered as plain text
    meta: str  # "silver": what pages declare; "truth": the ground truth's own fields


def render_text(html: str) -> str:
    """The page as plain text, as a crawler's renderer gives it."""
    import html_text

    return str(html_text.extract_text(html, guess_layout=True))


def _jobs(spec: Spec) -> list[tuple[str, adapters.Adapter, bool]]:
    """(name, adapter, runs on the rendered text) for the corpus, news-worker first."""
    html = {**adapters.HTML_ADAPTERS,
            NW: functools.partial(adapters.newsworker_html, fetched_at=spec.fetched_at)}
    jobs = [(n, f, False) for n, f in html.items()]
    if spec.rendered_text:
        text = {**adapters.TEXT_ADAPTERS, "news-worker (text)": functools.partial(
            adapters.newsworker_text, fetched_at=spec.fetched_at)}
        jobs += [(n, f, True) for n, f in text.items()]
    return [*jobs, (TRAF_META, adapters.trafilatura_with_metadata, False)]


def _run_all(pages: list[Any], texts: dict[str, str], jobs: list[tuple[str, Any, bool]]
             ) -> tuple[dict[str, dict[str, Any]], dict[str, list[float]]]:
    preds: dict[str, dict[str, Any]] = {name: {} for name, _, _ in jobs}
    times: dict[str, list[float]] = {name: [] for name, _, _ in jobs}
    for k, page in enumerate(pages):
        shift = k % len(jobs)
        for name, fn, on_text in jobs[shift:] + jobs[:shift]:
            content = texts[page.id] if on_text else page.html
            started = time.perf_counter()
            try:
                pred = fn(content, page.url)
            except Exception as exc:  # an extractor crash scores as an empty prediction
                pred = {"articleBody": "", "error": f"{type(exc).__name__}: {exc}"[:200]}
            times[name].append(1000 * (time.perf_counter() - started))
            preds[name][page.id] = pred
    return preds, times


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not _ZONED.match(value.strip()):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def _minute_agreement(refs: dict[str, dict[str, Any]], preds: dict[str, Any]) -> dict[str, Any]:
    """Pages declaring a zoned publication timestamp; share we got right within 60 s."""
    n = right = 0
    for page_id, ref in refs.items():
        declared = _instant(ref.get("datePublished"))
        if declared is None:
            continue
        n += 1
        got = _instant((preds.get(page_id) or {}).get("datePublished"))
        right += got is not None and abs((got - declared).total_seconds()) < 60
    return {"n_zoned": n, "right_to_minute": right / n if n else None}


def _f1(row: tuple[float, float, float], scorer: Any) -> float:
    p, r = scorer._prec(*row), scorer._rec(*row)
    return 2 * p * r / (p + r) if p + r else 0.0


def _pages_vs_trafilatura(scorer: Any, gt: dict[str, Any], preds: dict[str, Any],
                          ids: list[str]) -> dict[str, Any]:
    """Per-page F1 of news-worker minus trafilatura's: counts and the worst pages."""
    delta = []
    for i in ids:
        ours = _f1(scorer.page_tp_fp_fn(gt[i]["articleBody"], preds[NW][i].get("articleBody")),
                   scorer)
        theirs = _f1(scorer.page_tp_fp_fn(gt[i]["articleBody"],
                                          preds[TRAF][i].get("articleBody")), scorer)
        delta.append((ours - theirs, i, ours, theirs))
    delta.sort()
    return {"below_0.02": sum(1 for d in delta if d[0] < -0.02),
            "above_0.02": sum(1 for d in delta if d[0] > 0.02),
            "below_0.30": sum(1 for d in delta if d[0] < -0.30),
            "worst": [{"id": i, "delta": d, "news-worker": o, "trafilatura": t}
                      for d, i, o, t in delta[:10]]}


def _score(spec: Spec, ctx: Context) -> dict[str, Any]:
    scorer, gt, pages = load_pages(spec.path, limit=15 if ctx.quick else None,
                                   scorer_from=ctx.corpus)
    ids = [p.id for p in pages]
    texts = {p.id: render_text(p.html) for p in pages} if spec.rendered_text else {}
    preds, times = _run_all(pages, texts, _jobs(spec))
    n_boot = 200 if ctx.quick else 1000
    halves = {"A": ids[0::2], "B": ids[1::2]}
    body: dict[str, Any] = {}
    rows: dict[str, list[Any]] = {}
    for name, pred in preds.items():
        if name == TRAF_META:
            continue  # same body as "trafilatura (default)"; kept for its metadata only
        scored = scorer.score_bodies(gt, pred, ids, n_boot, ctx.seed)
        scored.pop("per_page", None)
        scored["halves"] = {h: {k: v for k, v in scorer.score_bodies(gt, pred, sub, 0).items()
                                if k in ("f1", "precision", "recall")}
                            for h, sub in halves.items()}
        scored["ms"] = summarize(times[name])
        scored["errors"] = sum(1 for p in pred.values() if p.get("error"))
        scored["rejected"] = sum(1 for p in pred.values() if p.get("rejected"))
        body[name] = scored
        rows[name] = [scorer.page_tp_fp_fn(gt[i]["articleBody"],
                                           (pred.get(i) or {}).get("articleBody")) for i in ids]
    html_rows = {n: r for n, r in rows.items() if n in adapters.HTML_ADAPTERS or n == NW}
    intervals = paired_bootstrap(html_rows, scorer.aggregate, TRAF, n_boot, ctx.seed)
    if spec.rendered_text:
        text_rows = {n: r for n, r in rows.items() if n not in html_rows}
        intervals |= paired_bootstrap(text_rows, scorer.aggregate, TRAF_TEXT, n_boot, ctx.seed)
    for name, ci in intervals.items():
        body[name]["ci"] = ci
    meta_names = [n for n in (NW, "news-worker (text)", TRAF_META) if n in preds]
    if spec.meta == "silver":
        refs = {p.id: scorer.silver_labels(p.html) for p in pages}
    else:
        refs = {i: gt[i] for i in ids}
    meta = {name: scorer.score_meta(refs, preds[name], ids) for name in meta_names}
    meta_halves = {name: {h: scorer.score_meta(refs, preds[name], sub)
                          for h, sub in halves.items()} for name in meta_names}
    rejections: dict[str, dict[str, int]] = {}
    for name in (n for n in (NW, "news-worker (text)") if n in preds):
        for p in preds[name].values():
            if p.get("rejected"):
                counts = rejections.setdefault(name, {})
                counts[p["rejected"]] = counts.get(p["rejected"], 0) + 1
    return {
        "n_pages": len(ids), "fetched_at": spec.fetched_at.isoformat(), "meta_kind": spec.meta,
        "body": body, "meta": meta, "meta_halves": meta_halves,
        "minute": {n: _minute_agreement(refs, preds[n]) for n in meta_names}
        if spec.meta == "silver" else {},
        "language_coverage": {n: sum(1 for p in preds[n].values() if p.get("language"))
                              / len(ids) for n in meta_names if n.startswith("news-worker")},
        "rejections": rejections,
        "pages": _pages_vs_trafilatura(scorer, gt, preds, ids),
    }


def run(ctx: Context) -> dict[str, Any]:
    """Score every extractor on both corpora (a corpus that is not there is skipped)."""
    specs = [Spec("aeb-dev", ctx.corpus, FETCHED_AT, True, "silver"),
             Spec("wcxb-dev", wcxb_corpus(ctx.corpus), WCXB_FETCHED_AT, False, "truth")]
    corpora: dict[str, Any] = {}
    for spec in specs:
        try:
            corpora[spec.name] = _score(spec, ctx)
        except CorpusMissing as exc:
            corpora[spec.name] = {"skipped": str(exc)}
    if all("skipped" in c for c in corpora.values()):
        raise CorpusMissing("; ".join(c["skipped"] for c in corpora.values()))
    return {"corpora": corpora, "plot": plot(ctx, corpora)}
