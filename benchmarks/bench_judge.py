"""Cost of the judge and of blind review, measured in this run: seconds per probe (both orders) with `transformers
serve` + marco-tiny, the in-process local judge and the fixed-verdict judge (the plumbing's floor), and votes per
minute through the app's /review_vote against review.vote() called directly.

    python benchmarks/bench_judge.py [--probes 12] [--voters 4] [--votes 40]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from conftest import free_port  # noqa: E402
from judge_server import JudgeServer  # noqa: E402

from marco import tiny  # noqa: E402
from marco.evaluate import judge, review  # noqa: E402


def samples(n: int) -> list:
    with open(os.path.join(ROOT, "data", "probes.jsonl"), encoding="utf-8") as handle:
        probes = [json.loads(line) for line in handle][:n]
    return [{"id": p["id"], "question": p["messages"][-1]["content"], "base": p["reference"],
             "fine_tuned": p["reference"][::-1]} for p in probes]


def per_probe(config: judge.JudgeConfig, rows: list, backend=None) -> float:
    backend = backend or judge.backend(config)
    judge.judge_samples(config, rows[:1], judge=backend)  # warm-up
    start = time.perf_counter()
    judge.judge_samples(config, rows, judge=backend)
    return (time.perf_counter() - start) / len(rows)


def serve(port: int):
    process = subprocess.Popen([sys.executable, "-m", "transformers.cli.transformers", "serve", tiny.PATH, "--host",
                                "127.0.0.1", "--port", str(port), "--device", "cpu"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(180):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return process
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise SystemExit("transformers serve did not start")


def review_run(path: str, probes: int = 50) -> str:
    os.makedirs(os.path.join(path, "comparisons"))
    with open(os.path.join(path, "comparisons", "step_000010.jsonl"), "w") as handle:
        for i in range(probes):
            handle.write(json.dumps({"id": f"p{i}", "question": f"q{i}", "base": f"b{i}", "fine_tuned": f"t{i}"}) + "\n")
    return path


def votes_per_minute(cast, voters: int, votes: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(voters) as pool:
        list(pool.map(lambda _: cast(), range(votes)))
    return votes / (time.perf_counter() - start) * 60


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--probes", type=int, default=12)
    parser.add_argument("--tokens", type=int, default=64, help="judge_max_new_tokens for the real models")
    parser.add_argument("--voters", type=int, default=4)
    parser.add_argument("--votes", type=int, default=40)
    args = parser.parse_args()
    rows = samples(args.probes)

    with JudgeServer() as fixed:
        fixed_s = per_probe(judge.JudgeConfig(judge_model="fixed", judge_base_url=fixed.url), rows)
    port = free_port()
    process = serve(port)
    try:
        served_s = per_probe(judge.JudgeConfig(judge_model=tiny.PATH, judge_base_url=f"http://127.0.0.1:{port}/v1",
                                               judge_max_new_tokens=args.tokens), rows)
    finally:
        process.terminate()
        process.wait()
    local_s = per_probe(judge.JudgeConfig(judge_model="marco-tiny", judge_max_new_tokens=args.tokens), rows)
    print(f"judge, seconds per probe (2 verdicts), {args.probes} probes, {args.tokens} new tokens:")
    print(f"  fixed-verdict endpoint   {fixed_s:.4f} s")
    print(f"  transformers serve       {served_s:.4f} s  ({served_s / fixed_s:.0f}x the fixed judge)")
    print(f"  local transformers       {local_s:.4f} s  ({local_s / served_s:.2f}x transformers serve)")

    import gradio as gr
    from gradio_client import Client

    with tempfile.TemporaryDirectory() as tmp:
        run = review_run(os.path.join(tmp, "run"))
        direct = votes_per_minute(lambda: review.vote(run, review.pair(run)["pair_id"], "tie"), args.voters, args.votes)
        with gr.Blocks() as ui:
            review.review_tab(run)
        _, url, _ = ui.queue(default_concurrency_limit=None).launch(server_name="127.0.0.1", server_port=free_port(),
                                                                    prevent_thread_lock=True, quiet=True)
        clients = [Client(url, verbose=False) for _ in range(args.voters)]
        pair_ids = [review.pair(run)["pair_id"] for _ in range(args.votes)]
        try:
            served = votes_per_minute(lambda: clients[len(pair_ids) % args.voters].predict(
                pair_ids.pop(), "tie", "", api_name="/review_vote"), args.voters, args.votes)
        finally:
            ui.close()
        assert len(review.read_votes(run)) == 2 * args.votes  # every vote landed
    print(f"blind review, {args.voters} voters, {args.votes} votes each way:")
    print(f"  review.vote() direct     {direct:.0f} votes/min")
    print(f"  /review_vote (gradio)    {served:.0f} votes/min  ({served / direct:.2f}x direct)")


if __name__ == "__main__":
    main()
