"""Speed of `marco data clean`, its near-duplicate stage against datasketch and rensa, and its scaling.

    python benchmarks/bench_clean.py                 # 100k conversations: throughput + near-dup baselines
    python benchmarks/bench_clean.py --scaling       # 10k, 100k, 1M: time and peak memory (one process each)
    python benchmarks/bench_clean.py --vs-parse      # three shapes of 100k: clean / orjson parse, costliest stage
    python benchmarks/bench_clean.py --vs-parse --n 1000000 --dataset synthetic --no-stages --datatrove  # 1M, both engines

--vs-parse times `python -m marco data clean` against an orjson parse of the same file, both whole processes, on
three shapes: `synthetic` (below), `bundled` (data/marco_it.jsonl copied to n records, 15% of its words replaced)
and `mixed` (long English code answers, short Italian replies, multi-turn conversations; ~3% cut), then the CPU
seconds of each stage of the clean in a third process (`--no-stages` skips it).
Synthetic chat data with a realistic spread of lengths, Zipf-distributed words, and planted problems:
exact duplicates (re-cased, re-punctuated copies), near duplicates (1-3 word edits, verified Jaccard >= 0.8)
and template frames. Every ratio is against a baseline measured in the same run.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from marco.data import CleaningConfig, run, write_outputs  # noqa: E402
from marco.data.dedup import jaccard, lsh_bands, near_duplicates, shingle_sets  # noqa: E402
from marco.data.text import normalize_many  # noqa: E402

SHARE = {"exact": 0.05, "near": 0.05, "template": 0.05}


def make_dataset(n: int, seed: int = 0) -> tuple[list, list]:
    """n conversation records and the planted near-duplicate pairs (original index, copy index)."""
    rng = np.random.default_rng(seed)
    syllables = ["ka", "to", "ri", "ne", "so", "la", "mi", "pu", "de", "ve", "go", "zi", "be", "fa", "lu", "che"]
    vocab = np.array(["".join(rng.choice(syllables, size=rng.integers(1, 4))) + str(i % 7) for i in range(20_000)])
    weights = 1.0 / np.arange(1, vocab.size + 1)
    cumulative = np.cumsum(weights / weights.sum())

    def words(k):
        return " ".join(vocab[np.searchsorted(cumulative, rng.random(k))])

    records, planted, base = [], [], int(n * (1 - sum(SHARE.values())))
    for i in range(base):
        turns = 1 + (rng.random() < 0.33) * int(rng.integers(1, 3))
        messages = []
        for _ in range(turns):
            messages.append({"role": "user", "content": words(int(rng.integers(6, 30))) + "?"})
            messages.append({"role": "assistant", "content": words(int(np.clip(rng.lognormal(4.0, 0.5), 8, 300)))})
        records.append({"id": i, "topic": f"t{i % 50}", "messages": messages})
    while len(records) < n:
        kind = ("exact", "near", "template")[len(records) % 3]
        source = records[int(rng.integers(0, base))]
        copy = json.loads(json.dumps(source))
        copy["id"] = len(records)
        if kind == "exact":
            copy["messages"][-1]["content"] = copy["messages"][-1]["content"].upper() + "!"
        elif kind == "near":
            for message in copy["messages"]:
                tokens = message["content"].split()
                if len(tokens) >= 30:
                    for _ in range(int(rng.integers(1, 4))):
                        tokens[int(rng.integers(0, len(tokens)))] = "edit"
                message["content"] = " ".join(tokens)
            planted.append((source["id"], copy["id"]))
        else:
            copy["messages"][-1]["content"] = (f"Great point! The phrase '{words(3)}' is used in {words(2)} "
                                                f"contexts. {words(20)} Practice makes perfect.")
        records.append(copy)
    return records, planted


def make_bundled_dataset(n: int, seed: int = 0, edit_share: float = 0.2) -> list:
    """n conversations made from the bundled set (data/marco_it.jsonl): copies of its records in which each plain word
    (letters only) is replaced, with probability `edit_share`, by a plain word of the set's own vocabulary (15% of all
    words at 0.2), so the copies are real tutoring text (their punctuation, markup, line breaks and endings as they
    were) but not near duplicates of each other."""
    import orjson

    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "marco_it.jsonl"), "rb") as f:
        bundled = [orjson.loads(line) for line in f]
    vocabulary = sorted({w for r in bundled for m in r["messages"] for w in m["content"].split(" ") if w.isalpha()})
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        source = bundled[i % len(bundled)]
        messages = []
        for message in source["messages"]:
            words = message["content"].split(" ")
            plain = np.flatnonzero([w.isalpha() for w in words])
            edits = plain[rng.random(plain.size) < edit_share]
            for k, w in zip(edits.tolist(), rng.integers(0, len(vocabulary), edits.size).tolist()):
                words[k] = vocabulary[w]
            messages.append({**message, "content": " ".join(words)})
        records.append({**source, "id": f"{source['id']}-{i}", "messages": messages})
    return records


EN_WORDS = ("the a of to and in is it you that for with on as this be are or by can when each value list function "
            "return call loop index key item string number file line error type class object method variable "
            "data result first next last new old small large simple fast slow safe empty full default "
            "version module package test case input output array table query server client request response "
            "memory time order name path option argument parameter field record batch stream buffer cache "
            "use make keep read write open close check change run build start stop sort filter map reduce "
            "join split parse format print raise handle catch pass skip add remove update create delete "
            "because so but if then instead while after before only also often usually here there which "
            "once twice every other same different whole part inside outside between without").split()
IT_WORDS = ("il la lo i gli le un una di a da in con su per tra e o ma che non è sono ho hai ha si mi ti ci "
            "bene molto poco sempre mai ancora già anche così perché quando dove come cosa questo quello "
            "parola frase verbo nome casa libro scuola amico amica giorno sera tempo lavoro città strada "
            "parlare dire fare andare venire vedere sapere volere potere dovere capire scrivere leggere "
            "giusto sbagliato facile difficile nuovo vecchio bello grande piccolo primo ultimo altro "
            "esempio regola forma plurale singolare passato presente futuro congiuntivo articolo accento "
            "grazie prego certo esatto brava bravo proprio davvero quasi solo tutto niente").split()
CODE_WORDS = EN_WORDS[20:]
VERBS = "reverse sort merge split parse read write filter count group flatten cache retry validate".split()
NOUNS = "list dict string file array table stream queue tree graph date config request".split()
LANGS = ("Python", "JavaScript", "Go", "Rust", "SQL", "Bash")


def make_mixed_dataset(n: int, seed: int = 0) -> list:
    """n conversations of three kinds, seeded: a third long English code answers (markdown prose around fenced code,
    300-1500 words), a third short Italian replies (5-40 words), a third multi-turn conversations (4-10 messages)
    mixing both. Most replies end properly; ~3% are cut mid-sentence (inside a code block for some)."""
    rng = np.random.default_rng(seed)
    draws = {}  # words -> a Zipf-distributed stream of them, drawn a million at a time

    def pick(words, k):
        stream = draws.get(id(words))
        if stream is None or len(stream) < k:
            weights = 1.0 / np.arange(1, len(words) + 1)
            ranks = np.searchsorted(np.cumsum(weights / weights.sum()), rng.random(1_000_000))
            stream = draws[id(words)] = np.array(words)[np.minimum(ranks, len(words) - 1)].tolist()
        out = stream[-k:]
        del stream[-k:]
        return out

    def sentence(words, k, end="."):
        w = pick(words, k)
        return w[0].capitalize() + " " + " ".join(w[1:]) + end

    def prose(words, k, ask=()):
        out, left = [], k
        while left > 0:
            size = min(left, int(rng.integers(6, 22)))
            out.append(sentence(words, size))
            left -= size
        if ask:  # the asked words, somewhere in the first sentence
            words = out[0].split(" ")
            words.insert(int(rng.integers(1, len(words))), f"{ask[0]} the {ask[1]}")
            out[0] = " ".join(words)
        return " ".join(out)

    def code(verb, noun):
        """A fenced block of varied lines: names made of two words, so no line recurs across replies."""
        def name():
            return "_".join(pick(CODE_WORDS, 2))

        lines = [f"def {verb}_{noun}({name()}, {name()}={int(rng.integers(1, 100))}):"]
        for _ in range(int(rng.integers(3, 25))):
            a, b, c = name(), name(), name()
            v = "xyzkvij"[int(rng.integers(0, 7))]
            lines.append([f"    {a} = [{v} for {v} in {b} if {v}.{c}]", f"    if {a} > {b}:", f"        return {a}({b}, {c})",
                          f"    {a}.{b}({c})  # {' '.join(pick(EN_WORDS, int(rng.integers(2, 8))))}",
                          f"    for {v} in {a}:", f"    {a} = {b}.get('{c}', {int(rng.integers(0, 1000))})",
                          f"    {a} += len({b}) * {c}", f"    with open({a}) as {b}:"][int(rng.integers(0, 8))])
        lines.append(f"    return {name()}")
        return "```python\n" + "\n".join(lines) + "\n```"

    def code_answer(verb, noun):
        total, parts = int(rng.integers(300, 1501)), []
        parts.append(prose(EN_WORDS, int(rng.integers(30, 80)), (verb, noun)))
        while total > 0:
            kind = rng.random()
            if kind < 0.3:
                parts.append(code(verb, noun))
            elif kind < 0.5:
                parts.append("\n".join(f"- {sentence(EN_WORDS, int(rng.integers(4, 14)))}" for _ in range(int(rng.integers(2, 6)))))
            elif kind < 0.6:
                parts.append(f"## {sentence(EN_WORDS, int(rng.integers(2, 5)), '')}")
            else:
                parts.append(prose(EN_WORDS, int(rng.integers(25, 120))))
            total -= len(parts[-1].split())
        parts.append(prose(EN_WORDS, int(rng.integers(8, 30))))
        return "\n\n".join(parts)

    def italian_reply(term):
        sentences = prose(IT_WORDS, int(rng.integers(2, 38))).split(". ")
        sentences.insert(int(rng.integers(0, len(sentences))), f"{term} si dice {pick(IT_WORDS, 1)[0]}")
        return ". ".join(sentences)

    def english_prompt(verb, noun):
        return f"How do I {verb} a {noun} in {rng.choice(LANGS)}? {sentence(EN_WORDS, int(rng.integers(3, 15)), '?')}"

    def italian_exchange():
        term = " ".join(pick(CODE_WORDS, int(rng.integers(1, 3))))
        return [("user", f"Come si dice '{term}'? {sentence(IT_WORDS, int(rng.integers(3, 12)), '?')}"),
                ("assistant", italian_reply(term))]

    def cut(text):
        words = text.split(" ")
        return " ".join(words[: int(rng.integers(len(words) // 3, len(words)))]).rstrip(".!?")

    records = []
    for i in range(n):
        kind = i % 3
        verb, noun = rng.choice(VERBS), rng.choice(NOUNS)
        if kind == 0:
            messages = [("user", english_prompt(verb, noun)), ("assistant", code_answer(verb, noun))]
        elif kind == 1:
            messages = italian_exchange()
        else:
            messages = []
            for _ in range(int(rng.integers(2, 6))):
                if rng.random() < 0.5:
                    messages += italian_exchange()
                else:
                    messages += [("user", english_prompt(verb, noun)),
                                 ("assistant", prose(EN_WORDS, int(rng.integers(20, 150)), (verb, noun)))]
        if rng.random() < 0.03:
            messages[-1] = ("assistant", cut(messages[-1][1]))
        records.append({"id": f"mixed-{i}", "messages": [{"role": r, "content": c} for r, c in messages]})
    return records


def write_jsonl(records: list, path: str) -> None:
    import orjson

    with open(path, "wb") as handle:
        handle.write(b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records))


def conversation_texts(records: list) -> list:
    return normalize_many(["\n".join(f"{m['role']}: {m['content']}" for m in r["messages"]) for r in records])


def verified(pairs: set, texts: list, threshold: float) -> set:
    """The same verification step marco uses, applied to a baseline's candidate pairs."""
    keep = set()
    for a, b in pairs:
        sa, sb = (np.unique(shingle_sets([texts[i]], 3)[0]) for i in (a, b))
        if jaccard(sa, sb) >= threshold:
            keep.add((min(a, b), max(a, b)))
    return keep


