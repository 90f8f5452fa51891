"""Every command of the CLI with bad inputs: a one-line `error:` (or argparse's usage message) and exit 2, never a
traceback. In-process through marco.cli.main, where an uncaught exception fails the test; train.py and app.py, whose
error handling is their `__main__` block, as processes."""

import os
import subprocess
import sys

import pytest
from conftest import REPO

from marco.cli import main

BAD_FILES = {  # name -> content (None: a folder; absent from disk: "missing")
    "empty.jsonl": b"",
    "binary.jsonl": bytes(range(256)) * 4,
    "broken.json": b'[{"messages": [',
    "numbers.json": b"[1, 2, 3]",
    "deep.jsonl": b'{"messages": ' + b"[" * 300 + b"]" * 300 + b"}\n",
    "folder.jsonl": None,
    "not_a_run": None,
    "recipe.yaml": b"learning_rate: [1, 2]\n",
    "broken.yaml": b"model_name_or_path: [unclosed\n",
}


@pytest.fixture(scope="session")
def bad(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    for name, content in BAD_FILES.items():
        (root / name).mkdir() if content is None else (root / name).write_bytes(content)
    return lambda name: str(root / name)


def commands(bad, out):
    data = ["missing.jsonl", "empty.jsonl", "binary.jsonl", "broken.json", "numbers.json", "folder.jsonl"]
    runs = ["missing", "not_a_run", "empty.jsonl"]
    recipes = ["missing.yaml", "recipe.yaml", "broken.yaml", "binary.jsonl"]
    yield from (["data", verb, bad(f), "--out", out] for verb in ("audit", "clean") for f in data)
    yield ["data", "clean", bad("deep.jsonl"), "--out", out, "--probes", bad("binary.jsonl")]
    yield ["data", "clean", bad("deep.jsonl"), "--out", out, "--tokenizer", bad("not_a_run")]
    yield from (["eval", "--adapter", bad(r), "--out", os.path.join(out, "e.json")] for r in runs)
    yield from (["eval", "--answers", bad(f), "--out", os.path.join(out, "e.json")] for f in data)
    yield from (["push", bad(r), "--repo-id", "someone/tutor", "--dry-run"] for r in runs)
    yield from (["space", bad(r), "--repo-id", "someone/tutor", "--out", os.path.join(out, "space")] for r in runs)
    yield from (["review", bad(r)] for r in runs)
    yield ["review", bad("not_a_run"), "--export-dpo", os.path.join(out, "dpo.jsonl"), "--from", "judge"]
    yield from (["export", bad(r), "--format", f, "--out", os.path.join(out, "x.gguf")] for r in runs for f in ("merged", "gguf"))
    yield from (["preview", "--config", bad(r)] for r in recipes)
    yield from (["dpo", "--config", bad(r)] for r in recipes)
    yield ["eval", "--adapter", bad("not_a_run"), "--max-new-tokens", "many"]
    yield ["nonsense"]


def test_every_command_answers_bad_input_with_one_line_and_exit_2(bad, tmp_path, capsys):
    seen, wrong = [], []
    for argv in commands(bad, str(tmp_path / "out")):
        try:
            code = main(argv)
        except SystemExit as exit:  # argparse's own refusal: usage and one "error:" line
            code = exit.code
        except Exception as error:  # what a user would see as a traceback
            code = f"{type(error).__name__}: {error}"
        err = capsys.readouterr().err.strip()
        last = err.splitlines()[-1] if err else ""
        if code != 2 or not (last.startswith("error: ") or ": error: " in last):
            wrong.append((" ".join(a.replace(str(tmp_path), "") for a in argv), code, last[:200]))
        seen.append(argv[0])
    assert wrong == []
    assert main(["data", "audit", bad("folder.jsonl")]) == 2 and "folder.jsonl: a folder with no .jsonl file" in capsys.readouterr().err
    assert set(seen) >= {"data", "eval", "push", "space", "review", "export", "preview", "dpo"}


@pytest.mark.parametrize("argv", [
    ["train.py", "--config", "missing.yaml"],
    ["train.py", "--config", "configs/marco_tiny.yaml", "--dataset", "binary.jsonl", "--output_dir", "run"],
    ["train.py", "--config", "recipe.yaml"],
    ["app.py", "--adapter", "not_a_run"],
    ["app.py", "--backend-url", "http://127.0.0.1:9/v1"],
    ["app.py", "--backend-url", "http://127.0.0.1:9/v1", "--base-model", "base", "--tuned-model", "marco"],
], ids=["train-missing-recipe", "train-binary-data", "train-list-for-a-number", "app-not-a-run", "app-backend-no-names",
        "app-backend-not-answering"])
def test_the_entry_points_answer_bad_input_without_a_traceback(bad, argv):
    script, *args = argv
    args = [bad(a) if a in BAD_FILES or a.startswith("missing") or a == "run" else a for a in args]  # all in tmp
    proc = subprocess.run([sys.executable, os.path.join(REPO, script), *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("error: "), proc.stderr[-2000:]
