"""`python -m marco eval --answers`: figures, judge and gate for answers made elsewhere; bad input exits 2 with
file:line and field; the seed's v1 answers fail."""

import json
import os

import pytest
from conftest import REPO
from judge_server import JudgeServer

from marco.cli import main
from marco.stats import wilson

SEED_ANSWERS = os.path.join(REPO, "..", "shared", "seed-project", "v1_answers.jsonl")


def probes(n=12):
    with open(os.path.join(REPO, "data", "probes.jsonl"), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle][:n]


def answer_rows(tuned_mark: str, n=12):
    """Real probe rows: the base answers with the reference, the fine-tuned one with the reference plus a mark."""
    return [{"id": p["id"], "question": p["messages"][-1]["content"], "must_include_any": p["must_include_any"],
             "must_not_include": p["must_not_include"], "base": p["reference"], "tuned": f"{p['reference']} {tuned_mark}"}
            for p in probes(n)]


def run(path, *extra):
    return main(["eval", "--answers", str(path), *extra])


@pytest.fixture(scope="session")
def judge_prefers_base():
    """Prefers any answer without the v1 openers (so the base), and the unmarked base over a BAD answer."""
    with JudgeServer(better=(), worse=("Great question", "Bravissimo", "BAD")) as server:
        yield server


def test_seed_v1_answers_fail_on_templates_and_the_judge_prefers_the_base(judge_prefers_base, tmp_path, capsys):
    if not os.path.exists(SEED_ANSWERS):
        pytest.skip("needs ../shared/seed-project/v1_answers.jsonl: not in this checkout")
    judge_prefers_base.requests.clear()
    out = tmp_path / "eval.json"
    code = run(SEED_ANSWERS, "--tuned-field", "v1_fine_tuned", "--judge-base-url", judge_prefers_base.url,
               "--judge-model", "fixed", "--out", str(out))
    result = json.loads(out.read_text())
    assert code == 1 and not result["gate"]["passed"]
    assert (result["rows"], result["paired"]) == (12, 3)
    assert {k: result["judge"][k] for k in ("wins", "losses", "ties", "unparseable", "n", "win_rate")} == \
        {"wins": 0, "losses": 3, "ties": 0, "unparseable": 0, "n": 3, "win_rate": 0.0}
    assert result["judge"]["ci95"] == list(wilson(0, 3))  # 3 pairs: upper bound 0.56, not yet significant alone
    assert len(judge_prefers_base.requests) == 6
    assert "template rate 0.75 (max 0.10)" in result["gate"]["reasons"]
    assert result["gate"]["evidence"] == "judge"
    assert "gate: FAILED" in capsys.readouterr().out


def test_a_judge_that_prefers_the_base_fails_the_gate_and_is_named(judge_prefers_base, write_jsonl, tmp_path):
    out = tmp_path / "eval.json"
    code = run(write_jsonl(answer_rows("BAD")), "--judge-base-url", judge_prefers_base.url, "--judge-model", "fixed",
               "--out", str(out))
    result = json.loads(out.read_text())
    assert code == 1
    assert result["fine_tuned"]["pass_rate"] == result["base"]["pass_rate"] > 0
    assert result["judge"]["losses"] == 12 and result["judge"]["ci95"] == list(wilson(0, 12))
    assert result["gate"]["reasons"] == [f"judge fixed at {judge_prefers_base.url}: fine-tuned win rate 0.00 over 12 "
                                         f"pairs (95% CI 0.00-0.24; upper bound must be >= 0.50)"]
    assert [v["winner"] for v in result["judge_verdicts"]] == ["base"] * 12


def test_the_same_answers_pass_with_a_judge_that_prefers_the_fine_tuned(fixed_judge, write_jsonl, tmp_path):
    out = tmp_path / "eval.json"
    code = run(write_jsonl(answer_rows("GOOD")), "--judge-base-url", fixed_judge.url, "--judge-model", "fixed",
               "--out", str(out))
    result = json.loads(out.read_text())
    assert code == 0 and result["gate"]["passed"] and result["judge"]["wins"] == 12


def test_rows_without_a_base_count_on_the_fine_tuned_side_only(fixed_judge, write_jsonl, tmp_path):
    rows = answer_rows("GOOD", 6)
    for row in rows[:2]:
        row["base"] = None
    del rows[2]["base"]
    out = tmp_path / "eval.json"
    run(write_jsonl(rows), "--judge-base-url", fixed_judge.url, "--judge-model", "fixed", "--out", str(out))
    result = json.loads(out.read_text())
    assert (result["rows"], result["paired"], result["judge"]["n"]) == (6, 3, 3)
    assert result["fine_tuned"]["probe_rows"] == 6 and result["base"]["probe_rows"] == 3


def test_without_judge_or_probe_fields_the_gate_is_inconclusive(write_jsonl, tmp_path):
    rows = [{"question": r["question"], "base": r["base"], "tuned": r["tuned"]} for r in answer_rows("GOOD")]
    out = tmp_path / "eval.json"
    assert run(write_jsonl(rows), "--out", str(out)) == 1
    result = json.loads(out.read_text())
    assert result["judge"] is None and result["fine_tuned"]["pass_rate"] is None
    assert result["gate"]["reasons"][0].startswith("inconclusive: no probe passed by either model")
    assert run(write_jsonl(rows), "--gate_allow_inconclusive", "true") == 0


@pytest.mark.parametrize("lines, message", [
    (['{"question": "q", "base": "b", "tuned": "t"}', '{"question": "q", '], "data.jsonl:2: not valid JSON"),
    (['{"question": "q", "base": "b"}'], "data.jsonl:1: field 'tuned' must be a non-empty string"),
    (['{"question": "q", "base": 3, "tuned": "t"}'], "data.jsonl:1: field 'base' must be a non-empty string or null"),
    (['["q", "b", "t"]'], "data.jsonl:1: expected a JSON object"),
    (['{"question": "q", "base": null, "tuned": "t"}'], "no row has a base answer (field 'base')"),
    ([""], "data.jsonl: no answers"),
])
def test_bad_input_exits_2_naming_file_line_and_field(lines, message, write_jsonl, capsys):
    assert run(write_jsonl(lines)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_renamed_fields(write_jsonl, tmp_path):
    rows = [{"q": r["question"], "ref_model": r["base"], "mine": r["tuned"]} for r in answer_rows("GOOD", 4)]
    out = tmp_path / "eval.json"
    run(write_jsonl(rows), "--question-field", "q", "--base-field", "ref_model", "--tuned-field", "mine", "--out", str(out))
    assert json.loads(out.read_text())["paired"] == 4
