"""The seed failure, reproduced and caught: marco-tiny fine-tuned on v1-style templated data with cleaning
off collapses into "Great question! This translates to ..."; the callback stops it and the gate fails.
The same recipe on the cleaned data passes."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

V1 = os.path.join(REPO, "data", "examples", "v1_templated.jsonl")
RECIPE = ["--config", "configs/marco_tiny.yaml", "--dataset", V1, "--eval_strategy", "steps", "--eval_steps", "25",
          "--num_train_epochs", "3", "--learning_rate", "2e-3", "--max_length", "256", "--compare_probes", "72",
          "--disable_tqdm", "true"]


def train(out, *extra):
    proc = subprocess.run([sys.executable, "train.py", *RECIPE, "--output_dir", str(out), *extra], cwd=REPO,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, json.load(open(os.path.join(out, "marco_report.json")))


@pytest.mark.slow(seconds=32)
def test_templated_data_without_cleaning_collapses_and_is_caught(tmp_path):
    stdout, report = train(tmp_path, "--no_clean_data")
    assert report["stopped_early"].startswith("step 25: template collapse")
    assert report["training"]["epoch"] < 3  # stopped before the recipe's end
    steps = [(h["step"], h["base"]["template_rate"], h["fine_tuned"]["template_rate"]) for h in report["during_training"]]
    assert steps[0][0] == 0 and steps[0][1] == steps[0][2]  # step 0: the base line, identical models
    assert steps[-1][0] == 25 and steps[-1][2] > 0.9 and steps[-1][1] < 0.3
    assert not report["gate"]["passed"] and any("template rate" in r for r in report["gate"]["reasons"])
    found = {(t["kind"], t["text"]) for t in report["evaluation"]["fine_tuned"]["templates"]}
    assert ("stock", "great question") in found and ("opening", "great question this translates") in found
    samples = [json.loads(line) for line in open(tmp_path / "comparisons" / "step_000025.jsonl")]
    assert len(samples) == 72 and all(s["fine_tuned"].startswith("Great question!") for s in samples[:10])
    assert all(not s["base"].startswith("Great question") for s in samples)
    assert "gate: FAILED" in stdout


@pytest.mark.slow(seconds=23)
def test_the_same_recipe_on_the_cleaned_data_passes(tmp_path):
    stdout, report = train(tmp_path)
    # line 53 asks the seed's own probe question ("Explain the grammar in 'Sono andato al mare'"): decontamination
    # takes it before the template filter would
    assert report["data"]["by_reason"] == {"template": 149, "probe_overlap": 1} and report["data"]["kept"] == 5
    assert report["stopped_early"] is None
    assert report["gate"]["passed"], report["gate"]["reasons"]
    assert "gate: PASSED" in stdout
