"""What a user can trip on, the model side: bad recipes and probes are one line before anything loads, a run's output
set is whole or absent, a killed run resumes into a complete one, nothing from a killed attempt is published, a second
training into a folder in use is refused, and a full disk (a file size limit: Python gets EFBIG where a full disk
gives ENOSPC) is one line that loses nothing, in `data clean`, training and push staging."""

import json
import os
import resource
import shutil
import signal
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
    assert sorted(os.listdir(run)) == [".marco.lock", "marco_config.yaml"]  # the earlier report and weights are gone


def test_a_second_training_into_a_folder_in_use_is_refused_and_touches_nothing(tmp_path, small_data):
    from marco import run_dir

    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from marco import run_dir; "
                               f"run_dir.claim({str(out)!r}, {{'seed': 1}}, False, False); print('ready', flush=True); "
                               "time.sleep(600)"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "ready\n"
        before = {name: (out / name).read_bytes() for name in os.listdir(out)}
        for extra in ([], ["--overwrite_output_dir", "true"], ["--resume_from_checkpoint", "true"]):
            code, output = run("train.py", "--config", TINY_RECIPE, "--dataset", small_data, "--output_dir", str(out),
                               *FAST, "--max_steps", "1", *extra)
            assert code == 2 and last_line(output) == (f"error: output_dir {out}: pid {holder.pid} is training into "
                                                       "it now; wait for it to end or pick another --output_dir")
        assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    run_dir.lock(str(out))  # a killed holder's lock is gone with it
    run_dir.release(str(out))


def limited(size: int):
    """A child process whose files cannot grow past `size` bytes: what a full disk does to a writer."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def run_on_a_full_disk(size: int, *args):
    proc = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, env=ENV, timeout=300,
                          preexec_fn=limited(size))
    return proc.returncode, proc.stdout + proc.stderr


def test_a_full_disk_during_clean_keeps_the_earlier_set_and_leaves_nothing_aside(tmp_path):
    data = os.path.join(REPO, "data", "marco_it.jsonl")
    out = tmp_path / "out"
    code, _ = run("-m", "marco", "data", "clean", data, "--out", str(out))
    assert code == 0
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    code, output = run_on_a_full_disk(700_000, "-m", "marco", "data", "clean", data, "--out", str(out))
    assert code == 2 and "Traceback" not in output
    assert last_line(output).startswith("error: the disk is full (File too large): no earlier output was replaced")
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
    assert os.listdir(tmp_path) == ["out"]  # no temporary folder left beside it


@pytest.mark.slow(seconds=30)
def test_a_full_disk_at_a_checkpoint_stops_training_in_one_line_and_the_run_resumes(tmp_path, small_data):
    out = tmp_path / "run"
    args = ["train.py", "--config", TINY_RECIPE, "--dataset", small_data, "--output_dir", str(out), *FAST,
            "--max_steps", "2", "--save_strategy", "steps", "--save_steps", "1"]
    code, output = run_on_a_full_disk(2_000_000, *args)  # the adapter (1.2 MB) fits, the optimizer state does not
    assert code == 2 and "Traceback" not in output
    assert last_line(output).startswith("error: the disk is full (torch could not write a checkpoint file")
    assert "the run's complete checkpoints are kept" in last_line(output)
    assert not (out / "marco_report.json").exists()
    code, output = run(*args, "--resume_from_checkpoint", "true")
    assert code == 0, output
    assert json.load(open(out / "checkpoint-2" / "trainer_state.json"))["global_step"] == 2
    assert json.load(open(out / "marco_report.json"))["gate"] is not None


def test_a_full_disk_while_staging_a_push_is_one_line_and_uploads_nothing(trained_tiny_run, tmp_path):
    run_copy = tmp_path / "run"
    shutil.copytree(trained_tiny_run, run_copy, ignore=shutil.ignore_patterns("checkpoint-*"))
    code, output = run_on_a_full_disk(2_000, "-m", "marco", "push", str(run_copy), "--repo-id", "someone/tutor",
                                      "--dry-run")  # the card is written, the weights are linked
    assert code == 2 and "Traceback" not in output and "staged:" not in output
    assert last_line(output).startswith("error: the disk is full (File too large)")
    assert (run_copy / "adapter_model.safetensors").read_bytes() == (trained_tiny_run / "adapter_model.safetensors").read_bytes()
