"""`python train.py --help` prints the real parser's help without importing torch, and never a stale one."""

import json
import subprocess
import sys

from conftest import REPO

from marco.train import recipe_help
from marco.train.config import make_parser

HEAVY = {"torch", "transformers", "peft", "bitsandbytes", "accelerate"}


def test_the_stored_arguments_are_those_of_the_installed_trl(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    with open(recipe_help.SNAPSHOT, encoding="utf-8") as handle:
        stored = json.load(handle)
    assert stored["versions"] == recipe_help.versions(), "run `python -m marco.train.recipe_help` after changing the pins"
    real = make_parser()
    assert stored["arguments"] == recipe_help.trl_arguments(real)
    fast = recipe_help.help_parser()
    assert fast.format_help() == real.format_help()
    assert "--learning_rate" in fast.format_help() and "--no_clean_data" in fast.format_help()


def test_train_help_imports_no_torch_and_writes_nothing_to_stderr(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    done = subprocess.run([sys.executable, "-X", "importtime", "train.py", "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert not {name.split(".")[0] for name in imported} & HEAVY
    assert all(line.startswith("import time:") for line in done.stderr.splitlines())  # nothing else on stderr
    real = make_parser()
    real.prog = "train.py"
    assert done.stdout == real.format_help()


def test_a_snapshot_of_other_versions_or_a_torchrun_launch_uses_the_real_parser(tmp_path, monkeypatch):
    with open(recipe_help.SNAPSHOT, encoding="utf-8") as handle:
        stored = json.load(handle)
    other = tmp_path / "recipe_help.json"
    other.write_text(json.dumps({**stored, "versions": {**stored["versions"], "trl": "0.0.1"}}), encoding="utf-8")
    assert recipe_help.help_parser() is not None
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert recipe_help.help_parser() is None  # torchrun: the real parser's launch defaults apply
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.setattr(recipe_help, "SNAPSHOT", str(other))
    assert recipe_help.help_parser() is None
