"""Where data is cleaned: validate, decontaminate, drop exact and near duplicates, templated and defective
conversations, audit the prompt side, report.

Every input line ends in exactly one of `kept` or `rejected` (with a reason from reasons.py): a row holds its
rejection or none, and `CleanResult.records()` checks that it gives one record per input row. The corpus is read
once (corpus.py) and its text let go; each step reads again only the texts it must look at, and the records are
read again when they are written (outputs.py).
"""

from collections import Counter
from dataclasses import asdict, dataclass, replace

import numpy as np

from . import filters, metrics, overrides, report_examples, templates, variety
from .config import CleaningConfig
from .corpus import ROLE_NAMES, Corpus, normalized_conversation
from .coverage import coverage
from .dedup import exact_duplicates, near_duplicates
from .evidence import Reply
from .findings import Finding
from .formats import converted
from .lazy import LazyTexts
from .load import UnusableInput, open_source, reject
from .probes import probe_questions
from .prompts import user_side, warnings as prompt_warnings
from .reasons import REASONS, VALIDATION

_UNREADABLE = {"unknown_format", "not_an_object", "invalid_json", "blank_line"}  # rows with no known format
_MESSAGE_BITS = 24  # a reply's key is (row << 24) | message index (no conversation has 16M turns)
_CITED_AT_A_TIME = 16_384  # templated replies read again at a time to quote them


@dataclass
class CleanResult:
    rows: list  # every input row (its text let go), each with its rejection or None
    report: dict
    source: object  # where the records are read again: `records()`, `kept`, `rejected`

    def records(self, first: int = 0, stop: int = None):
        """(kept, record) for every input row from `first` to `stop` (the end), in order: a kept record as it is
        trained on (`messages` format, its flags), a rejected one as it came (or its verbatim line) with its
        `rejection`. Every row gives exactly one: a source that reads back other rows than it gave is an error."""
        stop = len(self.rows) if stop is None else stop
        position = first
        for chunk in self.source.chunks(first=first, stop=stop):
            for full in chunk:
                row = self.rows[position] if position < stop else None
                if row is None or row.line != full.line:
                    raise AssertionError(f"conservation broken: the source read back line {full.line} where "
                                         f"{len(self.rows)} rows were cleaned")
                position += 1
                if row.rejection is None:
                    record = converted(full.record, full.fmt, row.messages or full.messages)
                    yield True, {**record, "flags": row.flags} if row.flags else record
                elif full.record is not None:
                    yield False, {**full.record, "rejection": row.rejection}
                else:
                    yield False, {"raw": full.raw, "rejection": row.rejection}
        if position != stop:
            raise AssertionError(f"conservation broken: the source read back {position - first} of the "
                                 f"{stop - first} rows cleaned")

    @property
    def kept(self) -> list:
        return [record for kept, record in self.records() if kept]

    @property
    def rejected(self) -> list:
        return [record for kept, record in self.records() if not kept]

    def valid_records(self) -> list:
        """Every valid conversation, as training without cleaning takes them (a stripped sentence stays stripped)."""
        rows = iter(self.rows)
        return [converted(full.record, full.fmt, row.messages or full.messages)
                for chunk in self.source.chunks() for full, row in zip(chunk, rows) if full.rejection is None]


def _require_known_format(source: str, rows: list) -> None:
    """A file in which no record is in a known format is a wrong file, not a dataset with nothing to keep; so is an
    empty one."""
    if not rows:
        raise UnusableInput(f"{source}: empty: no records to read")
    if all(r.rejection and r.rejection["reason"] in _UNREADABLE for r in rows):
        first = next((r for r in rows if r.rejection["reason"] == "unknown_format"), rows[0])
        raise UnusableInput(f"{source}: no record in a known format (messages, conversations, prompt/completion, "
                            f"instruction/output); first: {first.rejection['detail'].removeprefix(first.where + ': ')}")


def _split(keys) -> tuple[list, list]:
    """(rows, message indices) of reply keys."""
    keys = np.asarray(keys, np.int64)
    return (keys >> _MESSAGE_BITS).tolist(), (keys & ((1 << _MESSAGE_BITS) - 1)).tolist()


def _texts(corpus: Corpus):
    """Fetchers for LazyTexts: normalised conversations by row, normalised and original replies by reply key."""
    def conversations(positions):
        return [normalized_conversation([ROLE_NAMES[r] for r in corpus.roles[p]], turns)
                for p, turns in zip(positions, corpus.spill.turns(positions))]

    def normalized_replies(keys):
        rows, messages = _split(keys)
        return [turns[m] for turns, m in zip(corpus.spill.turns(rows), messages)]

    def replies(keys):
        rows, messages = _split(keys)
        distinct = sorted(set(rows))
        read = dict(zip(distinct, corpus.source.reread(distinct)))
        return [read[row].messages[m]["content"] for row, m in zip(rows, messages)]

    return conversations, normalized_replies, replies


