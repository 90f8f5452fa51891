"""The content filters (boilerplate, truncated, misaligned) run over the corpus, and what each finding does.

Each filter module exposes one `Detector` class with a `reason` (marco/data/findings.py). The action per filter
comes from CleaningConfig: `reject` the conversation, `strip` the sentence that matched (the rest is kept, the
record's `flags` say what went), `flag` it (kept, noted), `off`.
"""

import dataclasses
import functools
import importlib
import math
import re
from array import array

import numpy as np

from .findings import Finding
from .fork import Forked, can_fork
from .load import reject

FILTERS = {"boilerplate": "marco.data.boilerplate", "truncated": "marco.data.truncation",
           "misaligned": "marco.data.alignment"}  # CleaningConfig field (= reason) -> module
# run in this process even where the others fork: the cheapest filter, where the main process has time to spare
# (the forked filters are the critical path of a clean; bench_clean.py --vs-parse times its stages)
_HERE = {"misaligned"}
_MESSAGE_INDEX = re.compile(r"messages\[(\d+)\]")
_SENTENCE_BOUNDARY = re.compile(r"(?<=[.!?…])\s+|\n+")


def detector(module_name: str, cfg=None):
    """The module's filter: its one class with a `reason` and a `find` method, given the CleaningConfig values of
    the settings it declares (a dataclass field of the same name, e.g. score_model, ifd_threshold)."""
    module = importlib.import_module(module_name)
    classes = [c for c in vars(module).values() if isinstance(c, type) and c.__module__ == module.__name__
               and isinstance(getattr(c, "reason", None), str) and callable(getattr(c, "find", None))]
    if len(classes) != 1:
        raise ImportError(f"{module_name} must define exactly one filter class, found {len(classes)}")
    cls = classes[0]
    settings = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cls) if hasattr(cfg, f.name)} \
        if dataclasses.is_dataclass(cls) and cfg is not None else {}
    return cls(**settings)


def score_summary(scores: list) -> dict:
    """Distribution of a filter's per-conversation scores (the IFD of alignment.py), for the report."""
    values = np.array([s for s in scores if not math.isnan(s)])
    if not values.size:
        return {"count": 0}
    return {"count": int(values.size), "mean": round(float(values.mean()), 4),
            **{f"p{q}": round(float(np.percentile(values, q)), 4) for q in (10, 50, 90, 99)}}


def sentence_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The whole sentence(s) around text[start:end], with the space that follows."""
    bounds = [m.end() for m in _SENTENCE_BOUNDARY.finditer(text)]
    left = max([b for b in bounds if b <= start], default=0)
    right = min([b for b in bounds if b >= end], default=len(text))
    return left, right


def message_index(field: str) -> int | None:
    """The message a finding's field names ("messages[3].content" -> 3), or None."""
    match = _MESSAGE_INDEX.match(field)
    return int(match.group(1)) if match else None


def stripped(messages: list, finding: Finding):
    """A copy of the messages with the finding's sentence removed, or None when nothing would be left of the turn."""
    index = message_index(finding.field)
    if index is None or finding.start < 0:
        return None
    content = messages[index]["content"]
    left, right = sentence_span(content, finding.start, finding.end)
    rest = (content[:left] + content[right:]).strip()
    if not rest:
        return None
    return [*messages[:index], {**messages[index], "content": rest}, *messages[index + 1:]]


def observe_all(detectors: dict, conversations: list) -> None:
    for found_by in detectors.values():
        found_by.observe(conversations)


def _finish(detectors: dict, positions, source) -> dict:
    """{reason: ({row position: Finding}, scores)} once every conversation was observed; `positions[k]` is the row of
    the k-th conversation observed."""
    def read(indices):
        return [row.messages for row in source.reread([positions[k] for k in indices])]

    return {reason: ({positions[k]: finding for k, finding in found_by.finish(read).items()},
                     getattr(found_by, "scores", None)) for reason, found_by in detectors.items()}


def _stream(source, detectors: dict) -> dict:
    """The forked process's work: read the source itself, valid conversations through every detector."""
    positions, first = array("q"), 0
    for chunk in source.chunks():
        positions.extend(first + k for k, row in enumerate(chunk) if row.rejection is None)
        observe_all(detectors, [row.messages for row in chunk if row.rejection is None])
        first += len(chunk)
    return _finish(detectors, positions, source)


