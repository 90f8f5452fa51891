"""What marco's Qwen2.5-7B recipes cost on a GPU, without downloading the model: Qwen2.5-7B-Instruct's real shape with
random weights and its real tokenizer (../shared/tokenizers), on the bundled Italian conversations.

    python benchmarks/gpu_check.py            # one H100/H200: under 8 minutes, prints one table
    python benchmarks/gpu_check.py --smoke    # the same code at tiny widths on CPU, in seconds (tests run this)

Rows: LoRA (bf16 base) and QLoRA (4-bit NF4, double quantisation), r=16 on every linear layer, max_length 2048,
activation checkpointing, as configs/marco_qwen2.5-7b_{lora,qlora}.yaml train: peak GPU memory and real (non-pad)
tokens/s, padded batches against packing (rows of max_length, positions restarting per conversation), with sdpa and,
where flash-attn is installed, flash_attention_2. Last, the app's side-by-side reply: one mixed-adapter generate
against two passes. Targets (issue 16): QLoRA 7B at 2k under 12 GiB; packing >= 1.5x the padded tokens/s."""

import argparse
import gc
import json
import os
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER = os.path.join(os.path.dirname(ROOT), "shared", "tokenizers", "qwen2.5-7b-instruct")
# Qwen/Qwen2.5-7B-Instruct's config.json
QWEN_7B = dict(hidden_size=3584, num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
               intermediate_size=18944, vocab_size=152064, rope_theta=1e6, tie_word_embeddings=False,
               max_position_embeddings=32768, rms_norm_eps=1e-6)
SMOKE = dict(QWEN_7B, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
             intermediate_size=64)
FULL_RUN = dict(max_length=2048, padded_batch=4, packed_rows=2, steps=3, new_tokens=64)  # the lora recipe's batch
SMOKE_RUN = dict(max_length=64, padded_batch=2, packed_rows=1, steps=1, new_tokens=4)


def conversations(tokenizer, max_length: int) -> list:
    """Token ids of the bundled conversations through the real chat template, cut to max_length."""
    with open(os.path.join(ROOT, "data", "marco_it.jsonl"), encoding="utf-8") as handle:
        chats = [json.loads(line)["messages"] for line in handle]
    return [tokenizer.apply_chat_template(c, tokenize=True, return_dict=False)[:max_length] for c in chats]


def padded_batches(docs: list, size: int, pad_id: int):
    """Consecutive conversations, right-padded to the longest: (input_ids, attention_mask, position_ids, labels, real)."""
    import torch

    for start in range(0, len(docs) - size + 1, size):
        group = docs[start: start + size]
        width = max(map(len, group))
        ids = torch.full((size, width), pad_id)
        mask = torch.zeros((size, width), dtype=torch.long)
        for row, doc in enumerate(group):
            ids[row, : len(doc)], mask[row, : len(doc)] = torch.tensor(doc), 1
        labels = ids.masked_fill(mask == 0, -100)
        yield ids, mask, None, labels, int(mask.sum())


def packed_batches(docs: list, rows: int, max_length: int):
    """Conversations laid end to end in rows of max_length, positions restarting at each one (what transformers reads
    as packed sequences: flash-attn keeps them apart, sdpa gets a block-diagonal mask)."""
    import torch

    ids, positions = [], []
    for doc in docs:
        ids += doc
        positions += range(len(doc))
        while len(ids) >= rows * max_length:
            batch = torch.tensor(ids[: rows * max_length]).view(rows, max_length)
            pos = torch.tensor(positions[: rows * max_length]).view(rows, max_length)
            ids, positions = ids[rows * max_length:], positions[rows * max_length:]
            yield batch, None, pos, batch.clone(), batch.numel()


