"""Decontamination (`--probes`, reason probe_overlap) and the prompt-side audit, with look-alike negatives."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, chat

from marco.data import CleaningConfig, UnusableInput, decontaminate, run

PROBES = [{"id": "p1", "messages": [{"role": "user", "content": "Explain the grammar in 'Sono andato al mare'"}]},
          {"id": "p2", "messages": [{"role": "user", "content": "Why do Italians say 'mia sorella' but 'le mie sorelle'?"}]}]
TRAIN = [
    chat("Explain the grammar in: sono andato al mare!", "Passato prossimo con essere.", id="exact"),
    chat("A question from my book. Why do Italians say mia sorella but le mie sorelle? Thanks", "Niente articolo.",
         id="near"),
    chat("Explain the grammar in 'Sono andata in montagna'", "Anche qui essere, accordo al femminile.", id="other"),
    chat("Why do Italians say 'mio fratello'?", "Possessivo maschile singolare.", id="similar_topic"),
]


@pytest.fixture
def probes_file(tmp_path):
    path = tmp_path / "probes.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in PROBES), encoding="utf-8")
    return str(path)


def test_exact_and_near_probe_questions_are_rejected_look_alikes_kept(write_jsonl, probes_file):
    result = run(write_jsonl(TRAIN), CleaningConfig(decontaminate_probes=probes_file))
    rejected = {r["id"]: r["rejection"] for r in result.rejected}
    assert set(rejected) == {"exact", "near"} and {r["reason"] for r in rejected.values()} == {"probe_overlap"}
    assert "exact duplicate of probe p1" in rejected["exact"]["detail"]
    assert "near" in rejected["near"]["detail"] and rejected["near"]["duplicate_of"] == "p2"
    assert [r["id"] for r in result.kept] == ["other", "similar_topic"]


def test_decontaminate_is_callable_on_conversations_for_training():
    hits = decontaminate([r["messages"] for r in TRAIN], [p["messages"][0]["content"] for p in PROBES])
    assert [(h.conversation, h.probe, h.exact) for h in hits] == [(0, 0, True), (1, 1, False)]


@pytest.mark.parametrize("content, message", [("", "no probe in the file"), ('{"id": "x"}\n', ":1: messages"),
                                              ('{"messages": [{"role": "assistant", "content": "a"}]}\n', "no user turn")])
def test_a_bad_probes_file_is_a_clear_error_before_any_work(tmp_path, write_jsonl, content, message):
    path = tmp_path / "bad_probes.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UnusableInput, match=message):
        run(write_jsonl(TRAIN), CleaningConfig(decontaminate_probes=str(path)))


def test_cli_probes_option(write_jsonl, probes_file, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "marco", "data", "clean", write_jsonl(TRAIN), "--out", str(tmp_path / "o"),
                           "--probes", probes_file], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": REPO})
    assert proc.returncode == 0, proc.stderr
    assert "probe_overlap" in proc.stdout and "2 probe overlaps" in proc.stdout


def dominated(n_same: int, n_other: int):
    same = [chat("Can you help me learn Italian grammar?", f"Certo! Iniziamo dal punto {i}.", id=f"s{i}") for i in range(n_same)]
    return same + [chat(f"Come si dice parola numero {i}?", f"Si dice termine {i}.", id=f"o{i}") for i in range(n_other)]


def test_a_dominant_first_user_turn_is_quoted_and_many_replies_noted(write_jsonl):
    warnings = run(write_jsonl(dominated(6, 14))).report["warnings"]
    assert any('opens 6 of 20 conversations (30%): "Can you help me learn Italian grammar?"' in w for w in warnings)
    assert any('one prompt has 6 different replies: "Can you help me learn Italian grammar?"' in w for w in warnings)


def test_a_shared_opening_of_the_first_user_turns_is_quoted(write_jsonl):
    prefixed = [chat(f"I'm learning Italian. Can you help me with this: word {i} please?", f"Risposta {i}.", id=i)
                for i in range(5)]
    others = [chat(f"Come si dice parola numero {i}?", f"Si dice termine {i}.", id=f"o{i}") for i in range(10)]
    warnings = run(write_jsonl(prefixed + others)).report["warnings"]
    assert any("33% of the first user turns start with the same words: \"I'm learning Italian. Can you help me with"
               in w for w in warnings)


def test_a_turn_below_a_fifth_is_not_warned_about(write_jsonl):
    warnings = run(write_jsonl(dominated(3, 17))).report["warnings"]
    assert not any("opens" in w or "different replies" in w for w in warnings)


def test_duplicate_prompts_rejected_only_when_asked(write_jsonl):
    replies = ["Certo, partiamo dagli articoli determinativi.", "Volentieri: oggi verbi regolari in -are.",
               "Sì! Prima i pronomi personali soggetto.", "Ok, cominciamo con il plurale dei nomi."]
    path = write_jsonl([chat("Can you help me learn Italian grammar?", r, id=f"s{i}") for i, r in enumerate(replies)]
                       + [chat("Come si dice 'book'?", "Libro, maschile.", id="o")])
    assert "duplicate_prompt" not in run(path).report["counts"]["by_reason"]
    result = run(path, CleaningConfig(reject_duplicate_prompts=True))
    assert result.report["counts"]["by_reason"]["duplicate_prompt"] == 3
    assert {r["rejection"]["duplicate_of"] for r in result.rejected} == {"s0"}
