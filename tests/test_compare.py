"""The base comparison: metrics on hand-made answers, mixed-adapter batches, the hook-leak guard, the gate."""

import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import REPO

from marco import tiny
from marco.evaluate import compare, gate
from marco.evaluate.gate import GateConfig

PROBES = [
    {"id": "p1", "messages": [{"role": "user", "content": "Explain 'Sono andato al mare'"}],
     "must_include_any": [["essere"], ["passato prossimo", "past"]], "must_not_include": ["role reversal"],
     "reference": "Passato prossimo of andare with essere; the participle agrees with the subject."},
    {"id": "p2", "messages": [{"role": "user", "content": "What does MAS stand for?"}],
     "must_include_any": [["Monetary Authority of Singapore"]], "must_not_include": [],
     "reference": "The Monetary Authority of Singapore."},
]


def test_passes_needs_every_group_and_no_wrong_claim():
    assert compare.passes("Passato prossimo with ESSERE.", PROBES[0])
    assert not compare.passes("It uses essere.", PROBES[0])  # second group missing
    assert not compare.passes("Essere, past tense, role reversal.", PROBES[0])  # a known wrong claim
    assert compare.passes("the monetary authority of singapore", PROBES[1])


def test_score_on_hand_made_answers():
    from sacrebleu.metrics import CHRF

    answers = ["Great question! Passato prossimo with essere.", "Great question! It is the Maternal Surgery of Melbourne."]
    figures = compare.score(answers, PROBES)
    assert figures["pass_rate"] == 0.5
    assert figures["template_rate"] == 1.0 and figures["templates"][0]["text"] == "great question"  # stock phrase
    assert figures["top_opening_share"] == 0.5 and figures["mean_words"] == 7.5
    assert figures["chrf"] == round(CHRF().corpus_score(answers, [[p["reference"] for p in PROBES]]).score, 2)
    assert compare.score(["a b c", "a b c"], PROBES)["distinct_2"] == 0.5


def comparison(base: dict, tuned: dict) -> dict:
    defaults = {"pass_rate": 0.5, "template_rate": 0.0, "distinct_2": 0.6}
    return {"base": {**defaults, **base}, "fine_tuned": {**defaults, **tuned}}


@pytest.mark.parametrize("tuned, failed", [
    ({}, []),
    ({"pass_rate": 0.4}, ["pass_rate"]),
    ({"template_rate": 0.11}, ["template_rate", "template_rise"]),
    ({"distinct_2": 0.47}, ["distinct_2"]),
])
def test_gate_decides_each_check(tuned, failed):
    verdict = gate.decide(comparison({}, tuned), GateConfig())
    assert verdict["passed"] == (not failed)
    assert [c["name"] for c in verdict["checks"] if not c["passed"]] == failed
    assert len(verdict["reasons"]) == len(failed)


def test_template_rise_is_judged_against_the_base():
    policy = GateConfig(gate_max_template_rate=0.5)
    assert gate.decide(comparison({"template_rate": 0.2}, {"template_rate": 0.24}), policy)["passed"]
    assert not gate.decide(comparison({"template_rate": 0.2}, {"template_rate": 0.26}), policy)["passed"]


def test_regression_stops_on_pass_rate_drop_or_template_collapse_only():
    policy = GateConfig()
    assert gate.regression(comparison({}, {"pass_rate": 0.45}), policy) == ""  # within the margin
    assert "pass rate fell" in gate.regression(comparison({}, {"pass_rate": 0.35}), policy)
    assert gate.regression(comparison({}, {"template_rate": 0.3}), policy).startswith("template collapse")
    assert gate.regression(comparison({}, {"distinct_2": 0.1}), policy) == ""  # a gate failure, not a stop


