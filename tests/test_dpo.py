"""python -m marco dpo: TRL's DPOTrainer from an SFT adapter on marco-tiny, on exported review preferences."""

import json
import os

import pytest
import torch
from conftest import REPO
from safetensors.torch import load_file

from marco import tiny
from marco.cli import main
from marco.evaluate import review
from marco.train import dpo

RECIPE = os.path.join(REPO, "configs", "marco_tiny_dpo.yaml")


@pytest.fixture
def sft_run(tmp_path):
    """An SFT run folder as train.py leaves it: a LoRA adapter on marco-tiny (seeded, non-zero), its tokenizer and
    marco_report.json naming the base."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny.PATH),
                           LoraConfig(r=8, target_modules="all-linear", init_lora_weights=False))
    path = tmp_path / "sft"
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny.PATH).save_pretrained(path)
    (path / "marco_report.json").write_text(json.dumps({"base_model": "marco-tiny"}))
    return path


def test_recipe_parses_with_its_parser():
    args, training_args = dpo.make_parser().parse_args_and_config(["--config", RECIPE])
    assert args.sft_adapter == "outputs/marco-tiny" and training_args.beta == 0.1
    assert training_args.output_dir.startswith("outputs/")


def voted_preferences(run, path) -> str:
    """What a reviewer leaves: a comparison at step 10 of the SFT run, 8 blind votes for the fine-tuned answer and
    one tie, exported with `marco review --export-dpo`."""
    (run / "comparisons").mkdir()
    rows = [{"id": f"p{i}", "question": f"Come si dice 'cat {i}'?", "base": "Great question! This translates to.",
             "fine_tuned": f"Si dice 'gatto' ({i}).", "base_passes": False, "fine_tuned_passes": True} for i in range(8)]
    (run / "comparisons" / "step_000010.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for i in range(9):
        shown = review.pair(str(run))
        choice = "tie" if i == 8 else ("a" if shown["a"].startswith("Si dice") else "b")
        review.vote(str(run), shown["pair_id"], choice)
    assert main(["review", str(run), "--export-dpo", str(path)]) == 0
    return str(path)


@pytest.mark.slow
def test_dpo_from_the_sft_adapter_changes_it_and_saves_a_loadable_adapter(sft_run, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    out = tmp_path / "dpo"
    prefs = voted_preferences(sft_run, tmp_path / "prefs.jsonl")
    assert [json.loads(line)["chosen"][0]["content"].startswith("Si dice") for line in open(prefs)] == [True] * 8
    code = main(["dpo", "--config", RECIPE, "--preferences", prefs,
                 "--sft_adapter", str(sft_run), "--output_dir", str(out), "--max_steps", "3", "--learning_rate", "1e-3",
                 "--max_length", "64", "--disable_tqdm", "true", "--gradient_checkpointing", "false"])
    assert code == 0
    before, after = load_file(sft_run / "adapter_model.safetensors"), load_file(out / "adapter_model.safetensors")
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny.PATH), out)
    loaded = {k: v for k, v in model.state_dict().items() if "lora_" in k}
    assert len(loaded) == len(after) and all(".default." in k for k in loaded)
    assert not (out / "ref").exists()  # the frozen reference copy is not saved
    report = json.loads((out / "marco_report.json").read_text())
    assert report["base_model"] == "marco-tiny" and report["preference_pairs"] == 8


@pytest.mark.parametrize("line, message", [
    ('{"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "c"}]}',
     "prefs.jsonl:1: field 'rejected' must be a list of messages"),
    ('{"prompt": "q", "chosen": [], "rejected": []}', "prefs.jsonl:1: field 'prompt' must be a list of messages"),
    ("{not json", "prefs.jsonl:1: not valid JSON"),
])
def test_bad_preferences_exit_2_with_file_line_field(sft_run, tmp_path, capsys, line, message):
    (tmp_path / "prefs.jsonl").write_text(line + "\n")
    assert main(["dpo", "--config", RECIPE, "--preferences", str(tmp_path / "prefs.jsonl"), "--sft_adapter", str(sft_run),
                 "--output_dir", str(tmp_path / "dpo")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_files_exit_2(tmp_path, capsys):
    assert main(["dpo", "--config", RECIPE, "--preferences", str(tmp_path / "none.jsonl"),
                 "--output_dir", str(tmp_path / "dpo")]) == 2
    assert "no such preferences file" in capsys.readouterr().err
