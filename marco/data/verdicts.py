"""A cleaning's output folder read back record by record, for a reader to check its verdicts: the rejected records by
reason, the kept ones by what they were flagged for, and a seeded random sample of the kept (what no filter found).

The folder is what `python -m marco data clean FILE --out DIR` writes, or a training run's OUTPUT_DIR/data. Only the
offset of each line is held; a record is read when it is shown. A kept record is named as the cleaner names it (its
`id`, else its line): kept.jsonl carries no line numbers, but every input line is in kept or rejected, in input order,
so the kept ones are the lines rejected.jsonl does not hold.
"""

import json
import os
import random
from array import array

import numpy as np
import orjson

from .formats import Invalid, conversation, record_name
from .load import UnusableInput
from .overrides import KEPT, verdicts_of

EXPECTED = ("kept.jsonl", "rejected.jsonl", "report.json")
SAMPLE = "kept (random sample)"
SAMPLE_SIZE = 100
_FLAGS_KEY = b'"flags":'  # how orjson writes a kept record's flags (a quote inside a text is escaped)


def folder_of(path: str) -> str:
    """The folder holding a cleaning's outputs: `path` itself, or a training run's `path`/data."""
    for folder in (path, os.path.join(path, "data")):
        if all(os.path.isfile(os.path.join(folder, name)) for name in EXPECTED):
            return folder
    raise UnusableInput(f"{path}: not a cleaning's output: expected {', '.join(EXPECTED)} in it (`python -m marco data "
                        "clean FILE --out DIR`) or in its data/ folder (a training run's output_dir)")


def _lines(path: str):
    """(line number, byte offset, bytes) of each line of a JSON Lines file."""
    offset = 0
    with open(path, "rb") as handle:
        for number, data in enumerate(handle, 1):
            yield number, offset, data
            offset += len(data)


def _parsed(path: str, number: int, data: bytes) -> dict:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise UnusableInput(f"{path}:{number}: not a line marco wrote ({error})") from None


class Verdicts:
    """The folder's records grouped by verdict: {group: [(file, offset, input line)]}, the groups ordered as a reader
    takes them: rejections by reason, then flags, then the kept sample."""

    def __init__(self, path: str, sample: int = SAMPLE_SIZE, seed: int = 0):
        self.path, self.folder = path, folder_of(path)  # as given (a run: the run), and where the files are
        with open(os.path.join(self.folder, "report.json"), encoding="utf-8") as handle:
            self.report = json.load(handle)
        self.groups, rejected_lines = {}, array("q")
        rejected = os.path.join(self.folder, "rejected.jsonl")
        for number, offset, data in _lines(rejected):
            rejection = _parsed(rejected, number, data)["rejection"]
            rejected_lines.append(rejection["line"])
            self.groups.setdefault(rejection["reason"], []).append((rejected, offset, rejection["line"]))
        kept, offsets = os.path.join(self.folder, "kept.jsonl"), array("q")
        lines = np.setdiff1d(np.arange(1, self.report["counts"]["input"] + 1), np.frombuffer(rejected_lines, np.int64))
        flagged = {}  # verdict -> kept record indices
        for number, offset, data in _lines(kept):
            offsets.append(offset)
            if _FLAGS_KEY in data:
                for verdict in verdicts_of(None, _parsed(kept, number, data).get("flags")):
                    if verdict != KEPT:
                        flagged.setdefault(verdict, []).append(number - 1)
        if len(offsets) != len(lines) or len(lines) + len(rejected_lines) != self.report["counts"]["input"]:
            raise UnusableInput(f"{self.folder}: kept.jsonl and rejected.jsonl do not add up to report.json's "
                                f"{self.report['counts']['input']} input lines: not the files of one cleaning")
        sample = sorted(random.Random(seed).sample(range(len(offsets)), min(sample, len(offsets))))
        for verdict, picked in [*sorted(flagged.items()), (SAMPLE, sample)]:
            self.groups[verdict] = [(kept, offsets[k], int(lines[k])) for k in picked]

    def choices(self) -> list[tuple[str, str]]:
        """(label with its count, group) per group that has records."""
        return [(f"{group} ({len(records)})", group) for group, records in self.groups.items() if records]

    def record(self, group: str, index: int) -> dict:
        """The record at `index` of `group` as a reader sees it: {"group", "index", "total", "id", "line",
        "verdicts", "findings" (the rejection or the flags: reason, detail, field, evidence), "messages" (None when
        the line is no conversation), "raw" (its text then)}."""
        if group not in self.groups:
            raise UnusableInput(f"no group {group!r} (groups: {', '.join(self.groups)})")
        records = self.groups[group]
        if not 0 <= index < len(records):
            raise UnusableInput(f"{group}: no record {index} (it has {len(records)}, from 0)")
        path, offset, line = records[index]
        with open(path, "rb") as handle:
            handle.seek(offset)
            record = orjson.loads(handle.readline())
        rejection, flags = record.pop("rejection", None), record.get("flags")
        unparsed = set(record) == {"raw"}  # a line that was not a JSON object: its text
        try:
            messages = None if unparsed else conversation(record, float("inf"))[1]
        except Invalid:  # rejected in validation: shown as it came
            messages = None
        raw = None if messages is not None else record["raw"] if unparsed else orjson.dumps(record).decode()
        return {"group": group, "index": index, "total": len(records), "id": record_name(record, line), "line": line,
                "verdicts": verdicts_of(rejection, flags), "findings": [rejection] if rejection else flags or [],
                "messages": messages, "raw": raw}
