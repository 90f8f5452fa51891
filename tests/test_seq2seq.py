"""The encoder-decoder path on the built-in marco-tiny-t5: source text, the recipe on Seq2SeqTrainer, mixed-adapter
batches, LoRA and full fine-tuning through train.py, reloads, the eval CLI, and the finance example data."""

import json
import os
import pathlib
import subprocess
import sys

import pytest
import torch
from conftest import REPO, built_once
from safetensors.torch import load_file

sys.path.insert(0, REPO)
from marco import (  # noqa: E402
    models,
    pipeline,  # noqa: E402
    tiny,
    tiny_t5,
)
from marco.data import run  # noqa: E402
from marco.data.corpus import conversation_text  # noqa: E402
from marco.data.dedup import near_duplicates  # noqa: E402
from marco.data.text import normalize, normalize_many  # noqa: E402
from marco.errors import MarcoError  # noqa: E402
from marco.evaluate import compare
from marco.train import seq2seq
from marco.train.config import make_parser  # noqa: E402

EXAMPLES = os.path.join(REPO, "data", "examples")
FINANCE, PROBES = os.path.join(EXAMPLES, "finance_qa.jsonl"), os.path.join(EXAMPLES, "finance_probes.jsonl")
RECIPE = os.path.join(REPO, "configs", "finance_tiny.yaml")
FAST = ["--max_length", "64", "--compare_probes", "4", "--compare_max_new_tokens", "12", "--logging_steps", "1",
        "--eval_strategy", "no", "--eval_fraction", "0.2", "--warmup_steps", "0", "--disable_tqdm", "true"]
CONVERSATION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "What is the CPF?"}]


def load(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def parse(*extra):
    return make_parser().parse_args_and_config(["--config", RECIPE, *extra])


def run_train(out, small, *extra):
    pipeline.main(*parse("--dataset", small["data"], "--probes", small["probes"], "--output_dir", str(out), *FAST, *extra))
    return json.load(open(os.path.join(out, "marco_report.json")))


def answers(model, tokenizer, small):
    """The greedy answers to the probes, as the run's final comparison asked them."""
    return compare.generate(model, tokenizer, compare.prompts(tokenizer, load(small["probes"]), True), 12, 16)


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_t5.PATH)


@pytest.fixture(scope="session")
def small(tmp_path_factory):
    """39 pairs of the finance set (13 facts, each asked 3 ways) and 10 of its probes: quick to train and to ask."""
    folder = tmp_path_factory.mktemp("data")
    for name, path, n in (("data", FINANCE, 39), ("probes", PROBES, 10)):
        with open(path, encoding="utf-8") as handle:
            (folder / f"{name}.jsonl").write_text("".join(handle.readlines()[:n]), encoding="utf-8")
    return {"data": str(folder / "data.jsonl"), "probes": str(folder / "probes.jsonl")}


def test_source_is_the_question_alone_or_the_conversation_so_far():
    assert seq2seq.source_text(CONVERSATION[-1:]) == "What is the CPF?"
    assert seq2seq.source_text(CONVERSATION) == "system: Be brief.\nuser: Hi\nassistant: Hello!\nuser: What is the CPF?"
    record = {"messages": CONVERSATION + [{"role": "assistant", "content": "A savings scheme."}]}
    assert seq2seq.examples([record]) == [("system: Be brief.\nuser: Hi", "Hello!"),
                                          (seq2seq.source_text(CONVERSATION), "A savings scheme.")]  # every reply


def test_long_sources_lose_their_oldest_words_and_keep_the_question(tokenizer):
    [pair] = seq2seq.features(tokenizer, [("old words " * 50 + "What is the CPF?", "The Central Provident Fund. " * 9)],
                              source_len=16, target_len=8)
    assert len(pair["input_ids"]) == 16 and len(pair["labels"]) == 8
    assert pair["input_ids"][-1] == pair["labels"][-1] == tokenizer.eos_token_id  # </s> survives the cut
    assert tokenizer.decode(pair["input_ids"], skip_special_tokens=True).endswith("What is the CPF?")
    assert tokenizer.decode(pair["labels"], skip_special_tokens=True).startswith("The Central")
    assert tokenizer.truncation_side == "right"  # restored


