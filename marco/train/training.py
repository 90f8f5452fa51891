"""Where training happens: clean and split the data, build TRL's SFTTrainer for LoRA, QLoRA or full fine-tuning (an
encoder-decoder model goes to marco.train.seq2seq instead), train (resuming if asked), and the recipe as a run saves
it (marco_config.yaml, replayable). marco.pipeline runs these steps with the base comparison watching."""

import os
from dataclasses import asdict, replace

from marco import models, run_dir, tiny
from marco.errors import MarcoError
from marco.train import seq2seq

SECRET_FIELDS = {"hub_token"}  # credentials never written to marco_config.yaml (marco refuses them anyway)


def launch_defaults() -> dict:
    """Parser defaults for how this process was launched: `torchrun` without CUDA needs the gloo process group.
    They must be defaults, not later edits: TrainingArguments sets up its devices while it is parsed."""
    import torch

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available():
        return {"ddp_backend": "gloo"}
    return {}


def method_model_args(method: str, model_args):
    """ModelConfig as marco's `method` means it (adapter on, 4-bit NF4 for qlora), as a copy: the parsed one stays
    as the user wrote it, and so does the saved recipe. Refuses contradictions."""
    if method == "full":
        if model_args.use_peft or model_args.load_in_4bit:
            raise MarcoError("method: full trains every weight, but use_peft/load_in_4bit are set: remove them or use "
                             "method: lora / qlora")
        return model_args
    if method == "qlora":
        return replace(model_args, use_peft=True, load_in_4bit=True, bnb_4bit_quant_type="nf4")
    return replace(model_args, use_peft=True)


def decontaminated(cleaning, comparing):
    """The cleaning config that also rejects conversations asking a probe's question: never train on the test."""
    return replace(cleaning, decontaminate_probes=cleaning.decontaminate_probes or comparing.probes)


def check_overrides(path: str, output_dir: str, overwrite: bool) -> None:
    """A reader's decisions (data_overrides), read before anything is written: a bad line fails now, and so does a
    file that --overwrite_output_dir would delete before the data is cleaned (one inside output_dir)."""
    from marco.data import UnusableInput, overrides

    try:
        overrides.read(path)
    except UnusableInput as error:
        raise MarcoError(str(error)) from None
    folder = os.path.abspath(output_dir)
    if overwrite and os.path.commonpath([os.path.abspath(path), folder]) == folder:
        raise MarcoError(f"data_overrides {path} is inside output_dir {output_dir}, which --overwrite_output_dir "
                         "empties first: copy it out, or train into a new output_dir")


def prepare_data(marco_args, cleaning, output_dir: str, seed: int, is_main: bool, tokenizer=None) -> tuple[list, list, dict]:
    """(train, eval, data report). The audit always runs and its outputs go to OUTPUT_DIR/data/; with the run's
    tokenizer it counts lengths in its tokens and reports the characters it cannot carry (tokenizer_coverage)."""
    from marco.data import UnusableInput, run, split_train_eval, write_outputs

    try:
        result = run(marco_args.dataset, cleaning, tokenizer, split=marco_args.dataset_split)
        if is_main:
            write_outputs(result, os.path.join(output_dir, "data"))
    except UnusableInput as error:
        raise MarcoError(str(error)) from None
    if marco_args.clean_data:
        records = result.kept
    else:
        records = result.valid_records()
    if not records:
        raise MarcoError(f"{marco_args.dataset}: no usable conversation left (see {output_dir}/data/report.html)")
    train, held_out = split_train_eval(records, marco_args.eval_fraction, marco_args.split_similarity, seed)
    return train, held_out, result.report


def _dataset(records: list):
    from datasets import Dataset

    return Dataset.from_list([{"messages": r["messages"]} for r in records]) if records else None


def peft_config(model_args, lora_bias: bool = False):
    """TRL's LoraConfig from ModelConfig, plus the bias ModelConfig has no field for (peft's lora_bias)."""
    from trl import get_peft_config

    config = get_peft_config(model_args)
    return replace(config, lora_bias=lora_bias) if config is not None else None


