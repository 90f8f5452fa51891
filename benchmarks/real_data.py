"""marco's verdicts on real data nobody here wrote: the seed project's files, public chat data labelled by hand, and
held-out disclaimer wordings.

    python benchmarks/real_data.py                             # the seed project's files (../shared/seed-project/)
    python benchmarks/real_data.py --markdown                  # the same, as the table in benchmarks/README.md
    python benchmarks/real_data.py --real-dir DIR --markdown   # + the labelled public replies (benchmarks/real/)

Seed files: counts by reason, the share of kept replies that still end in a broken tail (CIMA's "Grammar note: [ ["),
the share of template rejections whose evidence is verbatim in the reply it cites, and the time. Public data
(DIR holds the sources of benchmarks/real/SOURCES.md, built by benchmarks/real/convert.py): per filter, recall on the
replies a reader labelled positive and false alarms on those labelled negative, each judged within its whole source
file (the corpus is the context); the share of each file's conversations rejected as template. Held-out disclaimers
(benchmarks/heldout/): recall and false alarms of the boilerplate filter on wordings written apart from the tuning.
"""

import argparse
import glob
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from marco.data import UnusableInput, run  # noqa: E402
from marco.data.alignment import AlignmentFilter  # noqa: E402
from marco.data.boilerplate import BoilerplateFilter  # noqa: E402
from marco.data.truncation import TruncationFilter  # noqa: E402
from marco.evaluate.votes import read_jsonl  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = os.path.join(os.path.dirname(HERE), "..", "shared", "seed-project")
LABELS = {"set 1, tuned on": os.path.join(HERE, "real", "labels_tuned.jsonl"),
          "set 2, tuned on after its first run": os.path.join(HERE, "real", "labels_held_out.jsonl"),
          "set 3, tuned on after its first run": os.path.join(HERE, "real", "labels_held_out_2.jsonl"),
          "set 4, tuned on after its first run (boilerplate: after its second, 0.71)": os.path.join(HERE, "real", "labels_held_out_3.jsonl"),
          "set 5, never tuned on": os.path.join(HERE, "real", "labels_held_out_4.jsonl")}
HELD_OUT = {  # disclaimer sets, each written by a different writer who saw neither marco's filters nor the other sets
    "disclaimers_1.jsonl": "tuned on after its first run (0.543 then)",
    "disclaimers_2.jsonl": "tuned on after its first run (0.688 then)",
    "disclaimers_3.jsonl": "tuned on after its first run (0.696 then)",
    "disclaimers_4.jsonl": "tuned on after its second run (0.616 both times)",
    "disclaimers_5.jsonl": "never tuned on",
}
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


def _single_replies(labels: list, records: dict) -> list:
    """Each labelled reply as a conversation of its own: the user turn before it, then it."""
    singles = []
    for label in labels:
        messages = records[label["id"]]["messages"]
        users = [m for m in messages[: label["message"]] if m["role"] == "user"]
        singles.append((users[-1:] or [{"role": "user", "content": "?"}]) + [messages[label["message"]]])
    return singles


def labelled_verdicts(labels_path: str, real_dir: str) -> dict:
    """{(filter, sample): [true positives, positives, false alarms, negatives]} over the labelled replies; each is
    judged by the cut-off filter within its source file, as the corpus it came in."""
    labels = read_jsonl(labels_path)
    tally = {}
    for source in sorted({label["source"] for label in labels}):
        records = {r["id"]: r for r in read_jsonl(os.path.join(real_dir, f"{source}.jsonl"))}
        mine = [label for label in labels if label["source"] == source]
        context = [r["messages"] for r in records.values() if r["messages"]]
        singles = _single_replies(mine, records)
        found = {"truncated": TruncationFilter().find(context + singles)[len(context):],
                 "boilerplate": BoilerplateFilter().find(singles)}
        flagged = dict(zip((r["id"] for r in records.values() if r["messages"]), AlignmentFilter().find(context)))
        found["misaligned"] = [flagged.get(label["id"]) for label in mine]
        for name, key in (("truncated", "cut"), ("boilerplate", "boilerplate"), ("misaligned", "misaligned")):
            for label, finding in zip(mine, found[name]):
                for sample in (label["sample"], "all"):
                    row = tally.setdefault((name, sample), [0, 0, 0, 0])
                    positive = bool(label[key])
                    row[0 if positive else 2] += finding is not None
                    row[1 if positive else 3] += 1
    return tally


def template_rejections(real_dir: str, sources: set) -> list:
    """(file, conversations, rejected as template, the most used pattern and its share) per source file."""
    rows = []
    for path in sorted(os.path.join(real_dir, f"{source}.jsonl") for source in sources):
        result = run(path)
        found = result.report["templates"]["found"]
        rows.append((os.path.basename(path), result.report["counts"]["input"],
                     result.report["counts"]["by_reason"].get("template", 0),
                     f"{found[0]['kind']} '{found[0]['text']}' {found[0]['share']:.1%}" if found else "-"))
    return rows


def held_out_disclaimers() -> list:
    """(file, status, recall, positives, false alarms, negatives) per held-out set."""
    rows = []
    for name, status in HELD_OUT.items():
        path = os.path.join(HERE, "heldout", name)
        if os.path.exists(path):
            records = read_jsonl(path)
            found = BoilerplateFilter().find([r["messages"] for r in records])
            hits = [f is not None for r, f in zip(records, found) if r["boilerplate"]]
            alarms = [f is not None for r, f in zip(records, found) if not r["boilerplate"]]
            rows.append((name, status, sum(hits) / len(hits), len(hits), sum(alarms), len(alarms)))
    return rows


def print_real(real_dir: str) -> None:
    print("\n| filter | labels | sample | recall | false alarms |\n| --- | --- | --- | --- | --- |")
    sources = set()
    for status, path in LABELS.items():
        if not os.path.exists(path):
            continue
        sources |= {label["source"] for label in read_jsonl(path)}
        for (name, sample), (hit, positives, alarms, negatives) in sorted(labelled_verdicts(path, real_dir).items()):
            print(f"| {name} | {status} | {sample} | {hit}/{positives} = {hit / max(1, positives):.2f} | "
                  f"{alarms}/{negatives} = {alarms / max(1, negatives):.1%} |")
    print("\n| file | conversations | rejected as template | most used pattern |\n| --- | --- | --- | --- |")
    for name, total, rejected, top in template_rejections(real_dir, sources):
        print(f"| `{name}` | {total} | {rejected} ({rejected / max(1, total):.1%}) | {top} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-dir", default=SEED)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--real-dir", help="the public sources of benchmarks/real/SOURCES.md, as convert.py writes them")
    args = parser.parse_args()
    print("| held-out disclaimers | status | recall | false alarms |\n| --- | --- | --- | --- |")
    for name, status, recall, positives, alarms, negatives in held_out_disclaimers():
        print(f"| `{name}` | {status} | {recall:.3f} of {positives} | {alarms} of {negatives} |")
    if args.real_dir:
        print_real(args.real_dir)
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
