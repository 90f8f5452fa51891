"""The Qwen2.5-7B recipes, as written, through train.py's real main on CPU: the real tokenizer and chat template on a
random-weight model of Qwen2.5's vocabulary, overridden only to fp32 and 2 small steps, so the recipes never rot."""

import json
import os
import sys

import pytest
from conftest import FAST, REPO
from real_models import qwen_dir  # noqa: F401  (fixture)

sys.path.insert(0, REPO)
from marco import pipeline  # noqa: E402
from marco.train.config import make_parser  # noqa: E402

# what a CPU run must change: fp32 instead of bf16, 2 steps of 2 short conversations (each step computes 151,665
# logits per token), no tensorboard
CPU = ["--bf16", "false", "--dtype", "float32", "--max_steps", "2", "--gradient_accumulation_steps", "1",
       "--report_to", "none", "--max_length", "96", "--per_device_train_batch_size", "2"]


def run_recipe(recipe, model_dir, data, probes, out):
    args = ["--config", os.path.join(REPO, "configs", recipe), "--model_name_or_path", model_dir, "--dataset", data,
            "--probes", probes, "--output_dir", str(out), *FAST, *CPU]
    pipeline.main(*make_parser().parse_args_and_config(args))
    with open(os.path.join(out, "marco_report.json"), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["marco_qwen2.5-7b_lora.yaml", "marco_qwen2.5-7b_qlora.yaml"])
def test_qwen_7b_recipe_trains_two_steps_on_cpu(qwen_dir, small_data, write_jsonl, tmp_path, recipe):
    with open(os.path.join(REPO, "data", "probes.jsonl"), encoding="utf-8") as handle:
        probes = write_jsonl([json.loads(line) for line in handle][:4], "probes.jsonl")  # the comparison is not tested here
    report = run_recipe(recipe, qwen_dir, small_data, probes, tmp_path / "run")
    assert report["training"]["train_loss"] > 0 and report["method"] == recipe.split("_")[-1].split(".")[0]
    assert os.path.isfile(tmp_path / "run" / "adapter_model.safetensors") and report["evaluation"]["probes"] == 4
