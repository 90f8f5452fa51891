"""marco's own settings for train.py. TRL's SFTConfig and ModelConfig and marco's CleaningConfig are parsed
beside it by `trl.TrlParser`, so every SFTConfig option stays available (`python train.py --help`)."""

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class MarcoArguments:
    """What to train on and how: data, its cleaning and split, and the fine-tuning method."""

    dataset: str = field(
        default="data/marco_it.jsonl",
        metadata={"help": "Training data: a .jsonl/.json file (messages, prompt/completion or Alpaca) or a Hub dataset name."},
    )
    dataset_split: str = field(default="train", metadata={"help": "Split to use when `dataset` is a Hub dataset."})
    clean_data: bool = field(
        default=True,
        metadata={"help": "Drop duplicates, near duplicates and templated conversations before training "
                          "(--no_clean_data keeps every valid record; the audit report is written either way)."},
    )
    eval_fraction: float = field(
        default=0.1, metadata={"help": "Share of the cleaned conversations held out for eval loss (0 for none)."}
    )
    split_similarity: float = field(
        default=0.5,
        metadata={"help": "Conversations at least this similar (shingle Jaccard) stay on the same side of the split."},
    )
    method: Literal["lora", "qlora", "full"] = field(
        default="lora",
        metadata={"help": "lora: adapter on the base weights; qlora: adapter on 4-bit NF4 weights (bitsandbytes); "
                          "full: every weight trained, no adapter."},
    )
    lora_bias: bool = field(
        default=False,
        metadata={"help": "Give every LoRA layer a trainable bias (peft's lora_bias), which TRL's ModelConfig has no "
                          "field for. The bias lives in the adapter, so the base it is compared with stays intact; T5 "
                          "layers have no bias of their own to train (peft's bias='all' would train nothing there). "
                          "Like the lora_* fields, ignored by method full."},
    )

    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Replace an earlier marco run in output_dir (its files are deleted first). transformers 5 "
                          "dropped TrainingArguments' field of this name; marco refuses a non-empty output_dir that "
                          "is not a marco run either way."},
    )
    push_dataset: bool = field(
        default=False,
        metadata={"help": "With push_to_hub: also publish the cleaned training data and its audit as a dataset repo."},
    )
    hub_dataset_id: str = field(
        default=None, metadata={"help": "Dataset repo for push_dataset (default: HUB_MODEL_ID-data)."}
    )
    license: str = field(
        default="apache-2.0",
        metadata={"help": "License in the published card; it must allow what the base model's license allows "
                          "(Qwen2.5-7B-Instruct and marco-tiny: apache-2.0)."},
    )

    def __post_init__(self):
        if not 0.0 <= self.eval_fraction < 1.0:
            raise ValueError(f"eval_fraction must be in [0, 1), got {self.eval_fraction}")
        if not 0.0 < self.split_similarity <= 1.0:
            raise ValueError(f"split_similarity must be in (0, 1], got {self.split_similarity}")


def marco_dataclasses() -> tuple:
    """marco's own recipe dataclasses, in the order train.py's parser lists them (light: no torch, no TRL configs)."""
    from marco.compare import CompareConfig
    from marco.data import CleaningConfig
    from marco.gate import GateConfig
    from marco.judge import JudgeConfig

    return MarcoArguments, CleaningConfig, CompareConfig, GateConfig, JudgeConfig


def make_parser():
    """train.py's parser, which `marco preview` shares: TRL's SFTConfig and ModelConfig beside marco's dataclasses."""
    from trl import ModelConfig, SFTConfig, TrlParser

    from marco.training import launch_defaults

    parser = TrlParser((*marco_dataclasses(), SFTConfig, ModelConfig))
    parser.set_defaults(**launch_defaults())
    return parser