def shingle_strings(text: str) -> list:
    w = text.split()
    return [" ".join(w[i: i + 3]) for i in range(max(1, len(w) - 2))]


def datasketch_pairs(texts: list, threshold: float, num_perm: int) -> set:
    from datasketch import MinHash, MinHashLSH

    bands, rows = lsh_bands(threshold, num_perm)
    lsh, pairs = MinHashLSH(num_perm=num_perm, params=(bands, rows)), set()
    for i, text in enumerate(texts):
        sketch = MinHash(num_perm=num_perm, seed=1)
        sketch.update_batch([s.encode() for s in shingle_strings(text)])
        pairs.update((j, i) for j in lsh.query(sketch))
        lsh.insert(i, sketch)
    return pairs


def rensa_pairs(texts: list, threshold: float, num_perm: int) -> set:
    from rensa import RMinHash, RMinHashLSH

    bands, _ = lsh_bands(threshold, num_perm)
    bands = min(b for b in range(bands, num_perm + 1) if num_perm % b == 0)  # rensa needs bands | num_perm
    lsh, pairs = RMinHashLSH(threshold=threshold, num_perm=num_perm, num_bands=bands), set()
    for i, text in enumerate(texts):
        sketch = RMinHash(num_perm=num_perm, seed=1)
        sketch.update(shingle_strings(text))
        pairs.update((j, i) for j in lsh.query(sketch))
        lsh.insert(i, sketch)
    return pairs


