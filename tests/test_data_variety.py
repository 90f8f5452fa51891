"""The variety audit (marco/data/variety.py): what kinds of request a set holds, on real cleans of real files."""

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, chat
from marco.data import CleaningConfig, run
from marco.data.text import normalize_many
from marco.data.variety import group

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed-project"
REPLY_WORDS = ("the answer depends on what you already know so start with the basics then practise every day and "
               "check the result against a reliable source before moving on to the harder cases later").split()

LANGUAGES = ["Python", "JavaScript", "Rust", "Go", "Java", "C++", "TypeScript", "Ruby"]
STRUCTURES = ["list", "dictionary", "string", "array", "file", "JSON object", "linked list", "hash map"]
OPERATIONS = ["sort", "reverse", "copy", "merge", "filter", "serialize", "iterate over", "split"]
ERRORS = ["a KeyError", "a segmentation fault", "an IndexError", "a null pointer exception", "a stack overflow"]
DISHES = ["lasagne", "risotto", "tiramisu", "banana bread", "chicken curry", "minestrone", "pancakes", "focaccia"]
INGREDIENTS = ["mushrooms", "spinach", "ricotta", "leftover rice", "zucchini", "chickpeas", "salmon", "eggs"]
CITIES = ["Rome", "Florence", "Venice", "Naples", "Milan", "Bologna", "Palermo", "Turin", "Lisbon", "Kyoto"]
TENSES = ["congiuntivo", "passato remoto", "imperfetto", "condizionale", "trapassato prossimo", "gerundio"]
WORDS = ("apple tree dog cat house window table chair book car train station bread cheese water wine river mountain "
         "sea beach sun moon star flower garden kitchen bedroom door key street bridge church market shop money "
         "friend mother father brother sister teacher doctor nurse hospital school city village road bicycle shoe "
         "shirt hat coat umbrella rain snow wind cloud morning evening night tomorrow yesterday today lunch dinner "
         "breakfast coffee tea milk sugar salt pepper egg fish meat chicken rice pasta soup cake glass plate fork "
         "knife spoon cup bottle bag box pen pencil paper letter phone computer music song film picture wall floor").split()
LOOK_ALIKES = ["How do you say no to a pushy salesman without being rude?", "How do you install Python on Windows?",
               "How do you cook risotto without stirring all the time?", "How do you fix a flat bicycle tyre?",
               "What should I visit in Rome in three days?", "How do you write a cover letter for a job in Milan?",
               "Why does my JavaScript code throw a TypeError?", "How do you calculate compound interest?",
               "Can you recommend a good Italian film from the sixties?", "How do you make fresh pasta by hand?"]


def varied_requests(each: int = 60, seed: int = 0) -> list[tuple[str, str]]:
    """(kind, request): code, recipes, travel and grammar questions, two shapes each, their slots drawn at random."""
    r = random.Random(seed)
    shapes = {
        "code": [lambda: f"How do I {r.choice(OPERATIONS)} a {r.choice(STRUCTURES)} in {r.choice(LANGUAGES)}?",
                 lambda: f"Why does my {r.choice(LANGUAGES)} program throw {r.choice(ERRORS)} when I {r.choice(OPERATIONS)} it?"],
        "recipe": [lambda: f"Can you give me a recipe for {r.choice(DISHES)} with {r.choice(INGREDIENTS)}?",
                   lambda: f"How long should I bake the {r.choice(DISHES)}, and at what oven temperature?"],
        "travel": [lambda: f"I have {r.randint(2, 6)} days in {r.choice(CITIES)}: what should I visit?",
                   lambda: f"Is it better to take the train or fly from {r.choice(CITIES)} to {r.choice(CITIES)}?"],
        "grammar": [lambda: f"When should I use the {r.choice(TENSES)} instead of the {r.choice(TENSES)} in Italian?",
                    lambda: f"Can you explain the difference between the {r.choice(TENSES)} and the {r.choice(TENSES)}?"],
    }
    requests = [(kind, r.choice(makers)()) for kind, makers in shapes.items() for _ in range(each)]
    r.shuffle(requests)
    return requests


def one_shape_requests(seed: int = 0) -> list[tuple[str, str]]:
    """"How do you say <word> in Italian?" for a hundred words, and ten look-alike requests of other kinds."""
    requests = [("say", f"How do you say {word} in Italian?") for word in WORDS] + [("other", t) for t in LOOK_ALIKES]
    random.Random(seed).shuffle(requests)
    return requests


def records(requests: list[tuple[str, str]], seed: int = 0) -> list[dict]:
    """A conversation per request, its reply words drawn at random (no template, no duplicate, no cut-off end)."""
    r = random.Random(seed)
    return [chat(text, " ".join(r.choices(REPLY_WORDS, k=r.randint(8, 30)) + [r.choice(WORDS)]).capitalize() + ".", id=f"{kind}-{i}")
            for i, (kind, text) in enumerate(requests)]


def variety(path: str, **settings) -> dict:
    return run(path, CleaningConfig(**settings)).report["variety"]


