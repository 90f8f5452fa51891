"""Cost of comparing with the base: one mixed-adapter batch against two generate passes, one model's memory
against two, and the training callback's share of a run, all measured in this run.

    python benchmarks/bench_compare.py              # mixed batch vs two passes, memory (marco-tiny + LoRA)
    python benchmarks/bench_compare.py --overhead   # also: callback share of the README's main job (~3 min)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from marco import tiny  # noqa: E402
from marco.evaluate import compare  # noqa: E402


def adapter_model():
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny.PATH),
                           LoraConfig(r=16, target_modules="all-linear", init_lora_weights=False))
    return model.eval(), AutoTokenizer.from_pretrained(tiny.PATH)


def best_of(repeats: int, fn):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def generation_cost(probes: int, tokens: int, repeats: int) -> dict:
    model, tokenizer = adapter_model()
    chosen = compare.load_probes(os.path.join(ROOT, "data", "probes.jsonl"), limit=probes)
    texts = compare.prompts(tokenizer, chosen)

    def two_passes():
        with model.disable_adapter():
            compare.generate(model, tokenizer, texts, tokens, probes)
        compare.generate(model, tokenizer, texts, tokens, probes)

    config = compare.CompareConfig(compare_max_new_tokens=tokens, compare_batch_size=probes)
    mixed = best_of(repeats, lambda: compare.answer(model, tokenizer, chosen, config))
    separate = best_of(repeats, two_passes)
    one_model = sum(p.numel() * p.element_size() for p in model.parameters())
    two_models = one_model + sum(p.numel() * p.element_size() for n, p in model.get_base_model().named_parameters()
                                 if "lora_" not in n)
    return {"probes": probes, "new_tokens": tokens, "mixed_batch_s": round(mixed, 3), "two_passes_s": round(separate, 3),
            "ratio": round(mixed / separate, 2), "one_model_mb": round(one_model / 2**20, 1),
            "base_plus_merged_copy_mb": round(two_models / 2**20, 1)}


def callback_overhead() -> dict:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "train.py", "--config", "configs/marco_tiny.yaml", "--output_dir", out,
                        "--disable_tqdm", "true"], cwd=ROOT, check=True, capture_output=True)
        report = json.load(open(os.path.join(out, "marco_report.json")))
    during = sum(h["seconds"] for h in report["during_training"])
    runtime = report["training"]["train_runtime"]
    return {"comparisons": len(report["during_training"]), "comparison_s": round(during, 1),
            "train_runtime_s": round(runtime, 1), "share_of_training": round(during / runtime, 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--probes", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--overhead", action="store_true")
    args = parser.parse_args()
    cost = generation_cost(args.probes, args.tokens, args.repeats)
    print(json.dumps(cost, indent=1))
    print(f"mixed batch: {cost['ratio']}x the time of two passes (target <= 0.6x); one model "
          f"{cost['one_model_mb']} MB vs {cost['base_plus_merged_copy_mb']} MB for base + merged copy")
    if args.overhead:
        overhead = callback_overhead()
        print(json.dumps(overhead, indent=1))
        print(f"callback: {overhead['share_of_training']:.1%} of training time (target <= 10%)")


if __name__ == "__main__":
    main()
