"""A reader's decisions over the cleaner's verdicts: read an overrides file, apply it, and say how often the reader
agreed with each filter.

A reader marks records Keep or Drop in the app's Data review tab (`python app.py --data-review DIR`), which appends
one line per decision to DIR/overrides.jsonl: {"id", "decision": "keep" | "drop", "note", "reviewer", "time"}, the id
being the record's name as report.json and rejected.jsonl give it (its `id` field, else "line N"). Applied at the
end of a clean (`--overrides FILE`, train.py's `data_overrides`), the reader is right: a kept record marked drop is
rejected (reason reviewer_drop), a rejected one marked keep is kept with a `reviewer_keep` flag naming the filter it
overruled. A later decision on the same id replaces an earlier one. What no reader can keep: a line that is not a
conversation (a validation reason) and a probe's question (training on it voids the evaluation).
"""

import json
import os
from collections import Counter

from .load import UnusableInput, reject
from .reasons import VALIDATION

OVERRIDES_FILE = "overrides.jsonl"
DECISIONS = ("keep", "drop")
KEPT = "kept"  # the verdict of a record the cleaner kept unflagged
NOT_KEPT_BY_A_READER = VALIDATION | {"probe_overlap"}
NOT_KEPT_WHY = "a line that is not a valid conversation, or a probe's question, cannot be kept by a reader"
_SHOWN = 5  # ids quoted in the report when some cannot be applied


def _field_error(path: str, line: int, name: str, problem: str) -> UnusableInput:
    return UnusableInput(f"{path}:{line}: field {name}: {problem}")


def _decision(path: str, line: int, text: str) -> dict:
    try:
        record = json.loads(text)
    except ValueError as error:
        raise UnusableInput(f"{path}:{line}: invalid JSON ({error})") from None
    if not isinstance(record, dict):
        raise UnusableInput(f"{path}:{line}: expected a JSON object, got {type(record).__name__}")
    name = record.get("id")
    if not isinstance(name, (str, int)) or isinstance(name, bool):
        raise _field_error(path, line, "id", f"must be the record's id (text or a whole number), got {name!r}")
    if record.get("decision") not in DECISIONS:
        raise _field_error(path, line, "decision", f"must be 'keep' or 'drop', got {record.get('decision')!r}")
    for optional in ("note", "reviewer"):
        if not isinstance(record.get(optional, ""), str):
            raise _field_error(path, line, optional, f"must be text, got {type(record[optional]).__name__}")
    return record


def read(path: str) -> dict:
    """{id: decision} of an overrides file, the last decision per id; a bad line is an UnusableInput naming it."""
    if not os.path.isfile(path):
        raise UnusableInput(f"{path}: no such overrides file (the Data review tab writes DIR/{OVERRIDES_FILE})")
    decisions = {}
    with open(path, encoding="utf-8") as handle:
        for line, text in enumerate(handle, 1):
            if text.strip():
                record = _decision(path, line, text)
                decisions.pop(record["id"], None)  # the later decision, in the later place
                decisions[record["id"]] = record
    return decisions


def verdicts_of(rejection, flags) -> list[str]:
    """What the cleaner said of a record, as the review counts it: its rejection's reason, else each reason it was
    flagged for ("misaligned (flagged)"), else "kept". A record with a sentence stripped was kept."""
    if rejection:
        return [rejection["reason"]]
    return [f"{flag['reason']} (flagged)" for flag in flags or [] if flag.get("action") != "stripped"] or [KEPT]


def _quoted(note: str) -> str:
    return f': "{note}"' if note else ""


def _first(names: list) -> dict:
    return {"count": len(names), "first": names[:_SHOWN]}


def apply(rows: list, names: list, decisions: dict, path: str) -> dict:
    """Apply the decisions to the rows (`names[i]` names rows[i]); returns report.json's `review`: the records
    reviewed, what moved, and per verdict the reader's agreement with it (a rejection or a flag is agreed with by a
    drop, a kept record by a keep; precision: agreed / reviewed). A decision on an id that names several records
    (ids repeated in the data) is applied to each.."""
    by_verdict, count, found, refused = {}, Counter(), set(), []  # count: reviewed, dropped, kept
    for row, name in zip(rows, names):
        decision = decisions.get(name)
        if decision is None:
            continue
        found.add(name)
        count["reviewed"] += 1
        drop, note = decision["decision"] == "drop", decision.get("note", "")
        for verdict in verdicts_of(row.rejection, row.flags):
            tally = by_verdict.setdefault(verdict, {"reviewed": 0, "agreed": 0})
            tally["reviewed"] += 1
            tally["agreed"] += drop != (verdict == KEPT)
        if drop and row.rejection is None:
            reject(row, "reviewer_drop", f"{row.where}: dropped by the reader{_quoted(note)}")
            count["dropped"] += 1
        elif not drop and row.rejection is not None:
            overruled = row.rejection["reason"]
            if overruled in NOT_KEPT_BY_A_READER:
                refused.append(name)
                continue
            row.rejection = None
            row.flags = (row.flags or []) + [{"reason": "reviewer_keep", "overruled": overruled, "note": note,
                                              "detail": f"{row.where}: kept by the reader over {overruled}{_quoted(note)}"}]
            count["kept"] += 1
    for tally in by_verdict.values():
        tally["precision"] = round(tally["agreed"] / tally["reviewed"], 3)
    return {"overrides": path, "decisions": len(decisions), "records_reviewed": count["reviewed"],
            "reviewers": len({d.get("reviewer") for d in decisions.values()} - {None, ""}),
            "dropped": count["dropped"], "kept": count["kept"], "by_verdict": dict(sorted(by_verdict.items())),
            "unknown_ids": _first([name for name in decisions if name not in found]),
            "kept_refused": _first(refused)}


def warnings(review) -> list[str]:
    """The review's findings a person should read: decisions that could not be applied."""
    if not review:
        return []
    found = []
    if review["unknown_ids"]["count"]:
        found.append(f"{review['unknown_ids']['count']} reviewed ids are not in the data (first: "
                     f"{', '.join(map(str, review['unknown_ids']['first']))}): {review['overrides']} was written for "
                     "other data")
    if review["kept_refused"]["count"]:
        found.append(f"{review['kept_refused']['count']} records the reader kept stay rejected: {NOT_KEPT_WHY} "
                     f"(first: {', '.join(map(str, review['kept_refused']['first']))})")
    return found
