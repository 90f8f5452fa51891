"""`marco data clean` streams the corpus (issue 18): each detector judges chunk by chunk exactly as over the whole
list, rows keep no text once measured, what is read again is what was read first, the outputs are the same however
many processes write them, and a file that changes during a clean is refused rather than mixed up."""

import json
import os
import random
from collections import Counter, defaultdict

import pytest
from conftest import REPO, chat
from test_data_truncation import CUT, KEPT

from marco.data import CleaningConfig, UnusableInput, run, write_outputs
from marco.data.alignment import AlignmentFilter
from marco.data.boilerplate import BoilerplateFilter
from marco.data.lazy import LazyTexts, Spill, take
from marco.data.prompts import PromptAudit, user_side
from marco.data.text import normalized_turns
from marco.data.truncation import TruncationFilter

SEED = os.path.join(REPO, "..", "shared", "seed-project", "cima_tutoring_conversations.jsonl")


def _bundled() -> list:
    with open(os.path.join(REPO, "data", "marco_it.jsonl"), encoding="utf-8") as handle:
        return [json.loads(line)["messages"] for line in handle]


def _with_defects() -> list:
    """The bundled conversations with cut replies, look-alikes, disclaimers and shifted replies spread through them."""
    conversations = _bundled()
    planted = [chat("Aiutami.", text)["messages"] for text in [*CUT.values(), *KEPT.values()]]
    planted += [chat("Cosa ne pensi?", text)["messages"] for text in [
        "Come modello di linguaggio, non ho opinioni personali. Però la regola è chiara.",
        "I'm sorry, but I can't help with that request.", "As of my last update, the rule was the same."]]
    shifted = [("How do I say 'window' in Italian?", "'Chiave' is key."), ("How do I say 'key' in Italian?", "'Window' is 'finestra'.")]
    planted += [chat(q, a)["messages"] for q, a in shifted]
    for k, messages in enumerate(planted):
        conversations.insert(37 * k + 5, messages)
    return conversations


def _chunked(detector, conversations: list, size: int) -> list:
    detector.reset()
    for first in range(0, len(conversations), size):
        detector.observe(conversations[first: first + size])
    found = detector.finish(lambda indices: [conversations[i] for i in indices])
    return [found.get(i) for i in range(len(conversations))]


@pytest.mark.parametrize("make", [BoilerplateFilter, TruncationFilter, AlignmentFilter])
def test_each_detector_finds_the_same_chunk_by_chunk_as_over_the_whole_list(make):
    conversations = _with_defects()
    whole = make().find(conversations)
    assert sum(f is not None for f in whole) >= 3  # the planted defects are there to be found
    for size in (1, 3, 100, 4096):
        assert _chunked(make(), conversations, size) == whole, size


@pytest.mark.parametrize("make", [TruncationFilter, AlignmentFilter])  # the two that look beyond one reply
def test_on_real_tutoring_data_chunks_change_nothing(make):
    if not os.path.exists(SEED):
        pytest.skip("needs ../shared/seed-project/cima_tutoring_conversations.jsonl: not in this checkout")
    with open(SEED, encoding="utf-8") as handle:
        conversations = [json.loads(line)["messages"] for line in handle]
    whole = make().find(conversations)
    assert any(whole)
    assert _chunked(make(), conversations, 1000) == whole


def test_rows_hold_no_text_once_cleaned(write_jsonl):
    records = [{"id": i, "messages": m} for i, m in enumerate(_bundled()[:30])]
    records[3]["messages"][-1]["content"] = "Come modello di linguaggio, non ho opinioni. " + records[3]["messages"][-1]["content"]
    path = write_jsonl(records + ["{broken", {**records[0], "id": "copy"}])
    result = run(path, CleaningConfig(boilerplate="strip"))
    assert all(row.record is None and row.raw is None for row in result.rows)
    assert [i for i, row in enumerate(result.rows) if row.messages is not None] == [3]  # the stripped one only
    kept, rejected = {r["id"]: r for r in result.kept}, result.rejected
    assert len(kept) + len(rejected) == 32 and kept[3]["messages"][-1]["content"] == _bundled()[3][-1]["content"]
    assert [r.get("raw") for r in rejected if "raw" in r] == ["{broken"] and rejected[-1]["id"] == "copy"


