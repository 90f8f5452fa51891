"""Real (non-pad) tokens per second: padded batches against packing, in the same run, on marco-tiny.

    python benchmarks/bench_packing.py [--steps 20]

Data: the bundled Italian conversations (9 to ~900 tokens each, a realistic spread). Each mode trains the
same LoRA for the same number of steps and batch size; TRL counts the non-pad tokens it trained on.
"""

import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import train  # noqa: E402

RECIPE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "marco_tiny.yaml")


def tokens_per_second(extra: list, steps: int) -> dict:
    from marco import models
    from marco.train import training

    with tempfile.TemporaryDirectory() as out:
        marco_args, cleaning, *_, training_args, model_args = train.make_parser().parse_args_and_config(
            ["--config", RECIPE, "--output_dir", out, "--max_steps", str(steps), "--eval_fraction", "0",
             "--save_strategy", "no", "--logging_steps", str(steps), "--disable_tqdm", "true", *extra])
        method_args = training.method_model_args(marco_args.method, model_args)
        records, _, _ = training.prepare_data(marco_args, cleaning, out, training_args.seed, True)
        trainer = training.build_trainer(training_args, method_args, records, [],
                                         models.load_tokenizer(model_args.model_name_or_path),
                                         training.peft_config(method_args, marco_args.lora_bias))
        metrics = trainer.train().metrics
        tokens = trainer.state.num_input_tokens_seen or [e["num_tokens"] for e in trainer.state.log_history if "num_tokens" in e][-1]
    return {"seconds": round(metrics["train_runtime"], 1), "real_tokens": int(tokens),
            "tokens_per_s": round(tokens / metrics["train_runtime"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    padded = tokens_per_second([], args.steps)
    packed = tokens_per_second(["--packing", "true"], args.steps)
    print(json.dumps({"padded": padded, "packed": packed}, indent=1))
    print(f"packing: {packed['tokens_per_s'] / padded['tokens_per_s']:.2f}x the real tokens/s of padded batches")


if __name__ == "__main__":
    main()
