"""Issue 17, the model side: bad recipes and probes are one line before anything loads, a run's output set is whole
or absent, a killed run resumes into a complete one, and nothing from a killed attempt is published."""

import json
import os
import subprocess
import sys

import pytest
from conftest import FAST, REPO

sys.path.insert(0, REPO)

TINY_RECIPE = os.path.join(REPO, "configs", "marco_tiny.yaml")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def run(*args, cwd=REPO, timeout=300):
    """A marco command as a user runs it: (exit code, stdout + stderr)."""
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=ENV, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def recipe_with(tmp_path, **changes) -> str:
    """The tiny recipe with some lines replaced (key: raw YAML text) or added."""
    lines = open(TINY_RECIPE, encoding="utf-8").read().splitlines()
    for key, raw in changes.items():
        lines = [line for line in lines if not line.startswith(f"{key}:")] + [f"{key}: {raw}"]
    path = tmp_path / "recipe.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


@pytest.mark.parametrize("changes, expected", [
    ({"learning_rate": "[1, 2]"}, "learning_rate must be a number, got [1, 2]"),
    ({"num_train_epochs": "one"}, "num_train_epochs must be a number, got 'one'"),
    ({"method": "qlor"}, "method must be one of lora, qlora, full, got 'qlor'"),
    ({"lerning_rate": "0.1"}, "unknown key 'lerning_rate' (did you mean 'learning_rate'?)"),
    ({"seed": "[1"}, "not valid YAML"),
])
def test_a_bad_recipe_is_one_line_naming_the_file_line_and_key(tmp_path, changes, expected):
    from marco.errors import MarcoError
    from marco.train.config import make_parser
    from marco.train.config_file import parse

    recipe = recipe_with(tmp_path, **changes)
    with pytest.raises(MarcoError) as error:
        parse(make_parser(), ["--config", recipe, "--output_dir", str(tmp_path / "out")])
    assert str(error.value).startswith(f"{recipe}:") and expected in str(error.value) and "\n" not in str(error.value)


def test_the_key_line_is_the_line_in_the_file(tmp_path):
    from marco.train import config_file

    path = tmp_path / "r.yaml"
    path.write_text("# comment\nseed: 1\n\nlearning_rate: [1, 2]\n")
    assert config_file.read(str(path))[1] == {"seed": 2, "learning_rate": 4}


@pytest.mark.parametrize("args, expected", [
    (["--config", "nowhere.yaml"], "--config nowhere.yaml: No such file or directory"),
    (["--config"], "--config needs a file"),
])
def test_a_missing_recipe_is_one_line(args, expected):
    from marco.errors import MarcoError
    from marco.train.config import make_parser
    from marco.train.config_file import parse

    with pytest.raises(MarcoError, match=expected):
        parse(make_parser(), args)


def test_a_bad_command_line_value_is_one_line_without_the_usage(capsys):
    from marco.train.config import make_parser
    from marco.train.config_file import parse

    with pytest.raises(SystemExit) as exit_code:
        parse(make_parser(), ["--config", TINY_RECIPE, "--learning_rate", "fast"])
    err = capsys.readouterr().err
    assert exit_code.value.code == 2 and "usage:" not in err and "invalid float value: 'fast'" in last_line(err)


def test_a_valid_recipe_passes_the_check():
    """The look-alike negative: every shipped recipe, `eval_strategy: no` (YAML's false) included, is accepted."""
    import glob

    from marco.train import config_file
    from marco.train.config import make_parser

    for recipe in glob.glob(os.path.join(REPO, "configs", "*.yaml")):
        if not recipe.endswith("_dpo.yaml"):
            config_file.check(make_parser(), recipe)


@pytest.mark.parametrize("lines, expected", [
    ([], "no probe in the file"),
    (['{"messages": [{"role": "user", "content": "Ciao?"}], "reference": "r"}'], ":1: id: missing"),
    (['{"id": "p", "messages": [{"role": "assistant", "content": "x"}], "reference": "r"}'], ":1: messages: the last"),
])
def test_a_bad_probe_is_file_line_and_field(tmp_path, lines, expected):
    from marco.errors import MarcoError
    from marco.evaluate import compare

    path = tmp_path / "probes.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    with pytest.raises(MarcoError, match=expected):
        compare.load_probes(str(path))
    path.write_text('{"id": "p", "messages": [{"role": "user", "content": "Ciao?"}], "reference": "r"}\n')
    assert compare.load_probes(str(path))[0]["id"] == "p"  # the look-alike that is fine


def test_output_dir_is_claimed_before_anything_is_written(tmp_path):
    from marco import run_dir
    from marco.errors import MarcoError

    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("mine")
    with pytest.raises(MarcoError, match="not empty and not a marco run"):
        run_dir.claim(str(project), {"seed": 1}, resume=False, overwrite=True)
    assert os.listdir(project) == ["README.md"]
    run = tmp_path / "run"
    run_dir.claim(str(run), {"seed": 1}, resume=False, overwrite=False)
    with pytest.raises(MarcoError, match="unfinished marco run"):
        run_dir.check_complete(str(run))
    (run / "marco_report.json").write_text("{}")
    run_dir.check_complete(str(run))
    with pytest.raises(MarcoError, match="holds an earlier marco run"):
        run_dir.claim(str(run), {"seed": 1}, resume=False, overwrite=False)
    run_dir.claim(str(run), {"seed": 2}, resume=False, overwrite=True)
    assert sorted(os.listdir(run)) == ["marco_config.yaml"]  # the earlier report and weights are gone
