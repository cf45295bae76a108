"""Section 1's Markdown (REPORT.md, SUMMARY.md) and plot, from the results quality.py saved."""

from __future__ import annotations

from typing import Any

from bench.report import Context
from bench.stats import fmt, table

NW, TRAF = "news-worker", "trafilatura (default)"
FIELDS = {"silver": ("headline", "datePublished", "dateModified", "author"),
          "truth": ("headline", "datePublished", "author")}


def _ci(b: dict[str, Any], key: str = "") -> str:
    ci = b.get("ci") or {}
    lo, hi = ci.get(f"{key}lo"), ci.get(f"{key}hi")
    return f"[{fmt(lo, 3)}, {fmt(hi, 3)}]" if lo is not None else "–"


def _diff(b: dict[str, Any]) -> str:
    ci = b.get("ci") or {}
    if "diff_lo" not in ci:
        return "–"
    return f"[{ci['diff_lo']:+.3f}, {ci['diff_hi']:+.3f}]"


def _body_table(data: dict[str, Any]) -> str:
    rows = []
    for name, b in data["body"].items():
        halves = b.get("halves", {})
        rows.append([name, fmt(b["f1"], 3), _ci(b), _diff(b), fmt(b["precision"], 3),
                     fmt(b["recall"], 3), fmt(halves.get("A", {}).get("f1"), 3),
                     fmt(halves.get("B", {}).get("f1"), 3), b["n_empty_pred"],
                     fmt(b["ms"].get("median"))])
    return table(["extractor", "F1", "95 % interval", "F1 − baseline, 95 %", "P", "R",
                  "F1 half A", "F1 half B", "empty", "ms median"], rows)


def _meta_table(data: dict[str, Any]) -> str:
    fields = FIELDS[data["meta_kind"]]
    rows = []
    for name, by_field in data["meta"].items():
        halves = data["meta_halves"][name]
        cells = [name]
        for f in fields:
            v = by_field.get(f)
            if not v:
                cells.append("–")
                continue
            a = (halves["A"].get(f) or {}).get("acc_exact")
            b = (halves["B"].get(f) or {}).get("acc_exact")
            cells.append(f"{fmt(v['acc_exact'], 3)} (A {fmt(a, 2)}, B {fmt(b, 2)}; "
                         f"n={v['n_ref']})")
        if data["minute"]:
            m = data["minute"][name]
            cells.append(f"{fmt(m['right_to_minute'], 2)} (n={m['n_zoned']})")
        rows.append(cells)
    return table(["extractor", *fields, *(["instant to the minute"] if data["minute"] else [])],
                 rows)


def _corpus_md(name: str, data: dict[str, Any]) -> list[str]:
    if data.get("skipped"):
        return [f"### {name}", "", f"Skipped: {data['skipped']}", ""]
    pages = data["pages"]
    lang = ", ".join(f"{k}: {v:.0%}" for k, v in data["language_coverage"].items())
    what = ("what each page declares (JSON-LD / OpenGraph, `--silver-meta`)"
            if data["meta_kind"] == "silver" else "the ground truth's human-checked fields")
    out = [
        f"### {name} ({data['n_pages']} pages, fetch time fixed at {data['fetched_at']})", "",
        "Body: eval_extract.py (4-gram shingles, macro P/R, F1 of the two). Intervals: 95 % "
        "percentile bootstrap over pages, the same resampled pages for every extractor; "
        "'F1 − baseline' is the paired difference to trafilatura (default) on the HTML, to "
        "trafilatura on one `<p>` per line for the rendered-text rows: an interval above 0 is "
        "a lead the choice of pages does not explain. Halves: ids sorted, alternating.", "",
        _body_table(data), "",
        f"Per page, news-worker vs trafilatura (default): {pages['below_0.02']} pages more "
        f"than 0.02 F1 below, {pages['above_0.02']} more than 0.02 above, "
        f"{pages['below_0.30']} more than 0.30 below. Furthest below:", "",
        table(["page", "news-worker F1", "trafilatura F1", "difference"],
              [[w["id"][:16], fmt(w["news-worker"], 3), fmt(w["trafilatura"], 3),
                f"{w['delta']:+.3f}"] for w in pages["worst"][:8]]), "",
        f"Metadata, exact agreement with {what}, as eval_extract.py scores it:", "",
        _meta_table(data), "",
        f"Articles with a language: {lang}. news-worker rejections (scored as empty): "
        f"{data['rejections'] or 'none'}.", "",
    ]
    return out


