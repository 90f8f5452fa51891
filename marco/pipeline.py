"""The main job, `python train.py`, stage by stage: claim the output folder, audit and clean the data (marco.data), train
(marco.train) with the base comparison watching (marco.evaluate), save the model, compare it with its base on every
probe, let the gate decide, write marco_report.json last (marco.publish.report) and push only what the gate allowed."""

import time

from marco import models, run_dir
from marco.errors import MarcoError
from marco.evaluate import compare, gate, judge
from marco.evaluate.watch import BaseComparisonCallback
from marco.publish import hub
from marco.publish.report import RunReport, versions
from marco.train import training


def main(marco_args, cleaning, comparing, policy, judging, training_args, model_args):
    """train.py's run, from its parsed recipe (marco.train.config.make_parser). Returns the RunReport it saved."""
    recipe = training.recipe(marco_args, cleaning, comparing, policy, judging, training_args, model_args)  # before the edits below
    repo_id = hub.push_target(training_args)  # checked now: a missing id or token must not surface after hours of training
    compare.load_probes(comparing.probes)  # checked now too: a bad probe must not surface after training
    if cleaning.data_overrides:  # and a reader's decisions
        training.check_overrides(cleaning.data_overrides, training_args.output_dir, marco_args.overwrite_output_dir)
    if training_args.process_index == 0:  # refuses `.` or a stranger's folder before anything is written
        run_dir.claim(training_args.output_dir, recipe, training.resume_asked(training_args.resume_from_checkpoint),
                      marco_args.overwrite_output_dir)
    try:
        cleaning = training.decontaminated(cleaning, comparing)  # never train on the test questions
        tokenizer = models.load_tokenizer(model_args.model_name_or_path, model_args.model_revision,
                                          training_args.trust_remote_code)  # the audit measures with the run's tokenizer
        data = training.prepare_data(marco_args, cleaning, training_args.output_dir, training_args.seed,
                                     training_args.process_index == 0, tokenizer)
        training_args.push_to_hub = False  # marco pushes once, after the gate, instead of the Trainer at every save
        training_args.model_init_kwargs = {  # how the trainer loads the model, as trl/scripts/sft.py sets it
            "revision": model_args.model_revision, "trust_remote_code": training_args.trust_remote_code,
            "attn_implementation": model_args.attn_implementation, "dtype": model_args.dtype,
            **(training_args.model_init_kwargs or {})}
        if not data[1]:
            training_args.eval_strategy = "no"  # nothing held out (eval_fraction 0): nothing to evaluate
        report = train_watched(marco_args, comparing, policy, training_args, model_args, data, tokenizer, judging)
        if repo_id and training_args.process_index == 0:
            for url in hub.push(training_args.output_dir, repo_id, private=training_args.hub_private_repo,
                                push_dataset=marco_args.push_dataset, dataset_repo=marco_args.hub_dataset_id):
                print(f"[marco] pushed: {url}")
        return report
    finally:
        run_dir.release(training_args.output_dir)


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


def train_watched(marco_args, comparing, policy, training_args, model_args, data: tuple, tokenizer, judging=None):
    """Train on `data` (prepare_data's) with the run's tokenizer, watched by the base comparison; save the model, then compare on every
    probe, judge it when `judging` (a JudgeConfig) names a judge, decide the gate and write the report (last).
    Returns the RunReport it saved."""
    from trl import get_quantization_config

    train_records, eval_records, data_report = data
    method_args = training.method_model_args(marco_args.method, model_args)
    probes = compare.load_probes(comparing.probes)
    trainer = training.build_trainer(training_args, method_args, train_records, eval_records, tokenizer,
                                     training.peft_config(method_args, marco_args.lora_bias),
                                     get_quantization_config(method_args))
    judge_backend = judge.backend(judging) if judging and judging.enabled else None  # loaded once, used at every comparison
    watcher = BaseComparisonCallback(trainer, probes[: comparing.compare_probes], comparing, policy, judge_backend)
    if comparing.compare_during_training:
        trainer.add_callback(watcher)
    start = time.perf_counter()
    resume = training.resume_point(training_args.resume_from_checkpoint, training_args.output_dir)
    metrics = training.train_or_load(trainer, resume)
    if eval_records:
        metrics.update(training.final_eval(trainer))
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
