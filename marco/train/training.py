"""Where training happens: clean and split the data, build TRL's SFTTrainer for LoRA, QLoRA or full
fine-tuning (an encoder-decoder model goes to marco.seq2seq instead), train (resuming if asked), and save what a
run needs to explain itself: the model, marco_config.yaml (the recipe, replayable) and marco_report.json."""

import os
import time
from dataclasses import asdict, replace

from marco import compare, models, run_dir, seq2seq, tiny
from marco.errors import MarcoError

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
    marco.seq2seq's Seq2SeqTrainer on the same data. `adapter`: peft_config(); model_args: method_model_args()."""
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


def final_comparison(trainer, model_args, probes: list, config) -> dict:
    """All probes, base against fine-tuned: one mixed batch for adapters; full fine-tuning has no base left in
    the trained weights, so the base is loaded beside it for this one comparison."""
    model, tokenizer, base = trainer.model, trainer.processing_class, None
    if not models.is_adapter_model(model):
        base = models.load_model(  # loaded as the trained model was: same class, dtype and attention
            model_args.model_name_or_path, model_args.model_revision, dtype=model.dtype, device=model.device,
            attn_implementation=model.config._attn_implementation)
    answers = compare.answer(model, tokenizer, probes, config, base_model=base)
    del base
    return compare.compare(answers["base"], answers["fine_tuned"], probes)


def save_report(trainer, output_dir: str, report) -> None:
    """marco_report.json, written last and atomically: a folder holding it is a complete run."""
    if trainer.is_world_process_zero():
        report.save(output_dir)


def data_summary(data_report: dict) -> dict:
    """The audit's headline figures for marco_report.json (the full audit is OUTPUT_DIR/data/report.json)."""
    return {"source": data_report["source"], **data_report["counts"],
            "template_rate": data_report["templates"]["template_rate"],
            "tokenizer_warning": data_report.get("tokenizer_coverage", {}).get("warning")}


def train(marco_args, comparing, policy, training_args, model_args, data: tuple, judging=None):
    """Train on `data` (prepare_data's), watched by the base comparison; save the model, then compare on every
    probe, judge it when `judging` (a JudgeConfig) names a judge, decide the gate and write the report (last).
    Returns the RunReport it saved."""
    from trl import get_quantization_config

    from marco import gate, judge
    from marco.callback import BaseComparisonCallback
    from marco.report import RunReport, versions

    train_records, eval_records, data_report = data
    method_args = method_model_args(marco_args.method, model_args)
    probes = compare.load_probes(comparing.probes)
    tokenizer = models.load_tokenizer(model_args.model_name_or_path, model_args.model_revision,
                                      training_args.trust_remote_code)
    trainer = build_trainer(training_args, method_args, train_records, eval_records, tokenizer,
                            peft_config(method_args, marco_args.lora_bias), get_quantization_config(method_args))
    judge_backend = judge.backend(judging) if judging and judging.enabled else None  # loaded once, used at every comparison
    watcher = BaseComparisonCallback(trainer, probes[: comparing.compare_probes], comparing, policy, judge_backend)
    if comparing.compare_during_training:
        trainer.add_callback(watcher)
    start = time.perf_counter()
    resume = resume_point(training_args.resume_from_checkpoint, training_args.output_dir)
    metrics = train_or_load(trainer, resume)
    if eval_records:
        metrics.update(final_eval(trainer))
    timings = {"train_seconds": round(time.perf_counter() - start, 1)}
    trainer.save_model(training_args.output_dir)  # first: nothing that fails after training may lose the model
    report = RunReport(
        base_model=model_args.model_name_or_path, method=marco_args.method,
        encoder_decoder=models.is_encoder_decoder(trainer.model), base_parameters=models.base_parameters(trainer.model),
        data=data_summary(data_report),
        training={**metrics, "world_size": trainer.args.world_size}, during_training=watcher.history,
        stopped_early=watcher.stopped_because or None, versions=versions(), timings=timings)
    start = time.perf_counter()
    try:
        report.evaluation = final_comparison(trainer, model_args, probes, comparing)
        timings["final_comparison_seconds"] = round(time.perf_counter() - start, 1)
        if judge_backend is not None:
            start = time.perf_counter()
            report.judge = judge.judge_comparison(judge_backend, report.evaluation["samples"])
            timings["final_judge_seconds"] = round(time.perf_counter() - start, 1)
            trainer.accelerator.print(f"[marco] {judge.line(report.judge)}")
    except Exception as error:  # whatever it is (out of memory, a probe, the judge), the saved model and a report must say so
        failure = f"the final comparison failed ({type(error).__name__}: {(str(error) or '?').splitlines()[0]})"
        report.gate = {"passed": False, "reasons": [failure], "checks": []}
        save_report(trainer, training_args.output_dir, report)
        raise MarcoError(f"{failure}; the trained model is saved in {training_args.output_dir} and its marco_report.json "
                         f"says so (python -m marco eval --adapter {training_args.output_dir} compares it again)") from error
    report.gate = gate.verdict(report.evaluation, policy, judge=report.judge)
    trainer.accelerator.print(f"[marco] final comparison on {len(probes)} probes\n{compare.table(report.evaluation)}\n"
                              f"[marco] gate: {'PASSED' if report.gate['passed'] else 'FAILED: ' + '; '.join(report.gate['reasons'])}")
    save_report(trainer, training_args.output_dir, report)
    trainer.accelerator.print(f"saved to {training_args.output_dir}")
    return report
