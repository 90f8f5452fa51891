"""The bundled Italian tutoring data and probes: clean by marco's own audit, apart from each other, and
described truthfully by data/README.md."""

import json
import os
import re
from collections import Counter

import pytest
from conftest import REPO

from marco.data import run
from marco.data.dedup import near_duplicates
from marco.data.text import normalize, normalize_many

DATA = os.path.join(REPO, "data")
TYPES = {"grammar", "vocabulary", "culture", "conversation", "correction", "translation"}
LEVELS = {"A1", "A2", "B1", "B2", "C1"}


def load(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def conversations():
    return load("marco_it.jsonl")


@pytest.fixture(scope="module")
def probes():
    return load("probes.jsonl")


@pytest.fixture(scope="module")
def audit():
    return run(os.path.join(DATA, "marco_it.jsonl")).report


def test_audit_finds_no_duplicates_no_templates_nothing_invalid(audit):
    assert audit["counts"]["input"] >= 600
    assert audit["counts"]["rejected"] == 0, audit["counts"]["by_reason"]
    assert audit["templates"]["found"] == []
    assert audit["diversity"]["kept"]["top_opening_share"] < 0.01


def test_conversations_carry_id_type_level_topic(conversations):
    assert len({c["id"] for c in conversations}) == len(conversations)
    assert {c["type"] for c in conversations} == TYPES
    assert {c["level"] for c in conversations} == LEVELS
    assert all(isinstance(c["topic"], str) and c["topic"] for c in conversations)
    multi = sum(sum(m["role"] == "user" for m in c["messages"]) > 1 for c in conversations)
    assert 0.25 <= multi / len(conversations) <= 0.5
    assert any(c["messages"][0]["role"] == "system" for c in conversations)


def test_type_mix_follows_the_plan(conversations):
    share = {t: n / len(conversations) for t, n in Counter(c["type"] for c in conversations).items()}
    plan = {"grammar": 0.25, "vocabulary": 0.15, "culture": 0.15, "conversation": 0.20, "correction": 0.15,
            "translation": 0.10}
    assert all(abs(share[t] - plan[t]) < 0.03 for t in plan), share


def test_probes_are_complete_and_their_references_pass_their_own_checks(probes):
    assert len(probes) >= 60 and len({p["id"] for p in probes}) == len(probes)
    assert {p["type"] for p in probes} == TYPES
    for p in probes:
        assert p["messages"][-1]["role"] == "user" and p["level"] in LEVELS
        reference = p["reference"].lower()
        assert p["must_include_any"] and all(any(a.lower() in reference for a in group) for group in p["must_include_any"]), p["id"]
        assert not any(bad.lower() in reference for bad in p["must_not_include"]), p["id"]
    seed = [p for p in probes if p["messages"][-1]["content"] == "Explain the grammar in 'Sono andato al mare'"]
    assert len(seed) == 1 and "role reversal" in seed[0]["must_not_include"]


def test_no_probe_is_in_training_or_a_near_duplicate_of_it(conversations, probes):
    train_text = normalize(" ".join(m["content"] for c in conversations for m in c["messages"]))
    for p in probes:
        assert normalize(p["messages"][-1]["content"]) not in train_text, p["id"]
    as_conversation = lambda msgs: "\n".join(f"{m['role']}: {m['content']}" for m in msgs)  # noqa: E731
    texts = normalize_many([as_conversation(c["messages"]) for c in conversations] +
                           [as_conversation(p["messages"] + [{"role": "assistant", "content": p["reference"]}])
                            for p in probes])
    crossing = [d for d in near_duplicates(texts, threshold=0.5) if d.index >= len(conversations) > d.kept]
    assert crossing == []


def _card_table(card: str, column: str) -> dict:
    section = card.split(f"| {column} | conversations |")[1].split("\n\n")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^\| (.+?) \| (\d+) \|$", section, re.M)}


@pytest.mark.parametrize("field", ["type", "level", "topic"])
def test_data_card_counts_match_the_file(conversations, field):
    with open(os.path.join(DATA, "README.md"), encoding="utf-8") as handle:
        card = handle.read()
    assert _card_table(card, field) == dict(Counter(c[field] for c in conversations))


def test_data_card_audit_figures_match(audit):
    with open(os.path.join(DATA, "README.md"), encoding="utf-8") as handle:
        card = handle.read()
    kept = audit["diversity"]["kept"]
    assert f"| distinct-2 of assistant replies | {kept['distinct_2']:.3f} |" in card
    assert f"| compression ratio of assistant text (zlib) | {kept['compression_ratio']:.2f} |" in card
    assert f"{audit['counts']['input']} conversations" in card
