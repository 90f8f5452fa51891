"""Where data is cleaned: validate, decontaminate, drop exact and near duplicates, templated and defective
conversations, audit the prompt side, report.

Every input line ends in exactly one of `kept` or `rejected` (with a reason from reasons.py); `run()` checks
that rule before it returns. Writing is outputs.py's job.
"""

import functools
import hashlib
from collections import Counter
from dataclasses import asdict, dataclass

from . import filters, metrics, prompts, report_examples, templates
from .coverage import coverage
from .config import CleaningConfig
from .dedup import exact_duplicates, near_duplicates
from .evidence import Reply
from .formats import converted, record_name
from .load import UnusableInput, read_rows, reject
from .outputs import write_outputs, write_report
from .probes import decontaminate, probe_questions
from .reasons import REASONS, VALIDATION
from .text import normalized_turns

GROUP_FIELDS = ("topic", "type", "category", "level")
_UNREADABLE = {"unknown_format", "not_an_object", "invalid_json", "blank_line"}  # rows with no known format


@dataclass
class CleanResult:
    rows: list  # every input row, each with its rejection or None
    kept: list  # records to train on, in the `messages` format
    rejected: list  # original records (or verbatim lines) with their `rejection`
    report: dict


def conversation_text(messages: list) -> str:
    """The text duplicates are judged on: every turn with its role."""
    return "\n".join(f"{m['role']}: {m['content']}" for m in messages)


def normalized_conversation(messages: list, turns: list[str]) -> str:
    """normalize(conversation_text(messages)) from its normalised turns: "role: " normalises to "role ", and a turn
    that normalises to nothing leaves no double space."""
    return " ".join(part for m, turn in zip(messages, turns) for part in (m["role"], turn) if part)


class ConversationTexts:
    """The normalised conversation texts of some rows, each built from its normalised turns when read, so those of a
    million conversations are never all held at once (next to the turns) as a list would."""

    def __init__(self, rows: list, indices: list, turns: dict):
        self.rows, self.indices, self.turns = rows, indices, turns

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        i = self.indices[k]
        return normalized_conversation(self.rows[i].messages, self.turns[i])

    def __iter__(self):
        return (normalized_conversation(self.rows[i].messages, self.turns[i]) for i in self.indices)


def _digest(text: str) -> bytes:
    """What exact duplicates are keyed on: 16 bytes instead of the whole text (a collision among 4 billion texts: under 2^-64)."""
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _group_fields(records: list, asked) -> list:
    if asked:
        return list(asked)
    return [f for f in GROUP_FIELDS if records and sum(f in r for r in records) >= len(records) / 2]


def _lengths(rows: list, normalized: list, tokenizer) -> dict:
    """Tokens per conversation with a tokenizer, else words of its normalised text."""
    if tokenizer is not None and rows:  # (a tokenizer refuses an empty batch)
        texts = [" ".join(m["content"] for m in r.messages) for r in rows]
        return metrics.length_stats([len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]], "tokens")
    return metrics.length_stats([t.count(" ") + 1 if t else 0 for t in normalized], "words")


def _require_known_format(source: str, rows: list) -> None:
    """A file in which no record is in a known format is a wrong file, not a dataset with nothing to keep; so is an
    empty one."""
    if not rows:
        raise UnusableInput(f"{source}: empty: no records to read")
    if all(r.rejection and r.rejection["reason"] in _UNREADABLE for r in rows):
        first = next((r for r in rows if r.rejection["reason"] == "unknown_format"), rows[0])
        raise UnusableInput(f"{source}: no record in a known format (messages, conversations, prompt/completion, "
                            f"instruction/output); first: {first.rejection['detail'].removeprefix(first.where + ': ')}")