def build_trainer(training_args, model_args, train_records: list, eval_records: list, tokenizer, adapter=None,
                  quantization_config=None):
    """TRL's SFTTrainer, as trl/scripts/sft.py builds it, on marco's cleaned data; for an encoder-decoder model,
    marco.train.seq2seq's Seq2SeqTrainer on the same data. `adapter`: peft_config(); model_args: method_model_args()."""
    from trl import SFTTrainer

    name = model_args.model_name_or_path
    if models.is_encoder_decoder(name, model_args.model_revision, training_args.trust_remote_code):
        return seq2seq.build_trainer(training_args, model_args, train_records, eval_records, tokenizer, adapter,
                                     quantization_config)
    try:
        trainer = SFTTrainer(
            model=tiny.resolve(name), args=training_args, processing_class=tokenizer,
            train_dataset=_dataset(train_records), eval_dataset=_dataset(eval_records),
            quantization_config=quantization_config, peft_config=adapter,
        )
    except OSError as error:
        raise models.cannot_load(name, error) from None
    if adapter is not None:
        models.check_lora_targets(trainer.model, adapter.target_modules)
    if quantization_config is not None:  # the base comparison generates between training steps
        models.keep_4bit_weights_trainable(trainer.model)
    return trainer


def final_eval(trainer) -> dict:
    """Eval metrics at the last step: those the trainer just logged, else a fresh evaluation."""
    logged = [entry for entry in trainer.state.log_history if "eval_loss" in entry]
    if logged and logged[-1]["step"] == trainer.state.global_step:
        return {k: v for k, v in logged[-1].items() if k.startswith("eval_")}
    return trainer.evaluate()


def resume_asked(value) -> bool:
    return value is not None and str(value).lower() not in ("false", "no", "")


def resume_point(value, output_dir: str):
    """`--resume_from_checkpoint true` means the last complete checkpoint in output_dir, if there is one: a checkpoint
    half-saved by a kill is skipped, and named. Comparisons the killed attempt wrote after it are dropped."""
    if not resume_asked(value):
        return None
    if str(value).lower() not in ("true", "yes", "last"):
        return value
    complete, incomplete = run_dir.complete_checkpoints(output_dir) if os.path.isdir(output_dir) else ([], [])
    newer = [c for c in incomplete if not complete or run_dir.step_of(c) > run_dir.step_of(complete[0])]
    for skipped in newer:
        print(f"[marco] skipping {skipped}: incomplete (killed while saving?)", flush=True)
    if complete:
        run_dir.drop_comparisons_after(output_dir, run_dir.step_of(complete[0]))
        print(f"[marco] resuming from {complete[0]}", flush=True)
    return complete[0] if complete else None


def train_or_load(trainer, resume) -> dict:
    """The Trainer's metrics of training (resumed from `resume` if given). A checkpoint saved at the run's last step (a
    kill came during the final comparison) is loaded as it is: transformers' Trainer resumed from it trains one step
    beyond max_steps."""
    if resume:
        from transformers import TrainerState

        state = TrainerState.load_from_json(os.path.join(resume, "trainer_state.json"))
        if 0 < state.max_steps <= state.global_step:
            print(f"[marco] {resume} is the run's last step: loaded, not trained further", flush=True)
            trainer._load_from_checkpoint(resume)  # what Trainer.train does first when it resumes: weights, adapter, shards
            trainer.state = state
            return {}
    return dict(trainer.train(resume_from_checkpoint=resume).metrics)


def recipe(*configs) -> dict:
    """Every field of the parsed dataclasses, flat, as `--config` reads them, less the secrets: marco_config.yaml.
    TrainingArguments.to_dict() gives parser-ready values (enums as strings) but masks every *_token field, the
    pad_token and eos_token settings too: those are taken as they are."""
    flat = {}
    for config in configs:
        values = config.to_dict() if hasattr(config, "to_dict") else asdict(config)
        flat.update({k: getattr(config, k) if k.endswith("_token") else v for k, v in values.items()})
    return {k: v for k, v in flat.items() if k not in SECRET_FIELDS}