def _reject_duplicates(corpus: Corpus, conversations) -> list:
    """Exact, then near duplicates among the candidates; returns the distinct ones (row positions)."""
    rows, names, candidates = corpus.rows, corpus.names, corpus.candidates.tolist()
    for dup in exact_duplicates(corpus.digests):
        row, twin = candidates[dup.index], candidates[dup.kept]
        reject(rows[row], "exact_duplicate", f"{rows[row].where}: same conversation as {names[twin]} "
               "after normalisation", duplicate_of=names[twin])
    unique = [i for i in candidates if rows[i].rejection is None]
    cfg = corpus.cfg
    for dup in near_duplicates(LazyTexts(unique, conversations), cfg.near_dup_threshold, cfg.shingle_words,
                               cfg.num_perm, sketches=corpus.sketches_of(unique)):
        row, twin = unique[dup.index], unique[dup.kept]
        reject(rows[row], "near_duplicate", f"{rows[row].where}: Jaccard {dup.similarity:.2f} with "
               f"{names[twin]} (threshold {cfg.near_dup_threshold})", duplicate_of=names[twin])
    distinct = [i for i in unique if rows[i].rejection is None]
    if cfg.reject_duplicate_prompts:
        first = {}
        for index, side in enumerate(corpus.prompts.side_of(distinct).tolist()):
            twin = distinct[first.setdefault(side, index)]
            if twin != distinct[index]:
                row = distinct[index]
                reject(rows[row], "duplicate_prompt", f"{rows[row].where}: the same user side as {names[twin]}",
                       duplicate_of=names[twin])
        distinct = [i for i in distinct if rows[i].rejection is None]
    return distinct


def _cite(scan, hits: list, reply: str) -> tuple[int, str]:
    """(template, evidence): of the reply's templates, the one that matches most of the reply's words (the most
    used on a tie), so the citation shows the template's variant as fully as the reply has it."""
    best, words = (0, 0, hits[0], reply.strip()), Reply(reply)  # nothing located: the reply is the evidence
    for t in hits:
        found = words.locate(scan.templates[t].kind, scan.templates[t].text)
        if found:
            best = max(best, (found[3], -t, t, found[0]))
    return best[2], best[3]


def _template_finding(scan, hits: list, text: str, m: int) -> tuple[Finding, int]:
    t, evidence = _cite(scan, hits, text)
    template = scan.templates[t]
    more = f" and {len(hits) - 1} more" if len(hits) > 1 else ""
    start = text.find(evidence)
    return Finding("template", f"assistant reply uses the {template.kind} template \"{evidence[:200]}\" "
                   f"({template.share:.0%} of replies){more}", f"messages[{m}].content", evidence, start,
                   start + len(evidence) if start >= 0 else -1), t


def _judge_templates(corpus: Corpus, scan, replies) -> tuple[dict, dict]:
    """One pass over the templated replies: reject the conversations whose replies use a pattern common enough to teach
    a formula (template_reject_share; none with template=flag), quoting its words. Returns ({row: template cited},
    {row: the findings of its rarer patterns}, for `_act_on_rare_templates` once the filters have acted)."""
    rows, cfg, cited, rare = corpus.rows, corpus.cfg, {}, {}
    if cfg.template == "off":
        return cited, rare
    flagged = [k for k, hits in enumerate(scan.hits) if hits]
    for first in range(0, len(flagged), _CITED_AT_A_TIME):
        batch = flagged[first: first + _CITED_AT_A_TIME]
        for k, text, owner, m in zip(batch, replies.take(batch), *_split(replies.keys[batch])):
            if rows[owner].rejection is not None:
                continue
            hits = scan.hits[k]
            common = [t for t in hits if scan.templates[t].share >= cfg.template_reject_share]
            if common and cfg.template != "flag":
                finding, cited[owner] = _template_finding(scan, common, text, m)
                reject(rows[owner], "template", f"{rows[owner].where}: {finding.detail}", finding.field,
                       evidence=finding.evidence)
            else:
                rare.setdefault(owner, []).append(_template_finding(scan, hits, text, m)[0])
    return cited, rare