def render(data: dict[str, Any]) -> str:
    """The section's Markdown for REPORT.md."""
    out = ["aeb-dev rows marked (text) / (<p> per line) / raw: the same pages rendered with "
           "`html_text.extract_text(html, guess_layout=True)`; news-worker gets the text as a "
           "raw-page message with a `text` field, trafilatura and jusText as HTML with one "
           "escaped `<p>` per non-blank line (their most favourable framing). ms = wall time "
           "per page in this loop (section 2 measures speed properly).", ""]
    for name, corpus in data["corpora"].items():
        out += _corpus_md(name, corpus)
    if data.get("plot"):
        out += [f"![body F1]({data['plot']})", ""]
    return "\n".join(out)


def summary(data: dict[str, Any]) -> str:
    """The section's lines for SUMMARY.md."""
    out: list[str] = []
    for name, d in data["corpora"].items():
        if d.get("skipped"):
            out += [f"**{name}**: skipped ({d['skipped']}).", ""]
            continue
        rows = [[n, fmt(b["f1"], 3), _ci(b), _diff(b), fmt(b["precision"], 3),
                 fmt(b["recall"], 3), fmt(b.get("halves", {}).get("A", {}).get("f1"), 3),
                 fmt(b.get("halves", {}).get("B", {}).get("f1"), 3)]
                for n, b in d["body"].items()]
        p = d["pages"]
        out += [f"**{name}** ({d['n_pages']} pages):", "",
                table(["extractor", "F1", "95 %", "− baseline, 95 %", "P", "R", "half A",
                       "half B"], rows), "",
                f"Pages vs trafilatura: {p['below_0.02']} > 0.02 below, {p['above_0.02']} > "
                f"0.02 above, {p['below_0.30']} > 0.30 below (worst "
                f"{p['worst'][0]['delta']:+.3f})." if p["worst"] else "", "",
                _meta_table(d), ""]
    return "\n".join(out)


def plot(ctx: Context, corpora: dict[str, Any]) -> str | None:
    """Body F1 per extractor with its 95 % interval, one panel per corpus."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = {n: c for n, c in corpora.items() if not c.get("skipped")}
    if not shown:
        return None
    fig, axes = plt.subplots(1, len(shown), figsize=(7 * len(shown), 5), squeeze=False)
    for ax, (corpus, data) in zip(axes[0], shown.items(), strict=True):
        names = list(data["body"])
        f1 = [data["body"][n]["f1"] for n in names]
        lo = [f - (data["body"][n].get("ci", {}).get("lo", f)) for n, f in zip(names, f1,
                                                                               strict=True)]
        hi = [(data["body"][n].get("ci", {}).get("hi", f)) - f for n, f in zip(names, f1,
                                                                               strict=True)]
        y = list(range(len(names)))
        colors = ["tab:blue" if n.startswith("news-worker") else "tab:gray" for n in names]
        ax.barh(y, f1, xerr=[lo, hi], color=colors)
        ax.set_yticks(y, names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0.5, 1.02)
        ax.set_title(f"{corpus} ({data['n_pages']} pages)")
        ax.set_xlabel("body F1 (eval_extract.py; bars: 95 % bootstrap interval)")
        for yi, v in zip(y, f1, strict=True):
            ax.text(0.51, yi, f"{v:.3f}", va="center", fontsize=8, color="white")
    fig.tight_layout()
    name = "quality_f1.png"
    fig.savefig(ctx.path(name), dpi=100)
    plt.close(fig)
    return name