class Filtering:
    """Every enabled filter over the valid conversations of a source, in input order (a filter may compare
    neighbours). Those without a model (but `_HERE`) run in a forked process that reads the source itself, where the
    platform forks and the source is large enough to pay for it (the parent keeps the other core); the others observe
    the chunks the caller reads (`observe`). `finish()` acts on the findings."""

    def __init__(self, source, cfg):
        detectors = enabled(cfg)
        fork = can_fork(source.size_hint())
        forked = {r: d for r, d in detectors.items() if fork and r not in _HERE and not getattr(d, "score_model", None)}
        self.here = {r: d for r, d in detectors.items() if r not in forked}
        self.cfg, self.source, self.positions = cfg, source, array("q")
        self.background = Forked(functools.partial(_stream, source, forked)) if forked else None

    def observe(self, positions: list, conversations: list) -> None:
        """A chunk's valid conversations (and their row positions), in input order."""
        if self.here:
            self.positions.extend(positions)
            observe_all(self.here, conversations)

    def stop(self) -> None:
        """Stop the forked process (when the clean fails before it finished)."""
        if self.background is not None:
            self.background.stop()

    def finish(self, rows: list) -> dict:
        """Act on the findings of rows not rejected meanwhile (reading again those whose sentence is stripped).
        Returns, per reason, {"rejected", "stripped", "flagged", "already_rejected" (found in rows that another step
        rejected)} and the scores of a filter that scores."""
        found = {**(self.background.result() if self.background else {}), **_finish(self.here, self.positions, self.source)}
        return act_on_findings(rows, found, self.source, self.cfg)


class Observed:
    """The filters as the datatrove engine's tasks observed them: those without a model (merged in task order,
    `positions[k]` the row of the k-th conversation), the others streamed over the whole source at `finish()`."""

    def __init__(self, source, cfg, detectors: dict, positions):
        self.source, self.cfg, self.detectors, self.positions = source, cfg, detectors, positions

    def stop(self) -> None:
        pass

    def finish(self, rows: list) -> dict:
        with_model = {r: d for r, d in enabled(self.cfg).items() if r not in self.detectors}
        found = {**_finish(self.detectors, self.positions, self.source), **_stream(self.source, with_model)}
        return act_on_findings(rows, found, self.source, self.cfg)


def enabled(cfg) -> dict:
    """{reason: detector} of the filters the config turns on."""
    return {reason: detector(module, cfg) for reason, module in FILTERS.items() if getattr(cfg, reason) != "off"}


def act_on_findings(rows: list, found: dict, source, cfg) -> dict:
    """Act on the findings ({reason: ({row: Finding}, scores)}) of rows not rejected meanwhile; see Filtering.finish."""
    to_strip = sorted({p for reason, (findings, _) in found.items() if getattr(cfg, reason) == "strip"
                       for p in findings if rows[p].rejection is None})
    for position, full in zip(to_strip, source.reread(to_strip)):
        rows[position].messages = full.messages
    tally = {}
    for reason in FILTERS:
        if reason not in found:
            continue
        findings, scores = found[reason]
        counts = tally[reason] = {"rejected": 0, "stripped": 0, "flagged": 0, "already_rejected": 0}
        for position in sorted(findings):
            row = rows[position]
            counts["already_rejected" if row.rejection else act(row, findings[position], getattr(cfg, reason))] += 1
        if scores is not None:
            counts["scores"] = score_summary(scores)
    for position in to_strip:  # only a stripped conversation keeps its (new) messages
        if not any(flag.get("action") == "stripped" for flag in rows[position].flags or []):
            rows[position].messages = None
    return tally


def act(row, finding: Finding, action: str) -> str:
    """Reject, strip or flag `row` for `finding`; returns which was done (a strip that would empty the turn rejects)."""
    new = stripped(row.messages, finding) if action == "strip" else None
    if action == "reject" or (action == "strip" and new is None):
        reject(row, finding.reason, f"{row.where}: {finding.detail}", finding.field, evidence=finding.evidence)
        return "rejected"
    row.flags = (row.flags or []) + [{"reason": finding.reason, "detail": finding.detail, "field": finding.field,
                                      "evidence": finding.evidence, **({"action": "stripped"} if new else {})}]
    if new is not None:
        row.messages = new
        return "stripped"
    return "flagged"
