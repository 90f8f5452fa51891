"""Cost of the app's side-by-side reply: one streamed mixed-adapter batch (what app.py does) against two generations
in a row (base, then adapter), and one model's memory against a base plus a merged fine-tuned copy, all in this run.

    python benchmarks/bench_app.py                    # marco-tiny + a rank-16 LoRA, 8 probe questions, 128 new tokens
    python benchmarks/bench_app.py --tokens 64 --adapter outputs/marco-tiny
    python benchmarks/bench_app.py --concurrent 16 --tokens 64   # 16 learners at once against 16 in a row (batching)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
from bench_compare import adapter_model, best_of  # noqa: E402

from marco import tiny  # noqa: E402
from marco.evaluate import compare  # noqa: E402
from marco.models import base_model_of  # noqa: E402
from marco.serve import demo  # noqa: E402


def random_adapter(folder: str) -> str:
    """bench_compare.py's seeded rank-16 LoRA on marco-tiny, saved like a train.py run."""
    adapter_model()[0].save_pretrained(folder)
    with open(os.path.join(folder, "marco_report.json"), "w") as handle:
        json.dump({"base_model": tiny.NAME}, handle)
    return folder


def side_by_side(chat, question: str, tokens: int) -> tuple:
    """The app's path: one streamed mixed batch. (seconds until both columns show text, total seconds, replies)."""
    start, first = time.perf_counter(), None
    for texts in chat.stream(question, ([], []), max_new_tokens=tokens):
        if first is None and all(texts):
            first = time.perf_counter() - start
    return first, time.perf_counter() - start, texts


def one_after_the_other(chat, question: str, tokens: int) -> tuple:
    """The alternative: the base's reply, then the adapter's, one row each. (seconds until the second column
    could start showing text, total seconds, replies)."""
    model, tokenizer = chat.model, chat.tokenizer
    text = compare.prompts(tokenizer, [{"messages": [{"role": "user", "content": question}]}])
    start = time.perf_counter()
    with model.disable_adapter():
        base = compare.generate(model, tokenizer, text, tokens, 1)[0]
    second_starts = time.perf_counter() - start
    tuned = compare.generate(model, tokenizer, text, tokens, 1)[0]
    return second_starts, time.perf_counter() - start, (base, tuned)


def latency(chat, questions: list, tokens: int, repeats: int) -> dict:
    """Best of `repeats`, per question on average, both ways interleaved so that load on the machine hits both alike."""
    best = {"mixed": (float("inf"),) * 2, "sequential": (float("inf"),) * 2}
    for _ in range(repeats):
        replies = {}
        for name, fn in (("mixed", side_by_side), ("sequential", one_after_the_other)):
            runs = [fn(chat, q, tokens) for q in questions]
            mean = (sum(r[0] for r in runs) / len(runs), sum(r[1] for r in runs) / len(runs))
            best[name] = tuple(map(min, best[name], mean))
            replies[name] = [r[2] for r in runs]
        assert replies["mixed"] == replies["sequential"]  # greedy: the same answers either way
    words = [len(text.split()) for pair in replies["mixed"] for text in pair]
    return {"questions": len(questions), "max_new_tokens": tokens, "mean_reply_words": round(sum(words) / len(words), 1),
            "mixed_s": round(best["mixed"][1], 3), "sequential_s": round(best["sequential"][1], 3),
            "ratio": round(best["mixed"][1] / best["sequential"][1], 2),
            "both_columns_showing_mixed_s": round(best["mixed"][0], 3),
            "both_columns_showing_sequential_s": round(best["sequential"][0], 3)}


def step_costs(chat, tokens: int, repeats: int) -> dict:
    """Why the ratio is what it is: `tokens` forced decoding steps (no early EOS) of one row with the adapter off,
    one with it on, and the mixed batch of both, without streaming."""
    text = compare.prompts(chat.tokenizer, [{"messages": [{"role": "user", "content": "Ciao!"}]}])

    def steps(rows, adapter_names=None):
        batch = chat.tokenizer(text * rows, return_tensors="pt")
        extra = {"adapter_names": adapter_names} if adapter_names else {}
        with torch.no_grad(), compare.no_leaked_adapter_hooks(chat.model):
            chat.model.generate(**batch, **extra, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False,
                                pad_token_id=chat.tokenizer.pad_token_id)

    def base_row():
        with chat.model.disable_adapter():
            steps(1)

    costs = {"base_row_s": best_of(repeats, base_row), "adapter_row_s": best_of(repeats, lambda: steps(1)),
             "mixed_two_rows_s": best_of(repeats, lambda: steps(2, [compare.BASE, chat.adapter_name]))}
    return {"forced_steps": tokens, **{k: round(v, 3) for k, v in costs.items()},
            "ratio": round(costs["mixed_two_rows_s"] / (costs["base_row_s"] + costs["adapter_row_s"]), 2)}


