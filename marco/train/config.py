"""The recipe: marco's own fields for train.py, one dataclass per concern (what to train on, how the model is compared
with its base, the gate, the judge), parsed with TRL's SFTConfig and ModelConfig and marco.data's CleaningConfig by
`trl.TrlParser`, so every SFTConfig option stays available (`python train.py --help`). The evaluation stage's fields
live here because the recipe that sets them is read before training starts; marco.evaluate reads them."""

from dataclasses import dataclass, field
from typing import Literal

JUDGE_API_KEY_ENV = "MARCO_JUDGE_API_KEY"  # the judge endpoint's key: read from the environment only, never saved


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


@dataclass
class CompareConfig:
    """How the fine-tuned model is compared with its base: which probes, how many during training, how fast."""

    probes: str = field(
        default="data/probes.jsonl", metadata={"help": "Probe questions for comparing the fine-tuned model with its base."}
    )
    compare_during_training: bool = field(
        default=True, metadata={"help": "Compare with the base at step 0 and at every evaluation (--no_compare_during_training: off)."})
    compare_probes: int = field(
        default=32, metadata={"help": "Probes answered at each comparison during training (all of them at the end)."})
    compare_max_new_tokens: int = field(default=64, metadata={"help": "Tokens generated per answer when comparing."})
    compare_batch_size: int = field(default=16, metadata={"help": "Probes per generate call (doubled in mixed batches)."})


@dataclass
class GateConfig:
    """The policy an adapter must pass, and the regression that stops a run (how the comparison runs is
    CompareConfig)."""

    gate_min_pass_rate_gain: float = field(
        default=0.0, metadata={"help": "Fine-tuned probe pass rate must be >= base pass rate + this."})
    gate_max_template_rate: float = field(
        default=0.10, metadata={"help": "Fine-tuned answers flagged as templated must be at most this share."})
    gate_max_template_rise: float = field(
        default=0.05, metadata={"help": "... and at most this much above the base model's template rate."})
    gate_min_distinct2_ratio: float = field(
        default=0.8, metadata={"help": "Fine-tuned distinct-2 must be at least this fraction of the base's."})
    stop_on_regression: bool = field(
        default=True, metadata={"help": "Stop training when a comparison fails the gate's template checks, the pass "
                                        "rate falls below the base by more than `regression_margin`, or the judge "
                                        "finds the fine-tuned model significantly worse (gate_min_judge_win_rate)."})
    regression_margin: float = field(
        default=0.10, metadata={"help": "Pass-rate drop below the base (absolute) that stops training."})
    # judge and human verdicts (marco.evaluate.judge, marco.evaluate.review): see marco.evaluate.gate.verdict
    gate_min_judge_win_rate: float = field(
        default=0.5, metadata={"help": "Fails when the upper bound of the 95 percent interval of the fine-tuned model's judge "
                                       "(or blind human review) win rate is below this: significantly worse than its base."})
    gate_allow_inconclusive: bool = field(
        default=False, metadata={"help": "Pass even when neither model passes any probe and no judge or human verdict "
                                         "exists (the model card then says so)."})


@dataclass
class JudgeConfig:
    """Which model judges base against fine-tuned answers, and how it is asked."""

    judge_model: str = field(
        default=None, metadata={"help": "Judge model: a local folder or Hub id (loaded here with transformers), or the "
                                        "model name the endpoint serves when judge_base_url is set. Unset: no judge."})
    judge_base_url: str = field(
        default=None, metadata={"help": "OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (vLLM, TGI, "
                                        f"`transformers serve`). The API key comes from ${JUDGE_API_KEY_ENV} only."})
    judge_max_new_tokens: int = field(
        default=512, metadata={"help": "Tokens the judge may write per verdict (its explanation comes first)."})
    judge_batch_size: int = field(
        default=8, metadata={"help": "Prompts per generate call (local judge) or requests in flight (endpoint)."})
    judge_timeout: float = field(default=120.0, metadata={"help": "Seconds to wait for one endpoint reply."})
    judge_retries: int = field(
        default=2, metadata={"help": "Tries after the first for an endpoint reply that fails (5xx, a dropped connection, "
                                     "a timeout), with backoff; then that comparison goes unjudged and the run says why."})

    def __post_init__(self):
        if self.judge_base_url and not self.judge_model:
            raise ValueError("judge_base_url is set but judge_model is not: name the model the endpoint serves")
        if self.judge_max_new_tokens < 1 or self.judge_batch_size < 1:
            raise ValueError("judge_max_new_tokens and judge_batch_size must be at least 1")
        if self.judge_retries < 0 or self.judge_timeout <= 0:
            raise ValueError("judge_retries must be 0 or more and judge_timeout above 0")

    @property
    def enabled(self) -> bool:
        return bool(self.judge_model)

    @property
    def name(self) -> str:
        """How reasons and reports name the judge: the model, and where it runs (never the key)."""
        return f"{self.judge_model} at {self.judge_base_url}" if self.judge_base_url else self.judge_model


def marco_dataclasses() -> tuple:
    """marco's own recipe dataclasses, in the order train.py's parser lists them (light: no torch, no TRL configs)."""
    from marco.data import CleaningConfig

    return MarcoArguments, CleaningConfig, CompareConfig, GateConfig, JudgeConfig


def make_parser():
    """train.py's parser, which `marco preview` shares: TRL's SFTConfig and ModelConfig beside marco's dataclasses."""
    from trl import ModelConfig, SFTConfig, TrlParser

    from marco.train.training import launch_defaults

    parser = TrlParser((*marco_dataclasses(), SFTConfig, ModelConfig))
    parser.set_defaults(**launch_defaults())
    return parser
