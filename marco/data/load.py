"""Read a dataset (local .jsonl/.json file or a Hub dataset name) as rows, one per input line or record.

Nothing is dropped here: a line that is not JSON, not an object, or not a valid conversation becomes a row
with a `rejection`, and keeps its verbatim text when it could not be parsed.

A source is read in chunks and read again where a step needs a row's text (`chunks()`, `reread(positions)`), so
that cleaning a million conversations never holds them all: JSON Lines are read again by byte offset.
"""

import json
import os
from array import array
from dataclasses import dataclass
from typing import Optional

import numpy as np
import orjson

from .formats import Invalid, conversation
from .lazy import read_runs

MAX_DEPTH = 128  # nesting levels a record may have: orjson writes at most 254, and no conversation needs 128
# orjson turns integers beyond 64 bits into floats, the stdlib keeps them: lines with a run of 19 digits go to the
# stdlib. Found with bytes.translate (digits to "9", the rest to spaces) and `in`: 10x faster than a regex.
_DIGITS_ONLY = bytes(0x39 if 0x30 <= c <= 0x39 else 0x20 for c in range(256))
_LONG_DIGIT_RUN = b"9" * 19


class UnusableInput(Exception):
    """The input as a whole cannot be read (missing file, bad encoding): the CLI exits 2 with this message."""


def tokenizer_named(name: str | None):
    """The tokenizer lengths are counted in (`--tokenizer`; None: words), or a one-line error."""
    if name is None:
        return None
    from transformers import AutoTokenizer

    from marco.tiny import resolve  # "marco-tiny": the built-in model's folder

    try:
        return AutoTokenizer.from_pretrained(resolve(name))
    except (OSError, ValueError) as error:
        raise UnusableInput(f"{name}: cannot load tokenizer ({str(error).splitlines()[0]})") from None


@dataclass(slots=True)
class Row:
    line: int  # 1-based line in a .jsonl file, element in a .json array, or row of a Hub dataset
    record: Optional[dict]  # the parsed record, None when the line is not a JSON object (or once its text is let go)
    raw: Optional[str] = None  # the verbatim line, kept only when it could not be parsed
    fmt: Optional[str] = None
    messages: Optional[list] = None  # validated conversation, None when rejected during validation
    rejection: Optional[dict] = None
    prefix: str = ""  # `where` without the line number, one string shared by every row of a source
    flags: Optional[list] = None  # findings reported but not rejected: [{"reason", "detail"}]

    @property
    def where(self) -> str:
        """How messages name the row: "data.jsonl:3", "data.json: element 3", "user/name: row 3"."""
        return f"{self.prefix}{self.line}"

    def let_go(self) -> None:
        """Drop the row's text once its conversation has been measured: it is read again where a step needs it."""
        self.record = self.raw = self.messages = None


def reject(row: Row, reason: str, detail: str, field: str = "", duplicate_of=None, evidence: str = None) -> None:
    row.rejection = {"reason": reason, "detail": detail, "line": row.line, "field": field, "duplicate_of": duplicate_of}
    if evidence is not None:
        row.rejection["evidence"] = evidence


def depth(value) -> int:
    """Nesting depth of a parsed JSON value, without recursion (a deep record must not crash the reader)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def to_json(value, indent: bool = False) -> bytes:
    """orjson's bytes, or the stdlib's where orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, indent=2 if indent else None).encode("utf-8")


def _too_deep(line: int, raw: str, prefix: str) -> Row:
    row = Row(line, None, raw=raw, prefix=prefix)
    reject(row, "invalid_json", f"{row.where}: nested deeper than {MAX_DEPTH} levels")
    return row


def _row_from_value(line: int, value, max_chars: int, prefix: str) -> Row:
    if not isinstance(value, dict):
        row = Row(line, None, raw=to_json(value).decode()[:10_000], prefix=prefix)
        reject(row, "not_an_object", f"{row.where}: expected a JSON object, got {type(value).__name__}")
        return row
    row = Row(line, value, prefix=prefix)
    try:
        row.fmt, row.messages = conversation(value, max_chars)
    except Invalid as bad:
        reject(row, bad.reason, f"{row.where}: {bad.detail}", bad.field)
    return row


def _parse(raw: bytes):
    """orjson, except where a long digit run may be an integer beyond 64 bits: the stdlib keeps those exact."""
    return json.loads(raw) if _LONG_DIGIT_RUN in raw.translate(_DIGITS_ONLY) else orjson.loads(raw)