def test_tiny_t5_is_built_in_small_and_shaped_like_flan_t5(tokenizer):
    from transformers import AutoConfig, GenerationConfig

    assert tiny.resolve("marco-tiny-t5") == tiny_t5.PATH and tiny.resolve("google/flan-t5-small") == "google/flan-t5-small"
    assert models.is_encoder_decoder("marco-tiny-t5") and not models.is_encoder_decoder("marco-tiny")
    assert os.path.getsize(os.path.join(tiny_t5.PATH, "model.safetensors")) < 15e6
    config = AutoConfig.from_pretrained(tiny_t5.PATH)
    assert config.feed_forward_proj == "gated-gelu" and config.is_encoder_decoder  # Flan-T5's wi_0/wi_1 layers
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id) == (config.pad_token_id, config.eos_token_id) == (0, 1)
    assert config.decoder_start_token_id == tokenizer.pad_token_id
    assert tokenizer("What is SGX?")["input_ids"][-1] == tokenizer.eos_token_id
    generation = GenerationConfig.from_pretrained(tiny_t5.PATH)
    assert not generation.do_sample and generation.no_repeat_ngram_size == 3
    built = json.load(open(os.path.join(tiny_t5.PATH, "build.json")))
    assert built["data"] == "marco_it.jsonl"  # no finance text: the facts must come from fine-tuning


def test_the_recipe_maps_onto_seq2seq_training_arguments(tmp_path):
    from transformers import Seq2SeqTrainingArguments

    *_, training_args, _ = parse("--learning_rate", "1e-4", "--output_dir", str(tmp_path))
    args = seq2seq.training_arguments(training_args)
    assert isinstance(args, Seq2SeqTrainingArguments) and args.learning_rate == 1e-4
    sft, mapped = training_args.to_dict(), args.to_dict()
    assert {k: v for k, v in mapped.items() if k in sft} == {k: sft[k] for k in mapped if k in sft}


@pytest.mark.parametrize("extra, message", [
    (["--packing", "true"], "packing/padding_free join conversations"),
    (["--method", "qlora"], "train a T5 model with method: lora or full"),
])
def test_causal_only_settings_are_refused(extra, message):
    from trl import get_quantization_config

    from marco.train import training

    marco_args, *_, training_args, model_args = parse(*extra)
    quantization = get_quantization_config(training.method_model_args(marco_args.method, model_args))
    with pytest.raises(MarcoError, match=message):
        seq2seq.check_config(training_args, quantization)


def test_lora_targets_that_match_no_layer_are_refused():
    from transformers import AutoModelForSeq2SeqLM

    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_t5.PATH)
    models.check_lora_targets(model, {"q", "k", "v", "o", "wi_0", "wi_1", "wo"})
    models.check_lora_targets(model, "all-linear")
    with pytest.raises(MarcoError, match=r"\['wi'\] match no layer.* wi_0, wi_1, wo"):
        models.check_lora_targets(model, ["q", "v", "wi", "wo"])  # the seed analysis's list, on Flan-T5's layers


def test_refusals_reach_the_command_line_as_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "train.py", "--config", RECIPE, "--output_dir", str(tmp_path),
                           "--lora_target_modules", "q", "wi"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: lora_target_modules ['wi']")


@pytest.fixture(scope="session")
def random_adapter(tokenizer):
    """marco-tiny-t5 with a randomly initialised LoRA, biases included, so adapter and base answers differ."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSeq2SeqLM

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForSeq2SeqLM.from_pretrained(tiny_t5.PATH), LoraConfig(
        task_type="SEQ_2_SEQ_LM", r=8, target_modules="all-linear", lora_bias=True, init_lora_weights=False))
    return model.eval()


def test_mixed_batch_answers_equal_separate_base_and_adapter_generations(random_adapter, tokenizer):
    model, probes = random_adapter, load(PROBES)[:6]
    answers = compare.answer(model, tokenizer, probes, compare.CompareConfig(compare_max_new_tokens=16, compare_batch_size=3))
    base, tuned = answers["base"], answers["fine_tuned"]
    texts = compare.prompts(tokenizer, probes, encoder_decoder=True)
    assert texts == [p["messages"][-1]["content"] for p in probes]
    with model.disable_adapter():
        assert base == compare.generate(model, tokenizer, texts, 16, 3)
    assert tuned == compare.generate(model, tokenizer, texts, 16, 3) == compare.generate(model, tokenizer, texts, 16, 1)
    assert base != tuned and all(tuned)  # right padding changes nothing: one at a time, same answers


@pytest.fixture(scope="session")
def lora_run(small, tmp_path_factory):
    """A 6-step LoRA run through train.py's main and its report, trained once for both workers (read, never write)."""
    out = built_once(tmp_path_factory, "seq2seq_lora_run", lambda folder: run_train(
        folder, small, "--max_steps", "6", "--save_strategy", "steps", "--save_steps", "6"))
    return pathlib.Path(out), json.load(open(os.path.join(out, "marco_report.json")))