def _act_on_rare_templates(corpus: Corpus, rare: dict) -> dict:
    """Flag, or strip (template=strip), the rarer patterns' replies of the conversations still kept. Returns the
    counts."""
    rows, cfg = corpus.rows, corpus.cfg
    counts = {"rejected": 0, "stripped": 0, "flagged": 0}
    owners = sorted(o for o in rare if rows[o].rejection is None)
    for owner, full in zip(owners, corpus.source.reread(owners) if cfg.template == "strip" else [None] * len(owners)):
        row = rows[owner]
        row.messages = row.messages or (full.messages if full else None)
        for finding in rare[owner]:
            if row.rejection is None:
                finding = _located(row.messages, finding) if cfg.template == "strip" else finding
                counts[filters.act(row, finding, "strip" if finding.start >= 0 and cfg.template == "strip"
                                   else "flag")] += 1
        if not any(flag.get("action") == "stripped" for flag in row.flags or []):
            row.messages = None  # only a stripped conversation keeps its messages
    counts["rejected"] = sum(r.rejection is not None and r.rejection["reason"] == "template" for r in rows)
    return counts


def _located(messages: list, finding: Finding) -> Finding:
    """The finding's offsets in the messages as they are now (another filter may have stripped a sentence); a
    finding not found there is only flagged."""
    start = messages[filters.message_index(finding.field)]["content"].find(finding.evidence) if finding.evidence else -1
    return replace(finding, start=start, end=start + len(finding.evidence) if start >= 0 else -1)


def run(source: str, cfg: CleaningConfig = None, tokenizer=None, split: str = "train") -> CleanResult:
    """Audit and clean `source` (a .jsonl/.json file, a folder of .jsonl shards or a Hub dataset name). Writes
    nothing."""
    cfg = cfg or CleaningConfig()
    questions, decisions = inputs(cfg)
    data = open_source(source, cfg.max_chars, split)
    filtering = filters.Filtering(data, cfg)  # the content filters, on the other core while duplicates are found
    corpus = Corpus(data, cfg, tokenizer, questions, filtering.observe)
    try:
        corpus.read()
    except BaseException:
        filtering.stop()
        corpus.spill.close()
        raise
    return decide(source, corpus, filtering, decisions)


def inputs(cfg: CleaningConfig) -> tuple[list, list | None]:
    """The probes' questions and the reader's decisions: a bad probes or overrides file fails before any work."""
    questions = probe_questions(cfg.decontaminate_probes) if cfg.decontaminate_probes else []
    return questions, overrides.read(cfg.data_overrides) if cfg.data_overrides else None


def decide(source: str, corpus: Corpus, filtering, decisions: list | None) -> CleanResult:
    """Every verdict on a corpus that was read (by `run`, or by the datatrove engine's tasks, merged): duplicates,
    templates, the filters' findings (`filtering.finish`), the reader's decisions; and the report."""
    cfg, data, tokenizer = corpus.cfg, corpus.source, corpus.tokenizer
    grouping = variety.Grouping()  # the kinds of request, on the other core while templates are found
    try:
        rows = corpus.rows
        _require_known_format(source, rows)
        conversations, normalized_replies, original_replies = _texts(corpus)
        distinct = _reject_duplicates(corpus, conversations)
        grouping.start(corpus, distinct, lambda positions: _first_user_turns(data, positions))
        keys = np.array([(i << _MESSAGE_BITS) | m for i in distinct for m, role in enumerate(corpus.roles[i]) if role == "a"],
                        dtype=np.int64)
        owners = _split(keys)[0]
        replies, normalized = LazyTexts(keys, original_replies), LazyTexts(keys, normalized_replies)
        scan = templates.scan(replies, [corpus.names[i] for i in owners], cfg, normalized)
        cited, rare = _judge_templates(corpus, scan, replies)
        filter_counts = filtering.finish(rows)
        template_counts = _act_on_rare_templates(corpus, rare)
        kept_replies = np.flatnonzero([rows[i].rejection is None for i in owners])
        characters = (sum(corpus.assistant_characters[i] for i in distinct),
                      sum(corpus.assistant_characters[i] for i in distinct if rows[i].rejection is None))
        report = _report(source, cfg, corpus, scan, replies, normalized, kept_replies, characters)
        report["templates"]["acted"] = template_counts
        report["filters"] = filter_counts
        report["prompts"] = corpus.prompts.result(lambda positions: _first_user_turns(data, positions),
                                                   lambda positions: _user_sides(corpus, positions))
        report["examples"] = report_examples.collect(rows, scan, cited, data)
        report["variety"] = grouping.result()
    except BaseException:
        filtering.stop()
        grouping.stop()
        raise
    finally:
        corpus.spill.close()
    result = CleanResult(rows, report, data)
    if decisions is not None:  # the reader's decisions, last, over every filter's; the counts are those after them
        report["review"] = overrides.apply(rows, corpus.names, decisions, cfg.data_overrides)
        report.update(_counts(rows))
    if tokenizer is not None:  # what the tokenizer cannot carry of the messages that will be trained on
        report["tokenizer_coverage"] = coverage(tokenizer, [m["content"] for r in result.kept for m in r["messages"]])
    report["warnings"] = _warnings(report) + overrides.warnings(report.get("review"))
    return result


