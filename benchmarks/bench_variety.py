"""What the variety audit (marco/data/variety.py) adds to `marco data clean`: time and peak memory, whole processes.

    python benchmarks/bench_variety.py                          # 100k conversations of the bundled set, word-edited
    python benchmarks/bench_variety.py --n 1000000 --dataset synthetic --repeats 1

The baseline is the same clean in the same run with the step switched off (its Grouping replaced by one that
groups nothing), the two alternated `--repeats` times, the fastest of each kept. Target: <= 10% more time at 100k,
peak memory well under 2 GiB at 1M.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

from bench_clean import _process

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLEAN = "import sys\nfrom marco.cli import main\nsys.exit(main(['data', 'clean', sys.argv[1], '--out', sys.argv[2]]))"
WITHOUT = """import marco.data.variety as variety
class Off:
    def start(self, *args): pass
    def stop(self): pass
    def result(self): return {}
variety.Grouping = Off
""" + CLEAN


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dataset", choices=("synthetic", "bundled"), default="bundled")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.jsonl")
        subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "bench_clean.py"), "--make", str(args.n), path,
                        "--dataset", args.dataset], check=True)
        runs = {"with": [], "without": []}
        for _ in range(args.repeats):
            for name, code in (("without", WITHOUT), ("with", CLEAN)):
                runs[name].append(_process([sys.executable, "-c", code, path, os.path.join(tmp, name)], REPO))
        with open(os.path.join(tmp, "with", "report.json")) as handle:
            found = json.load(handle)["variety"]
    best = {name: min(measured) for name, measured in runs.items()}
    result = {"conversations": args.n, "dataset": args.dataset, "sampled": found["sampled"],
              "kinds": len(found["clusters"]), "without_s": best["without"][0], "with_s": best["with"][0],
              "added": round(best["with"][0] / best["without"][0] - 1, 3),
              "without_peak_gib": max(g for _, g in runs["without"]), "with_peak_gib": max(g for _, g in runs["with"]),
              "load_average": round(os.getloadavg()[0], 1)}
    print(json.dumps(result))
    print(f"{args.n} {args.dataset} conversations: clean {result['without_s']} s without the variety step, "
          f"{result['with_s']} s with it: {result['added']:+.1%} (target <= +10% at 100k); peak memory "
          f"{result['with_peak_gib']} GiB with, {result['without_peak_gib']} GiB without (target at 1M: well under 2 GiB)")


if __name__ == "__main__":
    main()
