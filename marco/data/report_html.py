"""report.html: one self-contained page (inline SVG, no scripts, no network) a person can skim."""

from html import escape

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.warn{background:#fff4e5;border-left:4px solid #f90;padding:.6em 1em}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:8em}
.card b{display:block;font-size:1.6em}code{background:#f4f4f4;padding:0 3px}
.ex{border:1px solid #e4e4e4;border-radius:6px;padding:.5em .8em;margin:.5em 0}.ex pre{white-space:pre-wrap;margin:.3em 0;
font:13px/1.4 ui-monospace,monospace;background:#fafafa;padding:.4em}mark{background:#ffd54a}.label{color:#555;font-size:.9em}
"""


def _bars(items: list, width: int = 900, bar_height: int = 18, color: str = "#4a7bd0") -> str:
    """Horizontal bar chart of (label, value) pairs."""
    if not items:
        return "<p>none</p>"
    top = max(v for _, v in items) or 1
    label_w, rows = 360, []
    for i, (label, value) in enumerate(items):
        y = i * (bar_height + 4)
        w = (width - label_w - 60) * value / top
        rows.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="12">{escape(str(label)[:55])}</text>'
                    f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{color}"/>'
                    f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="12">{value}</text>')
    height = len(items) * (bar_height + 4)
    return f'<svg width="{width}" height="{height}" role="img">{"".join(rows)}</svg>'


def _histogram(lengths: dict, width: int = 900, height: int = 180) -> str:
    hist = lengths.get("histogram")
    if not hist:
        return "<p>no valid conversations</p>"
    counts, edges = hist["counts"], hist["edges"]
    top, bar_w, parts = max(counts) or 1, width / len(counts), []
    for i, c in enumerate(counts):
        h = (height - 30) * c / top
        parts.append(f'<rect x="{i * bar_w:.1f}" y="{height - 20 - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" fill="#5aa469">'
                     f'<title>{edges[i]:g}-{edges[i + 1]:g} {lengths["unit"]}: {c}</title></rect>')
    parts.append(f'<text x="0" y="{height - 4}" font-size="12">{edges[0]:g} {lengths["unit"]}</text>'
                 f'<text x="{width}" y="{height - 4}" font-size="12" text-anchor="end">{edges[-1]:g}</text>')
    return f'<svg width="{width}" height="{height}" role="img">{"".join(parts)}</svg>'


def _table(header: list, rows: list) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="n">{c}</td>' if isinstance(c, (int, float)) else f"<td>{escape(str(c))}</td>"
                                    for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def highlighted(text: str, evidence: str) -> str:
    """The text, escaped, with the first occurrence of the evidence marked."""
    at = text.find(evidence) if evidence else -1
    if at < 0:
        return escape(text)
    return f"{escape(text[:at])}<mark>{escape(evidence)}</mark>{escape(text[at + len(evidence):])}"


def _example(example: dict, title: str = "") -> str:
    label = f' <span class="label">[{escape(example["label"])}]</span>' if example.get("label") else ""
    return (f'<div class="ex"><b>{escape(title or example["where"])}</b>{label}<br>{escape(example["detail"])}'
            f'<pre>{highlighted(example["text"], example["evidence"])}</pre></div>')


def _examples(report: dict) -> str:
    found = report.get("examples", {})
    meanings = report.get("reasons", {})
    parts = []
    if found.get("templates"):
        parts.append("<h3>template: one entry per template, its variants collapsed, with the replies it rejected</h3>")
        parts.extend(_example(g["example"], f"{g['count']} rejected, {len(g['variants'])}+ variants: "
                              + " | ".join(g["variants"][:3])) for g in found["templates"])
    for reason, examples in found.get("rejected", {}).items():
        parts.append(f"<h3>{escape(reason)}: {escape(meanings.get(reason, ''))}</h3>")
        parts.extend(_example(e) for e in examples)
    for reason, examples in found.get("flagged", {}).items():
        parts.append(f"<h3>kept but flagged: {escape(reason)}</h3>")
        parts.extend(_example(e) for e in examples)
    return "".join(parts) or "<p>nothing rejected</p>"


def _review(review: dict) -> str:
    """A reader's decisions (--overrides): how often the reader, taken as right, agreed with each verdict."""
    rows = [(verdict, t["reviewed"], t["agreed"], f"{t['precision']:.0%}") for verdict, t in review["by_verdict"].items()]
    return (f"<h2>Reviewed by a reader</h2><p>{review['records_reviewed']} records reviewed ({review['reviewers']} "
            f"reviewers, <code>{escape(review['overrides'])}</code>): {review['dropped']} kept records dropped, "
            f"{review['kept']} rejected records kept. A rejection or a flag is agreed with by a Drop, a kept record "
            "by a Keep; precision is the share agreed with, on what was reviewed.</p>"
            + _table(["verdict", "reviewed", "reader agreed", "precision"], rows))


def _prompt_side(side: dict) -> str:
    if not side:
        return "<p>no valid conversations</p>"
    rows = [(t["text"][:200], t["count"], f"{t['share']:.1%}") for t in side["top_first_turns"]]
    prefixes = [(p["text"], p["count"], f"{p['share']:.1%}") for p in side["top_prefixes"]]
    many = [(m["prompt"][:200], m["replies"]) for m in side["many_replies"]]
    return (f"<p>{side['distinct_first_turns']} distinct first user turns in {side['conversations']} conversations.</p>"
            + _table(["most common first user turns", "conversations", "share"], rows)
            + (_table(["most common opening words of first user turns", "conversations", "share"], prefixes) if prefixes else "")
            + (_table(["prompts with many different replies", "different replies"], many) if many else ""))


def _acted(templates: dict) -> str:
    acted = templates.get("acted", {})
    return ", ".join(f"{n} {what}" for what, n in acted.items()) or "nothing done"


def _variety(found: dict) -> str:
    if not found:
        return "<p>not measured</p>"
    if not found["clusters"]:
        return f"<p>{escape(found.get('note', 'no requests'))}</p>"
    kept, before = found["kept"], found["deduplicated"]
    sample = (f"a seeded sample of {found['sampled']} of the {found['deduplicated_requests']}"
              if found["sampled"] < found["deduplicated_requests"] else f"all {found['sampled']}")
    examples = ["<br>".join(f"<code>{escape(str(e['name']))}</code> {escape(e['text'])}" for e in c["examples"])
                for c in found["clusters"]]
    rows = "".join(
        f'<tr class="kind"><td>{escape(c["label"])}</td><td class="n">{c["kept_share"]:.1%}</td><td class="n">{c["share"]:.1%}</td>'
        f'<td>{escape(", ".join(c["top_words"]))}</td><td>{shown}</td></tr>' for c, shown in zip(found["clusters"], examples))
    fit = f"silhouette {found['silhouette']}" if found["silhouette"] is not None else "all alike: one kind"
    return (f"<p>First user turns of {sample} deduplicated conversations, grouped by {escape(found['method'])} and k-means "
            f"({fit}). Largest kind: {kept['largest_share']:.0%} of the kept, "
            f"{before['largest_share']:.0%} of the deduplicated; effective number of kinds (exp entropy): "
            f"{kept['effective_kinds']} kept, {before['effective_kinds']} deduplicated.</p>"
            + (f'<p class="warn">{escape(found["warning"])}</p>' if found["warning"] else "")
            + _bars([(c["label"], c["kept"]) for c in found["clusters"]], color="#3a9a8a")
            + "<table><tr><th>kind (top words)</th><th>kept</th><th>deduplicated</th><th>distinctive words</th>"
            f"<th>examples nearest its centre</th></tr>{rows}</table>")


def render(report: dict) -> str:
    counts, tmpl, div = report["counts"], report["templates"], report["diversity"]
    cards = "".join(f'<div class="card"><b>{v}</b>{escape(k)}</div>' for k, v in
                    (("input lines", counts["input"]), ("kept", counts["kept"]), ("rejected", counts["rejected"]),
                     ("template rate", f"{tmpl['template_rate']:.1%}"),
                     ("distinct-2 (kept)", div["kept"]["distinct_2"])))
    warnings = "".join(f"<li>{escape(w)}</li>" for w in report["warnings"])
    dup_rows = [(c["kept"], c["size"], ", ".join(map(str, c["duplicates"]))) for kind in ("exact_duplicates", "near_duplicates")
                for c in report[kind]["largest"]]
    groups = "".join(f"<h3>by {escape(field)}</h3>" + _table(
        ["value", "records", "kept", "exact dup", "near dup", "template", "invalid", "dup share"],
        [(r["value"], r["records"], r["kept"], r["exact_duplicate"], r["near_duplicate"], r["template"], r["invalid"],
          f"{r['duplicate_share']:.0%}") for r in rows[:20]]) for field, rows in report["groups"].items())
    diversity_rows = [(k, div["deduplicated"][k], div["kept"][k]) for k in div["kept"] if k != "top_opening"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>marco data report: {escape(report['source'])}</title>
<style>{_STYLE}</style></head><body>
<h1>Data report: <code>{escape(report['source'])}</code></h1>
<div class="cards">{cards}</div>
{f'<h2>Findings</h2><ul class="warn">{warnings}</ul>' if warnings else '<h2>Findings</h2><p>No duplicates, templates or invalid lines found.</p>'}
<p>Formats read: {escape(', '.join(f"{k} ({v})" for k, v in report.get('formats', {}).items()) or 'none')}</p>
<h2>Rejections by reason</h2>{_bars(list(counts['by_reason'].items()), color='#d0604a')}
{_review(report['review']) if report.get('review') else ''}
<h2>Examples by reason (matched words highlighted)</h2>{_examples(report)}
<h2>Prompt side</h2>{_prompt_side(report.get('prompts'))}
<h2>Kinds of request (variety)</h2>{_variety(report.get('variety'))}
<h2>Template patterns ({tmpl['templated_replies']} of {tmpl['replies_scanned']} replies; action {escape(tmpl['action'])}: a pattern in {tmpl['reject_share']:.0%} of replies or more rejects; {_acted(tmpl)})</h2>
{_bars([(f"{t['kind']}: {t['text']}", t['count']) for t in tmpl['found'][:15]], color='#c77dba')}
{_table(['kind', 'pattern', 'replies', 'share', 'verdict', 'examples'], [(t['kind'], t['text'], t['count'], f"{t['share']:.1%}", 'rejects' if t['rejects'] else 'flagged', ', '.join(map(str, t['examples']))) for t in tmpl['found'][:30]]) if tmpl['found'] else ''}
<h2>Top openings of assistant replies</h2>{_bars(report['top_openings'])}
<h2>Conversation length ({escape(report['lengths']['unit'])})</h2>{_histogram(report['lengths'])}
<p>mean {report['lengths'].get('mean', 0)}, median {report['lengths'].get('p50', 0)}, p90 {report['lengths'].get('p90', 0)}, max {report['lengths'].get('p100', 0)}</p>
<h2>Diversity of assistant replies</h2>{_table(['metric', 'before cleaning (valid, deduplicated)', 'kept'], diversity_rows)}
<h2>Largest duplicate clusters</h2>{_bars([(f"{kept} (+{size - 1})", size) for kept, size, _ in dup_rows[:15]], color='#e0a030') if dup_rows else ''}
{_table(['kept', 'size', 'duplicates'], dup_rows) if dup_rows else '<p>none</p>'}
<h2>Balance</h2>{groups or '<p>no grouping field</p>'}
<h2>Settings</h2>{_table(['setting', 'value'], [(k, str(v)) for k, v in report['settings'].items()])}
</body></html>"""
