"""Fine-tune a chat model into a tutor: clean the data, train with TRL, save a run that explains itself.

    python train.py --config configs/marco_tiny.yaml                     # offline, CPU, built-in model
    python train.py --config configs/marco_qwen2.5-7b_qlora.yaml --learning_rate 1e-4
    torchrun --nproc_per_node 2 train.py --config configs/marco_tiny.yaml

Every SFTConfig and ModelConfig option of TRL is available, plus marco's own (`python train.py --help`).
"""

import sys


def make_parser():
    from trl import ModelConfig, SFTConfig, TrlParser

    from marco.config import MarcoArguments
    from marco.data import CleaningConfig
    from marco.gate import GateConfig
    from marco.training import launch_defaults

    parser = TrlParser((MarcoArguments, CleaningConfig, GateConfig, SFTConfig, ModelConfig))
    parser.set_defaults(**launch_defaults())
    return parser


def main(marco_args, cleaning, policy, training_args, model_args):
    from marco import compare, gate, hub, training
    from marco.callback import BaseComparisonCallback

    training.apply_method(marco_args.method, model_args)
    repo_id = hub.take_over_push(training_args)
    train_records, eval_records, data_report = training.prepare_data(
        marco_args, cleaning, training_args.output_dir, training_args.seed, training_args.process_index == 0)
    probes = training.load_probes(marco_args.probes)
    tokenizer = training.load_tokenizer(model_args, training_args.trust_remote_code)
    watcher = BaseComparisonCallback(tokenizer, probes[: policy.compare_probes], policy, training_args.output_dir)
    trainer = training.build_trainer(training_args, model_args, train_records, eval_records,
                                     callbacks=[watcher] if policy.compare_during_training else None, tokenizer=tokenizer,
                                     lora_bias=marco_args.lora_bias)
    watcher.log = trainer.log
    resume = training.resume_point(training_args.resume_from_checkpoint, training_args.output_dir)
    metrics = dict(trainer.train(resume_from_checkpoint=resume).metrics)
    if eval_records:
        metrics.update(training.final_eval(trainer))
    evaluation = training.final_comparison(trainer, model_args, probes, policy)
    verdict = gate.decide(evaluation, policy)
    trainer.accelerator.print(f"[marco] final comparison on {len(probes)} probes\n{compare.table(evaluation)}\n"
                              f"[marco] gate: {'PASSED' if verdict['passed'] else 'FAILED: ' + '; '.join(verdict['reasons'])}")
    config = training.resolved_config(marco_args, cleaning, policy, training_args, model_args)
    training.save_run(trainer, training_args.output_dir, config, data_report, metrics, {
        "evaluation": evaluation, "gate": verdict, "during_training": watcher.history,
        "stopped_early": watcher.stopped_because or None})
    trainer.accelerator.print(f"saved to {training_args.output_dir}")
    if repo_id and trainer.is_world_process_zero():
        for url in hub.push(training_args.output_dir, repo_id, private=training_args.hub_private_repo,
                            push_dataset=marco_args.push_dataset, dataset_repo=marco_args.hub_dataset_id):
            print(f"[marco] pushed: {url}")


if __name__ == "__main__":
    from marco.training import MarcoError

    try:
        main(*make_parser().parse_args_and_config())
    except (MarcoError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
