"""Writing a cleaning result: the set (kept, rejected, report.json, report.html) is whole or absent.

The set is written into a temporary folder beside the target and renamed into place when complete, so a kill
or a full disk leaves either the old complete set or none; leftovers of a killed run are removed next time. What a
reader's review wrote into the folder (READER_FILES: the Data review tab's decisions and its pseudonym key) is
carried into the new set, hard-linked: the same file, so a decision appended meanwhile is not lost.
"""

import functools
import os
import shutil
import tempfile

from .fork import Forked, can_fork
from .load import UnusableInput, to_json
from .overrides import OVERRIDES_FILE

OUTPUTS = ("kept.jsonl", "rejected.jsonl", "report.json", "report.html")
READER_FILES = (OVERRIDES_FILE, ".review_key")  # the decisions, and the key of the reviewers' pseudonyms
_TMP = ".marco-tmp-"  # prefix of the temporary folders and files beside the target
_LINES_AT_A_TIME = 4096


def _report_files(report: dict, folder: str) -> None:
    from .report_html import render

    with open(os.path.join(folder, "report.json"), "wb") as handle:
        handle.write(to_json(report, indent=True))
    with open(os.path.join(folder, "report.html"), "wb") as handle:
        handle.write(render(report).encode("utf-8"))


def _remove_leftovers(parent: str, name: str) -> None:
    for entry in os.listdir(parent):
        if entry.startswith(f"{_TMP}{name}."):
            shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)


def _replace_set(folder: str, write) -> None:
    """Call `write(tmp)` to fill a temporary folder beside `folder`, then swap it into place."""
    folder = os.path.abspath(folder)
    parent, name = os.path.split(folder)
    if os.path.isdir(folder) and set(os.listdir(folder)) - set(OUTPUTS) - set(READER_FILES):
        raise UnusableInput(f"{folder}: holds files other than marco's outputs ({', '.join(OUTPUTS)}) and a "
                            f"review's ({', '.join(READER_FILES)}); give a new or empty folder")
    os.makedirs(parent, exist_ok=True)
    _remove_leftovers(parent, name)
    tmp = tempfile.mkdtemp(dir=parent, prefix=f"{_TMP}{name}.")
    previous = f"{tmp}.previous"  # where the old set waits during the swap
    try:
        write(tmp)
        for reader_file in READER_FILES:
            if os.path.exists(os.path.join(folder, reader_file)):
                os.link(os.path.join(folder, reader_file), os.path.join(tmp, reader_file))
        if os.path.isdir(folder):
            os.replace(folder, previous)
        os.replace(tmp, folder)
    except BaseException:
        if os.path.isdir(previous) and not os.path.exists(folder):
            os.replace(previous, folder)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(previous, ignore_errors=True)


def _write_records(result, first: int, stop: int, kept_path: str, rejected_path: str) -> None:
    """Rows `first` to `stop` of a cleaning result into two JSON Lines files, a few thousand lines per write."""
    with open(kept_path, "wb") as kept, open(rejected_path, "wb") as rejected:
        files, lines = {True: kept, False: rejected}, {True: [], False: []}
        for is_kept, record in result.records(first, stop):
            lines[is_kept].append(to_json(record) + b"\n")
            if len(lines[is_kept]) == _LINES_AT_A_TIME:
                files[is_kept].write(b"".join(lines[is_kept]))
                lines[is_kept] = []
        for is_kept, waiting in lines.items():
            files[is_kept].write(b"".join(waiting))


def write_outputs(result, out_dir: str) -> None:
    """kept.jsonl, rejected.jsonl, report.json and report.html in `out_dir`, as one set. The records are read again
    from the source as they are written; a large set is written by two processes, one half each, joined after."""
    def write(folder):
        kept, rejected = os.path.join(folder, "kept.jsonl"), os.path.join(folder, "rejected.jsonl")
        half = len(result.rows) // 2 if can_fork(len(result.rows)) else len(result.rows)
        second = Forked(functools.partial(_write_records, result, half, len(result.rows), f"{kept}.part",
                                          f"{rejected}.part")) if half < len(result.rows) else None
        try:
            _write_records(result, 0, half, kept, rejected)
        except BaseException:
            if second:
                second.stop()
            raise
        if second:
            second.result()
            for path in (kept, rejected):
                with open(path, "ab") as whole, open(f"{path}.part", "rb") as part:
                    shutil.copyfileobj(part, whole, 1 << 22)
                os.remove(f"{path}.part")
        _report_files(result.report, folder)
    _replace_set(out_dir, write)


def write_joined(report: dict, out_dir: str, parts: dict) -> None:
    """kept.jsonl and rejected.jsonl each joined from its part files in order ({"kept": [paths], "rejected": [paths]};
    a missing part holds nothing), and the report, as one set."""
    def write(folder):
        for name, paths in parts.items():
            with open(os.path.join(folder, f"{name}.jsonl"), "wb") as whole:
                for path in filter(os.path.exists, paths):
                    with open(path, "rb") as part:
                        shutil.copyfileobj(part, whole, 1 << 22)
        _report_files(report, folder)
    _replace_set(out_dir, write)


def write_report(report: dict, out_dir: str) -> None:
    """report.json and report.html alone (the audit), as one set."""
    _replace_set(out_dir, lambda folder: _report_files(report, folder))
