"""Template detection: learned openings, closings, phrases and frames, and known stock phrases."""

import random

from conftest import chat

from marco.data import CleaningConfig, run, scan
from marco.data.templates import mask_slots

TOPICS = ["il congiuntivo", "gli articoli", "il passato prossimo", "le preposizioni", "i pronomi", "il futuro",
          "l'imperfetto", "i possessivi", "il condizionale", "la forma passiva", "i verbi riflessivi", "il gerundio"]
FILLER = ("parole nuove ogni giorno aiutano molto quando si legge un giornale o si ascolta la radio italiana con "
          "attenzione e pazienza senza fretta perché la lingua cresce piano").split()


def varied_replies(n, seed=0):
    rng = random.Random(seed)
    return [" ".join(rng.sample(FILLER, rng.randint(6, 24))) + f" {i}." for i in range(n)]  # lengths vary, as in real data


def test_clean_varied_replies_have_no_templates():
    result = scan(varied_replies(60), list(range(60)))
    assert result.templates == [] and result.rate == 0.0


def test_stock_phrase_is_flagged_from_its_first_use():
    replies = varied_replies(40)
    replies[7] = "Ottima domanda! Si dice 'il gatto'."
    result = scan(replies, list(range(40)))
    assert [(t.kind, t.text, t.count, t.examples) for t in result.templates] == [("stock", "ottima domanda", 1, [7])]
    assert result.flagged.count(True) == 1 and result.flagged[7]


def test_learned_opening_and_closing():
    replies = varied_replies(60)
    for i in range(0, 60, 6):
        replies[i] = "Allora vediamo insieme: " + replies[i] + " e adesso tocca a te provarci."
    result = scan(replies, list(range(60)))
    kinds = {(t.kind, t.text): t.count for t in result.templates}
    openings = [(text, n) for (kind, text), n in kinds.items() if kind == "opening"]
    assert [n for text, n in openings if text.startswith("allora vediamo insieme")] == [10]
    assert kinds[("closing", "tocca a te provarci")] == 10
    assert sum(result.flagged) == 10


def test_unseen_frame_with_different_slot_content_is_found():
    """A frame no built-in list knows: only its quoted slot, number and name change from reply to reply."""
    replies = varied_replies(80)
    names = ["Giulia", "Marco", "Luca", "Sara", "Paolo", "Anna", "Elena", "Franco"]
    for k, i in enumerate(range(0, 80, 8)):
        replies[i] = (f"Sentence number {k + 3} is about '{TOPICS[k]}'. Ask {names[k % 8]} and you would hear it "
                      "the same way in the north.")
    result = scan(replies, [f"r{i}" for i in range(80)], CleaningConfig(template_min_count=5))
    frames = [t for t in result.templates if t.kind == "frame"]
    assert any(t.text == "sentence number slotn is about slotq" and t.count == 10 for t in frames)
    assert any(t.text == "ask slotx and you would hear it the same way in the north" for t in frames)
    assert [i for i, f in enumerate(result.flagged) if f] == list(range(0, 80, 8))


def test_shared_phrase_in_the_middle_of_replies():
    replies = varied_replies(50, seed=1)
    for i in range(0, 50, 5):
        words = replies[i].split()
        replies[i] = " ".join(words[:5] + "the tutor always repeats this exact long sentence".split() + words[5:])
    result = scan(replies, list(range(50)))
    phrases = [t for t in result.templates if t.kind == "phrase"]
    assert phrases and "the tutor always repeats this exact long sentence" in phrases[0].text
    assert phrases[0].count == 10


def test_a_phrase_stops_where_its_replies_stop_sharing_words():
    """A phrase is reported as the words its replies share and counted on them alone: words next to it that no other
    reply has (Llama-2's sign-off after a different answer each time) are not part of it."""
    replies = varied_replies(100, seed=2)
    for i in range(0, 100, 4):
        replies[i] = f"{replies[i]} I hope this helps, let me know if you have any other questions"
    phrases = [t for t in scan(replies, list(range(100))).templates if t.kind == "phrase"]
    assert [(t.text, t.count) for t in phrases] == [("i hope this helps let me know if you have any other questions", 25)]


def test_share_threshold_decides():
    replies = varied_replies(100)
    for i in range(4):
        replies[i] = "Piano piano si va lontano, " + replies[i]
    assert scan(replies, list(range(100)), CleaningConfig(template_min_share=0.05, template_min_count=3)).rate == 0
    assert scan(replies, list(range(100)), CleaningConfig(template_min_share=0.01, template_min_count=5)).rate == 0
    found = scan(replies, list(range(100)), CleaningConfig(template_min_share=0.04, template_min_count=4))
    assert found.rate == 0.04


def test_mask_slots_spares_apostrophes_in_words():
    assert mask_slots("Say 'dell'acqua' to Marco, 3 times.") == "Say  SLOTQ  to SLOTX,  SLOTN  times."


def test_a_common_template_rejects_and_a_rare_stock_phrase_is_flagged_or_stripped(write_jsonl):
    records = [chat(f"Q{i}?", r, id=i) for i, r in enumerate(varied_replies(30))]
    records += [chat(f"Domanda {i}?", f"Great question! This translates to 'frase {i}'.", id=100 + i) for i in range(3)]
    path = write_jsonl(records)
    rare = run(path)  # 3 of 33 replies (9%): a courtesy phrase, below template_reject_share
    assert len(rare.kept) == 33 and rare.report["templates"]["acted"] == {"rejected": 0, "stripped": 0, "flagged": 3}
    flag = next(r for r in rare.kept if r["id"] == 100)["flags"][0]
    assert (flag["reason"], flag["evidence"]) == ("template", "Great question!")  # the reply's own words
    found = {t["text"]: t for t in rare.report["templates"]["found"]}
    assert found["great question"]["share"] == round(3 / 33, 4) and found["great question"]["rejects"] is False
    common = run(path, CleaningConfig(template_reject_share=0.05))  # the same pattern where 5% teaches a formula
    assert sorted(r["id"] for r in common.rejected) == [100, 101, 102]
    assert {r["rejection"]["reason"] for r in common.rejected} == {"template"}
    assert '"Great question!"' in common.rejected[0]["rejection"]["detail"]
    strip = run(path, CleaningConfig(template="strip"))
    reply = next(r for r in strip.kept if r["id"] == 101)
    assert reply["messages"][1]["content"] == "This translates to 'frase 1'."
    assert reply["flags"][0]["action"] == "stripped"
    off = run(path, CleaningConfig(template="off"))
    assert len(off.kept) == 33 and not any("flags" in r for r in off.kept)
    assert off.report["templates"]["templated_replies"] == 3
