"""The step after voting: DPO on the preference pairs a review exported, starting from the SFT adapter.

    python -m marco review outputs/marco-tiny --export-dpo outputs/marco-tiny/preferences.jsonl
    python -m marco dpo --config configs/marco_tiny_dpo.yaml

TRL's DPOTrainer over `trl.DPOConfig` (every option from YAML or the command line) plus `DPOArguments`. The SFT
adapter is loaded trainable; DPOTrainer copies it into a frozen "ref" adapter, so the reference policy is the SFT
model, as DPO assumes, with one set of base weights in memory."""

import json
import os
import sys
from dataclasses import dataclass, field

from marco import run_dir, tiny
from marco.errors import MarcoError
from marco.train.config_file import parse


@dataclass
class DPOArguments:
    """Where the preferences and the SFT adapter are."""

    preferences: str = field(
        default=None, metadata={"help": "JSONL in TRL's conversational preference format, e.g. from "
                                        "`python -m marco review RUN --export-dpo FILE`."})
    sft_adapter: str = field(default=None, metadata={"help": "The SFT run folder (its LoRA adapter) to start from."})
    base_model: str = field(
        default=None, metadata={"help": "Base model of the adapter (default: the run's marco_report.json base_model, "
                                        "else the adapter's base_model_name_or_path)."})

    def __post_init__(self):
        if not self.preferences or not self.sft_adapter:
            raise ValueError("set preferences: FILE and sft_adapter: DIR (in the YAML or as --preferences/--sft_adapter)")


def base_of(args: DPOArguments) -> str:
    run_dir.check_complete(args.sft_adapter)
    if args.base_model:
        return args.base_model
    for name, key in (("marco_report.json", "base_model"), ("adapter_config.json", "base_model_name_or_path")):
        path = os.path.join(args.sft_adapter, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                found = json.load(handle).get(key)
            if found:
                return found
    raise MarcoError(f"{args.sft_adapter}: not an adapter folder (no adapter_config.json); set sft_adapter to the SFT run")


def check_preferences(path: str) -> int:
    """The number of pairs; MarcoError naming file, line and field for the first unusable row."""
    if not os.path.exists(path):
        raise MarcoError(f"{path}: no such preferences file (python -m marco review RUN --export-dpo {path})")
    count = 0
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise MarcoError(f"{path}:{number}: not valid JSON ({error.msg})") from None
            for name in ("prompt", "chosen", "rejected"):
                turns = row.get(name) if isinstance(row, dict) else None
                if not (isinstance(turns, list) and turns and all(isinstance(t, dict) and isinstance(t.get("content"), str)
                                                                  for t in turns)):
                    raise MarcoError(f"{path}:{number}: field {name!r} must be a list of messages with string content")
            count += 1
    if not count:
        raise MarcoError(f"{path}: no preference pairs")
    return count


def main(args: DPOArguments, training_args) -> str:
    from datasets import load_dataset
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOTrainer

    pairs = check_preferences(args.preferences)
    base_name = base_of(args)
    base = tiny.resolve(base_name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(args.sft_adapter if os.path.exists(
            os.path.join(args.sft_adapter, "tokenizer_config.json")) else base)
        model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), args.sft_adapter, is_trainable=True)
    except (OSError, ValueError) as error:
        raise MarcoError(f"cannot load {base} + {args.sft_adapter} ({str(error).splitlines()[0]})") from None
    trainer = DPOTrainer(model=model, args=training_args, processing_class=tokenizer,
                         train_dataset=load_dataset("json", data_files=args.preferences, split="train"))
    trainer.train()
    trainer.model.delete_adapter("ref")  # the frozen SFT copy DPOTrainer added: it is sft_adapter already
    trainer.save_model(training_args.output_dir)
    if trainer.is_world_process_zero():  # what app.py and push read to find the base
        with open(os.path.join(training_args.output_dir, "marco_report.json"), "w", encoding="utf-8") as handle:
            json.dump({"base_model": base_name, "method": "lora", "stage": "dpo", "sft_adapter": args.sft_adapter,
                       "preference_pairs": pairs, "train_metrics": trainer.state.log_history[-1]}, handle, indent=2)
    return training_args.output_dir


def make_parser():
    from trl import DPOConfig, TrlParser

    return TrlParser((DPOArguments, DPOConfig), prog="python -m marco dpo")


def command(argv: list) -> int:
    try:
        args, training_args = parse(make_parser(), argv)
        print(f"saved {main(args, training_args)}")
    except (MarcoError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
