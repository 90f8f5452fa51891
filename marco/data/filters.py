"""The content filters (boilerplate, truncated, misaligned) run over the corpus, and what each finding does.

Each filter module exposes one class with a `reason` and `find(conversations) -> list[Finding | None]`
(marco/data/findings.py). The action per filter comes from CleaningConfig: `reject` the conversation, `strip`
the sentence that matched (the rest is kept, the record's `flags` say what went), `flag` it (kept, noted), `off`.
"""

import dataclasses
import functools
import importlib
import math
import multiprocessing
import re

import numpy as np

from .findings import Finding
from .load import reject

FILTERS = {"boilerplate": "marco.data.boilerplate", "truncated": "marco.data.truncation",
           "misaligned": "marco.data.alignment"}  # CleaningConfig field (= reason) -> module
_MESSAGE_INDEX = re.compile(r"messages\[(\d+)\]")
_FORK_MIN = 2_000  # conversations from which a filter runs in a process of its own (a fork costs ~10 ms)
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


def stripped(messages: list, finding: Finding):
    """A copy of the messages with the finding's sentence removed, or None when nothing would be left of the turn."""
    match = _MESSAGE_INDEX.match(finding.field)
    if not match or finding.start < 0:
        return None
    index = int(match.group(1))
    content = messages[index]["content"]
    left, right = sentence_span(content, finding.start, finding.end)
    rest = (content[:left] + content[right:]).strip()
    if not rest:
        return None
    return [*messages[:index], {**messages[index], "content": rest}, *messages[index + 1:]]


class _Forked:
    """`fn()` computed in a forked process, so the filters use the second core while the parent deduplicates and
    scans templates (the findings depend only on the conversations, not on what the other steps reject)."""

    def __init__(self, fn):
        context = multiprocessing.get_context("fork")
        self.reader, writer = context.Pipe(duplex=False)
        self.process = context.Process(target=_send, args=(fn, writer), daemon=True)
        self.process.start()
        writer.close()

    def result(self):
        try:
            value = self.reader.recv()
        finally:
            self.process.join()
        if isinstance(value, BaseException):
            raise value
        return value


def _send(fn, writer) -> None:
    try:
        writer.send(fn())
    except BaseException as error:  # the parent re-raises it
        writer.send(error)


def in_background(fn, size: int):
    """A callable giving `fn()`: computed in a forked process from now on where the platform forks and `size` (items
    of work) makes a fork pay, else computed when called."""
    if "fork" in multiprocessing.get_all_start_methods() and size >= _FORK_MIN:
        return _Forked(fn).result
    return fn


def _findings(found_by, conversations: list):
    return found_by.find(conversations), getattr(found_by, "scores", None)


def _all(jobs: dict) -> dict:
    return {name: job() for name, job in jobs.items()}


def start(rows: list, candidates: list[int], cfg, side_jobs: dict = None):
    """Start every enabled filter on the candidate rows, in input order (a filter may compare neighbours): those
    without a model one after another in one forked process where the platform forks, so the parent keeps the other
    core and the pages they touch are copied once. `side_jobs` ({name: fn}, other work that needs only the
    conversations) run there too. Returns `finish()`, which waits for them, acts on the findings of rows not
    rejected meanwhile and returns (per reason {"rejected", "stripped", "flagged", "already_rejected" (found in rows
    that another step rejected)}, {name: side job result})."""
    conversations = [rows[i].messages for i in candidates]
    in_process, forked = {}, dict(side_jobs or {})
    for reason, module_name in FILTERS.items():
        if getattr(cfg, reason) != "off":
            found_by = detector(module_name, cfg)
            jobs = in_process if getattr(found_by, "score_model", None) else forked
            jobs[reason] = functools.partial(_findings, found_by, conversations)
    background = in_background(functools.partial(_all, forked), len(conversations))

    def finish() -> tuple[dict, dict]:
        found = {**background(), **_all(in_process)}
        tally = {}
        for reason in FILTERS:
            if reason not in found:
                continue
            findings, scores = found.pop(reason)
            counts = tally[reason] = {"rejected": 0, "stripped": 0, "flagged": 0, "already_rejected": 0}
            for i, finding in zip(candidates, findings):
                if finding is not None:
                    counts["already_rejected" if rows[i].rejection else _act(rows[i], finding, getattr(cfg, reason))] += 1
            if scores is not None:
                counts["scores"] = score_summary(scores)
        return tally, found
    return finish


def _act(row, finding: Finding, action: str) -> str:
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
