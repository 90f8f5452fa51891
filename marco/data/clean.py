"""Where data is cleaned: validate, drop exact and near duplicates and templated conversations, report.

Every input line ends in exactly one of `kept` or `rejected` (with a reason); `clean()` checks that rule
before it returns, and writes its outputs atomically.
"""

import os
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass

import orjson

from . import metrics, templates
from .config import CleaningConfig
from .dedup import exact_duplicates, near_duplicates
from .formats import converted, record_name
from .load import read_rows, reject
from .text import normalize_many

GROUP_FIELDS = ("topic", "type", "category", "level")


@dataclass
class CleanResult:
    rows: list  # every input row, each with its rejection or None
    kept: list  # records to train on, in the `messages` format
    rejected: list  # original records (or verbatim lines) with their `rejection`
    report: dict


def conversation_text(messages: list) -> str:
    """The text duplicates are judged on: every turn with its role."""
    return "\n".join(f"{m['role']}: {m['content']}" for m in messages)


def _describe(scan, reply_hits: list) -> str:
    parts = [f"{scan.templates[t].kind} '{scan.templates[t].text}' ({scan.templates[t].share:.0%} of replies)"
             for t in reply_hits[:3]]
    return "; ".join(parts)


def _group_fields(records: list, asked) -> list:
    if asked:
        return list(asked)
    return [f for f in GROUP_FIELDS if records and sum(f in r for r in records) >= len(records) / 2]


def _lengths(rows: list, normalized: list, tokenizer) -> dict:
    """Tokens per conversation with a tokenizer, else words of its normalised text."""
    if tokenizer is not None:
        texts = [" ".join(m["content"] for m in r.messages) for r in rows]
        return metrics.length_stats([len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]], "tokens")
    return metrics.length_stats([t.count(" ") + 1 if t else 0 for t in normalized], "words")


def run(source: str, cfg: CleaningConfig = None, tokenizer=None, split: str = "train") -> CleanResult:
    """Audit and clean `source` (a .jsonl/.json file or a Hub dataset name). Writes nothing."""
    cfg = cfg or CleaningConfig()
    rows = read_rows(source, cfg.max_chars, split)
    names = [record_name(r.record, r.line) for r in rows]
    valid = [i for i, r in enumerate(rows) if r.rejection is None]
    normalized = dict(zip(valid, normalize_many([conversation_text(rows[i].messages) for i in valid])))
    lengths = _lengths([rows[i] for i in valid], [normalized[i] for i in valid], tokenizer)

    for dup in exact_duplicates([normalized[i] for i in valid]):
        row, twin = valid[dup.index], valid[dup.kept]
        reject(rows[row], "exact_duplicate", f"{source}:{rows[row].line}: same conversation as {names[twin]} "
               "after normalisation", duplicate_of=names[twin])
    unique = [i for i in valid if rows[i].rejection is None]
    for dup in near_duplicates([normalized[i] for i in unique], cfg.near_dup_threshold, cfg.shingle_words,
                               cfg.num_perm):
        row, twin = unique[dup.index], unique[dup.kept]
        reject(rows[row], "near_duplicate", f"{source}:{rows[row].line}: Jaccard {dup.similarity:.2f} with "
               f"{names[twin]} (threshold {cfg.near_dup_threshold})", duplicate_of=names[twin])

    del normalized  # the conversation texts are done with: free them before the replies are scanned
    distinct = [i for i in unique if rows[i].rejection is None]
    owners, replies = [], []
    for i in distinct:
        for message in rows[i].messages:
            if message["role"] == "assistant":
                owners.append(i)
                replies.append(message["content"])
    normalized_replies = normalize_many(replies)
    scan = templates.scan(replies, [names[i] for i in owners], cfg, normalized_replies)
    if cfg.template_filter:
        for reply, (owner, hits) in enumerate(zip(owners, scan.hits)):
            if hits and rows[owner].rejection is None:
                reject(rows[owner], "template", f"{source}:{rows[owner].line}: assistant reply uses "
                       f"{_describe(scan, hits)}", field="messages")

    kept = [converted(r.record, r.fmt, r.messages) for r in rows if r.rejection is None]
    rejected = [{**r.record, "rejection": r.rejection} if r.record is not None else {"raw": r.raw, "rejection": r.rejection}
                for r in rows if r.rejection is not None]
    if len(kept) + len(rejected) != len(rows):
        raise AssertionError(f"conservation broken: {len(kept)} kept + {len(rejected)} rejected != {len(rows)} lines")
    kept_replies = [k for k, owner in enumerate(owners) if rows[owner].rejection is None]
    report = _report(source, cfg, rows, names, valid, lengths, scan, replies, normalized_replies, kept_replies)
    return CleanResult(rows, kept, rejected, report)


