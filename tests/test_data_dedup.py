"""Exact and near-duplicate detection on planted cases."""

import random

from conftest import chat

from marco.data import CleaningConfig, run
from marco.data.dedup import exact_duplicates, jaccard, lsh_bands, near_duplicates, shingle_sets
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


def test_lsh_bands_give_high_recall_at_the_threshold():
    bands, rows = lsh_bands(0.8, 128)
    assert bands * rows <= 128
    assert 1 - (1 - 0.8**rows) ** bands >= 0.995


def test_dedup_is_deterministic():
    rng = random.Random(4)
    texts = [sentence(rng, 30) for _ in range(100)] * 2
    assert near_duplicates(texts[:150] + [t + " coda" for t in texts[150:]]) == \
        near_duplicates(texts[:150] + [t + " coda" for t in texts[150:]])