def build(shape: dict, method: str, attention: str, device: str):
    """The random Qwen2.5 model with a LoRA adapter; for qlora its linear layers become bitsandbytes 4-bit NF4 first."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2Config, Qwen2ForCausalLM

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    config = Qwen2Config(**shape, attn_implementation=attention, dtype=dtype)
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM(config).to(dtype)
    if method == "qlora":
        quantize(model, dtype, device)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def quantize(model, dtype, device: str) -> None:
    """Every linear layer of the decoder as bnb.nn.Linear4bit (NF4, double quantisation), as from_pretrained with
    BitsAndBytesConfig(load_in_4bit=True) would load it; the output layer stays in dtype, as transformers keeps it."""
    import bitsandbytes as bnb
    import torch

    for layer in model.model.layers:
        for parent in layer.modules():
            for name, child in list(parent.named_children()):
                if isinstance(child, torch.nn.Linear):
                    new = bnb.nn.Linear4bit(child.in_features, child.out_features, child.bias is not None,
                                            compute_dtype=dtype, compress_statistics=True, quant_type="nf4")
                    new.weight = bnb.nn.Params4bit(child.weight.data.cpu(), requires_grad=False,
                                                   compress_statistics=True, quant_type="nf4")
                    if child.bias is not None:
                        new.bias = torch.nn.Parameter(child.bias.data, requires_grad=False)
                    setattr(parent, name, new.to(device))
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def train_speed(model, batches, steps: int, device: str) -> dict:
    """Real tokens/s over `steps` optimizer steps after one warm-up step, and the peak memory of training."""
    import torch

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    real, start = 0, None
    for step, (ids, mask, positions, labels, count) in zip(range(steps + 1), batches):
        if step == 1:
            if device == "cuda":
                torch.cuda.synchronize()
            start, real = time.perf_counter(), 0
        inputs = {"input_ids": ids.to(device), "labels": labels.to(device)}
        inputs.update({k: v.to(device) for k, v in (("attention_mask", mask), ("position_ids", positions)) if v is not None})
        model(**inputs).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        real += count
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    return {"tokens_per_s": real / seconds, "peak_gib": peak}


def generation_speed(model, tokenizer, new_tokens: int, device: str) -> dict:
    """The app's reply to one message: base and fine-tuned rows in one mixed-adapter generate, against one generate
    with the adapter off and one with it on."""
    import torch

    for module in model.modules():  # a freshly initialised LoRA is the identity: make the adapter change the answer
        if hasattr(module, "lora_B"):
            torch.nn.init.normal_(module.lora_B["default"].weight, std=0.02)
    model.eval()
    text = tokenizer.apply_chat_template([{"role": "user", "content": "Come si dice 'I went to the sea'?"}],
                                         tokenize=False, add_generation_prompt=True)
    batch = tokenizer([text, text], return_tensors="pt", add_special_tokens=False).to(device)
    single = {k: v[:1] for k, v in batch.items()}
    settings = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                    pad_token_id=tokenizer.pad_token_id)

    def timed(fn):
        fn()  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    def two_passes():
        with model.disable_adapter():
            model.generate(**single, **settings)
        model.generate(**single, **settings)

    with torch.no_grad():
        mixed = timed(lambda: model.generate(**batch, **settings, adapter_names=["__base__", "default"]))
        separate = timed(two_passes)
    return {"mixed_s": mixed, "two_passes_s": separate}


def flash_attention_installed() -> bool:
    from transformers.utils import is_flash_attn_2_available

    return is_flash_attn_2_available()


def main():
    import torch
    from transformers import AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny widths on CPU: checks the code, measures nothing")
    args = parser.parse_args()
    if not os.path.isfile(os.path.join(TOKENIZER, "tokenizer.json")):
        raise SystemExit(f"needs the real tokenizer in {TOKENIZER} (../shared/tokenizers beside the checkout)")
    device = "cpu" if args.smoke else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU here: run with --smoke to check the code on CPU")
    shape, run = (SMOKE, SMOKE_RUN) if args.smoke else (QWEN_7B, FULL_RUN)
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER)
    docs = conversations(tokenizer, run["max_length"])
    attentions = ["sdpa"] + (["flash_attention_2"] if device == "cuda" and flash_attention_installed() else [])
    rows, generation = [], None
    for method in ("lora", "qlora"):
        for attention in attentions:
            model = build(shape, method, attention, device)
            model.train()
            for mode, batches in (("padded", padded_batches(docs, run["padded_batch"], tokenizer.pad_token_id)),
                                  ("packed", packed_batches(docs, run["packed_rows"], run["max_length"]))):
                rows.append({"method": method, "attention": attention, "batches": mode,
                             **train_speed(model, batches, run["steps"], device)})
            if method == "lora" and attention == "sdpa":
                generation = generation_speed(model, tokenizer, run["new_tokens"], device)
            del model
            gc.collect()
            if device == "cuda":
                torch.cuda.empty_cache()
    print(table(rows, generation, run, device))


def table(rows: list, generation: dict, run: dict, device: str) -> str:
    name = torch_device_name(device)
    lines = [f"Qwen2.5-7B shape{' (smoke: tiny widths)' if device == 'cpu' else ''}, random weights, real tokenizer, "
             f"max_length {run['max_length']}, activation checkpointing, on {name}",
             f"{'method':<7}{'attention':<19}{'batches':<8}{'peak GiB':>10}{'real tok/s':>12}{'vs padded':>11}"]
    for row in rows:
        padded = next(r for r in rows if (r["method"], r["attention"], r["batches"]) ==
                      (row["method"], row["attention"], "padded"))
        lines.append(f"{row['method']:<7}{row['attention']:<19}{row['batches']:<8}{row['peak_gib']:>10.2f}"
                     f"{row['tokens_per_s']:>12,.0f}{row['tokens_per_s'] / padded['tokens_per_s']:>10.2f}x")
    lines.append(f"app reply, {run['new_tokens']} new tokens: one mixed-adapter batch {generation['mixed_s']:.2f} s, "
                 f"two passes {generation['two_passes_s']:.2f} s ({generation['mixed_s'] / generation['two_passes_s']:.2f}x)")
    return "\n".join(lines)


def torch_device_name(device: str) -> str:
    import torch

    return torch.cuda.get_device_name() if device == "cuda" else "CPU"


if __name__ == "__main__":
    main()
