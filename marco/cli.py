"""`python -m marco COMMAND`: data audit | data clean | eval | push | space | review | dpo | preview | export."""

import os
import sys

USAGE = """usage: python -m marco COMMAND ...

commands:
  data audit INPUT [--out DIR]                 report on a dataset, change nothing
  data clean INPUT --out DIR [options]         write kept.jsonl, rejected.jsonl, report.json, report.html
                   [--overrides FILE]          ... with a reader's Keep/Drop decisions (app.py --data-review DIR)
  eval --adapter DIR_OR_HUB_ID [--model BASE]  base vs fine-tuned on the probes: a table and JSON
  eval --answers FILE [--judge-model M ...]    the same figures, judge and gate for answers made anywhere
  space OUTPUT_DIR --repo-id USER/NAME [--push SPACE_ID] [--votes-repo U/N]  a Space folder (and upload): the demo
  push OUTPUT_DIR --repo-id USER/NAME [options] publish a run with its model card, if its gate passed
  review RUN [--json] [--votes-repo U/N] [--export-dpo FILE [--from judge]]  blind votes per step; pairs for DPO
  dpo --config configs/marco_tiny_dpo.yaml     DPO on those pairs, starting from the SFT adapter
  preview --config CFG [overrides] [--n N] [--json]  what training sees: the tokens that carry the loss, marked
  export OUTPUT_DIR --format merged|gguf --out PATH [--outtype f32|f16|q8_0]  a standalone model (llama.cpp, Ollama)

`python -m marco data --help` lists every option."""


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _clean_with_datatrove(cfg, args) -> int:
    import json

    from marco.data import UnusableInput
    from marco.data.datatrove_engine import StageFailed, clean_with_datatrove
    from marco.data.summary import print_summary

    if args.action != "clean" or args.strict:
        return _fail("--engine datatrove runs `data clean` without --strict (the default engine audits and stops "
                     "at the first invalid record)")
    if args.executor == "slurm" and not args.slurm_partition:
        return _fail("--executor slurm needs --slurm-partition NAME")
    slurm = {"partition": args.slurm_partition, "time": args.slurm_time}
    try:
        work = clean_with_datatrove(args.input, args.out, cfg, args.tasks, args.executor, args.work_dir,
                                    args.tokenizer, args.split, slurm)
    except (UnusableInput, StageFailed) as error:
        return _fail(str(error))
    if args.executor == "slurm":
        print(f"submitted the four stages' Slurm jobs (logs: {work}/logs); {args.out} is written when the last ends")
        return 0
    with open(os.path.join(args.out, "report.json")) as handle:
        print_summary(json.load(handle))
    print(f"wrote {args.out}/kept.jsonl, rejected.jsonl, report.json, report.html ({args.tasks} datatrove tasks; "
          f"logs: {work}/logs)")
    return 0


def data_command(argv: list) -> int:
    from trl import TrlParser  # TRL's dataclass parser: transformers' own takes a second to import

    from marco.data import CleaningConfig, UnusableInput, run, write_outputs
    from marco.data.load import tokenizer_named
    from marco.data.outputs import write_report
    from marco.data.reasons import VALIDATION
    from marco.data.summary import print_summary

    parser = TrlParser(CleaningConfig, prog="python -m marco data",
                       description="Audit or clean a chat dataset (.jsonl, .json or a Hub dataset name).")
    parser.add_argument("action", choices=["audit", "clean"])
    parser.add_argument("input", help="a .jsonl/.json file, or a Hub dataset name (user/name)")
    parser.add_argument("--out", help="output folder (required for clean; audit writes its report there if given)")
    parser.add_argument("--split", default="train", help="split of a Hub dataset")
    parser.add_argument("--tokenizer", help="count lengths in this tokenizer's tokens (a local path or Hub id)")
    parser.add_argument("--strict", action="store_true", help="exit 2 at the first invalid record instead of rejecting it")
    parser.add_argument("--probes", dest="decontaminate_probes", metavar="FILE",
                        help="the evaluation probes: reject training conversations that ask a probe's question "
                             "(same as --decontaminate_probes)")
    parser.add_argument("--overrides", dest="data_overrides", metavar="FILE",
                        help="a reader's decisions (DIR/overrides.jsonl from `python app.py --data-review DIR`), "
                             "applied last (same as --data_overrides)")
    parser.add_argument("--engine", choices=["default", "datatrove"], default="default",
                        help="datatrove: the same verdicts, computed by datatrove tasks (--tasks, --executor)")
    parser.add_argument("--tasks", type=int, default=2, help="datatrove engine: tasks that read and write the parts")
    parser.add_argument("--executor", choices=["local", "slurm", "ray"], default="local",
                        help="datatrove engine: local processes, Slurm jobs (submitted, then this exits) or Ray")
    parser.add_argument("--work-dir", help="datatrove engine: the stages' files and logs, on storage every task sees "
                                           "(default: OUT.datatrove)")
    parser.add_argument("--slurm-partition", help="Slurm partition (with --executor slurm)")
    parser.add_argument("--slurm-time", default="4:00:00", help="Slurm time limit of each job")
    try:
        cfg, args = parser.parse_args_into_dataclasses(argv)
    except ValueError as error:  # CleaningConfig.__post_init__ says what to fix
        return _fail(str(error))
    if args.action == "clean" and not args.out:
        return _fail("data clean needs --out DIR")
    if args.engine == "datatrove":
        return _clean_with_datatrove(cfg, args)
    try:
        tokenizer = tokenizer_named(args.tokenizer)
        result = run(args.input, cfg, tokenizer, split=args.split)
        bad = next((r.rejection for r in result.rows if r.rejection and r.rejection["reason"] in VALIDATION), None)
        if args.strict and bad:
            return _fail(f"{bad['detail']} [{bad['reason']}] (--strict: nothing written)")
        if args.action == "clean":
            write_outputs(result, args.out)
        elif args.out:
            write_report(result.report, args.out)
    except UnusableInput as error:
        return _fail(str(error))
    report = result.report
    print_summary(report)
    if args.out:
        written = "kept.jsonl, rejected.jsonl, " if args.action == "clean" else ""
        print(f"wrote {args.out}/{written}report.json, report.html")
    return 0