@pytest.fixture(scope="session")
def adapter_model():
    """marco-tiny with a randomly initialised LoRA (B != 0), so adapter and base answers differ."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny.PATH),
                           LoraConfig(r=8, target_modules="all-linear", init_lora_weights=False))
    return model.eval(), AutoTokenizer.from_pretrained(tiny.PATH)


def test_mixed_batch_answers_equal_separate_base_and_adapter_generations(adapter_model):
    model, tokenizer = adapter_model
    probes = compare.load_probes(os.path.join(REPO, "data", "probes.jsonl"), limit=6)
    config = compare.CompareConfig(compare_max_new_tokens=24, compare_batch_size=3)
    answers = compare.answer(model, tokenizer, probes, config)
    base, tuned = answers["base"], answers["fine_tuned"]
    texts = compare.prompts(tokenizer, probes)
    with model.disable_adapter():
        assert base == compare.generate(model, tokenizer, texts, 24, 3)
    assert tuned == compare.generate(model, tokenizer, texts, 24, 3)
    assert base != tuned
    assert compare.answer(model, tokenizer, probes, config, with_base=False) == {"base": None, "fine_tuned": tuned}


def test_a_model_without_adapter_gets_its_base_answers_from_the_base_beside_it(adapter_model):
    """Full fine-tuning: the same batched path, the base answering from a separately loaded model."""
    from marco import models

    model, tokenizer = adapter_model
    plain = models.load_model(tiny.NAME, dtype=torch.float32)
    probes = compare.load_probes(os.path.join(REPO, "data", "probes.jsonl"), limit=4)
    config = compare.CompareConfig(compare_max_new_tokens=16, compare_batch_size=2)
    alone = compare.answer(plain, tokenizer, probes, config)
    assert alone["base"] is None and all(alone["fine_tuned"])
    beside = compare.answer(plain, tokenizer, probes, config, base_model=plain)
    assert beside["base"] == beside["fine_tuned"] == alone["fine_tuned"]
    assert compare.answer(model, tokenizer, probes, config)["base"] == alone["fine_tuned"]  # = the mixed batch's base


def _hook_count(model):
    return sum(len(m._forward_pre_hooks) for m in model.modules())


def test_guard_removes_the_hooks_peft_leaves_after_a_failed_mixed_batch(adapter_model):
    model, tokenizer = adapter_model
    ids = tokenizer(["Ciao"], return_tensors="pt")
    with torch.no_grad():
        expected = model(**ids).logits
    assert _hook_count(model) == 0
    with pytest.raises(ValueError):  # unguarded (peft issue 3475): the per-row adapter hooks stay behind
        model.generate(**ids, adapter_names=["__base__", "default"], max_new_tokens=2)  # 2 names, 1 row
    assert _hook_count(model) > 0
    for module in model.modules():  # undo that leak by hand before trying the guard
        module._forward_pre_hooks.clear()
        module._forward_pre_hooks_with_kwargs.clear()
    with pytest.raises(ValueError), compare.no_leaked_adapter_hooks(model):
        model.generate(**ids, adapter_names=["__base__", "default"], max_new_tokens=2)  # 2 names, 1 row
    assert _hook_count(model) == 0
    with torch.no_grad():
        assert torch.equal(model(**ids).logits, expected)  # the adapter is in use again, as before the failure


def test_eval_cli_prints_the_table_and_writes_json(adapter_model, tmp_path):
    model, _ = adapter_model
    model.save_pretrained(tmp_path / "adapter")
    probes = tmp_path / "probes.jsonl"
    probes.write_text("".join(json.dumps(p) + "\n" for p in PROBES))
    proc = subprocess.run([sys.executable, "-m", "marco", "eval", "--model", "marco-tiny", "--adapter",
                           str(tmp_path / "adapter"), "--probes", str(probes), "--compare_max_new_tokens", "16"],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "pass_rate" in proc.stdout and "fine-tuned" in proc.stdout and "gate:" in proc.stdout
    result = json.load(open(tmp_path / "adapter" / "marco_eval.json"))
    assert result["evaluation"]["probes"] == 2 and len(result["evaluation"]["samples"]) == 2
    assert result["evaluation"]["samples"][0]["base"] != result["evaluation"]["samples"][0]["fine_tuned"]
    assert set(result["gate"]) == {"passed", "reasons", "checks", "evidence"}


def test_eval_writes_beside_a_local_adapter_and_in_the_working_folder_for_a_hub_id(tmp_path):
    from marco.cli import default_eval_out

    assert default_eval_out(str(tmp_path)) == str(tmp_path / "marco_eval.json")
    assert default_eval_out("someone/tutor") == "marco_eval_someone_tutor.json"  # no folder named someone/ needed