def _row_from_line(line: int, data: bytes, max_chars: int, prefix: str, path: str) -> Row:
    """The row of one line of a .jsonl file (its bytes, end of line included)."""
    raw = _decode(data, path, line).removesuffix("\n").removesuffix("\r")
    data = raw.encode() if line == 1 else data  # without a BOM
    if not raw.strip():
        row = Row(line, None, raw=raw, prefix=prefix)
        reject(row, "blank_line", f"{row.where}: blank line")
        return row
    try:
        value = _parse(data)
    except (ValueError, RecursionError) as error:  # orjson.JSONDecodeError and json's are ValueErrors
        row = Row(line, None, raw=raw, prefix=prefix)
        reject(row, "invalid_json", f"{row.where}: invalid JSON ({str(error)[:200]})")
        return row
    if (data.count(b"{") + data.count(b"[") > MAX_DEPTH) and depth(value) > MAX_DEPTH:
        return _too_deep(line, raw, prefix)
    row = _row_from_value(line, value, max_chars, prefix)
    if row.record is None:
        row.raw = raw
    return row


def _decode(data: bytes, path: str, line: int) -> str:
    try:
        return data.decode("utf-8-sig" if line == 1 else "utf-8")
    except UnicodeDecodeError as error:
        line += data.count(b"\n", 0, error.start)
        raise UnusableInput(f"{path}:{line}: not valid UTF-8 (byte {data[error.start]:#04x}); re-save the file as UTF-8")


class JsonlSource:
    """A .jsonl file. The first pass records where each line starts; a row is read again with one pread, so the
    file's text is never held whole next to its parsed records. A file changed in between is refused."""

    def __init__(self, path: str, max_chars: int, span: tuple = None):
        self.path, self.prefix, self.max_chars = path, f"{path}:", max_chars
        self.stamp = self._stamp()
        self.starts = None  # byte offset of every line, and where the last one ends: known after the first pass
        # only part of the file (a datatrove task's): from byte `begin` (a line start) to `end`, `lines_before` it
        self.begin, self.end, self.lines_before = span or (0, self.stamp[0], 0)

    def _stamp(self) -> tuple:
        status = os.stat(self.path)
        return status.st_size, status.st_mtime_ns

    def _unchanged(self) -> None:
        if self._stamp() != self.stamp:
            raise UnusableInput(f"{self.path}: the file changed while it was being cleaned; run again")

    def __len__(self) -> int:
        return len(self.starts) - 1

    def size_hint(self) -> int:
        """Conversations, roughly, before the file is read (a kilobyte each)."""
        return (self.end - self.begin) // 1000

    def chunks(self, size: int = 4096, first: int = 0, stop: int = None):
        """The rows from position `first` to `stop` (the end), `size` at a time. The first whole pass records where
        each line starts; a part can only be read after it."""
        self._unchanged()
        whole, rows = first == 0 and stop is None, []
        starts, position = array("q"), int(self.starts[first]) if first else self.begin
        with open(self.path, "rb") as handle:
            handle.seek(position)
            for line, data in enumerate(handle, self.lines_before + first + 1):
                if position >= self.end or (stop is not None and line > self.lines_before + stop):
                    break
                starts.append(position)
                position += len(data)
                rows.append(_row_from_line(line, data, self.max_chars, self.prefix, self.path))
                if len(rows) == size:
                    yield rows
                    rows = []
        if rows:
            yield rows
        if whole:
            starts.append(position)
            self.starts = np.frombuffer(starts, dtype=np.int64)

    def reread(self, positions) -> list[Row]:
        """The rows at `positions` (any order, repeats allowed), neighbouring lines read with one pread."""
        self._unchanged()
        with open(self.path, "rb") as handle:
            lines = read_runs(handle.fileno(), self.starts, positions)
        rows = {p: _row_from_line(self.lines_before + p + 1, data, self.max_chars, self.prefix, self.path)
                for p, data in lines.items()}
        return [rows[p] for p in np.asarray(positions, dtype=np.int64).tolist()]


class FolderSource:
    """JSON Lines files read as one corpus, in the order given (a folder's shards by name): row positions run on
    from file to file, and a row is named by its file and line."""

    names_files = True  # a record without an id is named by file and line: line numbers repeat across files

    def __init__(self, parts: list):
        self.parts = parts
        self.firsts = None  # the row position each part starts at, and the total last: known after the first pass

    def __len__(self) -> int:
        return sum(map(len, self.parts))

    def size_hint(self) -> int:
        return sum(part.size_hint() for part in self.parts)

    def chunks(self, size: int = 4096, first: int = 0, stop: int = None):
        """As JsonlSource.chunks; the first pass reads every file whole."""
        if self.firsts is None:
            for part in self.parts:
                yield from part.chunks(size)
            self.firsts = np.cumsum([0, *map(len, self.parts)])
            return
        stop = int(self.firsts[-1]) if stop is None else stop
        for part, begin in zip(self.parts, self.firsts.tolist()):
            if begin < stop and begin + len(part) > first:
                yield from part.chunks(size, max(0, first - begin), min(len(part), stop - begin))

    def reread(self, positions) -> list[Row]:
        positions = np.asarray(positions, dtype=np.int64)
        owner = np.searchsorted(self.firsts, positions, side="right") - 1
        found = [None] * len(positions)
        for k in np.unique(owner).tolist():
            at = np.flatnonzero(owner == k)
            for i, row in zip(at.tolist(), self.parts[k].reread(positions[at] - self.firsts[k])):
                found[i] = row
        return found