def default_eval_out(adapter: str) -> str:
    """ADAPTER/marco_eval.json beside a local adapter; for a Hub id (USER/NAME), marco_eval_USER_NAME.json here."""
    if os.path.isdir(adapter):
        return os.path.join(adapter, "marco_eval.json")
    return f"marco_eval_{adapter.replace('/', '_')}.json"


def eval_command(argv: list) -> int:
    """Base against fine-tuned on the probes, from one model in memory (on the GPU if there is one): a table, and JSON."""
    if "--answers" in argv:  # answers made elsewhere: marco/evaluate/answers.py
        from marco.evaluate import answers

        return answers.command(argv)
    import json

    from transformers import HfArgumentParser

    from marco import models
    from marco.errors import MarcoError
    from marco.evaluate import compare, gate, judge
    from marco.train.config import CompareConfig, GateConfig, JudgeConfig

    parser = HfArgumentParser((CompareConfig, GateConfig, JudgeConfig), prog="python -m marco eval",
                              description=eval_command.__doc__)
    parser.add_argument("--adapter", required=True, help="folder (or Hub id) of the LoRA adapter")
    parser.add_argument("--model", help="base model: Hub id, local folder, marco-tiny or marco-tiny-t5 (default: the "
                                        "adapter's base, from its marco_report.json or adapter_config.json)")
    parser.add_argument("--out", help="JSON output (default: ADAPTER/marco_eval.json for a local adapter, "
                                      "marco_eval_USER_NAME.json for a Hub id)")
    try:
        config, policy, judging, args = parser.parse_args_into_dataclasses(argv)
    except ValueError as error:  # JudgeConfig.__post_init__ says what to fix
        return _fail(str(error))
    try:
        probes = compare.load_probes(config.probes)
        model, tokenizer, base = models.load_adapter(args.adapter, args.model)
    except MarcoError as error:
        return _fail(str(error))
    answers = compare.answer(model, tokenizer, probes, config)
    result = {"base_model": base, "adapter": args.adapter, "probes_file": config.probes,
              "evaluation": compare.compare(answers["base"], answers["fine_tuned"], probes)}
    result["judge"] = judge.judge_comparison(judge.backend(judging), result["evaluation"]["samples"]) \
        if judging.enabled else None
    result["gate"] = gate.verdict(result["evaluation"], policy, judge=result["judge"])
    out = args.out or default_eval_out(args.adapter)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1, ensure_ascii=False)
    print(compare.table(result["evaluation"]))
    if result["judge"]:
        print(judge.line(result["judge"]))
    print(f"gate: {'PASSED' if result['gate']['passed'] else 'FAILED: ' + '; '.join(result['gate']['reasons'])}")
    print(f"wrote {out}")
    return 0


