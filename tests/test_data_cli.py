"""`python -m marco data audit|clean`: exit codes, outputs, conservation, atomic writes, the example data."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, chat

import importlib

from marco.data import clean

outputs_module = importlib.import_module("marco.data.outputs")

EXAMPLES = os.path.join(REPO, "data", "examples")


def marco(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "marco", *args], capture_output=True, text=True, cwd=cwd or REPO,
                          env={**os.environ, "PYTHONPATH": REPO})


def read_jsonl(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture
def mixed_file(write_jsonl):
    return write_jsonl([
        chat("Come si dice 'apple'?", "Mela, femminile: la mela, le mele.", id="ok1"),
        chat("come si dice apple", "mela femminile la mela le mele", id="dup"),
        "{broken",
        {"instruction": "Translate 'book'", "output": "libro (maschile): il libro, i libri.", "id": "alp"},
        {"messages": [{"role": "user", "content": "hi"}]},
    ])


def test_clean_writes_four_outputs_and_conserves_every_line(mixed_file, tmp_path):
    out = tmp_path / "out"
    proc = marco("data", "clean", mixed_file, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    kept, rejected = read_jsonl(out / "kept.jsonl"), read_jsonl(out / "rejected.jsonl")
    assert [r["id"] for r in kept] == ["ok1", "alp"]
    assert [r["rejection"]["reason"] for r in rejected] == ["exact_duplicate", "invalid_json", "no_assistant_turn"]
    assert rejected[0]["rejection"]["duplicate_of"] == "ok1"
    assert rejected[1]["raw"] == "{broken"
    report = json.loads((out / "report.json").read_text())
    assert report["counts"]["input"] == 5 == len(kept) + len(rejected)
    html = (out / "report.html").read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html and "exact_duplicate" in html
    assert "<script" not in html and "http" not in html.split("<body>")[1]  # self-contained
    assert "kept" in proc.stdout and "exact_duplicate" in proc.stdout


def test_audit_changes_no_data_and_writes_only_the_report(mixed_file, tmp_path):
    before = open(mixed_file, "rb").read()
    proc = marco("data", "audit", mixed_file, "--out", str(tmp_path / "rep"))
    assert proc.returncode == 0
    assert sorted(os.listdir(tmp_path / "rep")) == ["report.html", "report.json"]
    assert open(mixed_file, "rb").read() == before


def test_clean_options_reach_the_cleaner(write_jsonl, tmp_path):
    path = write_jsonl([chat(f"Domanda {i}?", f"Great question! Risposta {i}.", id=i) for i in range(3)])
    assert marco("data", "clean", path, "--out", str(tmp_path / "a")).returncode == 0
    assert len(read_jsonl(tmp_path / "a" / "kept.jsonl")) == 0
    assert marco("data", "clean", path, "--out", str(tmp_path / "b"), "--template", "off",
                 "--near-dup-threshold", "0.9").returncode == 0
    assert len(read_jsonl(tmp_path / "b" / "kept.jsonl")) == 3
    assert json.loads((tmp_path / "b" / "report.json").read_text())["settings"]["near_dup_threshold"] == 0.9


@pytest.mark.parametrize("args, message", [
    (["data", "audit", "missing.jsonl"], "missing.jsonl: no such file"),
    (["data", "clean", "data/examples/v1_templated.jsonl"], "needs --out"),
    (["data", "audit", "data/examples/v1_templated.jsonl", "--near-dup-threshold", "1.5"], "near_dup_threshold"),
    (["nonsense"], "usage"),
])
def test_unusable_input_exits_2_with_a_one_line_error(args, message):
    proc = marco(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    if args != ["nonsense"]:
        assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_encoding_exits_2_naming_file_and_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"messages": []}\n{"prompt": "caff\xe8", "completion": "x"}\n')
    proc = marco("data", "audit", str(path))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {path}:2: not valid UTF-8 (byte 0xe8); re-save the file as UTF-8"


def test_strict_makes_bad_records_fatal_and_writes_nothing(mixed_file, tmp_path):
    proc = marco("data", "clean", mixed_file, "--out", str(tmp_path / "s"), "--strict")
    assert proc.returncode == 2 and ":3: invalid JSON" in proc.stderr
    assert not (tmp_path / "s").exists()


def test_outputs_are_atomic_when_writing_fails(mixed_file, tmp_path, monkeypatch):
    out = tmp_path / "out"
    clean(mixed_file, str(out))
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}

    def crash(src, dst):
        raise KeyboardInterrupt("killed after the temporary file was written")

    monkeypatch.setattr(outputs_module.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        clean(mixed_file, str(out))
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before  # nothing torn
    assert sorted(os.listdir(tmp_path)) == ["data.jsonl", "out"]  # no temporary folder left beside it


def test_a_killed_runs_leftovers_are_removed_and_foreign_folders_refused(mixed_file, tmp_path):
    (tmp_path / ".marco-tmp-out.abc123").mkdir()  # what a SIGKILL during writing leaves
    (tmp_path / ".marco-tmp-out.abc123" / "kept.jsonl").write_text("half")
    assert marco("data", "clean", mixed_file, "--out", str(tmp_path / "out")).returncode == 0
    assert sorted(os.listdir(tmp_path)) == ["data.jsonl", "out"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    proc = marco("data", "clean", mixed_file, "--out", str(tmp_path / "mine"))
    assert proc.returncode == 2 and "holds files other than marco's outputs" in proc.stderr
    assert os.listdir(tmp_path / "mine") == ["notes.txt"]


def test_same_input_gives_byte_identical_outputs(mixed_file, tmp_path):
    for name in ("x", "y"):
        assert marco("data", "clean", mixed_file, "--out", str(tmp_path / name)).returncode == 0
    for name in ("kept.jsonl", "rejected.jsonl", "report.json", "report.html"):
        assert (tmp_path / "x" / name).read_bytes() == (tmp_path / "y" / name).read_bytes()


def test_audit_of_v1_example_shows_the_templates(tmp_path):
    proc = marco("data", "audit", os.path.join(EXAMPLES, "v1_templated.jsonl"), "--out", str(tmp_path))
    report = json.loads((tmp_path / "report.json").read_text())
    found = {(t["kind"], t["text"]) for t in report["templates"]["found"]}
    assert ("opening", "great question this translates") in found
    assert ("stock", "great question") in found
    assert any(kind == "frame" and "nice try the phrase slotq" in text for kind, text in found)  # not in any list
    assert report["templates"]["template_rate"] > 0.9
    assert "great question this translates" in proc.stdout


def test_audit_of_finance_example_shows_per_topic_duplication(tmp_path):
    proc = marco("data", "clean", os.path.join(EXAMPLES, "finance_duplicated.jsonl"), "--out", str(tmp_path))
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["counts"]["input"] == 496
    topics = {row["value"]: row for row in report["groups"]["topic"]}
    assert len(topics) == 8 and all(row["duplicate_share"] > 0.95 for row in topics.values())
    assert "topic='MAS': 61 of 62 records are duplicates" in proc.stdout
    kept = read_jsonl(tmp_path / "kept.jsonl")
    assert len(kept) == 8 and {r["topic"] for r in kept} == set(topics)  # one per topic: its unique content
    assert report["counts"]["by_reason"] == {"exact_duplicate": 480, "near_duplicate": 8}


def test_lengths_count_tokens_when_a_tokenizer_is_given(write_jsonl, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({"[UNK]": 0, "ciao": 1}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Split("", "isolated")  # one token per character
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]").save_pretrained(tmp_path / "tok")
    path = write_jsonl([chat("abc", "defgh", id=1)])
    assert marco("data", "audit", path, "--out", str(tmp_path / "r"), "--tokenizer", str(tmp_path / "tok")).returncode == 0
    lengths = json.loads((tmp_path / "r" / "report.json").read_text())["lengths"]
    assert (lengths["unit"], lengths["p100"]) == ("tokens", 9)  # "abc defgh": 9 characters with the space
    assert marco("data", "audit", path, "--tokenizer", str(tmp_path / "nope")).returncode == 2


def test_help_says_what_each_data_option_does():
    out = marco("data", "--help").stdout
    assert "--template {reject,strip,flag,off}" in out and "common enough to teach a formula" in out
    assert "--probes" in out and "--score-model" in out and "--reject-duplicate-prompts" in out


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [0.3, 1.0, 1.8])
def test_a_killed_clean_leaves_the_old_set_or_the_new_one_never_a_mix(write_jsonl, tmp_path, kill_after):
    import signal
    import time

    records = [chat(f"Domanda {i} sul lessico italiano?", f"Risposta {i}: " + " ".join(f"parola{i * 7 + j}" for j in range(40)),
                    id=i) for i in range(3000)]
    path = write_jsonl(records)
    out = tmp_path / "out"
    out.mkdir()
    for name in ("kept.jsonl", "rejected.jsonl", "report.json", "report.html"):
        (out / name).write_text(f"old {name}")
    proc = subprocess.Popen([sys.executable, "-m", "marco", "data", "clean", path, "--out", str(out)], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": REPO}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    names = sorted(os.listdir(out)) if out.exists() else []
    if names:
        assert names == ["kept.jsonl", "rejected.jsonl", "report.html", "report.json"]
        contents = {(out / n).read_text()[:4] == "old " for n in names}
        assert len(contents) == 1  # all old or all new
    assert marco("data", "clean", path, "--out", str(out)).returncode == 0  # the next run completes and tidies up
    assert sorted(os.listdir(tmp_path)) == ["data.jsonl", "out"]
    assert len(read_jsonl(out / "kept.jsonl")) + len(read_jsonl(out / "rejected.jsonl")) == 3000
