"""train.py end to end on the built-in model: configs, methods, masking, outputs, errors."""

import glob
import json
import os
import subprocess
import sys

import pytest
import torch
import yaml
from conftest import FAST, REPO
from safetensors.torch import load_file

sys.path.insert(0, REPO)
from marco import (  # noqa: E402
    pipeline,  # noqa: E402
    run_dir,
    tiny,
)
from marco.train.config import (
    MarcoArguments,  # noqa: E402
    make_parser,  # noqa: E402
)

# train.py's recipes; the DPO recipe has its own parser (python -m marco dpo) and is tested in test_dpo.py
SFT_RECIPES = sorted(set(glob.glob(os.path.join(REPO, "configs", "*.yaml"))) - set(glob.glob(os.path.join(REPO, "configs", "*_dpo.yaml"))))
TINY_RECIPE = os.path.join(REPO, "configs", "marco_tiny.yaml")


def run_train(out, data, *extra):
    args = ["--config", TINY_RECIPE, "--dataset", data, "--output_dir", str(out), *FAST, *extra]
    parsed = make_parser().parse_args_and_config(args)
    pipeline.main(*parsed)
    return parsed


def logged_losses(out):
    """The losses logged up to the last checkpoint (by step: glob's order is the file system's)."""
    last = max(glob.glob(os.path.join(out, "checkpoint-*")), key=run_dir.step_of)
    state = json.load(open(os.path.join(last, "trainer_state.json")))
    return [entry["loss"] for entry in state["log_history"] if "loss" in entry]


def test_every_recipe_parses_with_the_real_parser():
    recipes = SFT_RECIPES
    assert {os.path.basename(r) for r in recipes} >= {"marco_tiny.yaml", "marco_qwen2.5-7b_qlora.yaml",
                                                       "marco_qwen2.5-7b_lora.yaml", "marco_qwen2.5-0.5b_full.yaml"}
    for recipe in recipes:  # bf16 is switched off only because this machine has no GPU to validate it against
        marco_args, cleaning, *_, training_args, model_args = make_parser().parse_args_and_config(
            ["--config", recipe, "--bf16", "false"])
        assert marco_args.method in ("lora", "qlora", "full") and training_args.output_dir.startswith("outputs/")


def test_accelerate_configs_load():
    from accelerate.commands.config.config_args import ClusterConfig

    kinds = {ClusterConfig.from_yaml_file(p).distributed_type.value
             for p in glob.glob(os.path.join(REPO, "configs", "accelerate", "*.yaml"))}
    assert kinds == {"MULTI_GPU", "FSDP", "DEEPSPEED"}


def test_cli_overrides_yaml_and_help_documents_every_marco_field():
    marco_args, *_, training_args, _ = make_parser().parse_args_and_config(
        ["--config", TINY_RECIPE, "--learning_rate", "1e-4", "--method", "full"])
    assert training_args.learning_rate == 1e-4 and marco_args.method == "full"
    out = subprocess.run([sys.executable, "train.py", "--help"], cwd=REPO, capture_output=True, text=True).stdout
    for name, f in MarcoArguments.__dataclass_fields__.items():
        assert f"--{name}" in out and f.metadata["help"].split("(")[0][:40] in " ".join(out.split())