def recall(found: set, planted: list, texts: list, threshold: float) -> float:
    truth = [(a, b) for a, b in planted if jaccard(*(np.unique(shingle_sets([texts[i]], 3)[0]) for i in (a, b))) >= threshold]
    return sum(pair in found for pair in truth) / len(truth), len(truth)


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def throughput(n: int, baselines: bool) -> dict:
    records, planted = make_dataset(n)
    results = {"conversations": n}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.jsonl")
        write_jsonl(records, path)
        result, seconds = timed(lambda: write_outputs(run(path), os.path.join(tmp, "out")))
        results["clean_seconds"] = round(seconds, 2)
        results["clean_conversations_per_s"] = round(n / seconds)
    if not baselines:
        return results
    cfg = CleaningConfig()
    texts = conversation_texts(records)
    ours, t_ours = timed(near_duplicates, texts, cfg.near_dup_threshold, cfg.shingle_words, cfg.num_perm)
    ours = {(min(d.index, d.kept), max(d.index, d.kept)) for d in ours}
    results["near_dup_marco_seconds"] = round(t_ours, 2)
    results["near_dup_marco_recall"], results["planted_pairs_at_threshold"] = recall(ours, planted, texts, 0.8)
    for name, fn in (("datasketch", datasketch_pairs), ("rensa", rensa_pairs)):
        (found, seconds) = timed(lambda: verified(fn(texts, 0.8, 128), texts, 0.8))
        results[f"near_dup_{name}_seconds"] = round(seconds, 2)
        results[f"near_dup_{name}_recall"] = recall(found, planted, texts, 0.8)[0]
        results[f"speedup_vs_{name}"] = round(seconds / t_ours, 1)
    return results


