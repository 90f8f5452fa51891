"""`python -m marco export`: merged weights equal base + adapter, and the GGUF file read back by transformers itself
(weights and tokenizer) gives the same logits and token ids; Qwen2 (marco-tiny, the real-vocab Qwen2.5) and Llama."""

import json
import os

import pytest
import torch
from real_models import qwen_dir  # noqa: F401  (fixture)

from marco import tiny
from marco.cli import main

TEXT = "<|im_start|>user\nCome si dice 'così'? È già tardi… 😂<|im_end|>\n<|im_start|>assistant\n"


def adapter_run(base_dir: str, out, base_name: str = None) -> str:
    """A run folder as train.py leaves it: a LoRA adapter (initialised non-zero, so that merging changes the
    weights), the tokenizer and marco_report.json naming the base."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base_dir),
                           LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False))
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(base_dir).save_pretrained(out)
    with open(os.path.join(out, "marco_report.json"), "w", encoding="utf-8") as handle:
        json.dump({"base_model": base_name or base_dir}, handle)
    return str(out)


def random_causal(config_class, out, **shape) -> str:
    """A random model of another architecture with marco-tiny's tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny.resolve("marco-tiny"))
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config_class(vocab_size=len(tokenizer), **shape)).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return str(out)


def logits(model, tokenizer, text: str = TEXT):
    with torch.no_grad():
        return model(tokenizer(text, return_tensors="pt")["input_ids"]).logits


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    return adapter_run(tiny.resolve("marco-tiny"), tmp_path_factory.mktemp("run"), "marco-tiny")


def test_merged_logits_equal_base_plus_adapter(tiny_run, tmp_path):
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert main(["export", tiny_run, "--format", "merged", "--out", str(tmp_path / "merged")]) == 0
    tokenizer = AutoTokenizer.from_pretrained(tiny_run)
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged")
    adapted = AutoPeftModelForCausalLM.from_pretrained(tiny_run)
    base = adapted.get_base_model()
    with adapted.disable_adapter():
        untouched = logits(base, tokenizer)
    assert (logits(merged, tokenizer) - logits(adapted, tokenizer)).abs().max() < 1e-4
    assert (logits(merged, tokenizer) - untouched).abs().max() > 1e-2  # the adapter did change the model
    files = set(os.listdir(tmp_path / "merged"))
    assert {"model.safetensors", "config.json", "generation_config.json", "chat_template.jinja", "README.md"} <= files
    assert not any(name.startswith("adapter_") for name in files) and merged.dtype == torch.float32
    assert "merge_and_unload" in (tmp_path / "merged" / "README.md").read_text()


def test_a_full_fine_tuning_run_exports_as_it_is(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2Config

    run = random_causal(Qwen2Config, tmp_path / "full", hidden_size=32, intermediate_size=64,
                        num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1)  # no adapter: the whole model
    assert main(["export", run, "--format", "merged", "--out", str(tmp_path / "merged")]) == 0
    tokenizer = AutoTokenizer.from_pretrained(run)
    same = logits(AutoModelForCausalLM.from_pretrained(tmp_path / "merged"), tokenizer)
    assert torch.equal(same, logits(AutoModelForCausalLM.from_pretrained(run), tokenizer))


def gguf_round_trip(run: str, tmp_path, outtype: str = "f32"):
    """Export `run` as GGUF and read it back with transformers: (max |logit diff| against the run, same ids?)."""
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tmp_path / "gguf" / f"model-{outtype}.gguf"
    assert main(["export", run, "--format", "gguf", "--outtype", outtype, "--out", str(path)]) == 0
    tokenizer, adapted = AutoTokenizer.from_pretrained(run), AutoPeftModelForCausalLM.from_pretrained(run)
    back = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    back_tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    same_ids = back_tokenizer(TEXT)["input_ids"] == tokenizer(TEXT)["input_ids"]
    assert back_tokenizer.decode(back_tokenizer(TEXT)["input_ids"]) == TEXT
    return (logits(back, tokenizer) - logits(adapted, tokenizer)).abs().max().item(), same_ids, path


def test_gguf_of_marco_tiny_round_trips_with_a_modelfile(tiny_run, tmp_path):
    diff, same_ids, path = gguf_round_trip(tiny_run, tmp_path)
    assert diff < 1e-3 and same_ids
    modelfile = (path.parent / "Modelfile").read_text()
    assert modelfile.startswith(f"FROM ./{path.name}\n") and 'PARAMETER stop "<|im_end|>"' in modelfile
    assert '{{ .Prompt }}<|im_end|>\n<|im_start|>assistant\n{{ .Response }}<|im_end|>\n"""' in modelfile


@pytest.mark.slow(seconds=48)  # minutes on 2 shared cores: 151,665 tokens and 151,387 merges written and parsed back in Python
def test_gguf_of_the_real_vocab_qwen_round_trips(qwen_dir, tmp_path):
    diff, same_ids, path = gguf_round_trip(adapter_run(qwen_dir, tmp_path / "run"), tmp_path)
    assert diff < 1e-3 and same_ids
    modelfile = (path.parent / "Modelfile").read_text()
    assert "You are Qwen, created by Alibaba Cloud." in modelfile  # the template's default system prompt, kept
    assert 'PARAMETER stop "<|im_end|>"\nPARAMETER stop "<|endoftext|>"' in modelfile


def test_gguf_of_a_llama_model_round_trips(tmp_path):
    from transformers import LlamaConfig

    base = random_causal(LlamaConfig, tmp_path / "llama", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)
    diff, same_ids, _ = gguf_round_trip(adapter_run(base, tmp_path / "run"), tmp_path)
    assert diff < 1e-3 and same_ids  # q/k permuted into llama.cpp's RoPE layout, and back


def test_q8_0_and_f16_are_smaller_and_close(tiny_run, tmp_path):
    f32 = gguf_round_trip(tiny_run, tmp_path, "f32")[2].stat().st_size
    for outtype, ratio, tolerance in (("f16", 0.55, 0.05), ("q8_0", 0.3, 0.3)):
        diff, same_ids, path = gguf_round_trip(tiny_run, tmp_path, outtype)
        assert path.stat().st_size < ratio * f32 and diff < tolerance and same_ids


def test_other_architectures_and_bad_runs_get_one_line(tmp_path, capsys):
    from transformers import GPT2Config

    gpt2 = random_causal(GPT2Config, tmp_path / "gpt2", n_embd=32, n_layer=1, n_head=2)
    assert main(["export", gpt2, "--format", "gguf", "--out", str(tmp_path / "x.gguf")]) == 2
    assert "GGUF export supports qwen2 and llama models; this one is 'gpt2'" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing"), "--format", "merged", "--out", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["export", gpt2, "--format", "gguf", "--out", str(tmp_path / "x.bin")]) == 2
    assert ".gguf" in capsys.readouterr().err and not (tmp_path / "x.bin").exists()
