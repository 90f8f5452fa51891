"""`python -m marco COMMAND`: data audit | data clean (more commands arrive with evaluation and publishing)."""

import sys

USAGE = """usage: python -m marco COMMAND ...

commands:
  data audit INPUT [--out DIR]                 report on a dataset, change nothing
  data clean INPUT --out DIR [options]         write kept.jsonl, rejected.jsonl, report.json, report.html

`python -m marco data --help` lists every option."""
VALIDATION_REASONS = {"blank_line", "invalid_json", "not_an_object", "unknown_format", "bad_message", "unknown_role",
                      "non_string_content", "empty_content", "not_alternating", "no_assistant_turn", "too_long"}


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _tokenizer(name: str):
    from transformers import AutoTokenizer

    from marco.data import UnusableInput

    try:
        return AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as error:
        raise UnusableInput(f"{name}: cannot load tokenizer ({str(error).splitlines()[0]})") from None


def data_command(argv: list) -> int:
    from transformers import HfArgumentParser

    from marco.data import CleaningConfig, UnusableInput, run, write_outputs
    from marco.data.clean import write_report
    from marco.data.summary import print_summary

    parser = HfArgumentParser(CleaningConfig, prog="python -m marco data",
                              description="Audit or clean a chat dataset (.jsonl, .json or a Hub dataset name).")
    parser.add_argument("action", choices=["audit", "clean"])
    parser.add_argument("input", help="a .jsonl/.json file, or a Hub dataset name (user/name)")
    parser.add_argument("--out", help="output folder (required for clean; audit writes its report there if given)")
    parser.add_argument("--split", default="train", help="split of a Hub dataset")
    parser.add_argument("--tokenizer", help="count lengths in this tokenizer's tokens (a local path or Hub id)")
    parser.add_argument("--strict", action="store_true", help="exit 2 at the first invalid record instead of rejecting it")
    try:
        cfg, args = parser.parse_args_into_dataclasses(argv)
    except ValueError as error:  # CleaningConfig.__post_init__ says what to fix
        return _fail(str(error))
    if args.action == "clean" and not args.out:
        return _fail("data clean needs --out DIR")
    try:
        tokenizer = _tokenizer(args.tokenizer) if args.tokenizer else None
        result = run(args.input, cfg, tokenizer, split=args.split)
    except UnusableInput as error:
        return _fail(str(error))
    bad = next((r.rejection for r in result.rows if r.rejection and r.rejection["reason"] in VALIDATION_REASONS), None)
    if args.strict and bad:
        return _fail(f"{bad['detail']} [{bad['reason']}] (--strict: nothing written)")
    if args.action == "clean":
        write_outputs(result, args.out)
    elif args.out:
        write_report(result.report, args.out)
    report = result.report
    print_summary(report)
    if args.out:
        written = "kept.jsonl, rejected.jsonl, " if args.action == "clean" else ""
        print(f"wrote {args.out}/{written}report.json, report.html")
    return 0


def main(argv: list = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "data":
        return data_command(argv[1:])
    print(USAGE, file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
    return 0 if argv and argv[0] in ("-h", "--help") else 2
