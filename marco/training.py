"""Where training happens: clean and split the data, build TRL's SFTTrainer for LoRA, QLoRA or full
fine-tuning (an encoder-decoder model goes to marco.seq2seq instead), train (resuming if asked), and save what a
run needs to explain itself."""

import json
import os
from dataclasses import asdict

from marco import tiny


class MarcoError(Exception):
    """A problem the user can fix (missing model, dataset or bad field): train.py prints it on one line."""


def cannot_load(model_args, error: Exception, part: str = "") -> MarcoError:
    """The one-line error for a model (or its tokenizer, its config) that does not load."""
    return MarcoError(f"model {model_args.model_name_or_path!r}: cannot load{' its ' + part if part else ''} "
                      f"({str(error).splitlines()[0]})")


def launch_defaults() -> dict:
    """Parser defaults for how this process was launched: `torchrun` without CUDA needs the gloo process group.
    They must be defaults, not later edits: TrainingArguments sets up its devices while it is parsed."""
    import torch

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available():
        return {"ddp_backend": "gloo"}
    return {}


def apply_method(method: str, model_args) -> None:
    """Set ModelConfig's adapter and 4-bit fields from marco's `method`, refusing contradictions."""
    if method == "full":
        if model_args.use_peft or model_args.load_in_4bit:
            raise MarcoError("method: full trains every weight, but use_peft/load_in_4bit are set: remove them or use "
                             "method: lora / qlora")
        return
    model_args.use_peft = True
    if method == "qlora":
        model_args.load_in_4bit, model_args.bnb_4bit_quant_type = True, "nf4"
    if model_args.lora_target_modules in (["all-linear"], "all-linear"):
        model_args.lora_target_modules = "all-linear"  # peft's keyword, not a module name


def prepare_data(marco_args, cleaning, output_dir: str, seed: int, is_main: bool) -> tuple[list, list, dict]:
    """(train, eval, data report). The audit always runs and its outputs go to OUTPUT_DIR/data/."""
    from marco.data import UnusableInput, run, split_train_eval, write_outputs
    from marco.data.formats import converted

    try:
        result = run(marco_args.dataset, cleaning, split=marco_args.dataset_split)
    except UnusableInput as error:
        raise MarcoError(str(error)) from None
    if is_main:
        write_outputs(result, os.path.join(output_dir, "data"))
    if marco_args.clean_data:
        records = result.kept
    else:
        records = [converted(r.record, r.fmt, r.messages) for r in result.rows if r.messages is not None]
    if not records:
        raise MarcoError(f"{marco_args.dataset}: no usable conversation left (see {output_dir}/data/report.html)")
    train, held_out = split_train_eval(records, marco_args.eval_fraction, marco_args.split_similarity, seed)
    return train, held_out, result.report


def _dataset(records: list):
    from datasets import Dataset

    return Dataset.from_list([{"messages": r["messages"]} for r in records]) if records else None