def shard_files(folder: str) -> list[str]:
    """The .jsonl files of a folder, by name: the shards of one corpus."""
    files = sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".jsonl"))
    if not files:
        raise UnusableInput(f"{folder}: a folder with no .jsonl file (give a .jsonl/.json file, a folder of .jsonl "
                            "shards or a Hub dataset name like user/name)")
    return files


class RecordsSource:
    """Records already in memory (a .json array) or in Arrow files (a Hub dataset: `datasets` reads them lazily)."""

    def __init__(self, records, prefix: str, max_chars: int, deep: set = frozenset()):
        self.records, self.prefix, self.max_chars, self.deep = records, prefix, max_chars, deep

    def __len__(self) -> int:
        return len(self.records)

    def size_hint(self) -> int:
        return len(self.records)

    def _row(self, position: int, record) -> Row:
        line = position + 1
        return _too_deep(line, "", self.prefix) if line in self.deep else \
            _row_from_value(line, record, self.max_chars, self.prefix)

    def chunks(self, size: int = 4096, first: int = 0, stop: int = None):
        stop = len(self.records) if stop is None else stop
        for begin in range(first, stop, size):
            yield [self._row(p, self.records[p]) for p in range(begin, min(begin + size, stop))]

    def reread(self, positions) -> list[Row]:
        return [self._row(int(p), self.records[int(p)]) for p in positions]


def _first_line_is_object(text: str) -> bool:
    try:
        return isinstance(orjson.loads(text.lstrip().split("\n", 1)[0]), dict)
    except orjson.JSONDecodeError:
        return False


def _json_array(path: str, max_chars: int) -> Optional[RecordsSource]:
    """A .json file holding one array (or one object); None when it is JSON Lines under a .json name. The array is
    parsed whole (it is one JSON value); use JSON Lines for corpora that do not fit in memory."""
    with open(path, "rb") as handle:
        text = _decode(handle.read(), path, 1)
    try:
        value = _parse(text.encode())
    except (ValueError, RecursionError) as error:
        if not text.lstrip().startswith("[") and _first_line_is_object(text):
            return None  # one object per line: JSON Lines
        position = f"line {error.lineno} column {error.colno}" if hasattr(error, "lineno") else "nested too deep"
        raise UnusableInput(f"{path}: {position}: not valid JSON ({str(error).split(':')[0]}); "
                            "nothing was read (a .json file must hold one JSON array)") from None
    items = value if isinstance(value, list) else [value]
    try:
        orjson.dumps(items)  # C speed; fails on a too deep element (or a long integer), checked one by one then
        deep = set()
    except TypeError:
        deep = {i for i, item in enumerate(items, 1) if depth(item) > MAX_DEPTH}
    return RecordsSource(items, f"{path}: element ", max_chars, deep)


def open_source(source: str, max_chars: int, split: str = "train"):
    """The rows of a local .jsonl/.json file, of a folder of .jsonl shards, or of a Hub dataset when `source` is not a
    local path."""
    if os.path.isfile(source):
        found = _json_array(source, max_chars) if source.endswith(".json") else None
        return JsonlSource(source, max_chars) if found is None else found
    if os.path.isdir(source):
        return FolderSource([JsonlSource(path, max_chars) for path in shard_files(source)])
    if os.path.exists(source) or source.endswith((".json", ".jsonl")) or source.count("/") != 1:
        raise UnusableInput(f"{source}: no such file (give a .jsonl/.json file, a folder of .jsonl shards or a Hub "
                            "dataset name like user/name)")
    return RecordsSource(_hub_dataset(source, split), f"{source}: row ", max_chars)


def _hub_dataset(name: str, split: str):
    import datasets  # heavy: only for Hub names

    try:
        return datasets.load_dataset(name, split=split)
    except Exception as error:  # datasets raises many types; the user needs the message, not the type
        raise UnusableInput(f"{name}: cannot load Hub dataset split {split!r}: {str(error).splitlines()[0]}") from None
