"""Start-up of the two command lines a newcomer types first, as whole processes (issue 18, item 4).

    python benchmarks/bench_startup.py            # best of 5 each; targets: train.py --help < 3 s with nothing on
                                                  # stderr, python -m marco --help < 1 s

The baseline, measured in the same run: the same help printed by the real parser (TRL's SFTConfig and ModelConfig
imported, with torch, transformers, peft and bitsandbytes), which is what `train.py --help` did before.
"""

import argparse
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = {
    "python -c pass (interpreter start)": [sys.executable, "-c", "pass"],
    "python train.py --help": [sys.executable, "train.py", "--help"],
    "the same help from the real parser": [sys.executable, "-c", "from marco.train.config import make_parser\n"
                                           "parser = make_parser(); parser.prog = 'train.py'; parser.print_help()"],
    "python -m marco --help": [sys.executable, "-m", "marco", "--help"],
}


def timed(command: list) -> tuple[float, str, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env={**os.environ, "COLUMNS": "100"})
    return time.perf_counter() - start, done.stdout, done.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = {}
    for name, command in COMMANDS.items():
        runs = [timed(command) for _ in range(args.repeat)]
        results[name] = min(seconds for seconds, _, _ in runs), runs[-1][1], runs[-1][2]
        print(f"{name}: {results[name][0]:.2f} s, stderr {len(results[name][2])} bytes", flush=True)
    fast, real = results["python train.py --help"], results["the same help from the real parser"]
    print(f"train.py --help: {fast[0]:.2f} s = {fast[0] / real[0]:.2f}x the real parser's {real[0]:.2f} s "
          f"(target < 3 s), stderr {len(fast[2])} bytes (target 0), same text: {fast[1] == real[1]}; "
          f"python -m marco --help {results['python -m marco --help'][0]:.2f} s (target < 1 s)")


if __name__ == "__main__":
    main()
