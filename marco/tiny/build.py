"""Rebuild marco-tiny from the bundled Italian data: `python -m marco.tiny.build [--steps 500]`.

A byte-level BPE tokenizer (4,096 tokens) and a 4-layer Qwen2 model (~4M parameters) trained as a plain
language model on data/marco_it.jsonl rendered through the ChatML template, so that it writes tutoring-style
text. Same data, seed and torch version give the same files. About 10 minutes on 2 CPU cores.
"""

import argparse
import json
import math
import os
import random
import time

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "data", "marco_it.jsonl")
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
SEED = 0


def load_conversations(path: str) -> list:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["messages"] for line in handle]


def build_tokenizer(texts: list, vocab_size: int, chat_template: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   chat_template=chat_template, model_max_length=1024, padding_side="right")


def model_config(tokenizer):
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=256, intermediate_size=768, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, rope_theta=10000.0,
        tie_word_embeddings=True, bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, dtype="float32",
    )


def token_stream(tokenizer, conversations: list) -> list:
    order = list(range(len(conversations)))
    random.Random(SEED).shuffle(order)
    ids = []
    for i in order:
        ids += tokenizer.apply_chat_template(conversations[i], tokenize=True, return_dict=False)
    return ids


def lm_batches(ids: list, batch: int, seq_len: int):
    """Draws `batch` random windows of the token stream: a plain language-model batch."""
    import torch

    data = torch.tensor(ids[: len(ids) // seq_len * seq_len]).view(-1, seq_len)

    def sample(generator):
        rows = data[torch.randint(0, data.size(0), (batch,), generator=generator)]
        return {"input_ids": rows, "labels": rows}

    return sample


def train(model, sample, steps: int, lr: float) -> list:
    """AdamW, warmup then cosine decay to 10% of `lr`; `sample(generator)` draws one batch of model inputs. Also
    trains marco-tiny-t5 (marco/tiny_t5/build.py)."""
    import torch

    generator = torch.Generator().manual_seed(SEED)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    warmup, losses, start = max(1, steps // 20), [], time.time()
    model.train()
    for step in range(steps):
        scale = (step + 1) / warmup if step < warmup else 0.1 + 0.45 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup)))
        for group in optimizer.param_groups:
            group["lr"] = lr * scale
        loss = model(**sample(generator)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():.3f}  {time.time() - start:.0f}s", flush=True)
    return losses


def setup(doc: str, out: str, steps: int, batch: int, lr: float, **lengths) -> argparse.Namespace:
    """A build's command line (data, output folder, how long to train), with torch seeded for a reproducible build.
    Also marco-tiny-t5's (marco/tiny_t5/build.py)."""
    import torch

    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DATA)
    parser.add_argument("--out", default=out)
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--batch", type=int, default=batch)
    for name, default in lengths.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--lr", type=float, default=lr)
    torch.manual_seed(SEED)
    torch.set_num_threads(os.cpu_count() or 1)
    return parser.parse_args()


def save(model, tokenizer, args: argparse.Namespace, losses: list, **counts) -> None:
    """The model and its tokenizer, and build.json: what they were built from and how."""
    import torch

    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    settings = {k: v for k, v in vars(args).items() if k not in ("data", "out")}
    with open(os.path.join(args.out, "build.json"), "w", encoding="utf-8") as f:
        json.dump({"data": os.path.basename(args.data), **counts, **settings, "seed": SEED,
                   "final_loss": round(sum(losses[-20:]) / len(losses[-20:]), 3), "torch": torch.__version__}, f, indent=1)


def main():
    args = setup(__doc__, os.path.dirname(os.path.abspath(__file__)), steps=500, batch=8, lr=3e-3, seq_len=256)

    from transformers import GenerationConfig, Qwen2ForCausalLM

    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "chat_template.jinja"), encoding="utf-8") as f:
        chat_template = f.read()
    conversations = load_conversations(args.data)
    tokenizer = build_tokenizer([m["content"] for c in conversations for m in c], 4096, chat_template)
    model = Qwen2ForCausalLM(model_config(tokenizer))
    ids = token_stream(tokenizer, conversations)
    print(f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, {len(ids)} training tokens")
    losses = train(model, lm_batches(ids, args.batch, args.seq_len), args.steps, args.lr)
    # a 4M-parameter model loops without a repetition guard; with it, greedy answers stay deterministic
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                                               max_new_tokens=128, do_sample=False, no_repeat_ngram_size=3,
                                               repetition_penalty=1.2)
    save(model, tokenizer, args, losses, conversations=len(conversations), tokens=len(ids))


if __name__ == "__main__":
    main()
