"""Exact and near-duplicate detection on planted cases."""

import random

from conftest import chat

from marco.data import CleaningConfig, run
from marco.data.dedup import exact_duplicates, jaccard, near_duplicates, shingle_sets
from marco.data.text import normalize

WORDS = ("casa mare sole pane vino libro strada amico tempo notte giorno treno scuola città lavoro famiglia "
         "estate inverno mattina sera cena pranzo acqua caffè latte gatto cane fiore albero montagna").split()


def sentence(rng, n=60):
    return " ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(n))


def test_normalisation_ignores_case_punctuation_whitespace_and_unicode_width():
    assert normalize("  Ciao,   MONDO!!\n«Come» stai? ") == "ciao mondo come stai"
    assert normalize("ＣＩＡＯ") == "ciao"  # NFKC folds full-width letters


def test_exact_duplicates_keep_the_first_occurrence(write_jsonl):
    path = write_jsonl([
        chat("Che ore sono?", "Sono le tre.", id="a"),
        chat("che ore sono", "SONO LE TRE!!", id="b"),
        chat("Che ore sono?", "Sono le quattro.", id="c"),
        chat("Che  ore sono ?", "Sono le tre", id="d"),
    ])
    result = run(path)
    assert [r["id"] for r in result.kept] == ["a", "c"]
    assert [(r["id"], r["rejection"]["reason"], r["rejection"]["duplicate_of"]) for r in result.rejected] == [
        ("b", "exact_duplicate", "a"), ("d", "exact_duplicate", "a")]


def test_roles_matter_for_exact_duplicates():
    assert exact_duplicates(["user: a assistant: b", "user: b assistant: a"]) == []


def test_planted_near_duplicates_are_found_and_the_first_is_kept():
    rng = random.Random(0)
    texts = [sentence(rng) for _ in range(300)]
    planted = {}
    for original in range(0, 300, 6):
        words = texts[original].split()
        for _ in range(3):  # three word substitutions in 60 words: Jaccard of 3-shingles ~0.74-0.86
            words[rng.randrange(len(words))] = "edit"
        texts.append(" ".join(words))
        planted[len(texts) - 1] = original
    found = {d.index: d.kept for d in near_duplicates(texts, threshold=0.7)}
    truth = {dup: orig for dup, orig in planted.items()
             if jaccard(*[_set(texts[i]) for i in (dup, orig)]) >= 0.7}
    assert len(truth) >= 40
    assert {k: found[k] for k in truth if k in found} == truth  # every planted pair found, twin is the original
    assert set(found) <= set(planted)  # and nothing else flagged


def _set(text):
    import numpy as np
    shingles, _ = shingle_sets([text], 3)
    return np.unique(shingles)


def test_candidates_are_verified_against_the_threshold():
    rng = random.Random(1)
    base = sentence(rng, 40).split()
    edited = list(base)
    for i in range(0, 40, 5):
        edited[i] = "x"
    similarity = jaccard(_set(" ".join(base)), _set(" ".join(edited)))
    assert 0.2 < similarity < 0.7
    pair = [" ".join(base), " ".join(edited)]
    assert near_duplicates(pair, threshold=0.8) == []
    assert [(d.index, d.kept) for d in near_duplicates(pair, threshold=similarity - 0.01)] == [(1, 0)]


def test_near_duplicate_clusters_are_transitive():
    rng = random.Random(2)
    a = sentence(rng, 80).split()
    b = a[:10] + ["uno"] + a[11:]
    c = b[:50] + ["due"] + b[51:]
    found = near_duplicates([" ".join(x) for x in (a, b, c)], threshold=0.9)
    assert sorted((d.index, d.kept) for d in found) == [(1, 0), (2, 0)]


def test_near_dup_threshold_is_configurable_end_to_end(write_jsonl):
    rng = random.Random(3)
    text = sentence(rng, 40)
    words = text.split()
    for i in (3, 17, 31):
        words[i] = "cambio"
    path = write_jsonl([chat("Domanda?", text, id=1), chat("Domanda?", " ".join(words), id=2)])
    assert len(run(path, CleaningConfig(near_dup_threshold=0.95)).kept) == 2
    loose = run(path, CleaningConfig(near_dup_threshold=0.6))
    assert [r["rejection"]["reason"] for r in loose.rejected] == ["near_duplicate"]
    assert loose.rejected[0]["rejection"]["duplicate_of"] == 1


def _shingle_jaccard(a: str, b: str) -> float:
    """Exact Jaccard of word 3-shingles, written independently of marco's hashing."""
    def grams(text):
        words = text.split()
        return {tuple(words[i: i + 3]) for i in range(len(words) - 2)}
    return len(grams(a) & grams(b)) / len(grams(a) | grams(b))


def test_pairs_just_above_the_threshold_are_found_and_pairs_below_are_not():
    rng = random.Random(5)
    above, below, texts = [], [], []
    while len(above) < 150 or len(below) < 150:
        original = sentence(rng, 80)
        words = original.split()
        for i in rng.sample(range(80), rng.choice((2, 3, 8, 10))):  # 2-3 edits: Jaccard ~0.85-0.9; 8-10: ~0.6-0.7
            words[i] = "cambio" + str(rng.randrange(1000))
        similarity = _shingle_jaccard(original, " ".join(words))
        group = above if similarity >= 0.82 else below if similarity < 0.78 else None
        if group is not None and len(group) < 150:
            group.append(len(texts) + 1)
            texts += [original, " ".join(words)]
    found = {d.index for d in near_duplicates(texts, threshold=0.8)}
    assert sum(i in found for i in above) / len(above) >= 0.99  # LSH bands chosen for >= 99.5% at the threshold
    assert not found & set(below)  # candidates are verified with the exact Jaccard


def test_dedup_gives_the_same_clusters_in_every_process():
    """Hashing must not depend on Python's per-process string hash seed."""
    import json
    import os
    import subprocess
    import sys

    script = ("import json, random, sys; sys.path.insert(0, 'tests'); from test_data_dedup import sentence;"
              "from marco.data.dedup import near_duplicates; rng = random.Random(4);"
              "texts = [sentence(rng, 30) for _ in range(100)] * 2;"
              "texts = texts[:150] + [t + ' coda' for t in texts[150:]];"
              "print(json.dumps([[d.index, d.kept] for d in near_duplicates(texts)]))")
    runs = [json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                                      env={**os.environ, "PYTHONHASHSEED": seed}).stdout)
            for seed in ("1", "2")]
    assert runs[0] == runs[1]
    assert sorted(map(tuple, runs[0])) == [(100 + i, i) for i in range(50)] + [(150 + i, 50 + i) for i in range(50)]