def concurrent(chat, clients: int, tokens: int) -> dict:
    """The app as learners reach it: a real Gradio server, `clients` /compare requests (greedy) sent at once by one
    gradio_client each, against the same requests one after the other. Both sets of answers must be equal."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    questions = [f"Come si dice 'the number {i}' in italiano?" for i in range(clients)]
    ui = demo.build(chat)
    _, url, _ = ui.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        def ask(question):
            return tuple(Client(url, verbose=False).predict(question, None, None, "", tokens, 0.0, api_name="/compare"))

        ask(questions[0])  # warm-up
        start = time.perf_counter()
        in_a_row = [ask(q) for q in questions]
        serial = time.perf_counter() - start
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            together = list(pool.map(ask, questions))
        at_once = time.perf_counter() - start
    finally:
        ui.close()
    assert together == in_a_row, "batched answers differ from the same requests one at a time"
    return {"clients": clients, "max_new_tokens": tokens, "in_a_row_s": round(serial, 2), "at_once_s": round(at_once, 2),
            "ratio": round(at_once / serial, 2)}


def rss_mb() -> float:
    """Resident memory now (Linux). The peak (ru_maxrss) is no use here: importing torch peaks above a small model."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def memory_child(mode: str, adapter: str) -> None:
    """In a fresh process (--memory MODE): load as the app does ("one": base + adapter) or a base and a merged
    fine-tuned copy ("two"), answer once, and print how much resident memory that took."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    before = rss_mb()
    if mode == "one":
        chat = demo.load(adapter)
        side_by_side(chat, "Ciao!", 16)
        models = [chat.model]
    else:
        base = tiny.resolve(base_model_of(adapter))
        models = [AutoModelForCausalLM.from_pretrained(base),
                  PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), adapter).merge_and_unload()]
        with torch.no_grad():
            for model in models:
                model.generate(torch.tensor([[1, 5, 9]]), max_new_tokens=16)
    print(json.dumps({"rss_growth_mb": round(rss_mb() - before, 1),
                      "parameter_mb": round(sum(p.numel() * p.element_size() for m in models for p in m.parameters()) / 2**20, 1)}))


def memory(adapter: str) -> dict:
    def child(mode):
        out = subprocess.run([sys.executable, __file__, "--memory", mode, "--adapter", adapter], capture_output=True,
                             text=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}).stdout
        return json.loads(out.strip().splitlines()[-1])

    one, two = child("one"), child("two")
    return {"one_model_parameter_mb": one["parameter_mb"], "base_plus_merged_parameter_mb": two["parameter_mb"],
            "one_model_rss_growth_mb": one["rss_growth_mb"], "base_plus_merged_rss_growth_mb": two["rss_growth_mb"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapter", help="a train.py run (default: a seeded random rank-16 LoRA on marco-tiny)")
    parser.add_argument("--questions", type=int, default=8, help="probe questions, one per category")
    parser.add_argument("--tokens", type=int, default=128, help="max new tokens (the app's default)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads: with 2 on a busy 2-core machine, "
                        "timings swung 5-9x with other processes' load (OpenMP threads waiting on each other)")
    parser.add_argument("--concurrent", type=int, help="only this: N concurrent /compare requests against N in a row")
    parser.add_argument("--memory", choices=["one", "two"], help=argparse.SUPPRESS)  # the child processes
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory:
        return memory_child(args.memory, args.adapter)
    with tempfile.TemporaryDirectory() as folder:
        adapter = args.adapter or random_adapter(folder)
        chat = demo.load(adapter)
        if args.concurrent:
            result = concurrent(chat, args.concurrent, args.tokens)
            print(json.dumps(result, indent=1))
            return print(f"{args.concurrent} concurrent /compare requests took {result['ratio']}x the time of the same "
                         f"{args.concurrent} in a row (target <= 0.5x)")
        cost = latency(chat, demo.examples(args.questions), args.tokens, args.repeats)
        print(json.dumps(cost, indent=1))
        print(json.dumps(step_costs(chat, args.tokens, args.repeats), indent=1))
        print(f"side by side: one mixed batch takes {cost['ratio']}x the time of two generations in a row (target <= 0.6x)")
        mem = memory(adapter)
        print(json.dumps(mem, indent=1))
        print(f"memory: one model {mem['one_model_parameter_mb']} MB of weights ({mem['one_model_rss_growth_mb']} MB resident) "
              f"vs {mem['base_plus_merged_parameter_mb']} MB ({mem['base_plus_merged_rss_growth_mb']} MB) for base + merged copy")


if __name__ == "__main__":
    main()
