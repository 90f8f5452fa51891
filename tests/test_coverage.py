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


def audit(tmp_path, small_data, tokenizer_path: str) -> dict:
    """`marco data audit` of 24 real conversations with this tokenizer: report.json, with report.html as "html"."""
    from marco.cli import main

    assert main(["data", "audit", small_data, "--tokenizer", tokenizer_path, "--out", str(tmp_path / "a")]) == 0
    report = json.loads((tmp_path / "a" / "report.json").read_text(encoding="utf-8"))
    return {**report, "html": (tmp_path / "a" / "report.html").read_text(encoding="utf-8")}


def test_data_audit_with_flan_t5_warns_in_report_json_and_html(tmp_path, small_data):
    from html import escape

    report = audit(tmp_path, small_data, shared_tokenizer(T5_TOKENIZER))
    found, kept = report["tokenizer_coverage"], report["counts"]["kept"]
    with open(small_data, encoding="utf-8") as handle:
        messages = [m["content"] for line in handle for m in json.loads(line)["messages"]]
    accented = sum("ì" in m for m in messages)
    assert kept == 24 and found["messages"] == len(messages)  # every conversation is kept: every message is checked
    assert {"ì", "ò"} <= {row["char"] for row in found["unknown"]} and "\n" in [r["char"] for r in found["not_round_trip"]]
    assert next(row["messages"] for row in found["unknown"] if row["char"] == "ì") == accented > 0
    warning = next(w for w in report["warnings"] if w.startswith("tokenizer "))
    assert f"become <unk> in {found['messages_with_unknown']} of {found['messages']} messages" in warning
    assert "newlines come back as spaces" in warning and escape(warning) in report["html"]


@pytest.mark.parametrize("path", ["marco-tiny", QWEN_TOKENIZER])
def test_data_audit_with_a_byte_level_tokenizer_raises_no_alarm(tmp_path, small_data, path):
    report = audit(tmp_path, small_data, tiny.resolve(path) if path == "marco-tiny" else shared_tokenizer(path))
    assert report["tokenizer_coverage"]["unknown"] == report["tokenizer_coverage"]["not_round_trip"] == []
    assert report["tokenizer_coverage"]["warning"] is None
    assert not any(w.startswith("tokenizer ") for w in report["warnings"])


def test_the_model_card_carries_the_tokenizer_warning(tmp_path, small_data, trained_tiny_run):
    from dataclasses import replace

    from marco import pipeline
    from marco.publish import card, hub

    summary = pipeline.data_summary(audit(tmp_path, small_data, shared_tokenizer(T5_TOKENIZER)))
    report, config = hub.load_run(str(trained_tiny_run))
    assert "Tokenizer coverage" not in str(card.model_card(report, config, "user/tutor", "apache-2.0"))
    text = str(card.model_card(replace(report, data=summary), config, "user/tutor", "apache-2.0"))
    assert summary["tokenizer_warning"] and f"**Tokenizer coverage:** {summary['tokenizer_warning']}." in text


def test_train_py_audits_with_the_runs_tokenizer(trained_tiny_run):
    """marco-tiny's byte-level BPE carries every character: the audit says so, and nothing reaches the card."""
    report = json.loads((trained_tiny_run / "data" / "report.json").read_text(encoding="utf-8"))
    assert report["tokenizer_coverage"]["messages"] > 0 and report["tokenizer_coverage"]["warning"] is None
    assert report["lengths"]["unit"] == "tokens"
    assert json.loads((trained_tiny_run / "marco_report.json").read_text())["data"]["tokenizer_warning"] is None