def test_lora_through_train_py_trains_every_adapter_and_its_biases(lora_run):
    out, report = lora_run
    adapter = load_file(out / "adapter_model.safetensors")
    biases = [v for k, v in adapter.items() if "lora_B" in k and k.endswith("bias")]
    assert biases and all(v.abs().sum() > 0 for v in biases)  # lora_bias: true, and they moved from zero
    assert all(v.abs().sum() > 0 for k, v in adapter.items() if "lora_B" in k)
    assert {k.split(".")[-3] for k in adapter if "lora_A" in k} == {"q", "k", "v", "o", "wi_0", "wi_1", "wo"}
    config = json.load(open(out / "adapter_config.json"))
    assert config["task_type"] == "SEQ_2_SEQ_LM" and config["lora_bias"] and config["base_model_name_or_path"] == tiny_t5.PATH
    assert report["method"] == "lora" and report["base_model"] == "marco-tiny-t5" and report["data"]["kept"] == 39
    assert report["training"]["train_loss"] > 0 and report["training"]["eval_loss"] > 0
    assert report["evaluation"]["probes"] == 10 and set(report["gate"]) == {"passed", "reasons", "checks", "evidence"}
    assert [h["step"] for h in report["during_training"]] == [0, 6]  # step 0, and the final evaluation
    assert sorted(os.listdir(out / "comparisons")) == ["step_000000.jsonl", "step_000006.jsonl"]
    assert {"tokenizer.json", "marco_config.yaml", "checkpoint-6"} <= set(os.listdir(out))


def test_the_saved_adapter_reloads_and_answers_as_the_run_reported(lora_run, small):
    from peft import AutoPeftModelForSeq2SeqLM
    from transformers import AutoTokenizer

    out, report = lora_run
    model = AutoPeftModelForSeq2SeqLM.from_pretrained(str(out))
    tuned = answers(model, AutoTokenizer.from_pretrained(str(out)), small)
    assert tuned == [s["fine_tuned"] for s in report["evaluation"]["samples"]]