def _reject_probe_overlaps(rows: list, valid: list, questions: list) -> None:
    for hit in decontaminate([rows[i].messages for i in valid], [q for _, q in questions]):
        row = rows[valid[hit.conversation]]
        probe_id, question = questions[hit.probe]
        kind = "exact" if hit.exact else f"near ({hit.similarity:.0%} of its words)"
        reject(row, "probe_overlap", f"{row.where}: user turn is an {kind} duplicate of probe {probe_id} "
               f"\"{question[:120]}\"", f"messages[{hit.turn}].content", duplicate_of=probe_id,
               evidence=row.messages[hit.turn]["content"])


def _cite(scan, hits: list, reply: str) -> tuple[int, str]:
    """(template, evidence): of the reply's templates, the one that matches most of the reply's words (the most
    used on a tie), so the citation shows the template's variant as fully as the reply has it."""
    best, words = (0, 0, hits[0], reply.strip()), Reply(reply)  # nothing located: the reply is the evidence
    for t in hits:
        found = words.locate(scan.templates[t].kind, scan.templates[t].text)
        if found:
            best = max(best, (found[3], -t, t, found[0]))
    return best[2], best[3]


def _reject_templates(rows: list, distinct: list, names: list, cfg, turns: dict) -> tuple:
    """Scan the replies of the distinct conversations; reject those that use a template, quoting its words.
    `turns` holds each row's normalised turns; `cited` maps each rejected row to the template its rejection quotes."""
    owners, replies, normalized_replies, cited = [], [], [], {}
    for i in distinct:
        for m, message in enumerate(rows[i].messages):
            if message["role"] == "assistant":
                owners.append((i, m))
                replies.append(message["content"])
                normalized_replies.append(turns[i][m])
    scan = templates.scan(replies, [names[i] for i, _ in owners], cfg, normalized_replies)
    if cfg.template_filter:
        for reply, ((owner, m), hits) in enumerate(zip(owners, scan.hits)):
            if hits and rows[owner].rejection is None:
                t, evidence = _cite(scan, hits, replies[reply])
                more = f" and {len(hits) - 1} more" if len(hits) > 1 else ""
                template = scan.templates[t]
                reject(rows[owner], "template", f"{rows[owner].where}: assistant reply uses the {template.kind} "
                       f"template \"{evidence[:200]}\" ({template.share:.0%} of replies){more}", f"messages[{m}].content",
                       evidence=evidence)
                cited[owner] = t
    return owners, replies, normalized_replies, scan, cited