def _first_user_turns(data, positions) -> list[str]:
    return [next(m["content"] for m in row.messages if m["role"] == "user") for row in data.reread(positions)]


def _user_sides(corpus: Corpus, positions) -> list[str]:
    return [user_side(turns, corpus.roles[p]) for p, turns in zip(positions, corpus.spill.turns(positions))]


def _clusters(rows: list, names: list, reason: str, top: int = 20) -> dict:
    clusters = {}
    for i, r in enumerate(rows):
        if r.rejection and r.rejection["reason"] == reason:
            clusters.setdefault(r.rejection["duplicate_of"], []).append(names[i])
    biggest = sorted(clusters.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))[:top]
    return {"rejected": sum(map(len, clusters.values())), "clusters": len(clusters),
            "largest": [{"kept": kept, "size": len(dups) + 1, "duplicates": dups[:10]} for kept, dups in biggest]}


def _reasons(rows: list) -> list:
    return [r.rejection["reason"] if r.rejection else None for r in rows]


def _counts(rows: list) -> dict:
    """report.json's `counts` and the `reasons` they give."""
    reasons = _reasons(rows)
    by_reason = Counter(r for r in reasons if r)
    return {"counts": {"input": len(rows), "kept": reasons.count(None), "rejected": len(rows) - reasons.count(None),
                       "by_reason": dict(by_reason.most_common()), "flagged": sum(bool(r.flags) for r in rows)},
            "reasons": {key: REASONS[key].meaning for key in by_reason}}


def _report(source, cfg, corpus, scan, replies, normalized, kept_replies, characters) -> dict:
    rows, names = corpus.rows, corpus.names
    reasons = _reasons(rows)
    return {
        "source": source,
        "settings": asdict(cfg),
        **_counts(rows),
        "formats": dict(corpus.formats),
        "exact_duplicates": _clusters(rows, names, "exact_duplicate"),
        "near_duplicates": _clusters(rows, names, "near_duplicate"),
        "templates": {"action": cfg.template, "reject_share": cfg.template_reject_share,
                      "replies_scanned": len(replies), "templated_replies": sum(scan.flagged),
                      "template_rate": round(scan.rate, 4),
                      "found": [{**t.as_dict(), "rejects": cfg.template in ("reject", "strip") and
                                 t.share >= cfg.template_reject_share} for t in scan.templates[:50]]},
        "diversity": {"deduplicated": metrics.diversity(replies, normalized, cfg.template_edge_words, characters[0]),
                      "kept": metrics.diversity(replies.subset(kept_replies), normalized.subset(kept_replies),
                                                cfg.template_edge_words, characters[1])},
        "top_openings": metrics.top_openings(normalized, cfg.template_edge_words),
        "lengths": corpus.length_stats(),
        "groups": corpus.groups.breakdown(cfg.group_by, reasons),
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
    found.extend(prompt_warnings(report["prompts"]))
    for reason, tally in report["filters"].items():
        if tally["rejected"] + tally["stripped"] + tally["flagged"]:
            found.append(f"{reason}: {tally['rejected']} rejected, {tally['stripped']} stripped, "
                         f"{tally['flagged']} flagged")
    for field, rows in report["groups"].items():
        for row in rows:
            if row["duplicate_share"] >= 0.5 and row["records"] >= 5:
                dups = row["exact_duplicate"] + row["near_duplicate"]
                found.append(f"{field}={row['value']!r}: {dups} of {row['records']} records are duplicates")
    if report.get("variety", {}).get("warning"):
        found.append(report["variety"]["warning"])
    for t in report["templates"]["found"][:5]:
        found.append(f"template {t['kind']} '{t['text']}' in {t['count']} replies ({t['share']:.0%})")
    if report.get("tokenizer_coverage", {}).get("warning"):
        found.append(report["tokenizer_coverage"]["warning"])
    return found


def clean(source: str, out_dir: str, cfg: CleaningConfig = None, tokenizer=None, split: str = "train") -> CleanResult:
    from .outputs import write_outputs

    result = run(source, cfg, tokenizer, split)
    write_outputs(result, out_dir)
    return result


def audit(source: str, out_dir: str = None, cfg: CleaningConfig = None, tokenizer=None, split: str = "train") -> dict:
    """The report alone: what `clean` would do, with no data written."""
    from .outputs import write_report

    report = run(source, cfg, tokenizer, split).report
    if out_dir:
        write_report(report, out_dir)
    return report
