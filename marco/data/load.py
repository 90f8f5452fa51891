"""Read a dataset (local .jsonl/.json file or a Hub dataset name) into rows, one per input line or record.

Nothing is dropped here: a line that is not JSON, not an object, or not a valid conversation becomes a row
with a `rejection`, and keeps its verbatim text when it could not be parsed.
"""

import json
import os
from dataclasses import dataclass
from typing import Optional

import orjson

from .formats import Invalid, conversation

MAX_DEPTH = 128  # nesting levels a record may have: orjson writes at most 254, and no conversation needs 128
# orjson turns integers beyond 64 bits into floats, the stdlib keeps them: lines with a run of 19 digits go to the
# stdlib. Found with bytes.translate (digits to "9", the rest to spaces) and `in`: 10x faster than a regex.
_DIGITS_ONLY = bytes(0x39 if 0x30 <= c <= 0x39 else 0x20 for c in range(256))
_LONG_DIGIT_RUN = b"9" * 19


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
    where: str = ""  # how messages name it: "data.jsonl:3", "data.json: element 3"
    flags: Optional[list] = None  # findings reported but not rejected: [{"reason", "detail"}]


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


def _too_deep(line: int, raw: str, where: str) -> Row:
    row = Row(line, None, raw=raw, where=where)
    reject(row, "invalid_json", f"{where}: nested deeper than {MAX_DEPTH} levels")
    return row


def _row_from_value(line: int, value, max_chars: int, where: str) -> Row:
    if not isinstance(value, dict):
        row = Row(line, None, raw=to_json(value).decode()[:10_000], where=where)
        reject(row, "not_an_object", f"{where}: expected a JSON object, got {type(value).__name__}")
        return row
    row = Row(line, value, where=where)
    try:
        row.fmt, row.messages = conversation(value, max_chars)
    except Invalid as bad:
        reject(row, bad.reason, f"{where}: {bad.detail}", bad.field)
    return row


def _parse(raw: bytes):
    """orjson, except where a long digit run may be an integer beyond 64 bits: the stdlib keeps those exact."""
    return json.loads(raw) if _LONG_DIGIT_RUN in raw.translate(_DIGITS_ONLY) else orjson.loads(raw)


def _row_from_line(line: int, data: bytes, raw: str, max_chars: int, where: str) -> Row:
    if not raw.strip():
        row = Row(line, None, raw=raw, where=where)
        reject(row, "blank_line", f"{where}: blank line")
        return row
    try:
        value = _parse(data)
    except (ValueError, RecursionError) as error:  # orjson.JSONDecodeError and json's are ValueErrors
        row = Row(line, None, raw=raw, where=where)
        reject(row, "invalid_json", f"{where}: invalid JSON ({str(error)[:200]})")
        return row
    if (data.count(b"{") + data.count(b"[") > MAX_DEPTH) and depth(value) > MAX_DEPTH:
        return _too_deep(line, raw, where)
    row = _row_from_value(line, value, max_chars, where)
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
            data = raw.encode() if line == 1 else data  # without a BOM
            rows.append(_row_from_line(line, data, raw, max_chars, f"{path}:{line}"))
    return rows


def _first_line_is_object(text: str) -> bool:
    try:
        return isinstance(orjson.loads(text.lstrip().split("\n", 1)[0]), dict)
    except orjson.JSONDecodeError:
        return False


def _rows_from_json(path: str, max_chars: int) -> Optional[list[Row]]:
    """A .json file holding one array (or one object); None when it is JSON Lines under a .json name."""
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
    return [_too_deep(i, "", f"{path}: element {i}") if i in deep else
            _row_from_value(i, item, max_chars, f"{path}: element {i}") for i, item in enumerate(items, 1)]


def read_rows(source: str, max_chars: int, split: str = "train") -> list[Row]:
    """Rows of a local .jsonl/.json file, or of a Hub dataset when `source` is not a local path."""
    if os.path.isfile(source):
        rows = _rows_from_json(source, max_chars) if source.endswith(".json") else None
        return _rows_from_jsonl(source, max_chars) if rows is None else rows
    if os.path.isdir(source):
        raise UnusableInput(f"{source}: a folder, not a data file (give a .jsonl/.json file or a Hub dataset name like user/name)")
    if os.path.exists(source) or source.endswith((".json", ".jsonl")) or source.count("/") != 1:
        raise UnusableInput(f"{source}: no such file (give a .jsonl/.json file or a Hub dataset name like user/name)")
    return [_row_from_value(i, item, max_chars, f"{source}: row {i}") for i, item in enumerate(_hub_records(source, split), 1)]


def _hub_records(name: str, split: str) -> list[dict]:
    import datasets  # heavy: only for Hub names

    try:
        return list(datasets.load_dataset(name, split=split))
    except Exception as error:  # datasets raises many types; the user needs the message, not the type
        raise UnusableInput(f"{name}: cannot load Hub dataset split {split!r}: {str(error).splitlines()[0]}") from None
