"""A few rejected and flagged records per reason, with their text, for report.html and report.json.

A person trusts a filter after reading what it removed: each example carries the text (the reply the finding
points at) and the evidence to highlight; template rejections are grouped by the frame of their evidence (quoted
text, numbers and names masked), with a count, so one template's variants read as one entry; duplicates say whether they are exact or near.
"""

import re

from .load import to_json
from .templates import mask_slots
from .text import normalize_many

PER_REASON = 3  # examples shown per reason
TEMPLATE_GROUPS = 8  # templates shown, each with its count and one example
_TEXT_CHARS = 1200  # of an example's text
_MESSAGE = re.compile(r"messages\[(\d+)\]")


def _text(row, field: str) -> str:
    """The text the finding is about: the message its field names, else the whole conversation or the raw line."""
    if row.messages is None:
        return row.raw if row.raw is not None else to_json(row.record).decode()
    match = _MESSAGE.match(field or "")
    if match and int(match.group(1)) < len(row.messages):
        return row.messages[int(match.group(1))]["content"]
    return "\n".join(f"{m['role']}: {m['content']}" for m in row.messages)


def _example(row, finding: dict, label: str = "") -> dict:
    return {"where": row.where, "detail": finding["detail"], "label": label,
            "text": _text(row, finding.get("field"))[:_TEXT_CHARS], "evidence": finding.get("evidence") or ""}


def _as_read(row, full):
    """The row read again: the record as it came, the messages as cleaned (a stripped sentence gone)."""
    if row.messages is not None:
        full.messages = row.messages
    return full


def _label(rejection: dict) -> str:
    if rejection["reason"] in ("exact_duplicate", "near_duplicate"):
        return f"{rejection['reason'].split('_')[0]} duplicate of {rejection['duplicate_of']}"
    return ""


def collect(rows: list, scan, cited: dict, source) -> dict:
    """{"rejected": {reason: [example]}, "templates": [group], "flagged": {reason: [example]}}; the rows shown are
    read again from `source`."""
    rejected, flagged = {}, {}
    for position, row in enumerate(rows):
        if row.rejection and row.rejection["reason"] != "template":
            shown = rejected.setdefault(row.rejection["reason"], [])
            if len(shown) < PER_REASON:
                shown.append((position, row.rejection, _label(row.rejection)))
        for flag in row.flags or []:
            shown = flagged.setdefault(flag["reason"], [])
            if len(shown) < PER_REASON:
                shown.append((position, flag, flag.get("action", "flagged")))
    groups = _template_groups(rows, scan, cited)
    positions = sorted({p for picked in (*rejected.values(), *flagged.values()) for p, _, _ in picked}
                       | {first for _, first in groups})
    read = {p: _as_read(rows[p], full) for p, full in zip(positions, source.reread(positions))}

    def examples(picked: dict) -> dict:
        return {reason: [_example(read[p], finding, label) for p, finding, label in shown]
                for reason, shown in picked.items()}

    templates = [{**group, "example": _example(read[first], rows[first].rejection)} for group, first in groups]
    return {"rejected": examples(rejected), "templates": templates, "flagged": examples(flagged)}


def _template_groups(rows: list, scan, cited: dict) -> list[tuple[dict, int]]:
    """Template rejections grouped by the masked frame of their evidence: one entry per template, however many
    variants ('"tree" is "l'albero"', '"blue" is "blu"') it has, with its count and a few variants; and the row
    position of its first, the example."""
    order = sorted(cited)
    frames = normalize_many([mask_slots(rows[i].rejection["evidence"]) for i in order])
    members = {}
    for i, frame in zip(order, frames):
        members.setdefault(frame, []).append(i)
    biggest = sorted(members.values(), key=lambda m: (-len(m), m[0]))[:TEMPLATE_GROUPS]
    return [({"kind": scan.templates[cited[m[0]]].kind, "pattern": scan.templates[cited[m[0]]].text, "count": len(m),
              "variants": list(dict.fromkeys(rows[i].rejection["evidence"][:200] for i in m))[:5]}, m[0])
            for m in biggest]
