"""Fine-tune a chat model into a tutor: clean the data, train with TRL, save a run that explains itself.

    python train.py --config configs/marco_tiny.yaml                     # offline, CPU, built-in model
    python train.py --config configs/marco_qwen2.5-7b_qlora.yaml --learning_rate 1e-4
    python train.py --config outputs/marco-tiny/marco_config.yaml        # the same run again, from its saved recipe
    torchrun --nproc_per_node 2 train.py --config configs/marco_tiny.yaml

Every SFTConfig and ModelConfig option of TRL is available, plus marco's own (`python train.py --help`).
"""

import sys

from marco.config import make_parser  # the recipe's parser, shared with `marco preview`


def main(marco_args, cleaning, comparing, policy, judging, training_args, model_args):
    from marco import compare, hub, models, run_dir, training

    recipe = training.recipe(marco_args, cleaning, comparing, policy, judging, training_args, model_args)  # before the edits below
    repo_id = hub.push_target(training_args)  # checked now: a missing id or token must not surface after hours of training
    compare.load_probes(comparing.probes)  # checked now too: a bad probe must not surface after training
    if training_args.process_index == 0:  # refuses `.` or a stranger's folder before anything is written
        run_dir.claim(training_args.output_dir, recipe, training.resume_asked(training_args.resume_from_checkpoint),
                      marco_args.overwrite_output_dir)
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
    report = training.train(marco_args, comparing, policy, training_args, model_args, data, judging)
    if repo_id and training_args.process_index == 0:
        for url in hub.push(training_args.output_dir, repo_id, private=training_args.hub_private_repo,
                            push_dataset=marco_args.push_dataset, dataset_repo=marco_args.hub_dataset_id):
            print(f"[marco] pushed: {url}")
    return report


if __name__ == "__main__":
    from marco.config_file import parse
    from marco.errors import MarcoError
    from marco.recipe_help import help_parser

    if {"-h", "--help"} & set(sys.argv[1:]) and (parser := help_parser()):  # the help without importing torch
        parser.print_help()
        sys.exit(0)
    try:
        main(*parse(make_parser(), sys.argv[1:]))
    except (MarcoError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