@pytest.mark.parametrize("extra, message", [
    (["--model_name_or_path", "/nonexistent/model"], "model '/nonexistent/model'"),
    (["--dataset", "missing.jsonl"], "missing.jsonl: no such file"),
    (["--eval_fraction", "1.5"], "eval_fraction must be in [0, 1)"),
])
def test_user_errors_are_one_line(extra, message, tmp_path):
    proc = subprocess.run([sys.executable, "train.py", "--config", TINY_RECIPE, "--output_dir", str(tmp_path), *extra],
                          cwd=REPO, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and message in proc.stderr


def test_unknown_yaml_key_fails(tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(open(TINY_RECIPE).read() + "\nlerning_rate: 0.1\n")
    proc = subprocess.run([sys.executable, "train.py", "--config", str(recipe)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and "lerning_rate" in proc.stderr


def test_assistant_only_loss_labels_only_the_tutor_replies(small_data, tmp_path):
    from marco import models
    from marco.train import training

    marco_args, cleaning, *_, training_args, model_args = make_parser().parse_args_and_config(
        ["--config", TINY_RECIPE, "--dataset", small_data, "--output_dir", str(tmp_path), *FAST])
    lora_args = training.method_model_args(marco_args.method, model_args)
    records, _, _ = training.prepare_data(marco_args, cleaning, str(tmp_path), 42, True)
    trainer = training.build_trainer(training_args, lora_args, records[:4], [], models.load_tokenizer(tiny.NAME),
                                     training.peft_config(lora_args))
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])  # in order, as the trainer collates
    tokenizer = trainer.processing_class
    for ids, labels, record in zip(batch["input_ids"], batch["labels"], records[:4]):
        trained = tokenizer.decode(ids[labels != -100])
        expected = "".join(m["content"] + "<|im_end|>" for m in record["messages"] if m["role"] == "assistant")
        assert expected.startswith(trained) and len(trained) > 20  # replies only (cut at max_length), in order
        assert "<|im_start|>user" not in trained and "<|im_start|>" not in trained


def test_lora_trains_the_adapter_lowers_the_loss_and_saves_a_loadable_run(trained_tiny_run):
    tmp_path = trained_tiny_run
    adapter = load_file(tmp_path / "adapter_model.safetensors")
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b)  # B starts at zero: every adapter layer moved
    losses = logged_losses(tmp_path)
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    names = set(os.listdir(tmp_path))
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "chat_template.jinja",
            "marco_config.yaml", "marco_report.json", "data"} <= names
    assert set(os.listdir(tmp_path / "data")) == {"kept.jsonl", "rejected.jsonl", "report.json", "report.html"}
    report = json.load(open(tmp_path / "marco_report.json"))
    assert report["method"] == "lora" and report["data"]["kept"] == 24 and report["base_model"] == "marco-tiny"
    assert report["training"]["eval_loss"] > 0
    assert [h["step"] for h in report["during_training"]] == [0, 6, 12]
    assert sorted(os.listdir(tmp_path / "comparisons")) == [f"step_{s:06d}.jsonl" for s in (0, 6, 12)]
    config = yaml.safe_load(open(tmp_path / "marco_config.yaml"))
    assert config["learning_rate"] == 1e-3 and "hub_token" not in config

    from peft import AutoPeftModelForCausalLM

    model = AutoPeftModelForCausalLM.from_pretrained(str(tmp_path))
    assert model.peft_config["default"].base_model_name_or_path == tiny.PATH
    with torch.no_grad():
        assert torch.isfinite(model(input_ids=torch.tensor([[1, 5, 9]])).logits).all()


def test_full_finetuning_changes_every_base_weight_and_saves_a_model(small_data, tmp_path):
    run_train(tmp_path, small_data, "--method", "full", "--max_steps", "3", "--learning_rate", "1e-3")
    assert "adapter_config.json" not in os.listdir(tmp_path)
    tuned, base = load_file(tmp_path / "model.safetensors"), load_file(os.path.join(tiny.PATH, "model.safetensors"))
    assert tuned.keys() == base.keys()
    assert all(not torch.equal(tuned[k], base[k]) for k in base if k.endswith("q_proj.weight"))


def test_qlora_trains_on_4bit_nf4_weights_on_cpu_with_the_comparisons_on(small_data, tmp_path, monkeypatch):
    """As on a CPU with AVX512-BF16 (where bitsandbytes repacks 4-bit weights for inference at the comparison's first
    no-grad forward, and the next training step then fails): the step-0 and step-2 comparisons, then training on."""
    import bitsandbytes.nn.modules
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    monkeypatch.setattr(bitsandbytes.nn.modules, "has_avx512bf16", lambda: True)
    run_train(tmp_path, small_data, "--method", "qlora", "--max_steps", "3", "--learning_rate", "5e-3",
              "--compare_during_training", "true", "--compare_probes", "4", "--eval_strategy", "steps", "--eval_steps", "2")
    report = json.load(open(tmp_path / "marco_report.json"))
    assert report["method"] == "qlora" and [h["step"] for h in report["during_training"]] == [0, 2, 3]
    base = AutoModelForCausalLM.from_pretrained(tiny.PATH, quantization_config=BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32))
    assert type(base.model.layers[0].mlp.up_proj).__name__ == "Linear4bit"
    model = PeftModel.from_pretrained(base, str(tmp_path))
    assert any("lora_B" in n and p.abs().sum() > 0 for n, p in model.named_parameters())


