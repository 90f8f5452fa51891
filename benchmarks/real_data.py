"""marco's cleaning on the seed project's real data (../shared/seed-project/): what it finds, per file.

    python benchmarks/real_data.py               # every .jsonl there
    python benchmarks/real_data.py --markdown    # the same, as the table in benchmarks/README.md

Per file: counts by reason, the share of kept replies that still end in a broken tail (CIMA's "Grammar note: [ ["),
the share of template rejections whose evidence is verbatim in the reply it cites, and the time.
"""

import argparse
import glob
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from marco.data import UnusableInput, run  # noqa: E402

SEED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "seed-project")
BROKEN_TAIL = re.compile(r"(\[\s*\[|grammar note:)\s*$", re.IGNORECASE)  # the seed's broken markup tail
_FIELD = re.compile(r"messages\[(\d+)\]")


def broken_tail_share(kept: list) -> float:
    replies = [m["content"] for r in kept for m in r["messages"] if m["role"] == "assistant"]
    return sum(bool(BROKEN_TAIL.search(reply)) for reply in replies) / max(1, len(replies))


def verbatim_share(rejected: list) -> tuple[float, int]:
    """(share of template rejections whose evidence is in the reply named by their field, how many there are)."""
    cited = [r for r in rejected if r["rejection"]["reason"] == "template"]
    found = 0
    for record in cited:
        rejection = record["rejection"]
        match = _FIELD.match(rejection["field"])
        reply = record["messages"][int(match.group(1))]["content"] if match else ""
        found += bool(rejection.get("evidence")) and rejection["evidence"] in reply
    return found / max(1, len(cited)), len(cited)


def measure(path: str) -> dict:
    start = time.perf_counter()
    try:
        result = run(path)
    except UnusableInput as error:  # v1_answers.jsonl holds answers to judge, not conversations to train on
        return {"file": os.path.basename(path), "refused": str(error).split(": ", 1)[1]}
    seconds = time.perf_counter() - start
    verbatim, templates = verbatim_share(result.rejected)
    return {"file": os.path.basename(path), "input": result.report["counts"]["input"], "kept": len(result.kept),
            "by_reason": result.report["counts"]["by_reason"], "broken_tail": broken_tail_share(result.kept),
            "template_rejections": templates, "verbatim": verbatim, "seconds": seconds,
            "warnings": [w for w in result.report["warnings"] if w.startswith("one user turn")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-dir", default=SEED)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    paths = sorted(glob.glob(os.path.join(args.seed_dir, "*.jsonl")))
    if not paths:
        sys.exit(f"no .jsonl in {args.seed_dir}: the seed project is not in this checkout")
    rows = [measure(p) for p in paths]
    if args.markdown:
        print("| file | input | kept | rejected by reason | kept replies with a broken tail | template evidence "
              "verbatim | seconds |\n| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        if "refused" in row:
            print(f"| `{row['file']}` | refused (exit 2): {row['refused'][:70]} |||||||" if args.markdown
                  else f"{row['file']}: refused (exit 2): {row['refused']}")
            continue
        reasons = ", ".join(f"{k} {v}" for k, v in row["by_reason"].items())
        if args.markdown:
            print(f"| `{row['file']}` | {row['input']} | {row['kept']} | {reasons} | {row['broken_tail']:.1%} | "
                  f"{row['verbatim']:.1%} of {row['template_rejections']} | {row['seconds']:.1f} |")
        else:
            print(f"{row['file']}: {row['input']} in, {row['kept']} kept; {reasons}; broken tail in "
                  f"{row['broken_tail']:.1%} of kept replies; template evidence verbatim in {row['verbatim']:.1%} "
                  f"of {row['template_rejections']}; {row['seconds']:.1f} s")
            for warning in row["warnings"]:
                print(f"  ! {warning}")


if __name__ == "__main__":
    main()