def _clusters(rows: list, names: list, reason: str, top: int = 20) -> dict:
    clusters = {}
    for i, r in enumerate(rows):
        if r.rejection and r.rejection["reason"] == reason:
            clusters.setdefault(r.rejection["duplicate_of"], []).append(names[i])
    biggest = sorted(clusters.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))[:top]
    return {"rejected": sum(map(len, clusters.values())), "clusters": len(clusters),
            "largest": [{"kept": kept, "size": len(dups) + 1, "duplicates": dups[:10]} for kept, dups in biggest]}


def _report(source, cfg, rows, names, valid, lengths, scan, replies, normalized_replies, kept_replies) -> dict:
    reasons = [r.rejection["reason"] if r.rejection else None for r in rows]
    records = [rows[i].record for i in valid]
    groups = {f: metrics.group_breakdown([str(r.record.get(f)) if r.record else "(invalid)" for r in rows], reasons)
              for f in _group_fields(records, cfg.group_by)}
    by_reason = Counter(r for r in reasons if r)
    kept_normalized = [normalized_replies[k] for k in kept_replies]
    report = {
        "source": source,
        "settings": asdict(cfg),
        "counts": {"input": len(rows), "kept": reasons.count(None), "rejected": len(rows) - reasons.count(None),
                   "by_reason": dict(by_reason.most_common())},
        "formats": dict(Counter(rows[i].fmt for i in valid)),
        "exact_duplicates": _clusters(rows, names, "exact_duplicate"),
        "near_duplicates": _clusters(rows, names, "near_duplicate"),
        "templates": {"filtered": cfg.template_filter, "replies_scanned": len(replies),
                      "templated_replies": sum(scan.flagged), "template_rate": round(scan.rate, 4),
                      "found": [t.as_dict() for t in scan.templates[:50]]},
        "diversity": {"deduplicated": metrics.diversity(replies, normalized_replies, cfg.template_edge_words),
                      "kept": metrics.diversity([replies[k] for k in kept_replies], kept_normalized,
                                                cfg.template_edge_words)},
        "top_openings": metrics.top_openings(normalized_replies, cfg.template_edge_words),
        "lengths": lengths,
        "groups": groups,
    }
    report["warnings"] = _warnings(report)
    return report


def _warnings(report: dict) -> list[str]:
    """The findings a person should read first."""
    found = []
    counts = report["counts"]
    invalid = counts["rejected"] - sum(counts["by_reason"].get(r, 0) for r in ("exact_duplicate", "near_duplicate", "template"))
    if invalid:
        found.append(f"{invalid} of {counts['input']} lines are not valid conversations")
    for reason in ("exact_duplicate", "near_duplicate"):
        if counts["by_reason"].get(reason):
            found.append(f"{counts['by_reason'][reason]} {reason.replace('_', ' ')}s")
    for field, rows in report["groups"].items():
        for row in rows:
            if row["duplicate_share"] >= 0.5 and row["records"] >= 5:
                dups = row["exact_duplicate"] + row["near_duplicate"]
                found.append(f"{field}={row['value']!r}: {dups} of {row['records']} records are duplicates")
    for t in report["templates"]["found"][:5]:
        found.append(f"template {t['kind']} '{t['text']}' in {t['count']} replies ({t['share']:.0%})")
    return found


def _write_atomic(path: str, chunks) -> None:
    """Write to a temporary file beside `path`, then rename: a crash never leaves a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.writelines([chunks] if isinstance(chunks, bytes) else chunks)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def jsonl_lines(records: list):
    return (orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records)


def write_report(report: dict, out_dir: str) -> None:
    from .report_html import render

    os.makedirs(out_dir, exist_ok=True)
    _write_atomic(os.path.join(out_dir, "report.json"), orjson.dumps(report, option=orjson.OPT_INDENT_2))
    _write_atomic(os.path.join(out_dir, "report.html"), render(report).encode("utf-8"))


def write_outputs(result: CleanResult, out_dir: str) -> None:
    """kept.jsonl, rejected.jsonl, report.json and report.html in `out_dir`."""
    os.makedirs(out_dir, exist_ok=True)
    _write_atomic(os.path.join(out_dir, "kept.jsonl"), jsonl_lines(result.kept))
    _write_atomic(os.path.join(out_dir, "rejected.jsonl"), jsonl_lines(result.rejected))
    write_report(result.report, out_dir)


def clean(source: str, out_dir: str, cfg: CleaningConfig = None, tokenizer=None, split: str = "train") -> CleanResult:
    result = run(source, cfg, tokenizer, split)
    write_outputs(result, out_dir)
    return result


def audit(source: str, out_dir: str = None, cfg: CleaningConfig = None, tokenizer=None, split: str = "train") -> dict:
    """The report alone: what `clean` would do, with no data written."""
    report = run(source, cfg, tokenizer, split).report
    if out_dir:
        write_report(report, out_dir)
    return report