def run(source: str, cfg: CleaningConfig = None, tokenizer=None, split: str = "train") -> CleanResult:
    """Audit and clean `source` (a .jsonl/.json file or a Hub dataset name). Writes nothing."""
    cfg = cfg or CleaningConfig()
    questions = probe_questions(cfg.decontaminate_probes) if cfg.decontaminate_probes else []  # a bad probes file fails before any work
    rows = read_rows(source, cfg.max_chars, split)
    _require_known_format(source, rows)
    names = [record_name(r.record, r.line) for r in rows]
    valid = [i for i, r in enumerate(rows) if r.rejection is None]
    conversations = [rows[i].messages for i in valid]
    turns = dict(zip(valid, normalized_turns(conversations)))
    # the content filters and the prompt audit, on the other core while duplicates and templates are found
    audit_prompts = functools.partial(prompts.audit, conversations, [turns[i] for i in valid])
    finish_filters = filters.start(rows, valid, cfg, {"prompts": audit_prompts})
    if questions:
        _reject_probe_overlaps(rows, valid, questions)
    candidates = [i for i in valid if rows[i].rejection is None]
    lengths = _lengths([rows[i] for i in candidates], ConversationTexts(rows, candidates, turns), tokenizer)

    for dup in exact_duplicates([_digest(text) for text in ConversationTexts(rows, candidates, turns)]):
        row, twin = candidates[dup.index], candidates[dup.kept]
        reject(rows[row], "exact_duplicate", f"{rows[row].where}: same conversation as {names[twin]} "
               "after normalisation", duplicate_of=names[twin])
    unique = [i for i in candidates if rows[i].rejection is None]
    for dup in near_duplicates(ConversationTexts(rows, unique, turns), cfg.near_dup_threshold, cfg.shingle_words,
                               cfg.num_perm):
        row, twin = unique[dup.index], unique[dup.kept]
        reject(rows[row], "near_duplicate", f"{rows[row].where}: Jaccard {dup.similarity:.2f} with "
               f"{names[twin]} (threshold {cfg.near_dup_threshold})", duplicate_of=names[twin])
    distinct = [i for i in unique if rows[i].rejection is None]
    if cfg.reject_duplicate_prompts:
        for index, earlier in prompts.duplicate_prompts([rows[i].messages for i in distinct]):
            row, twin = distinct[index], distinct[earlier]
            reject(rows[row], "duplicate_prompt", f"{rows[row].where}: the same user side as {names[twin]}",
                   duplicate_of=names[twin])
        distinct = [i for i in distinct if rows[i].rejection is None]

    owners, replies, normalized_replies, scan, cited = _reject_templates(rows, distinct, names, cfg, turns)
    del turns
    filter_counts, side_results = finish_filters()

    kept = [_kept_record(r) for r in rows if r.rejection is None]
    rejected = [{**r.record, "rejection": r.rejection} if r.record is not None else {"raw": r.raw, "rejection": r.rejection}
                for r in rows if r.rejection is not None]
    if len(kept) + len(rejected) != len(rows):
        raise AssertionError(f"conservation broken: {len(kept)} kept + {len(rejected)} rejected != {len(rows)} lines")
    kept_replies = [k for k, (owner, _) in enumerate(owners) if rows[owner].rejection is None]
    report = _report(source, cfg, rows, names, valid, lengths, scan, replies, normalized_replies, kept_replies)
    report["filters"] = filter_counts
    report["prompts"] = side_results["prompts"]
    report["examples"] = report_examples.collect(rows, scan, cited)
    if tokenizer is not None:  # what the tokenizer cannot carry of the messages that will be trained on
        report["tokenizer_coverage"] = coverage(tokenizer, [m["content"] for r in kept for m in r["messages"]])
    report["warnings"] = _warnings(report)
    return CleanResult(rows, kept, rejected, report)


def _kept_record(row) -> dict:
    record = converted(row.record, row.fmt, row.messages)
    return {**record, "flags": row.flags} if row.flags else record


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
    return {
        "source": source,
        "settings": asdict(cfg),
        "counts": {"input": len(rows), "kept": reasons.count(None), "rejected": len(rows) - reasons.count(None),
                   "by_reason": dict(by_reason.most_common()), "flagged": sum(bool(r.flags) for r in rows)},
        "reasons": {key: REASONS[key].meaning for key in by_reason},
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


def _warnings(report: dict) -> list[str]:
    """The findings a person should read first."""
    found = []
    counts = report["counts"]
    invalid = sum(n for reason, n in counts["by_reason"].items() if reason in VALIDATION)
    if invalid:
        found.append(f"{invalid} of {counts['input']} lines are not valid conversations")
    for reason in ("exact_duplicate", "near_duplicate", "probe_overlap"):
        if counts["by_reason"].get(reason):
            found.append(f"{counts['by_reason'][reason]} {reason.replace('_', ' ')}s")
    found.extend(prompts.warnings(report["prompts"]))
    for reason, tally in report["filters"].items():
        if tally["rejected"] + tally["stripped"] + tally["flagged"]:
            found.append(f"{reason}: {tally['rejected']} rejected, {tally['stripped']} stripped, "
                         f"{tally['flagged']} flagged")
    for field, rows in report["groups"].items():
        for row in rows:
            if row["duplicate_share"] >= 0.5 and row["records"] >= 5:
                dups = row["exact_duplicate"] + row["near_duplicate"]
                found.append(f"{field}={row['value']!r}: {dups} of {row['records']} records are duplicates")
    for t in report["templates"]["found"][:5]:
        found.append(f"template {t['kind']} '{t['text']}' in {t['count']} replies ({t['share']:.0%})")
    if report.get("tokenizer_coverage", {}).get("warning"):
        found.append(report["tokenizer_coverage"]["warning"])
    return found


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
