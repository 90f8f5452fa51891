"""AlignmentFilter: shifted replies found by their asked terms, look-alikes kept, IFD scores from a real model."""

import json
import math
from pathlib import Path

import pytest

from marco.data.alignment import AlignmentFilter, asked_terms

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed-project"


def _pairs(pairs):
    return [[{"role": "user", "content": q}, {"role": "assistant", "content": a}] for q, a in pairs]


ALIGNED = [
    ("How do I say 'window' in Italian?", "'Window' is 'finestra': la finestra."),
    ("Come si dice «chiave» in inglese?", "«Chiave» in inglese si dice key."),
    ("¿Cómo se dice kitchen en italiano?", "Kitchen es cucina: la cucina."),
    ("What is the word for spoon?", "A spoon is un cucchiaio."),
    ("Wie sagt man Fahrrad auf Italienisch?", "Fahrrad heißt bicicletta."),
]


def test_terms_asked_in_five_languages():
    assert [asked_terms(q, 4) for q, _ in ALIGNED] == [["window"], ["chiave"], ["kitchen"], ["spoon"], ["fahrrad"]]
    assert asked_terms('Is it correct to say "il cane e dietro rosa l\'albero di mio zio"?', 4) == []  # a sentence


def test_aligned_replies_are_kept():
    assert AlignmentFilter().find(_pairs(ALIGNED)) == [None] * len(ALIGNED)


def test_a_reply_shifted_to_the_next_question_is_flagged():
    shifted = [(ALIGNED[i + 1][0], ALIGNED[i][1]) for i in range(4)]  # each reply answers the previous question
    found = AlignmentFilter().find(_pairs(shifted))
    assert found[0] is not None and found[0].reason == "misaligned" and '"chiave"' in found[0].detail
    assert found[0].evidence == ALIGNED[0][1] and found[0].field == "messages[1].content"
    assert found[1] is not None and found[2] is not None
    assert found[3] is None  # its question's answer is in no conversation


def test_a_reply_without_the_term_is_no_suspect_when_no_neighbour_has_it():
    hint = [("How do I say 'window'?", "Try to guess first: it starts with f."), ALIGNED[1], ALIGNED[2]]
    assert AlignmentFilter().find(_pairs(hint)) == [None, None, None]


def test_a_far_conversation_is_no_neighbour():
    far = [("How do I say 'window'?", "Try to guess first: it starts with f.")] + ALIGNED[1:] + [ALIGNED[0]]
    assert AlignmentFilter(neighbours=2).find(_pairs(far))[0] is None


@pytest.mark.slow
def test_ifd_scores_every_pair_with_the_built_in_model():
    pairs = ALIGNED + [("How do I say 'window' in Italian?", "Fahrrad heißt bicicletta.")]
    detector = AlignmentFilter(score_model="marco-tiny", ifd_threshold=0.0)  # every scored pair is reported
    found = detector.find(_pairs(pairs) + [[{"role": "user", "content": "no reply"}]])
    assert len(detector.scores) == 7 and math.isnan(detector.scores[-1])
    assert all(0 < s < 10 for s in detector.scores[:-1])
    assert found[-1] is None and all(f is not None and f.detail.startswith("IFD") for f in found[:-1])
    assert found[-2].evidence == "Fahrrad heißt bicicletta." and found[-2].field == "messages[1].content"


def test_cima_shifted_replies_are_suspects():
    path = SEED / "cima_tutoring_conversations.jsonl"
    if not path.exists():
        pytest.skip("needs ../shared/seed-project/cima_tutoring_conversations.jsonl: not in this checkout")
    conversations = [json.loads(line)["messages"] for line in path.open(encoding="utf-8")]
    found = AlignmentFilter().find(conversations)
    tree = next(i for i, c in enumerate(conversations) if c[0]["content"].endswith("What is tree again?"))
    assert found[tree] is not None and '"tree"' in found[tree].detail
    plain = [i for i, c in enumerate(conversations) if c[0]["content"] == "Can you help me learn Italian grammar?"]
    assert not any(found[i] and found[i].detail.startswith("asks about") for i in plain)  # it asks for no term


def test_a_reply_that_answers_the_next_prompt_is_a_suspect_and_look_alikes_are_not():
    pairs = [("How long should I boil an egg for a runny yolk?", "Use my_list.reverse() to reverse the list in place."),
             ("How do I reverse a list in Python?", "'Ciao' means hello, and it is also used to say goodbye."),
             ("What does 'ciao' mean?", "Six minutes in boiling water, then into cold water."),
             ("Come si dice 'thank you' in italiano?", "Grazie, o grazie mille per dare più enfasi."),  # no shared word
             ("Is this sentence correct: 'io sono andato'?", "Sì, esatto."),  # too short to judge
             ("What should I cook tonight?", "Una carbonara: guanciale, uova, pecorino e pepe."),  # another language
             ("Any tips for a risotto?", "Toast the rice first, add warm stock slowly and stir often.")]
    found = AlignmentFilter().find(_pairs(pairs))
    assert [f is not None for f in found] == [True, True, True, False, False, False, False]  # 2: by its asked term
    assert "shares no word with its prompt but 2 with the prompt of the next conversation" in found[0].detail


def test_neighbouring_prompts_are_scored_with_the_model():
    pairs = [(f"Domanda {i} sul passato prossimo?", f"Risposta {i}: si usa avere.") for i in range(4)]
    every = AlignmentFilter(score_model="marco-tiny", ifd_threshold=99, neighbour_margin=-99.0)
    found = every.find(_pairs(pairs))
    assert sorted(every.neighbour_gain) == [0, 1, 2, 3]  # each against its previous and next prompt
    assert all(f is not None and "neighbouring conversation's prompt" in f.detail for f in found)
    assert AlignmentFilter(score_model="marco-tiny", ifd_threshold=99, neighbour_margin=99.0).find(_pairs(pairs)) == [None] * 4
