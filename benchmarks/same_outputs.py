"""Check that a speed change left `marco data clean` byte-identical: kept, rejected, report.json and report.html
of this checkout against those of an older commit, on the bundled sets, the seed project and generated sets; or
that the datatrove engine gives the default engine's outputs.

    python benchmarks/same_outputs.py --old main        # prints one line per data set, exits 1 on any difference
    python benchmarks/same_outputs.py --engine datatrove --tasks 2   # this checkout, datatrove against default
"""

import argparse
import glob
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUTS = ("kept.jsonl", "rejected.jsonl", "report.json", "report.html")


def clean(code: str, data: str, out: str, options: list) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "marco", "data", "clean", data, "--out", out, *options], cwd=code,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": code})
    return done.returncode, done.stderr


def differences(old: str, new: str, data: str, tmp: str, options: list = ()) -> list[str]:
    """What differs between the outputs of `old`'s code and `new`'s (run with `options`) on `data`."""
    results = {}
    for name, code, extra in (("old", old, []), ("new", new, list(options))):
        out = os.path.join(tmp, name, os.path.basename(data))
        results[name] = (*clean(code, data, out, extra), out)
    (old_rc, old_err, old_out), (new_rc, new_err, new_out) = results["old"], results["new"]
    if options:  # the datatrove engine logs its progress on stderr: only the error line of a failure counts
        old_err, new_err = (err.strip().splitlines()[-1:] if rc else [] for rc, err in ((old_rc, old_err), (new_rc, new_err)))
    if (old_rc, old_err) != (new_rc, new_err):
        return [f"exit {old_rc} -> {new_rc}, stderr {str(old_err)[-200:]!r} -> {str(new_err)[-200:]!r}"]
    found = []
    for name in OUTPUTS if old_rc == 0 else ():
        with open(os.path.join(old_out, name), "rb") as a, open(os.path.join(new_out, name), "rb") as b:
            if a.read() != b.read():
                found.append(f"{name} differs")
    return found


def generated(tmp: str) -> list[str]:
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    from bench_clean import make_bundled_dataset, make_dataset, write_jsonl

    paths = []
    for name, records in (("synthetic_20k.jsonl", make_dataset(20_000)[0]),
                          ("bundled_edits_20k.jsonl", make_bundled_dataset(20_000))):
        paths.append(os.path.join(tmp, name))
        write_jsonl(records, paths[-1])
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", default="main", help="commit whose outputs are the reference")
    parser.add_argument("--engine", choices=["datatrove"], help="compare this checkout's engine with its default one")
    parser.add_argument("--tasks", type=int, default=2, help="datatrove tasks (with --engine)")
    parser.add_argument("data", nargs="*", help="data sets (default: bundled, seed project, two generated 20k sets)")
    args = parser.parse_args()
    options = ["--engine", args.engine, "--tasks", str(args.tasks)] if args.engine else []
    with tempfile.TemporaryDirectory() as tmp:
        old = REPO if args.engine else os.path.join(tmp, "old-code")
        if not args.engine:
            os.makedirs(old)
            archive = subprocess.run(["git", "archive", args.old], cwd=REPO, capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        data = args.data or [os.path.join(REPO, "data", "marco_it.jsonl"),
                             *sorted(glob.glob(os.path.join(REPO, "data", "examples", "*.jsonl"))),
                             *sorted(glob.glob(os.path.join(REPO, "..", "shared", "seed-project", "*.jsonl"))),
                             *generated(tmp)]
        failed = 0
        for path in data:
            found = differences(old, REPO, path, tmp, options)
            failed += bool(found)
            print(f"{'DIFFERENT' if found else 'same'}: {os.path.basename(path)} {'; '.join(found)}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