def test_a_varied_set_holds_several_kinds_and_no_warning(write_jsonl):
    requests = varied_requests()
    found = variety(write_jsonl(records(requests)))
    assert found["sampled"] == found["deduplicated_requests"] == len(requests)
    assert len(found["clusters"]) >= 4 and found["warning"] is None
    assert max(c["kept_share"] for c in found["clusters"]) <= found["warn_share"] == 0.5
    assert found["kept"]["effective_kinds"] >= 4
    kind_of = {f"{kind}-{i}": kind for i, (kind, _) in enumerate(requests)}
    for cluster in found["clusters"]:  # each kind of request is its own: both examples of a cluster are one kind
        assert len({kind_of[e["name"]] for e in cluster["examples"]}) == 1, cluster
        assert cluster["label"] == " · ".join(cluster["top_words"][:3])
    assert sum(c["count"] for c in found["clusters"]) == len(requests)
    assert abs(sum(c["share"] for c in found["clusters"]) - 1) < 1e-3


def test_one_shape_of_request_is_warned_about_and_the_look_alikes_are_apart(write_jsonl):
    requests = one_shape_requests()
    found = variety(write_jsonl(records(requests)))
    top = found["clusters"][0]
    assert found["kept"]["largest_share"] == top["kept_share"] > 0.8
    assert {"say", "italian"} <= set(top["top_words"])
    assert all(e["text"].startswith("How do you say ") and e["text"].endswith(" in Italian?") for e in top["examples"])
    assert found["warning"].startswith(f"one kind of request holds {top['kept_share']:.0%} of the kept conversations")
    assert "italian · say" in found["warning"]
    # who is in that kind: the grouping itself, on the same texts (the report names only examples)
    texts = normalize_many([text for _, text in requests])
    labels = group(np.arange(len(texts)), texts, [kind for kind, _ in requests], lambda p: [texts[i] for i in p])["labels"]
    in_top = Counter(kind for (kind, _), label in zip(requests, labels) if label == np.bincount(labels).argmax())
    assert in_top["other"] == 0 and in_top["say"] >= 0.85 * len(WORDS)  # "How do you fix a flat bicycle tyre?" is not one


def test_the_grouping_is_deterministic(write_jsonl):
    path = write_jsonl(records(varied_requests(each=40, seed=3), seed=3))
    assert variety(path) == variety(path)


def test_clean_writes_the_section_into_report_json_and_html(write_jsonl, tmp_path):
    path = write_jsonl(records(one_shape_requests()))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "marco", "data", "clean", path, "--out", str(out),
                           "--variety_warn_share", "0.6"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    found = report["variety"]
    assert found["warn_share"] == 0.6 and found["warning"] in report["warnings"]
    assert "one kind of request holds" in done.stdout
    html = (out / "report.html").read_text()
    assert "<h2>Kinds of request" in html
    assert html.count('<tr class="kind">') == len(found["clusters"])
    assert "How do you say" in html and found["warning"].split(":")[0] in html


@pytest.mark.slow(seconds=8)
def test_the_seed_cima_set_is_one_kind_of_request():
    """CIMA: 71% of its deduplicated conversations open with "Can you help me learn Italian grammar?", the rest with
    "I'm learning Italian. Can you help me with this:" and a word question or a sentence about a picture; cleaning keeps
    only the first kind."""
    path = SEED / "cima_tutoring_conversations.jsonl"
    if not path.exists():
        pytest.skip("needs ../shared/seed-project/cima_tutoring_conversations.jsonl: not in this checkout")
    found = variety(str(path))
    top = found["clusters"][0]
    assert found["deduplicated_requests"] == 3417 and found["kept"]["requests"] == 2400
    assert top["examples"][0]["text"] == "Can you help me learn Italian grammar?"
    assert {"grammar", "learn"} <= set(top["top_words"])
    assert top["kept_share"] == 1.0 and found["kept"]["effective_kinds"] == 1.0
    assert 0.69 < top["share"] < 0.73  # 2415 of 3417 before cleaning
    rest = found["clusters"][1:]
    assert all(e["text"].startswith("I'm learning Italian. Can you help me with this:") for c in rest for e in c["examples"])
    assert any({"say", "word"} & set(c["top_words"]) for c in rest)
    assert found["warning"].startswith("one kind of request holds 100% of the kept conversations (71% of the deduplicated)")


def test_the_bundled_set_holds_many_kinds():
    found = variety(str(Path(REPO) / "data" / "marco_it.jsonl"))
    assert found["warning"] is None and len(found["clusters"]) >= 6
    assert found["kept"]["largest_share"] < 0.4 and found["kept"]["effective_kinds"] > 5


@pytest.mark.slow(seconds=8)
def test_with_a_score_model_the_requests_are_grouped_by_its_hidden_states(write_jsonl):
    path = write_jsonl(records(varied_requests(each=15)))
    found = variety(path, score_model="marco-tiny")
    assert found["method"] == "mean-pooled hidden states of marco-tiny"
    assert len(found["clusters"]) >= 2 and sum(c["count"] for c in found["clusters"]) == 60
    assert all(c["top_words"] and c["examples"] for c in found["clusters"])
    assert variety(path, score_model="marco-tiny") == found


def test_too_few_requests_are_not_grouped(write_jsonl):
    found = variety(write_jsonl(records(varied_requests(each=3))))
    assert found["clusters"] == [] and found["warning"] is None and "too few" in found["note"]