@pytest.mark.parametrize("kept_trainable", [True, False])
def test_4bit_gradients_after_a_comparison_equal_those_of_a_model_never_evaluated(monkeypatch, kept_trainable):
    """bitsandbytes repacks 4-bit weights for its inference kernel at an eval forward without grad on an AVX512-BF16 CPU
    (simulated here) and keeps them so: the next training step then fails there, or gets wrong gradients (here). The
    look-alike without marco's guard shows the defect, so that the test would see it come back."""
    import bitsandbytes.nn.modules
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    from marco import models

    monkeypatch.setattr(bitsandbytes.nn.modules, "has_avx512bf16", lambda: True)
    ids = torch.tensor([[1, 2, 3, 4, 5, 6]])

    def gradients(compare_first: bool):
        torch.manual_seed(0)
        model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny.PATH, quantization_config=BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32)),
            LoraConfig(r=8, target_modules="all-linear", init_lora_weights=False))
        if kept_trainable:
            models.keep_4bit_weights_trainable(model)
        if compare_first:
            model.eval()
            with torch.no_grad():
                model(input_ids=ids)
            model.train()
        model(input_ids=ids, labels=ids).loss.backward()
        return torch.cat([p.grad.flatten() for n, p in model.named_parameters() if "lora_A" in n and "layers.0." in n])

    same = torch.allclose(gradients(compare_first=True), gradients(compare_first=False))
    assert same == kept_trainable


