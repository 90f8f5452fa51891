"""TruncationFilter: each kind of cut or open markup against a background of clean replies, look-alikes kept."""

import json
from pathlib import Path

import pytest

from marco.data.truncation import TruncationFilter

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed-project"

BACKGROUND = [  # clean replies; their endings are what the filter learns as normal
    "Il passato prossimo si forma con avere o essere più il participio passato.",
    "Si dice «ho fame», non «sono fame».",
    "Tuttavia, con i verbi di movimento si usa quasi sempre essere.",
    "La capacità di ascoltare conta più della grammatica all'inizio!",
    "Vuoi provare con un'altra frase?",
    "Say *mi piace il caffè*, not *io piaccio il caffè*.",
    "The article changes before a vowel (l'amico, l'acqua).",
    "Nice: **ho mangiato** is exactly right.",
    "Use `essere` with reflexive verbs: mi sono alzato.",
    "Ci vediamo alle 10:30 davanti alla stazione.",
    "Esatto, e la forma di cortesia è Lei [con la maiuscola].",
    "In German it would be *ich habe gegessen*, with the same auxiliary.",
]
CUT = {  # reason -> a reply with that defect
    "broken tail": "Please try to fill in the blank in Italian. Grammar note: [ [",
    "empty label": "Ecco la regola generale.\n\nEsempi:",
    "open bracket at the end": "I verbi che prendono essere sono (",
    "open bold": "Remember: **il ragazzo is masculine, and so is il problema.",
    "open parenthesis": "The article (il, lo changes before a vowel, as in l'amico.",
    "open backtick": "Use `andare with a and `venire` with da.",
    "open code fence": "Try this:\n```python\nprint('ciao')",
    "ellipsis inside a word": "You need more capa...cità to follow, sorry.",
    "ellipsis cutting a word": "Bene, hai ragione. Tutt...",
    "ellipsis cutting a sentence": "La regola è semplice: dopo penso che il verbo...",
    "no final punctuation": "Il congiuntivo si usa dopo i verbi di opinione come pensare e credere quando",
    "a word cut off": "Remember that the article changes before a vowel, as in l'amico and l'acq",
}
KEPT = {  # look-alikes
    "smiley": "Bravissimo :)",
    "sad emoticon": "Peccato, era quasi giusto :(",
    "ellipsis as style": "Hmm... quasi. Riprova!",
    "lettered list": "Scegli: a) il b) lo c) la.",
    "parenthesis inside code": "Run it:\n```\nprint(\n```\nIt fails on purpose.",
    "ASCII accent": "Si dice perche` e citta` se la tastiera non ha gli accenti.",
    "label with content": "Grammar note: the article agrees with the noun.",
    "closing italics": "They chant *Bacio! Bacio!*",
    "list trailing off": "Qui vendiamo souvenir, cartoline, calamite...",
    "placeholder in parentheses": "Answer with the quantity (*un chilo di...* = a kilo of...)",
}


CORPUS = ["Bene. " * i + reply for i in range(10) for reply in BACKGROUND]  # 120 replies, all punctuated, no two
# of the longest ones of one length (that would be a length cap)


def _conversations(replies):
    return [[{"role": "user", "content": "Aiutami."}, {"role": "assistant", "content": r}] for r in replies]


def _finding(reply, **options):
    return TruncationFilter(**options).find(_conversations(CORPUS + [reply]))[-1]


@pytest.mark.parametrize("kind", CUT)
def test_each_kind_of_cut_is_found_with_exact_evidence(kind):
    finding = _finding(CUT[kind])
    assert finding is not None, kind
    assert finding.reason == "truncated" and finding.field == "messages[1].content"
    assert CUT[kind][finding.start: finding.end] == finding.evidence


@pytest.mark.parametrize("kind", KEPT)
def test_look_alikes_are_kept(kind):
    assert _finding(KEPT[kind]) is None, kind


def test_background_is_clean():
    assert TruncationFilter().find(_conversations(CORPUS)) == [None] * len(CORPUS)


def test_a_length_cap_shared_by_distinct_replies_is_found_and_duplicates_are_not():
    long = [f"Reply number {i}: the verb piacere agrees with the thing liked, so mi piacciono i libri. " * 3
            for i in range(6)]
    capped = [text[:150] for text in long]  # six distinct replies stopped at 150 characters
    found = TruncationFilter().find(_conversations(BACKGROUND + capped))
    assert all(f is not None and "length limit" in f.detail for f in found[len(BACKGROUND):])
    copies = [capped[0].rstrip() + "."] * 6  # one reply six times is a duplicate, not a cap
    assert TruncationFilter().find(_conversations(BACKGROUND + copies))[len(BACKGROUND):] == [None] * 6


def test_an_open_word_is_a_cut_in_any_corpus_and_a_quoted_one_is_not():
    usual = [f"ok blue is blu number {i}" for i in range(40)]  # 40 in 160 end on a letter: that is the style
    found = TruncationFilter().find(_conversations(CORPUS + usual + ["e di fronte alla", "No, it should be e dietro il",
                                                                     "e dietro means is behind the"]))
    assert [f is not None for f in found[-3:]] == [True, False, False]
    assert 'on "alla"' in found[-3].detail


def test_cima_broken_tails_are_found():
    path = SEED / "cima_tutoring_conversations.jsonl"
    if not path.exists():
        pytest.skip("needs ../shared/seed-project/cima_tutoring_conversations.jsonl: not in this checkout")
    conversations = [json.loads(line)["messages"] for line in path.open(encoding="utf-8")]
    found = TruncationFilter().find(conversations)
    broken = [i for i, c in enumerate(conversations) if c[-1]["content"].rstrip().endswith("[ [")]
    assert all(found[i] is not None for i in broken)
    others = len(conversations) - len(broken)
    assert sum(f is not None for f in found) - len(broken) <= 0.01 * others