def load_tokenizer(model_args, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    path = tiny.resolve(model_args.model_name_or_path)
    try:
        return AutoTokenizer.from_pretrained(path, revision=model_args.model_revision, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as error:
        raise cannot_load(model_args, error, "tokenizer") from None


def is_encoder_decoder(model_args, trust_remote_code: bool = False) -> bool:
    from marco import seq2seq

    try:
        return seq2seq.is_encoder_decoder(model_args.model_name_or_path, revision=model_args.model_revision,
                                          trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as error:
        raise cannot_load(model_args, error, "config") from None


def peft_config(model_args, lora_bias: bool = False):
    """TRL's LoraConfig from ModelConfig, plus the bias ModelConfig has no field for (peft's lora_bias)."""
    from dataclasses import replace

    from trl import get_peft_config

    config = get_peft_config(model_args)
    return replace(config, lora_bias=lora_bias) if config is not None else None


def check_lora_targets(model, targets) -> None:
    """peft adapts the layers whose names end with a listed name and skips the other names in silence: on Flan-T5,
    whose feed-forward input layers are wi_0 and wi_1, "wi" adapts nothing. Refuse a name that matches no layer."""
    import torch

    if isinstance(targets, str) or not targets:  # all-linear, or a regular expression
        return
    names = [name for name, _ in model.named_modules()]
    missing = sorted(t for t in targets if not any(n == t or n.endswith("." + t) for n in names))
    if missing:
        linear = sorted({n.split(".")[-1] for n, m in model.named_modules()
                         if isinstance(m, torch.nn.Linear) and "lora_" not in n and not n.endswith("base_layer")})
        raise MarcoError(f"lora_target_modules {missing} match no layer of this model; its linear layers are "
                         f"{', '.join(linear)} (or use lora_target_modules: all-linear)")


def build_trainer(training_args, model_args, train_records: list, eval_records: list, callbacks=None, tokenizer=None,
                  lora_bias: bool = False):
    """TRL's SFTTrainer, as trl/scripts/sft.py builds it, on marco's cleaned data; for an encoder-decoder model,
    marco.seq2seq's Seq2SeqTrainer on the same data."""
    from trl import SFTTrainer, get_quantization_config

    from marco import seq2seq

    tokenizer = tokenizer or load_tokenizer(model_args, training_args.trust_remote_code)
    training_args.model_init_kwargs = {
        "revision": model_args.model_revision, "trust_remote_code": training_args.trust_remote_code,
        "attn_implementation": model_args.attn_implementation, "dtype": model_args.dtype,
        **(training_args.model_init_kwargs or {}),
    }
    if not eval_records:
        training_args.eval_strategy = "no"
    adapter = peft_config(model_args, lora_bias)
    if is_encoder_decoder(model_args, training_args.trust_remote_code):
        return seq2seq.build_trainer(training_args, model_args, train_records, eval_records, callbacks, tokenizer, adapter)
    try:
        trainer = SFTTrainer(
            model=tiny.resolve(model_args.model_name_or_path), args=training_args, processing_class=tokenizer,
            train_dataset=_dataset(train_records), eval_dataset=_dataset(eval_records),
            quantization_config=get_quantization_config(model_args), peft_config=adapter, callbacks=callbacks,
        )
    except OSError as error:
        raise cannot_load(model_args, error) from None
    if adapter is not None:
        check_lora_targets(trainer.model, adapter.target_modules)
    return trainer


def final_eval(trainer) -> dict:
    """Eval metrics at the last step: those the trainer just logged, else a fresh evaluation."""
    logged = [entry for entry in trainer.state.log_history if "eval_loss" in entry]
    if logged and logged[-1]["step"] == trainer.state.global_step:
        return {k: v for k, v in logged[-1].items() if k.startswith("eval_")}
    return trainer.evaluate()


def resume_point(value, output_dir: str):
    """`--resume_from_checkpoint true` means the last checkpoint in output_dir, if there is one."""
    from transformers.trainer_utils import get_last_checkpoint

    if value is None or str(value).lower() in ("false", "no", ""):
        return None
    if str(value).lower() in ("true", "yes", "last"):
        return get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None
    return value


def resolved_config(marco_args, cleaning, policy, training_args, model_args) -> dict:
    """Everything the run was configured with; TrainingArguments.to_dict() masks tokens."""
    return {"marco": asdict(marco_args), "cleaning": asdict(cleaning), "gate": asdict(policy), "model": asdict(model_args),
            "training": {k: v for k, v in training_args.to_dict().items() if "token" not in k}}


def load_probes(path: str) -> list:
    from marco.compare import load_probes as load

    try:
        return load(path)
    except OSError as error:
        raise MarcoError(f"probes {path!r}: {error.strerror}") from None


def final_comparison(trainer, model_args, probes: list, policy) -> dict:
    """All probes, base against fine-tuned: one mixed batch for adapters; full fine-tuning has no base left in
    the trained weights, so the base is loaded beside it for this one comparison."""
    from marco import compare
    from marco.callback import is_adapter_model

    model, tokenizer = trainer.model, trainer.processing_class
    args = (policy.compare_max_new_tokens, policy.compare_batch_size)
    if is_adapter_model(model):
        base, tuned = compare.answer_both(model, tokenizer, probes, *args)
    else:
        texts = compare.prompts(tokenizer, probes, compare.is_encoder_decoder(model))
        tuned = compare.generate(model, tokenizer, texts, *args)
        base_model = type(model).from_pretrained(  # loaded as the trained model was: same class, dtype and attention
            tiny.resolve(model_args.model_name_or_path), revision=model_args.model_revision, dtype=model.dtype,
            attn_implementation=model.config._attn_implementation).to(model.device)
        base = compare.generate(base_model, tokenizer, texts, *args)
        del base_model
    return compare.compare(base, tuned, probes)


def save_run(trainer, output_dir: str, config: dict, data_report: dict, metrics: dict, evaluation: dict) -> None:
    """The model or adapter, the tokenizer, the resolved config and marco_report.json, side by side."""
    import yaml

    trainer.save_model(output_dir)
    if not trainer.is_world_process_zero():
        return
    with open(os.path.join(output_dir, "marco_config.yaml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, sort_keys=False, allow_unicode=True)
    report = {
        "base_model": config["model"]["model_name_or_path"],
        "method": config["marco"]["method"],
        "data": {"source": data_report["source"], **data_report["counts"],
                 "template_rate": data_report["templates"]["template_rate"]},
        "training": {**metrics, "world_size": trainer.args.world_size},
        **evaluation,
    }
    with open(os.path.join(output_dir, "marco_report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1, ensure_ascii=False)