def test_eval_cli_compares_the_adapter_with_the_built_in_base(lora_run, small, tmp_path):
    out, report = lora_run
    proc = subprocess.run([sys.executable, "-m", "marco", "eval", "--model", "marco-tiny-t5", "--adapter", str(out),
                           "--probes", small["probes"], "--compare_max_new_tokens", "12", "--out", str(tmp_path / "eval.json")],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "pass_rate" in proc.stdout and "gate:" in proc.stdout
    result = json.load(open(tmp_path / "eval.json"))
    assert result["evaluation"]["samples"] == report["evaluation"]["samples"]


def test_full_finetuning_through_train_py_saves_a_model_that_answers_as_reported(small, tmp_path, tokenizer):
    from transformers import AutoModelForSeq2SeqLM

    report = run_train(tmp_path, small, "--method", "full", "--max_steps", "3", "--learning_rate", "1e-3",
                       "--save_strategy", "no")
    assert "adapter_config.json" not in os.listdir(tmp_path) and report["method"] == "full"
    tuned, base = load_file(tmp_path / "model.safetensors"), load_file(os.path.join(tiny_t5.PATH, "model.safetensors"))
    assert tuned.keys() == base.keys() and all(not torch.equal(tuned[k], base[k]) for k in base if k.endswith("q.weight"))
    samples = report["evaluation"]["samples"]
    assert answers(AutoModelForSeq2SeqLM.from_pretrained(tmp_path), tokenizer, small) == [s["fine_tuned"] for s in samples]
    assert answers(AutoModelForSeq2SeqLM.from_pretrained(tiny_t5.PATH), tokenizer, small) == [s["base"] for s in samples]


def test_finance_set_is_clean_diverse_and_labelled():
    records, report = load(FINANCE), run(FINANCE).report
    assert 150 <= len(records) <= 250 and len({r["id"] for r in records}) == len(records)
    assert report["counts"]["rejected"] == 0 and report["templates"]["found"] == []
    topics = {r["topic"] for r in records}
    assert len(topics) >= 10 and {"MAS", "banking", "AML", "SGX", "CPF", "payments", "insurance"} <= topics


def test_finance_probes_pass_their_own_references_and_stay_out_of_training():
    records, probes = load(FINANCE), load(PROBES)
    assert len(probes) >= 30 and len({p["id"] for p in probes}) == len(probes)
    for p in probes:
        reference = p["reference"].lower()
        assert p["must_include_any"] and all(any(a.lower() in reference for a in g) for g in p["must_include_any"]), p["id"]
        assert not any(bad.lower() in reference for bad in p["must_not_include"]), p["id"]
    seed = set(normalize_many([r["prompt"] for r in load(os.path.join(EXAMPLES, "finance_duplicated.jsonl"))]))
    assert seed <= set(normalize_many([p["messages"][-1]["content"] for p in probes]))  # the seed's 8 questions
    mas = next(p for p in probes if p["messages"][-1]["content"] == "What does MAS stand for?")
    assert mas["must_include_any"] == [["Monetary Authority of Singapore"]] and "Melbourne" in mas["must_not_include"]
    conversations = [[{"role": "user", "content": r["prompt"]}, {"role": "assistant", "content": r["completion"]}]
                     for r in records]
    train_text = normalize(" ".join(m["content"] for c in conversations for m in c))
    assert not [p["id"] for p in probes if normalize(p["messages"][-1]["content"]) in train_text]
    texts = normalize_many([conversation_text(c) for c in conversations] +
                           [conversation_text(p["messages"] + [{"role": "assistant", "content": p["reference"]}])
                            for p in probes])
    assert [d for d in near_duplicates(texts, threshold=0.5) if d.index >= len(records) > d.kept] == []


def _train_recipe(out, *extra):
    proc = subprocess.run([sys.executable, "train.py", "--config", "configs/finance_tiny.yaml", "--output_dir", str(out),
                           "--disable_tqdm", "true", *extra], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, json.load(open(os.path.join(out, "marco_report.json")))


@pytest.mark.slow(seconds=100)
def test_finance_recipe_teaches_facts_the_base_never_saw_and_passes_the_gate(tmp_path):
    stdout, report = _train_recipe(tmp_path)
    base, tuned = report["evaluation"]["base"], report["evaluation"]["fine_tuned"]
    assert report["data"]["kept"] == 213 and report["stopped_early"] is None
    assert base["pass_rate"] == 0.0 and tuned["pass_rate"] >= 0.2  # measured: 0.275 (11 of 40)
    assert tuned["chrf"] > base["chrf"] + 10
    assert report["gate"]["passed"], report["gate"]["reasons"]
    assert [h["step"] for h in report["during_training"]] == [0, 144, 288, 432]
    assert "gate: PASSED" in stdout


@pytest.mark.slow(seconds=60)
def test_the_seed_failure_reproduced_62_copies_per_topic_are_caught(tmp_path):
    """The seed's mock data, uncleaned, for the seed's 3 epochs: the model learns its 8 answers and hands them out for
    every question. The pass rate alone would approve it (the 8 seed questions pass); templates and diversity do not."""
    stdout, report = _train_recipe(tmp_path, "--dataset", os.path.join(EXAMPLES, "finance_duplicated.jsonl"),
                                   "--no_clean_data", "--num_train_epochs", "3")
    # the audit saw it (--no_clean_data ignored it): every record asks one of the seed's 8 questions, which are probes
    assert (report["data"]["input"], report["data"]["kept"], report["data"]["by_reason"]) == (496, 0, {"probe_overlap": 496})
    assert report["stopped_early"].startswith("step 144: template collapse")
    base, tuned = report["evaluation"]["base"], report["evaluation"]["fine_tuned"]
    assert tuned["pass_rate"] > base["pass_rate"] and tuned["distinct_2"] < 0.8 * base["distinct_2"]
    assert not report["gate"]["passed"] and tuned["template_rate"] > 0.25
    seed_openings = {" ".join(normalize(r["completion"]).split()[:3]) for r in load(os.path.join(EXAMPLES, "finance_duplicated.jsonl"))}
    recycled = [s for s in report["evaluation"]["samples"] if " ".join(normalize(s["fine_tuned"]).split()[:3]) in seed_openings]
    assert len(recycled) >= 20  # measured: 31 of 40 answers open like one of the 8 seed answers
    assert "gate: FAILED" in stdout