def measure(path: str) -> dict:
    """Clean one file in this (fresh) process: seconds and peak resident memory (its forked helpers' included)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = run(path)
        write_outputs(result, tmp)
        seconds = time.perf_counter() - start
    return {"conversations": result.report["counts"]["input"], "seconds": round(seconds, 2),
            "peak_rss_gib": round(max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF,
                                                                                     resource.RUSAGE_CHILDREN)) / 2**20, 2)}


def scaling(sizes=(10_000, 100_000, 1_000_000)) -> list:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = os.path.join(tmp, f"{n}.jsonl")
            subprocess.run([sys.executable, __file__, "--make", str(n), path], check=True)
            out = subprocess.run([sys.executable, __file__, "--measure", path], capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
            os.remove(path)
    return rows


def _tree_pss(pid: int) -> int:
    """Proportional set size (bytes) of a process and its descendants now: pages shared after a fork counted once."""
    total, pending = 0, [pid]
    while pending:
        p = pending.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:")) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    pending.extend(int(c) for c in f.read().split())
        except (OSError, StopIteration):  # it ended meanwhile
            pass
    return total


def _process(command: list, cwd: str) -> dict:
    """Seconds, largest resident set (os.wait4: the process or one of its forked helpers) and peak summed PSS (the
    process and its helpers together, sampled every 50 ms) of one command run as a whole process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak, sampling, done = [0], os.path.exists("/proc/self/smaps_rollup"), threading.Event()

    def sample():
        while not done.wait(0.05):  # not process.poll(): it would reap the process before wait4 reads its usage
            peak[0] = max(peak[0], _tree_pss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    if sampling:
        sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"{command[:4]} failed: {process.stderr.read().decode()[-2000:]}")
    return {"seconds": round(seconds, 2), "max_rss_gib": round(usage.ru_maxrss / 2**20, 2),
            "peak_pss_gib": round(peak[0] / 2**30, 2) if sampling else None}