def _train_subprocess(out, data, *extra):
    return subprocess.Popen([sys.executable, "train.py", "--config", TINY_RECIPE, "--dataset", data, "--output_dir",
                             str(out), *FAST, "--max_steps", "8", "--save_strategy", "steps", "--save_steps", "2",
                             "--learning_rate", "5e-3", *extra], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _kill_when(process, path, what: str) -> None:
    """SIGKILL `process` as soon as `path` exists."""
    import signal
    import time

    deadline = time.time() + 300
    while not path.exists():
        assert process.poll() is None and time.time() < deadline, f"run ended before it could be killed {what}"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.mark.slow(seconds=50)
def test_resume_after_sigkill_ends_like_an_uninterrupted_run(small_data, tmp_path, capsys):
    """Killed mid-training, then killed again once the model is saved but before its report: each time nothing can
    be published, and the second resume ends as the uninterrupted run does."""
    from marco.cli import main as cli

    straight = _train_subprocess(tmp_path / "straight", small_data)
    assert straight.wait(timeout=300) == 0, straight.stderr.read()
    killed = tmp_path / "killed"

    def nothing_to_publish():
        assert not (killed / "marco_report.json").exists()
        assert cli(["push", str(killed), "--repo-id", "someone/tutor", "--dry-run"]) == 2
        assert "not a finished marco run" in capsys.readouterr().err and not (killed / "hub").exists()

    _kill_when(_train_subprocess(killed, small_data), killed / "checkpoint-4" / "trainer_state.json", "mid-training")
    assert not (killed / "adapter_model.safetensors").exists()
    nothing_to_publish()
    resumed = _train_subprocess(killed, small_data, "--resume_from_checkpoint", "true")
    _kill_when(resumed, killed / "adapter_model.safetensors", "after saving the model")
    nothing_to_publish()  # the model is there, its comparison and report are not
    resumed = _train_subprocess(killed, small_data, "--resume_from_checkpoint", "true")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    assert json.load(open(killed / "marco_report.json"))["gate"] is not None
    a = load_file(tmp_path / "straight" / "adapter_model.safetensors")
    b = load_file(tmp_path / "killed" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert logged_losses(tmp_path / "straight")[-1] == pytest.approx(logged_losses(tmp_path / "killed")[-1], abs=1e-4)


@pytest.mark.slow(seconds=23)
def test_two_processes_with_torchrun_on_cpu(small_data, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "train.py", "--config", TINY_RECIPE, "--dataset",
                           small_data, "--output_dir", str(tmp_path), *FAST, "--max_steps", "3"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.load(open(tmp_path / "marco_report.json"))
    assert report["training"]["world_size"] == 2 and report["training"]["train_loss"] > 0
    assert os.path.exists(tmp_path / "adapter_model.safetensors")


def test_probe_figures_are_logged_with_the_losses(trained_tiny_run):
    state = json.load(open(trained_tiny_run / "checkpoint-12" / "trainer_state.json"))
    logged = [entry for entry in state["log_history"] if "probe_fine_tuned_pass_rate" in entry]
    assert [entry["step"] for entry in logged] == [0, 6, 12]
    assert all(entry["probe_base_distinct_2"] == logged[0]["probe_base_distinct_2"] for entry in logged)  # one base


def parsed_as_dicts(parsed) -> list:
    """Every parsed dataclass as a dict, less the run's own folder and the fields TrainingArguments fills in."""
    from dataclasses import asdict

    return [{k: v for k, v in asdict(config).items() if k not in ("output_dir", "logging_dir")} for config in parsed]


@pytest.mark.parametrize("recipe", SFT_RECIPES, ids=os.path.basename)
def test_every_recipe_round_trips_through_its_saved_marco_config(recipe, tmp_path):
    from marco.train import training

    parser = make_parser()
    parsed = parser.parse_args_and_config(["--config", recipe, "--bf16", "false"])
    saved = tmp_path / "marco_config.yaml"
    saved.write_text(yaml.safe_dump(training.recipe(*parsed), sort_keys=False))
    assert all(not isinstance(v, dict) or k in ("model_init_kwargs", "accelerator_config", "lr_scheduler_kwargs",
               "fsdp_config", "dataset_kwargs") for k, v in yaml.safe_load(saved.read_text()).items())  # flat
    assert parsed_as_dicts(parser.parse_args_and_config(["--config", str(saved)])) == parsed_as_dicts(parsed)


def test_the_saved_recipe_keeps_every_field_but_the_token_and_says_push_to_hub(tmp_path):
    from marco.train import training

    parsed = make_parser().parse_args_and_config(
        ["--config", TINY_RECIPE, "--push_to_hub", "--hub_model_id", "a/b", "--pad_token", "<|endoftext|>",
         "--hub_token", "not-a-real-token"])
    saved = training.recipe(*parsed)
    assert saved["push_to_hub"] is True and saved["pad_token"] == "<|endoftext|>" and "hub_token" not in saved
    assert "not-a-real-token" not in yaml.safe_dump(saved)
    every_field = {f for config in parsed for f in config.__dataclass_fields__ if config.__dataclass_fields__[f].init}
    assert set(saved) == every_field - {"hub_token"}


@pytest.mark.slow(seconds=20)
def test_a_run_replays_from_its_saved_marco_config(trained_tiny_run, tmp_path):
    proc = subprocess.run([sys.executable, "train.py", "--config", str(trained_tiny_run / "marco_config.yaml"),
                           "--output_dir", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, again = (json.load(open(folder / "marco_report.json")) for folder in (trained_tiny_run, tmp_path))
    assert again["evaluation"]["samples"] == first["evaluation"]["samples"]
    assert again["training"]["train_loss"] == pytest.approx(first["training"]["train_loss"], abs=1e-4)


def test_report_to_tensorboard_writes_event_files(small_data, tmp_path):
    run_train(tmp_path, small_data, "--max_steps", "2", "--report_to", "tensorboard")
    events = glob.glob(str(tmp_path / "**" / "events.out.tfevents.*"), recursive=True)
    assert events and os.path.getsize(events[0]) > 0


@pytest.mark.slow(seconds=185)
def test_readme_main_job_trains_the_builtin_model_offline(tmp_path):
    readme = open(os.path.join(REPO, "README.md")).read()
    assert "python train.py --config configs/marco_tiny.yaml\n" in readme.split("```")[1]
    proc = subprocess.run([sys.executable, "train.py", "--config", "configs/marco_tiny.yaml", "--output_dir", str(tmp_path),
                           "--disable_tqdm", "true"], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.load(open(tmp_path / "marco_report.json"))
    assert report["data"]["kept"] == 690 and report["training"]["eval_loss"] < 4.5
    assert report["gate"]["passed"], report["gate"]["reasons"]  # clean data does not make the tutor worse
    assert [h["step"] for h in report["during_training"]][0] == 0 and report["stopped_early"] is None
