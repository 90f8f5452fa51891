"""The fast paths of `marco data clean` give exactly what the plain definitions give (speed must not change a
single output byte): text built from normalised turns, NFKC text by text, the vectorised Jaccard verification."""

import random
import re
import unicodedata

import numpy as np

from marco.data.clean import conversation_text, normalized_conversation
from marco.data.dedup import jaccard, shingle_sets, verified_jaccard
from marco.data.text import normalize_many, normalized_turns

# letters, punctuation the normaliser deletes, marks it spaces, compatibility forms NFKC folds, combining marks
# and Hangul jamo that NFKC composes, the batch separator, odd whitespace and case-folding specials
ALPHABET = list("abc AB\n\t\x1e.,:'’…«»–—ﬁ½Å\u030a\u0301\u0308e\u00a0\u3000\u2028Σσςİß!?-_가\u1100\u1161\u11a8")


def _text(rng):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 10)))


def _plain_normalize(text: str) -> str:
    """The normaliser's definition, one text at a time with nothing batched."""
    out = unicodedata.normalize("NFKC", text.replace("\x1e", " ")).casefold()
    for mark in "–—―…•·":
        out = out.replace(mark, " ")
    for mark in "«»“”‘’„‚‹›‐‑¿¡′″§¶°":
        out = out.replace(mark, "")
    kept = "".join(" " if c.isascii() and c.isspace() else "" if c.isascii() and not c.isalnum() else c for c in out)
    return re.sub(" +", " ", kept).strip(" ")


def test_batched_normalisation_equals_the_definition_text_by_text():
    rng = random.Random(0)
    for _ in range(500):
        texts = [_text(rng) for _ in range(rng.randint(1, 6))]
        assert normalize_many(texts) == [_plain_normalize(t) for t in texts], texts


def test_conversation_text_from_normalised_turns_equals_normalising_the_whole_conversation():
    rng = random.Random(1)
    for _ in range(500):
        conversations = [[{"role": rng.choice(["system", "user", "assistant"]), "content": _text(rng)}
                          for _ in range(rng.randint(1, 4))] for _ in range(rng.randint(1, 4))]
        whole = normalize_many([conversation_text(c) for c in conversations])
        built = [normalized_conversation(c, t) for c, t in zip(conversations, normalized_turns(conversations))]
        assert built == whole, conversations


def test_a_turn_that_normalises_to_nothing_leaves_no_double_space():
    messages = [{"role": "user", "content": "?!"}, {"role": "assistant", "content": "Sì."}]
    assert normalized_conversation(messages, normalized_turns([messages])[0]) == "user assistant sì"


def test_vectorised_jaccard_equals_the_pairwise_set_jaccard():
    rng = random.Random(2)
    words = [f"w{i}" for i in range(40)]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 30))) for _ in range(200)]
    pairs = np.array(sorted({tuple(sorted(rng.sample(range(200), 2))) for _ in range(500)}), dtype=np.int64)
    exact = [jaccard(*(np.unique(shingle_sets([texts[i]], 3)[0]) for i in (a, b))) for a, b in pairs.tolist()]
    assert verified_jaccard(texts, pairs, 3).tolist() == exact
    assert 0 < sum(s > 0 for s in exact) < len(exact)  # the check sees both overlapping and disjoint pairs