def stage_seconds(path: str) -> dict:
    """CPU seconds per stage of one clean in this (fresh) process (CPU, not wall: it holds on a loaded machine): the
    main process's steps ("read" includes the filters run in it; "filters": acting on the findings, after waiting for
    them), each filter's observe + finish wherever it runs, and the forked filters process's own reading."""
    import functools
    import importlib

    from marco.data import filters, templates, variety
    from marco.data.corpus import Corpus

    driver = importlib.import_module("marco.data.clean")  # the module (marco.data.clean is also its function's name)

    seconds, forked = {}, path + ".forked.json"

    def timer(owner, name, label):
        fn = getattr(owner, name)

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[label] = seconds.get(label, 0.0) + time.process_time() - start
        setattr(owner, name, wrapped)

    for owner, name, label in ((Corpus, "read", "read"), (driver, "_reject_duplicates", "duplicates"),
                               (templates, "scan", "templates"), (driver, "_judge_templates", "templates"),
                               (filters.Filtering, "finish", "filters"), (variety.Grouping, "result", "variety"),
                               (driver, "_report", "report")):
        timer(owner, name, label)
    for reason, module in filters.FILTERS.items():
        for name in ("observe", "finish"):
            timer(type(filters.detector(module)), name, f"filter {reason}")
    stream = filters._stream

    def streamed(*args):
        start = time.process_time()
        found = stream(*args)
        own = {k: v for k, v in seconds.items() if k.startswith("filter ")}
        with open(forked, "w") as f:
            json.dump({**own, "forked reading": time.process_time() - start - sum(own.values())}, f)
        return found
    filters._stream = streamed
    with tempfile.TemporaryDirectory() as tmp:
        start = time.process_time()
        result = run(path)
        written = time.process_time()
        write_outputs(result, tmp)
        seconds["write"] = time.process_time() - written
        seconds["main process"] = time.process_time() - start
    if os.path.exists(forked):
        with open(forked) as f:
            seconds.update(json.load(f))
        os.remove(forked)
    return {k: round(v, 2) for k, v in seconds.items()}


SHAPES = {"synthetic": lambda n: make_dataset(n)[0], "bundled": lambda n: make_bundled_dataset(n),
          "mixed": make_mixed_dataset}


