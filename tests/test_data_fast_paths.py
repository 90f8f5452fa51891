"""The fast paths of `marco data clean` give exactly what the plain definitions give (speed must not change a
single output byte): text built from normalised turns, NFKC text by text, the vectorised Jaccard verification,
regexes rewritten to open on a character, user sides built from normalised turns, the alignment filter's shortcut."""

import random
import re
import unicodedata

import numpy as np
import pytest

from marco.data import templates, truncation
from marco.data.alignment import AlignmentFilter
from marco.data.corpus import conversation_text, normalized_conversation
from marco.data.dedup import jaccard, shingle_sets, verified_jaccard
from marco.data.prompts import user_side
from marco.data.text import normalize, normalize_many, normalized_turns

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
        built = [normalized_conversation([m["role"] for m in c], t) for c, t in zip(conversations, normalized_turns(conversations))]
        assert built == whole, conversations


def test_a_turn_that_normalises_to_nothing_leaves_no_double_space():
    messages = [{"role": "user", "content": "?!"}, {"role": "assistant", "content": "Sì."}]
    assert normalized_conversation(["user", "assistant"], normalized_turns([messages])[0]) == "user assistant sì"


def test_vectorised_jaccard_equals_the_pairwise_set_jaccard(monkeypatch):
    monkeypatch.setattr("marco.data.dedup._PAIRS_PER_PASS", 7)  # many passes, each shingling only its own texts
    rng = random.Random(2)
    words = [f"w{i}" for i in range(40)]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 30))) for _ in range(200)]
    pairs = np.array(sorted({tuple(sorted(rng.sample(range(200), 2))) for _ in range(500)}), dtype=np.int64)
    exact = [jaccard(*(np.unique(shingle_sets([texts[i]], 3)[0]) for i in (a, b))) for a, b in pairs.tolist()]
    assert verified_jaccard(texts, pairs, 3).tolist() == exact
    assert 0 < sum(s > 0 for s in exact) < len(exact)  # the check sees both overlapping and disjoint pairs


@pytest.mark.parametrize("fast, plain, alphabet", [
    (truncation._EMOTICON, r"(?:^|(?<=\s))[:;=8xX][-o^']?[()\[\]DPp3/\\|]+(?=\s|$)|\([:;^][-_]?[)(^]\)|<3",
     ":;=8xX-o^'()[]DPp3/\\|<_ \n\tab"),
    (templates._QUOTED, r"(?<!\w)'(?:[^'\n]|'(?=\w)){1,80}?'(?!\w)|\"[^\"\n]{1,80}\"|«[^»\n]{1,80}»|“[^”\n]{1,80}”"
                        r"|‘[^’\n]{1,80}’|\*[^*\n]{1,80}\*", "'\"«»“”‘’*ab \n"),
    (templates._NAME, r"(?<=[a-zàèéìòù,;] )[A-ZÀÈÉÌÒÙ][\w'-]*", "aàA À,;1 -'x"),
], ids=["emoticon", "quoted", "name"])
def test_regexes_that_open_on_a_character_match_like_their_plain_definitions(fast, plain, alphabet):
    plain, rng = re.compile(plain), random.Random(5)
    for _ in range(100_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert fast.sub("#", text) == plain.sub("#", text), text


def test_a_user_side_from_normalised_turns_equals_normalising_the_joined_turns():
    rng = random.Random(6)
    for _ in range(500):
        turns = [_text(rng) for _ in range(rng.randint(1, 4))]
        assert user_side(normalize_many(turns), "u" * len(turns)) == normalize("\n".join(turns)), turns


def test_the_shifted_reply_check_skips_only_replies_it_would_not_flag(monkeypatch):
    """_may_share() lets through every reply that a neighbour's prompt shares enough words with: the findings are those
    of the check without it. Plurals, stems cut to six letters and words inside others ("list", "realistic") included."""
    rng = random.Random(7)
    words = "list lists listing realistic reverse reversed boil boiling eggs egg minutes water python sorted pasta " \
            "salt pepper oven garlic tomato string strings verb verbs".split()
    conversations = [[{"role": "user", "content": " ".join(rng.sample(words, 3)) + "?"},
                      {"role": "assistant", "content": " ".join(rng.sample(words, rng.randint(2, 6))) + "."}]
                     for _ in range(3000)]
    calls = []

    def findings():
        detector = AlignmentFilter()
        detector.observe(conversations)
        return detector.finish(None)

    fast = findings()
    monkeypatch.setattr(AlignmentFilter, "_may_share", lambda self, c, near: calls.append(c) or True)
    assert findings() == fast
    assert 0 < len(fast) < len(calls)  # some replies flagged, and more than those reach the shortcut
