"""The judge during training: a real marco-tiny run through train.py with the fixed OpenAI-compatible judge
(tests/judge_server.py) set to prefer the base model's own answers. Every comparison is judged, its verdicts land in
comparisons/step_N.jsonl, judge_win_rate is logged with the losses, and the run stops when the judge's interval
says the fine-tuned model is significantly worse; the final comparison is judged into marco_report.json."""

import json
import os
import sys

import pytest
from conftest import FAST, REPO
from judge_server import JudgeServer

sys.path.insert(0, REPO)
from marco import pipeline  # noqa: E402
from marco.stats import wilson  # noqa: E402
from marco.train.config import make_parser  # noqa: E402

PROBES = 4


def rows(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


@pytest.mark.slow
def test_the_judge_watches_training_and_stops_a_run_it_finds_worse(trained_tiny_run, small_data, tmp_path):
    base_answers = [r["base"] for r in rows(trained_tiny_run / "comparisons" / "step_000000.jsonl")]  # greedy: fixed
    probes = tmp_path / "probes.jsonl"
    with open(os.path.join(REPO, "data", "probes.jsonl"), encoding="utf-8") as handle:
        probes.write_text("".join(handle.readlines()[:PROBES]))
    out = tmp_path / "run"
    with JudgeServer(better=tuple(a for a in base_answers if a)) as server:
        args = ["--config", os.path.join(REPO, "configs", "marco_tiny.yaml"), "--dataset", small_data,
                "--output_dir", str(out), *FAST, "--compare_during_training", "true", "--probes", str(probes),
                "--max_steps", "18", "--learning_rate", "1e-3", "--eval_strategy", "steps", "--eval_steps", "6",
                "--judge_base_url", server.url, "--judge_model", "fixed-judge"]
        report = pipeline.main(*make_parser().parse_args_and_config(args))
    history = report.during_training
    assert [h["step"] for h in history][0] == 0 and all("judge" in h for h in history)
    for entry in history:  # the judge's rule: base text present -> base wins in both orders, else a position-bias tie
        written = rows(out / "comparisons" / f"step_{entry['step']:06d}.jsonl")
        assert all(set(r["judge"]) == {"winner", "picks", "replies"} and len(r["judge"]["replies"]) == 2 for r in written)
        expected_losses = sum(r["base"] not in r["fine_tuned"] for r in written)
        assert [r["judge"]["winner"] for r in written] == \
            ["tie" if r["base"] in r["fine_tuned"] else "base" for r in written]
        assert (entry["judge"]["losses"], entry["judge"]["ties"], entry["judge"]["n"]) == \
            (expected_losses, PROBES - expected_losses, PROBES)
        assert entry["judge"]["ci95"] == list(wilson((PROBES - expected_losses) / 2, PROBES))
    assert history[0]["judge"]["ties"] == PROBES  # step 0: the same answers twice, only the position bias speaks
    worse = [h for h in history if h["judge"]["ci95"][1] < 0.5]
    assert worse, [h["judge"] for h in history]  # the recipe must reach a step the judge finds worse
    assert report.stopped_early.startswith(f"step {worse[0]['step']}: judge fixed-judge at {server.url} prefers the base")
    assert history[-1]["step"] == worse[0]["step"] < 18
    assert report.judge["n"] == PROBES and report.judge["judge"] == f"fixed-judge at {server.url}"
    assert all("judge" in s for s in report.evaluation["samples"])
    assert report.gate["evidence"] == "judge"
    assert report.gate["passed"] == (report.judge["ci95"][1] >= 0.5)


@pytest.mark.slow(seconds=25)
def test_a_judge_that_is_down_never_costs_the_trained_model(small_data, tmp_path):
    from marco.errors import MarcoError

    out = tmp_path / "run"
    with JudgeServer(trouble="500", times=10**6) as server:
        args = ["--config", os.path.join(REPO, "configs", "marco_tiny.yaml"), "--dataset", small_data,
                "--output_dir", str(out), *FAST, "--compare_during_training", "true", "--compare_probes", "2",
                "--max_steps", "4", "--eval_strategy", "steps", "--eval_steps", "2",
                "--judge_base_url", server.url, "--judge_model", "fixed-judge", "--judge_retries", "0"]
        with pytest.raises(MarcoError, match=r"the final comparison failed \(JudgeUnavailable: the judge at .* gave no "
                                             r"usable reply in 1 try .*the trained model is saved in"):
            pipeline.main(*make_parser().parse_args_and_config(args))
    report = json.load(open(out / "marco_report.json"))
    assert [h["step"] for h in report["during_training"]] == [0, 2, 4]  # training went on, unjudged
    assert all("gave no usable reply" in h["judge_error"] and "judge" not in h for h in report["during_training"])
    assert not report["gate"]["passed"] and "JudgeUnavailable" in report["gate"]["reasons"][0]
    assert report["evaluation"]["samples"] and (out / "adapter_model.safetensors").exists()