def vs_parse(n: int, dataset: str = "synthetic", stages: bool = True, datatrove: bool = False) -> dict:
    """`python -m marco data clean` of n conversations against a process that only parses the file with orjson,
    both timed as whole processes (start-up included), and where the clean's time goes (another process); with
    `datatrove`, also the datatrove engine on 2 local tasks, against the default engine."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.jsonl")
        # made by another process: a process forked from this one would start with the data set's pages counted in
        # its peak memory (a million records here: 4.6 GiB that are not the measured process's own)
        subprocess.run([sys.executable, __file__, "--make", str(n), path, "--dataset", dataset], check=True)
        commands = {"orjson_parse": [sys.executable, "-c", "import orjson,sys\n"
                                     "[orjson.loads(line) for line in open(sys.argv[1], 'rb')]", path],
                    "marco_clean": [sys.executable, "-m", "marco", "data", "clean", path, "--out", os.path.join(tmp, "out")]}
        if datatrove:
            commands["datatrove_clean"] = [*commands["marco_clean"][:-1], os.path.join(tmp, "out_dt"), "--engine",
                                           "datatrove", "--tasks", "2"]
        measured = {name: _process(command, repo) for name, command in commands.items()}
        profile = json.loads(subprocess.run([sys.executable, __file__, "--stages", path], capture_output=True, text=True,
                                            check=True).stdout.splitlines()[-1]) if stages else {}
    parse, clean = measured["orjson_parse"], measured["marco_clean"]
    parts = {k: v for k, v in profile.items() if k != "main process"}
    return {"dataset": dataset, "conversations": n, "orjson_parse": parse["seconds"], "marco_clean": clean["seconds"],
            "ratio": round(clean["seconds"] / parse["seconds"], 1), "marco_clean_max_rss_gib": clean["max_rss_gib"],
            "marco_clean_peak_pss_gib": clean["peak_pss_gib"], "orjson_parse_max_rss_gib": parse["max_rss_gib"],
            "costliest": max(parts, key=parts.get) if parts else None, "stages": profile,
            **({"datatrove_clean": measured["datatrove_clean"]["seconds"],
                "datatrove_vs_default": round(measured["datatrove_clean"]["seconds"] / clean["seconds"], 2),
                "datatrove_peak_pss_gib": measured["datatrove_clean"]["peak_pss_gib"],
                "datatrove_max_rss_gib": measured["datatrove_clean"]["max_rss_gib"]} if datatrove else {}),
            "load_average": round(os.getloadavg()[0], 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--scaling", action="store_true", help="10k, 100k, 1M in separate processes")
    parser.add_argument("--make", nargs=2, metavar=("N", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--measure", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--vs-parse", action="store_true", help="clean against an orjson parse, whole processes, on "
                        "each shape (or --dataset's), with the costliest stage of each")
    parser.add_argument("--dataset", choices=tuple(SHAPES), help="one shape for --vs-parse (and --make): synthetic Zipf "
                        "text with planted duplicates, the bundled set with word edits, or mixed code / Italian / "
                        "multi-turn conversations")
    parser.add_argument("--no-stages", action="store_true", help="for --vs-parse: skip the per-stage timing run")
    parser.add_argument("--stages", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--datatrove", action="store_true", help="for --vs-parse: also time --engine datatrove --tasks 2")
    args = parser.parse_args()
    if args.vs_parse:
        rows = [vs_parse(args.n, shape, not args.no_stages, args.datatrove)
                for shape in ([args.dataset] if args.dataset else SHAPES)]
        print("| shape | parse s | clean s | ratio | costliest stage | clean peak (largest process / all, PSS) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for r in rows:
            print(json.dumps(r), file=sys.stderr)
            costliest = f"{r['costliest']} {r['stages'][r['costliest']]} s" if r["costliest"] else "-"
            print(f"| {r['conversations']} {r['dataset']} | {r['orjson_parse']} | {r['marco_clean']} | {r['ratio']}x | "
                  f"{costliest} | {r['marco_clean_max_rss_gib']} / {r['marco_clean_peak_pss_gib']} GiB |")
            if "datatrove_clean" in r:
                print(f"datatrove engine, 2 tasks: {r['datatrove_clean']} s ({r['datatrove_vs_default']}x the default "
                      f"engine), peak {r['datatrove_max_rss_gib']} / {r['datatrove_peak_pss_gib']} GiB")
        print(f"targets: ratio <= 15x on each shape; at 1M, peak < 2 GiB; load average {rows[-1]['load_average']}")
        return
    if args.stages:
        print(json.dumps(stage_seconds(args.stages)))
        return
    if args.make:
        n = int(args.make[0])
        write_jsonl(SHAPES[args.dataset or "synthetic"](n), args.make[1])
        return
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    if args.scaling:
        rows = scaling()
        print(f"1M / 100k time ratio: {rows[2]['seconds'] / rows[1]['seconds']:.1f}x (target <= 12x); "
              f"peak memory at 1M: {rows[2]['peak_rss_gib']} GiB (target < 4)")
        return
    results = throughput(args.n, not args.no_baselines)
    print(json.dumps(results, indent=1))
    print(f"clean: {results['clean_conversations_per_s']} conversations/s (target >= 20000)")
    if "speedup_vs_datasketch" in results:
        print(f"near-dup stage: {results['speedup_vs_datasketch']}x faster than datasketch, "
              f"{results['speedup_vs_rensa']}x than rensa; recall {results['near_dup_marco_recall']:.3f} vs "
              f"{results['near_dup_datasketch_recall']:.3f} (datasketch), {results['near_dup_rensa_recall']:.3f} (rensa)")


if __name__ == "__main__":
    main()
