"""Judge answers made anywhere (vLLM, a notebook, another trainer) with marco's comparison, judge and gate:

    python -m marco eval --answers answers.jsonl [--judge-base-url http://127.0.0.1:8000/v1 --judge-model NAME] --out eval.json

Each line is {"question", "base", "tuned"} (names set by --question-field / --base-field / --tuned-field), plus
optional probe fields (`id`, `must_include_any`, `must_not_include`, `reference`). A row whose base answer is
missing or null counts on the fine-tuned side only. Exit 0 when the gate passes, 1 when it fails, 2 on bad input."""

import json
import sys

from marco.errors import MarcoError

PROBE_FIELDS = ("must_include_any", "must_not_include")


def read(path: str, question_field: str, base_field: str, tuned_field: str) -> list:
    """Rows {"id", "question", "base" (str or None), "fine_tuned", probe fields}; MarcoError names file, line, field."""
    rows = []
    try:
        handle = open(path, encoding="utf-8")
    except OSError as error:
        raise MarcoError(f"{path}: cannot read ({error.strerror})") from None
    with handle:
        try:
            lines = handle.readlines()
        except UnicodeDecodeError as error:
            raise MarcoError(f"{path}: not valid UTF-8 (byte {error.object[error.start]:#04x} at offset {error.start}); "
                             "re-save the file as UTF-8") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise MarcoError(f"{where}: not valid JSON ({error.msg})") from None
            if not isinstance(record, dict):
                raise MarcoError(f"{where}: expected a JSON object")
            for name, required in ((question_field, True), (tuned_field, True), (base_field, False)):
                value = record.get(name)
                if (value is None and required) or (value is not None and not (isinstance(value, str) and value.strip())):
                    raise MarcoError(f"{where}: field {name!r} must be a non-empty string"
                                     + ("" if required else " or null"))
            rows.append({**{k: record[k] for k in (*PROBE_FIELDS, "reference") if k in record},
                         "id": str(record.get("id", f"line-{number}")), "question": record[question_field],
                         "base": record.get(base_field), "fine_tuned": record[tuned_field]})
    if not rows:
        raise MarcoError(f"{path}: no answers")
    if not any(r["base"] for r in rows):
        raise MarcoError(f"{path}: no row has a base answer (field {base_field!r}): nothing to compare against")
    return rows


def figures(answers: list, rows: list) -> dict:
    """marco.evaluate.compare.score's figures; pass rate over the rows with probe fields only, chrF only with references."""
    from marco.evaluate.compare import passes, score

    result = score(answers, [{"reference": "", **r} for r in rows])
    probed = [(a, r) for a, r in zip(answers, rows) if any(k in r for k in PROBE_FIELDS)]
    result["pass_rate"] = round(sum(passes(a, r) for a, r in probed) / len(probed), 4) if probed else None
    result["probe_rows"] = len(probed)
    if not all(r.get("reference") for r in rows):
        result["chrf"] = None
    return result


def comparison(rows: list) -> dict:
    paired = [r for r in rows if r["base"]]
    return {"rows": len(rows), "paired": len(paired), "base": figures([r["base"] for r in paired], paired),
            "fine_tuned": figures([r["fine_tuned"] for r in rows], rows)}


def print_report(result: dict) -> None:
    from marco.evaluate import judge
    from marco.evaluate.compare import table

    shown = {side: {k: "-" if v is None else v for k, v in result[side].items()} for side in ("base", "fine_tuned")}
    print(f"{result['rows']} answers, {result['paired']} with a base answer")
    print(table(shown))
    if result["judge"]:
        print(judge.line(result["judge"]))
    gate = result["gate"]
    print("gate: PASSED" if gate["passed"] else "gate: FAILED\n  " + "\n  ".join(gate["reasons"]))


def command(argv: list) -> int:
    from transformers import HfArgumentParser

    from marco.evaluate import gate, judge

    parser = HfArgumentParser((gate.GateConfig, judge.JudgeConfig), prog="python -m marco eval --answers",
                              description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", required=True, help="JSONL file of answers")
    parser.add_argument("--question-field", default="question")
    parser.add_argument("--base-field", default="base")
    parser.add_argument("--tuned-field", default="tuned")
    parser.add_argument("--out", help="write the figures, judge verdicts and gate decision here (JSON)")
    try:
        policy, judge_config, args = parser.parse_args_into_dataclasses(argv)
        rows = read(args.answers, args.question_field, args.base_field, args.tuned_field)
    except (MarcoError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = comparison(rows)
    verdicts = None
    if judge_config.enabled:
        judged = judge.judge_samples(judge_config, [r for r in rows if r["base"]])
        result["judge"], verdicts = judged.summary(), judged.as_dict()["verdicts"]
    else:
        result["judge"] = None
    decision = gate.verdict(result, policy, judge=result["judge"])
    result["gate"] = {k: decision[k] for k in ("passed", "reasons", "checks", "evidence")}
    print_report(result)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump({"answers": args.answers, **result, "judge_verdicts": verdicts}, handle, ensure_ascii=False, indent=2)
        print(f"wrote {args.out}")
    return 0 if decision["passed"] else 1