def test_a_file_changed_during_the_clean_is_refused(write_jsonl, tmp_path):
    path = write_jsonl([chat(f"Domanda {i}?", f"Risposta {i}.") for i in range(5)])
    result = run(path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(chat("Nuova?", "Sì.")) + "\n")
    with pytest.raises(UnusableInput, match="changed while it was being cleaned"):
        write_outputs(result, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()  # nothing half written


def test_two_processes_write_the_same_files_as_one(write_jsonl, tmp_path, monkeypatch):
    conversations = _bundled()[:300]
    path = write_jsonl([{"id": i, "messages": m} for i, m in enumerate(conversations)] + ["not json"])
    result = run(path)
    monkeypatch.setattr("marco.data.fork.FORK_MIN", 10**9)
    write_outputs(result, str(tmp_path / "one"))
    monkeypatch.setattr("marco.data.fork.FORK_MIN", 0)
    write_outputs(result, str(tmp_path / "two"))
    for name in ("kept.jsonl", "rejected.jsonl", "report.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert sum(1 for _ in open(tmp_path / "two" / "kept.jsonl")) + sum(1 for _ in open(tmp_path / "two" / "rejected.jsonl")) == 301


def test_the_spill_reads_back_each_row_as_written():
    spill = Spill()
    spill.add([["ciao", "ciao come stai"], None, ["", "x y", "z"]])
    spill.add([["a", "b"]])
    assert spill.turns([2, 0, 2, 3]) == [["", "x y", "z"], ["ciao", "ciao come stai"], ["", "x y", "z"], ["a", "b"]]
    assert spill.turns([1]) == [[]]  # a row that was no conversation
    spill.close()


def test_lazy_texts_read_like_a_list():
    fetched = []
    texts = LazyTexts(list(range(10)), lambda keys: fetched.append(list(keys)) or [f"t{k}" for k in keys])
    plain = [f"t{k}" for k in range(10)]
    assert len(texts) == 10 and list(texts) == plain and texts[::3] == plain[::3] and texts[-1] == "t9"
    assert texts[4] == "t4" and texts[2:5] == plain[2:5] and texts[10:] == []
    assert take(texts, [7, 1]) == ["t7", "t1"] == take(plain, [7, 1])
    assert list(texts.subset([5, 0])) == ["t5", "t0"]
    assert [7, 1] in fetched  # one fetch for the batch, not one per text


def _plain_audit(conversations: list, normalized: list, top: int = 10) -> dict:
    """The prompt audit as the text-holding cleaner computed it (marco before issue 18): Counters of texts."""
    firsts = [next(m["content"] for m in c if m["role"] == "user") for c in conversations]
    normalized_firsts = [turns[next(j for j, m in enumerate(c) if m["role"] == "user")] for c, turns in zip(conversations, normalized)]
    original, prefixes, prefix_text = {}, Counter(), {}
    for text, norm in zip(firsts, normalized_firsts):
        original.setdefault(norm, text)
        if norm.count(" ") >= 8:
            prefix = " ".join(norm.split(" ", 8)[:8])
            prefixes[prefix] += 1
            prefix_text.setdefault(prefix, " ".join(text.split()[:8]))
    replies_of = defaultdict(set)
    sides = [" ".join(t for m, t in zip(c, turns) if m["role"] == "user" and t) for c, turns in zip(conversations, normalized)]
    for side, messages in zip(sides, conversations):
        replies_of[side].add(next(m["content"] for m in messages if m["role"] == "assistant"))
    side_text = dict(zip(sides, firsts))
    many = sorted(((len(r), s) for s, r in replies_of.items() if len(r) >= 5), reverse=True)[:top]
    total = len(conversations)
    return {"conversations": total, "distinct_first_turns": len(original),
            "top_first_turns": [{"text": original[n], "count": c, "share": round(c / total, 4)}
                                for n, c in Counter(normalized_firsts).most_common(top)],
            "top_prefixes": [{"text": prefix_text[p], "count": c, "share": round(c / total, 4)} for p, c in prefixes.most_common(3)],
            "many_replies": [{"prompt": side_text[s], "replies": n} for n, s in many]}


def test_the_hashed_prompt_audit_equals_counting_the_texts():
    rng = random.Random(3)
    words = ["come", "si", "dice", "casa", "Casa!", "ciao", "uno", "due", "tre", "quattro"]
    conversations = []
    for _ in range(400):  # few distinct texts: many ties, long prefixes, prompts with many replies
        messages = [{"role": "system", "content": "Sei un tutor."}] if rng.random() < 0.2 else []
        for _ in range(rng.choice([1, 1, 2])):
            messages.append({"role": "user", "content": " ".join(rng.choice(words) for _ in range(rng.choice([1, 9, 12])))})
            messages.append({"role": "assistant", "content": rng.choice(["Sì.", "No.", "Forse.", "Certo!", "Mai.", "Ecco."])})
        conversations.append(messages)
    normalized = normalized_turns(conversations)
    audit = PromptAudit()
    audit.add(range(len(conversations)), conversations, normalized, ["".join(m["role"][0] for m in c) for c in conversations])
    found = audit.result(lambda ps: [next(m["content"] for m in conversations[p] if m["role"] == "user") for p in ps],
                         lambda ps: [user_side(normalized[p], [m["role"][0] for m in conversations[p]]) for p in ps])
    assert found == _plain_audit(conversations, normalized)
    assert found["many_replies"] and found["top_prefixes"]  # the case exercised the ties it was written for
