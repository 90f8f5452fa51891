"""marco.data.coverage: the characters a tokenizer turns into its unknown token or cannot give back, measured with
the seed models' real tokenizers on the bundled Italian data."""

import json
import os

import pytest
from conftest import REPO
from real_models import QWEN_TOKENIZER, T5_TOKENIZER, shared_tokenizer

from marco import tiny
from marco.data.coverage import coverage


def tokenizer(path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


@pytest.fixture(scope="module")
def messages():
    with open(os.path.join(REPO, "data", "marco_it.jsonl"), encoding="utf-8") as handle:
        return [m["content"] for line in handle for m in json.loads(line)["messages"]]


def test_flan_t5_cannot_write_italian_accents_on_the_bundled_data(messages):
    report = coverage(tokenizer(shared_tokenizer(T5_TOKENIZER)), messages)
    assert (report["messages"], report["messages_with_unknown"]) == (2338, 449)
    counts = {row["char"]: row["messages"] for row in report["unknown"]}
    assert [counts[c] for c in "ìòÈ→"] == [197, 154, 84, 81] and counts["😂"] == 3
    assert list(counts)[:4] == list("ìòÈ→") and "è" not in counts and "à" not in counts  # Flan-T5 has those two
    first = report["unknown"][0]
    assert first["codepoint"] == "U+00EC" and "ì" in first["example"] and report["unknown_token"] == "<unk>"
    changed = {row["char"]: row["becomes"] for row in report["not_round_trip"]}
    assert changed == {"\n": " ", "…": "..."}  # kept as tokens, but not given back as written
    assert report["warning"].startswith("tokenizer ") and "449 of 2,338 messages ('ì' 197, 'ò' 154" in report["warning"]


@pytest.mark.parametrize("path", [QWEN_TOKENIZER, "marco-tiny"])
def test_byte_level_bpe_loses_nothing(messages, path):
    report = coverage(tokenizer(tiny.resolve(path) if path == "marco-tiny" else shared_tokenizer(path)), messages)
    assert report["unknown"] == report["not_round_trip"] == [] and report["warning"] is None
    assert report["characters"] > 100


def test_only_the_messages_with_a_missing_character_count():
    t5 = tokenizer(shared_tokenizer(T5_TOKENIZER))
    report = coverage(t5, ["però", "pero", "perché", "", "così però"])  # è exists in Flan-T5, ò and ì do not
    assert {row["char"]: row["messages"] for row in report["unknown"]} == {"ò": 2, "ì": 1}
    assert report["messages"] == 4 and report["messages_with_unknown"] == 2
    assert coverage(t5, ["pero", "perché"])["warning"] is None
