"""Read a dataset (local .jsonl/.json file or a Hub dataset name) into rows, one per input line or record.

Nothing is dropped here: a line that is not JSON, not an object, or not a valid conversation becomes a row
with a `rejection`, and keeps its verbatim text when it could not be parsed.
"""

import os
from dataclasses import dataclass
from typing import Optional

import orjson

from .formats import Invalid, conversation


class UnusableInput(Exception):
    """The input as a whole cannot be read (missing file, bad encoding): the CLI exits 2 with this message."""


@dataclass(slots=True)
class Row:
    line: int  # 1-based line in a .jsonl file, element in a .json array, or row of a Hub dataset
    record: Optional[dict]  # the parsed record, None when the line is not a JSON object
    raw: Optional[str] = None  # the verbatim line, kept only when it could not be parsed
    fmt: Optional[str] = None
    messages: Optional[list] = None  # validated conversation, None when rejected during validation
    rejection: Optional[dict] = None


def reject(row: Row, reason: str, detail: str, field: str = "", duplicate_of=None) -> None:
    row.rejection = {"reason": reason, "detail": detail, "line": row.line, "field": field, "duplicate_of": duplicate_of}


def _row_from_value(line: int, value, max_chars: int, source: str) -> Row:
    if not isinstance(value, dict):
        row = Row(line, None, raw=orjson.dumps(value).decode())
        reject(row, "not_an_object", f"{source}:{line}: expected a JSON object, got {type(value).__name__}")
        return row
    row = Row(line, value)
    try:
        row.fmt, row.messages = conversation(value, max_chars)
    except Invalid as bad:
        reject(row, bad.reason, f"{source}:{line}: {bad.detail}", bad.field)
    return row


def _row_from_line(line: int, raw: str, max_chars: int, source: str) -> Row:
    if not raw.strip():
        row = Row(line, None, raw=raw)
        reject(row, "blank_line", f"{source}:{line}: blank line")
        return row
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        row = Row(line, None, raw=raw)
        reject(row, "invalid_json", f"{source}:{line}: invalid JSON ({error})")
        return row
    row = _row_from_value(line, value, max_chars, source)
    if row.record is None:
        row.raw = raw
    return row


def _decode(data: bytes, path: str, line: int) -> str:
    try:
        return data.decode("utf-8-sig" if line == 1 else "utf-8")
    except UnicodeDecodeError as error:
        line += data.count(b"\n", 0, error.start)
        raise UnusableInput(f"{path}:{line}: not valid UTF-8 (byte {data[error.start]:#04x}); re-save the file as UTF-8")


def _rows_from_jsonl(path: str, max_chars: int) -> list[Row]:
    """Line by line, so the file's text is never held whole next to its parsed records."""
    rows = []
    with open(path, "rb") as handle:
        for line, data in enumerate(handle, 1):
            raw = _decode(data, path, line).removesuffix("\n").removesuffix("\r")
            rows.append(_row_from_line(line, raw, max_chars, path))
    return rows


def read_rows(source: str, max_chars: int, split: str = "train") -> list[Row]:
    """Rows of a local .jsonl/.json file, or of a Hub dataset when `source` is not a local path."""
    if os.path.isfile(source):
        if source.endswith(".json"):
            with open(source, "rb") as handle:
                text = _decode(handle.read(), source, 1)
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                value = None  # not one JSON document: read it as JSON Lines
            if isinstance(value, list):
                return [_row_from_value(i, item, max_chars, source) for i, item in enumerate(value, 1)]
        return _rows_from_jsonl(source, max_chars)
    if os.path.exists(source) or source.endswith((".json", ".jsonl")) or source.count("/") != 1:
        raise UnusableInput(f"{source}: no such file (give a .jsonl/.json file or a Hub dataset name like user/name)")
    return [_row_from_value(i, item, max_chars, source) for i, item in enumerate(_hub_records(source, split), 1)]


def _hub_records(name: str, split: str) -> list[dict]:
    import datasets  # heavy: only for Hub names

    try:
        return list(datasets.load_dataset(name, split=split))
    except Exception as error:  # datasets raises many types; the user needs the message, not the type
        raise UnusableInput(f"{name}: cannot load Hub dataset split {split!r}: {str(error).splitlines()[0]}") from None
