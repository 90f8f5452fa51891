"""The train/eval split keeps similar conversations on the same side."""

import random

from conftest import chat

from marco.data import split_train_eval
from marco.data.corpus import conversation_text
from marco.data.dedup import jaccard, shingle_sets
from marco.data.text import normalize


def _shingles(record):
    import numpy as np

    return np.unique(shingle_sets([normalize(conversation_text(record["messages"]))], 3)[0])


def test_similar_conversations_never_straddle_the_split():
    rng = random.Random(0)
    words = [f"parola{i}" for i in range(400)]
    records = []
    for i in range(60):
        reply = " ".join(rng.choice(words) for _ in range(40))
        records.append(chat(f"Domanda {i}?", reply, id=f"a{i}"))
        if i % 3 == 0:  # a close variant of the same conversation
            records.append(chat(f"Domanda {i}?", reply.replace(reply.split()[5], "cambiata", 1), id=f"b{i}"))
    train, held_out = split_train_eval(records, 0.2, threshold=0.5, seed=1)
    assert len(train) + len(held_out) == len(records)
    assert abs(len(held_out) - 0.2 * len(records)) <= 2
    for e in held_out:
        assert all(jaccard(_shingles(e), _shingles(t)) < 0.5 for t in train), e["id"]


def test_split_is_seeded_and_deterministic():
    records = [chat(f"Q{i} " + "x " * (i % 7), f"A{i} risposta diversa numero {i}") for i in range(50)]
    assert split_train_eval(records, 0.1, seed=3) == split_train_eval(records, 0.1, seed=3)
    assert split_train_eval(records, 0.1, seed=3)[1] != split_train_eval(records, 0.1, seed=4)[1]
    assert split_train_eval(records, 0.0) == (records, [])