def push_command(argv: list) -> int:
    """Publish a finished run: refused if its gate failed (unless --force, which the card states)."""
    import argparse

    from marco.errors import MarcoError
    from marco.publish import hub
    from marco.publish.gguf_file import OUTTYPES

    parser = argparse.ArgumentParser(prog="python -m marco push", description=push_command.__doc__)
    parser.add_argument("output_dir", help="a finished train.py run (holds marco_report.json)")
    parser.add_argument("--repo-id", required=True, help="USER/NAME of the model repo")
    parser.add_argument("--private", action="store_true", help="create the repos private")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing to main")
    parser.add_argument("--force", action="store_true", help="publish even though the gate failed; the card says so")
    parser.add_argument("--push-dataset", action="store_true", help="also publish the cleaned data and its audit")
    parser.add_argument("--dataset-repo-id", help="dataset repo for --push-dataset (default: REPO_ID-data)")
    parser.add_argument("--license", help="license in the card (default: the run's `license` field)")
    parser.add_argument("--dry-run", action="store_true", help="stage OUTPUT_DIR/hub/ with the card, upload nothing")
    parser.add_argument("--merged", action="store_true", help="also publish the adapter merged into its base, as REPO_ID-merged")
    parser.add_argument("--gguf", metavar="OUTTYPE", choices=OUTTYPES,
                        help="also publish a GGUF of the merged model (f32, f16 or q8_0) with an Ollama Modelfile, as REPO_ID-GGUF")
    args = parser.parse_args(argv)
    try:
        done = hub.push(args.output_dir, args.repo_id, args.private, args.create_pr, args.force, args.push_dataset,
                        args.dataset_repo_id, args.license, dry_run=args.dry_run, merged=args.merged, gguf=args.gguf)
    except MarcoError as error:
        return _fail(str(error))
    print("\n".join(f"{'staged' if args.dry_run else 'pushed'}: {where}" for where in done))
    return 0


def space_command(argv: list) -> int:
    """Prepare a Gradio Space that serves app.py against the pushed adapter (default folder: OUTPUT_DIR/hub/space)."""
    import argparse

    from marco.errors import MarcoError
    from marco.publish.space import prepare_space

    parser = argparse.ArgumentParser(prog="python -m marco space", description=space_command.__doc__)
    parser.add_argument("output_dir", help="a finished train.py run (holds marco_report.json)")
    parser.add_argument("--repo-id", required=True, help="USER/NAME of the model repo the adapter is pushed to")
    parser.add_argument("--out", help="the Space folder to write (default: OUTPUT_DIR/hub/space)")
    parser.add_argument("--hardware", default="auto", help="the Space's hardware (default: zero-a10g, i.e. ZeroGPU, "
                        "for a base above 1B parameters, else cpu-basic); any Spaces hardware name")
    parser.add_argument("--push", metavar="SPACE_ID", help="upload the folder as this Gradio Space (USER/NAME)")
    parser.add_argument("--private", action="store_true", help="create the Space private")
    parser.add_argument("--votes-repo", metavar="USER/NAME", help="give the Space the Blind review tab, its votes "
                        "committed to this private Hub dataset (the Space needs an HF_TOKEN secret that can write it)")
    args = parser.parse_args(argv)
    try:
        from marco.publish import hub

        hub.checked_repo_id(args.repo_id)
        if args.push:
            hub.checked_repo_id(args.push, "--push")
        if args.votes_repo:
            hub.checked_repo_id(args.votes_repo, "--votes-repo")
        folder = prepare_space(args.output_dir, args.repo_id, args.out, args.hardware, args.votes_repo)
        print(f"wrote {folder}")
        if args.push:
            api = hub.client()
            url = hub.upload(api, folder, args.push, "space", "marco: side-by-side demo", args.private,
                             space_sdk="gradio")
            print(f"pushed: {url}")
            if args.votes_repo:
                hub.create_private(api, args.votes_repo, "dataset")
                print(f"votes go to the private dataset {args.votes_repo}: add a secret HF_TOKEN (write access to it) "
                      f"in the Space's settings")
    except MarcoError as error:
        return _fail(str(error))
    return 0


# commands whose code lives in a module of its own, as MODULE.command(argv)
MODULE_COMMANDS = {"export": "marco.publish.export", "dpo": "marco.train.dpo", "review": "marco.evaluate.review", "preview": "marco.train.preview"}


def main(argv: list = None) -> int:
    import importlib

    from marco.errors import disk_full

    argv = sys.argv[1:] if argv is None else argv
    commands = {"data": data_command, "eval": eval_command, "space": space_command, "push": push_command}
    if argv and argv[0] in MODULE_COMMANDS:
        commands[argv[0]] = importlib.import_module(MODULE_COMMANDS[argv[0]]).command
    try:
        if argv and argv[0] in commands:
            return commands[argv[0]](argv[1:])
    except OSError as error:
        full = disk_full(error, "no earlier output was replaced and nothing uploaded (marco writes aside and moves "
                         "into place when whole; temporary files go to $TMPDIR): free some space and run it again")
        if full is None:
            raise
        return _fail(str(full))
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    print(USAGE, file=sys.stderr)
    return _fail(f"unknown command {argv[0]!r}" if argv else "no command given")
