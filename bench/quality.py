"""Section 1: extraction quality on ../shared/corpus/aeb-dev, scored by its own eval_extract.py.

Every extractor sees every page, page by page (the order rotated per page), on the HTML and on
the same page rendered as plain text (`html_text.extract_text(html, guess_layout=True)`).
Body F1/P/R are the scorer's `score_bodies`; metadata agreement is its `score_meta` against the
silver labels it reads from each page's own JSON-LD / OpenGraph (`--silver-meta`).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from bench import adapters
from bench.corpus import load_pages
from bench.report import Context
from bench.stats import fmt, summarize, table

NAME = "quality"
TITLE = "1. Extraction quality (aeb-dev corpus, its own scorer)"
META_NAMES = ("news-worker", "news-worker (text)", "trafilatura (default, with metadata)")
_ZONED = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$")


def render_text(html: str) -> str:
    """The page as plain text, as a crawler's renderer gives it (H3's helper when present)."""
    helper = getattr(adapters, "render_text", None)
    if helper is not None:
        return str(helper(html))
    import html_text

    return str(html_text.extract_text(html, guess_layout=True))


def _run_all(pages: list[Any], texts: dict[str, str]) -> tuple[dict[str, dict[str, Any]],
                                                                dict[str, list[float]]]:
    jobs: list[tuple[str, adapters.Adapter, bool]] = (
        [(n, f, False) for n, f in adapters.HTML_ADAPTERS.items()]
        + [(n, f, True) for n, f in adapters.TEXT_ADAPTERS.items()]
        + [("trafilatura (default, with metadata)", adapters.trafilatura_with_metadata, False)]
    )
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


def _plot(ctx: Context, body: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(body)
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(names) + 1.2))
    y = list(range(len(names)))
    f1 = [body[n]["f1"] for n in names]
    err = [body[n].get("f1_std", 0) for n in names]
    colors = ["tab:blue" if n.startswith("news-worker") else "tab:gray" for n in names]
    ax.barh(y, f1, xerr=err, color=colors)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.1)
    ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_xlabel("body F1 (eval_extract.py; error bar: bootstrap std)")
    for yi, v, e in zip(y, f1, err, strict=True):
        ax.text(v + e + 0.01, yi, f"{v:.3f}", va="center", fontsize=9)
    first_text = next((k for k, n in enumerate(names) if n in adapters.TEXT_ADAPTERS), None)
    if first_text:
        ax.axhline(first_text - 0.5, color="black", lw=0.8)
        ax.text(0.01, first_text - 0.35, "pages rendered as plain text ↓", fontsize=8,
                va="top", color="white")
    fig.tight_layout()
    name = "quality_f1.png"
    fig.savefig(ctx.path(name), dpi=100)
    plt.close(fig)
    return name


def run(ctx: Context) -> dict[str, Any]:
    """Score every extractor on the corpus pages (HTML and rendered text)."""
    scorer, gt, pages = load_pages(ctx.corpus, limit=15 if ctx.quick else None)
    ids = [p.id for p in pages]
    texts = {p.id: render_text(p.html) for p in pages}
    preds, times = _run_all(pages, texts)
    n_boot = 200 if ctx.quick else 1000
    body: dict[str, Any] = {}
    for name, pred in preds.items():
        if name == "trafilatura (default, with metadata)":
            continue  # same body as "trafilatura (default)"; kept for its metadata only
        scored = scorer.score_bodies(gt, pred, ids, n_boot, ctx.seed)
        scored.pop("per_page", None)
        scored["ms"] = summarize(times[name])
        scored["errors"] = sum(1 for p in pred.values() if p.get("error"))
        scored["rejected"] = sum(1 for p in pred.values() if p.get("rejected"))
        body[name] = scored
    refs = {p.id: scorer.silver_labels(p.html) for p in pages}
    meta = {name: scorer.score_meta(refs, preds[name], ids) for name in META_NAMES}
    minute = {name: _minute_agreement(refs, preds[name]) for name in META_NAMES}
    language = {name: sum(1 for p in preds[name].values() if p.get("language")) / len(ids)
                for name in ("news-worker", "news-worker (text)")}
    rejections: dict[str, dict[str, int]] = {}
    for name in ("news-worker", "news-worker (text)"):
        for p in preds[name].values():
            if p.get("rejected"):
                rejections.setdefault(name, {}).setdefault(p["rejected"], 0)
                rejections[name][p["rejected"]] += 1
    return {"n_pages": len(ids), "body": body, "meta": meta, "minute": minute,
            "language_coverage": language, "rejections": rejections,
            "plot": _plot(ctx, body)}


def render(data: dict[str, Any]) -> str:
    """The section's Markdown for REPORT.md."""
    body = data["body"]
    rows = [[n, fmt(b["f1"], 3) + " ± " + fmt(b.get("f1_std"), 3), fmt(b["precision"], 3),
             fmt(b["recall"], 3), fmt(b["accuracy"], 3), b["n_empty_pred"],
             fmt(b["ms"].get("median")), fmt(b["ms"].get("p90"))] for n, b in body.items()]
    out = [
        f"{data['n_pages']} pages. Body metric: eval_extract.py (4-gram shingles, macro P/R, F1 "
        "of the two; ± = bootstrap std over pages). First rows: the HTML; rows marked text: the "
        "same pages rendered with `html_text.extract_text(html, guess_layout=True)`. news-worker "
        "gets the text as a raw-page message with a `text` field; trafilatura and jusText get it "
        "as HTML with one escaped `<p>` per non-blank line (their most favourable framing); "
        "'raw rendered text' scores the whole text as the body. ms = wall time per page in "
        "this loop (informational; section 2 measures speed properly).",
        "",
        table(["extractor", "F1", "P", "R", "exact", "empty", "ms median", "ms p90"], rows),
        "",
        f"![body F1]({data['plot']})",
        "",
        "### Metadata agreement with what the pages declare (`--silver-meta`)",
        "",
        "exact / lenient as eval_extract.py defines them; n = pages declaring the field. "
        "'minute' = share of pages declaring a zoned publication timestamp whose instant we "
        "give right to the minute.",
        "",
    ]
    rows = []
    for name, fields in data["meta"].items():
        cells = [name]
        for f in ("headline", "datePublished", "dateModified", "author"):
            v = fields.get(f)
            cells.append(f"{fmt(v['acc_exact'], 2)} / {fmt(v['acc_lenient'], 2)} (n={v['n_ref']})"
                         if v else "–")
        m = data["minute"][name]
        cells.append(f"{fmt(m['right_to_minute'], 2)} (n={m['n_zoned']})")
        rows.append(cells)
    out.append(table(["extractor", "headline", "datePublished", "dateModified", "author",
                      "minute"], rows))
    lang = ", ".join(f"{k}: {v:.0%}" for k, v in data["language_coverage"].items())
    out += ["", f"Articles with a language: {lang}. news-worker rejections (scored as empty "
            f"bodies): {data['rejections'] or 'none'}."]
    return "\n".join(out)


def summary(data: dict[str, Any]) -> str:
    """The section's lines for SUMMARY.md."""
    rows = [[n, fmt(b["f1"], 3), fmt(b["precision"], 3), fmt(b["recall"], 3)]
            for n, b in data["body"].items()]
    meta_rows = []
    for name, fields in data["meta"].items():
        meta_rows.append([name] + [fmt((fields.get(f) or {}).get("acc_exact"), 2)
                                   for f in ("headline", "datePublished", "author")]
                         + [fmt(data["minute"][name]["right_to_minute"], 2)])
    return "\n".join([
        f"{data['n_pages']} pages; rows with (text)/(<p> per line)/raw: pages rendered as text.",
        "", table(["extractor", "F1", "P", "R"], rows), "",
        "Metadata, exact agreement with the pages' declared values:", "",
        table(["extractor", "headline", "published date", "author", "instant to the minute"],
              meta_rows),
    ])
