"""A run's output_dir, whole or absent. train.py claims the folder before it writes anything: a non-empty folder that
is not a marco run (`.`, a project) is refused; an earlier run is replaced only with --overwrite_output_dir and
continued only with --resume_from_checkpoint. marco_config.yaml (the recipe) is written first and marks the folder
as a run; marco_report.json is written last and atomically, and marks it complete: every reader (push, space, eval,
the app, export) refuses a run without it (`check_complete`). A training holds OUTPUT_DIR/.marco.lock while it runs
(the kernel drops the lock when the process ends, killed or not), so a second training into the folder is refused."""

import fcntl
import glob
import os
import re
import shutil

from marco.errors import MarcoError

RECIPE = "marco_config.yaml"  # written first: this folder is a marco run
REPORT = "marco_report.json"  # written last: the run is complete (marco.publish.report.FILE)
LOCK = ".marco.lock"
_held = {}  # output_dir -> its open lock file, for as long as this process lives


def lock(output_dir: str) -> None:
    """Hold output_dir's lock, or MarcoError naming the process that holds it."""
    path = os.path.realpath(os.path.join(output_dir, LOCK))
    if path in _held:
        return
    handle = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise MarcoError(f"output_dir {output_dir}: {holder} is training into it now; wait for it to end or pick "
                         "another --output_dir") from None
    handle.truncate(0)
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    _held[path] = handle


def is_run(folder: str) -> bool:
    return os.path.isfile(os.path.join(folder, RECIPE)) or os.path.isfile(os.path.join(folder, REPORT))


def check_complete(folder: str) -> None:
    """MarcoError for a marco run without its report: in progress, killed, or failed before the end."""
    if os.path.isdir(folder) and is_run(folder) and not os.path.isfile(os.path.join(folder, REPORT)):
        raise MarcoError(f"{folder}: an unfinished marco run (no {REPORT}: still training, killed or failed); "
                         "finish it with `python train.py --config FOLDER/marco_config.yaml --resume_from_checkpoint true`")


def release(output_dir: str) -> None:
    """Let go of output_dir's lock (the file stays: removing it would let two processes lock two files)."""
    handle = _held.pop(os.path.realpath(os.path.join(output_dir, LOCK)), None)
    if handle:
        handle.close()


def claim(output_dir: str, recipe: dict, resume: bool, overwrite: bool) -> None:
    """Make output_dir this run's, before anything else is written, and write its recipe."""
    import yaml

    if os.path.exists(output_dir) and (not os.path.isdir(output_dir) or set(os.listdir(output_dir)) - {LOCK}):
        if not os.path.isdir(output_dir) or not is_run(output_dir):
            raise MarcoError(f"output_dir {output_dir}: not empty and not a marco run: nothing written; "
                             "pick a new or empty folder (--output_dir outputs/NAME)")
        lock(output_dir)  # before anything of the folder is read as this run's or removed
        if not resume and not overwrite:
            raise MarcoError(f"output_dir {output_dir}: holds an earlier marco run: --overwrite_output_dir replaces "
                             "it, --resume_from_checkpoint true continues it, or pick a new folder")
        if overwrite and not resume:  # nothing of the earlier run may be published as this one's
            for entry in set(os.listdir(output_dir)) - {LOCK}:
                path = os.path.join(output_dir, entry)
                shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
    os.makedirs(output_dir, exist_ok=True)
    lock(output_dir)
    for stale in (REPORT, REPORT + ".tmp"):  # the run is in progress from now on
        if os.path.exists(os.path.join(output_dir, stale)):
            os.remove(os.path.join(output_dir, stale))
    with open(os.path.join(output_dir, RECIPE), "w", encoding="utf-8") as handle:
        yaml.safe_dump(recipe, handle, sort_keys=False, allow_unicode=True)


def step_of(path: str) -> int:
    return int(re.findall(r"\d+", os.path.basename(path))[-1])


def complete_checkpoints(output_dir: str) -> tuple[list, list]:
    """(complete, incomplete) checkpoint-N folders, newest first. Complete: trainer_state.json (the Trainer writes it
    last) parses and the weights' safetensors header reads; a kill while saving leaves the rest."""
    import json

    from safetensors import SafetensorError, safe_open

    complete, incomplete = [], []
    for folder in sorted(glob.glob(os.path.join(output_dir, "checkpoint-*")), key=step_of, reverse=True):
        try:
            with open(os.path.join(folder, "trainer_state.json"), encoding="utf-8") as handle:
                json.load(handle)
            weights = glob.glob(os.path.join(folder, "*.safetensors"))
            if not weights:
                raise OSError("no weights")
            for path in weights:
                with safe_open(path, "pt") as tensors:
                    tensors.keys()
            complete.append(folder)
        except (OSError, ValueError, SafetensorError):
            incomplete.append(folder)
    return complete, incomplete


def drop_comparisons_after(output_dir: str, step: int) -> None:
    """comparisons/step_N.jsonl written after the checkpoint a run resumes from belong to the killed attempt."""
    for path in glob.glob(os.path.join(output_dir, "comparisons", "step_*.jsonl")):
        if step_of(path) > step:
            os.remove(path)
