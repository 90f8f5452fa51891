"""Writing a cleaning result: the set (kept, rejected, report.json, report.html) is whole or absent.

The set is written into a temporary folder beside the target and renamed into place when complete, so a kill
or a full disk leaves either the old complete set or none; leftovers of a killed run are removed next time.
"""

import os
import shutil
import tempfile

from .load import UnusableInput, to_json

OUTPUTS = ("kept.jsonl", "rejected.jsonl", "report.json", "report.html")
_TMP = ".marco-tmp-"  # prefix of the temporary folders and files beside the target


def jsonl_lines(records: list):
    return (to_json(r) + b"\n" for r in records)


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
    if os.path.isdir(folder) and set(os.listdir(folder)) - set(OUTPUTS):
        raise UnusableInput(f"{folder}: holds files other than marco's outputs ({', '.join(OUTPUTS)}); "
                            "give a new or empty folder")
    os.makedirs(parent, exist_ok=True)
    _remove_leftovers(parent, name)
    tmp = tempfile.mkdtemp(dir=parent, prefix=f"{_TMP}{name}.")
    previous = f"{tmp}.previous"  # where the old set waits during the swap
    try:
        write(tmp)
        if os.path.isdir(folder):
            os.replace(folder, previous)
        os.replace(tmp, folder)
    except BaseException:
        if os.path.isdir(previous) and not os.path.exists(folder):
            os.replace(previous, folder)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(previous, ignore_errors=True)


def write_outputs(result, out_dir: str) -> None:
    """kept.jsonl, rejected.jsonl, report.json and report.html in `out_dir`, as one set."""
    def write(folder):
        for name, records in (("kept.jsonl", result.kept), ("rejected.jsonl", result.rejected)):
            with open(os.path.join(folder, name), "wb") as handle:
                handle.writelines(jsonl_lines(records))
        _report_files(result.report, folder)
    _replace_set(out_dir, write)


def write_report(report: dict, out_dir: str) -> None:
    """report.json and report.html alone (the audit), as one set."""
    _replace_set(out_dir, lambda folder: _report_files(report, folder))
