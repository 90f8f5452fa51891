"""marco.evaluate.review: signed pair ids, hidden sides, locked votes, per-step Wilson statistics, DPO export; a real Gradio
server driven by gradio_client (concurrent voters, a restart) and by headless Chromium."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import REPO, free_port

from marco.cli import main
from marco.evaluate import review, votes
from marco.stats import wilson

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
STEPS = (0, 20, 40)
PROBES = 8


def write_run(path):
    """A run folder as training leaves it: comparisons/step_N.jsonl in the callback's row format."""
    (path / "comparisons").mkdir(parents=True)
    for step in STEPS:
        lines = [json.dumps({"id": f"probe-{i}", "question": f"Question {i}?", "base": f"base answer {i} at {step}",
                             "fine_tuned": f"tuned answer {i} at {step}", "base_passes": False, "fine_tuned_passes": i % 2 == 0})
                 for i in range(PROBES)]
        (path / "comparisons" / f"step_{step:06d}.jsonl").write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def run(tmp_path):
    return write_run(tmp_path / "run")


def choice_for(shown: dict, winner: str) -> str:
    """The button a reviewer who prefers `winner` presses for this pair (tests know the texts, reviewers don't)."""
    return "a" if shown["a"].startswith("tuned" if winner == "fine_tuned" else "base") else "b"


def test_pair_defaults_to_the_latest_step_and_shows_no_side(run):
    shown = review.pair(run)
    assert set(shown) == {"pair_id", "step", "question", "a", "b"} and shown["step"] == 40
    assert {shown["a"].split()[0], shown["b"].split()[0]} == {"base", "tuned"}
    assert "fine_tuned" not in shown["pair_id"] and "base" not in shown["pair_id"]
    assert review.pair(run, 20)["step"] == 20


def test_sides_are_random_per_pair(run):
    firsts = {review.pair(run)["a"].split()[0] for _ in range(40)}
    assert firsts == {"base", "tuned"}


def test_votes_map_a_and_b_to_the_right_model(run):
    for winner in ("fine_tuned", "base", "fine_tuned"):
        shown = review.pair(run)
        review.vote(run, shown["pair_id"], choice_for(shown, winner), "a comment")
    assert [v["winner"] for v in review.read_votes(run)] == ["fine_tuned", "base", "fine_tuned"]
    assert review.read_votes(run)[0]["comment"] == "a comment"


def test_pairs_go_to_the_least_voted_probe_first(run):
    seen = set()
    for _ in range(PROBES):
        shown = review.pair(run, 0)
        seen.add(review.open_id(run, shown["pair_id"])[1])
        review.vote(run, shown["pair_id"], "tie")
    assert len(seen) == PROBES


@pytest.mark.parametrize("tamper", [
    lambda pid, run2: pid[:-3] + ("AAA" if not pid.endswith("AAA") else "BBB"),  # a changed signature
    lambda pid, run2: review.sign(run2, 40, "probe-1"),  # signed with another run's key
    lambda pid, run2: "WzQwLCJwcm9iZS0xIiwiMCJd.abc",  # a made-up id
    lambda pid, run2: "",
])
def test_forged_or_foreign_ids_are_refused(run, tmp_path, tamper):
    other = write_run(tmp_path / "other")
    with pytest.raises(review.ReviewError, match="unknown pair id"):
        review.vote(run, tamper(review.pair(run)["pair_id"], other), "a")
    assert review.read_votes(run) == []


def test_bad_choice_and_double_votes_are_refused(run):
    shown = review.pair(run)
    with pytest.raises(review.ReviewError, match="choice must be one of a, b, tie, both_bad"):
        review.vote(run, shown["pair_id"], "A")
    assert review.vote(run, shown["pair_id"], "a") == {"recorded": True, "votes": 1}
    with pytest.raises(review.ReviewError, match="already has a vote"):
        review.vote(run, shown["pair_id"], "b")


def cast(run, step, winners):
    for winner in winners:
        shown = review.pair(run, step)
        review.vote(run, shown["pair_id"], winner if winner in ("tie", "both_bad") else choice_for(shown, winner))


def test_summary_per_step_with_wilson_and_json_command(run, capsys):
    cast(run, 20, ["fine_tuned", "fine_tuned", "base", "tie"])
    cast(run, 40, ["fine_tuned"] * 4 + ["base", "both_bad"])
    assert main(["review", run, "--json"]) == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    assert steps == [
        {"step": 20, "fine_tuned_wins": 2, "base_wins": 1, "ties": 1, "both_bad": 0, "n": 4, "win_rate": 0.625,
         "ci95": list(wilson(2.5, 4))},
        {"step": 40, "fine_tuned_wins": 4, "base_wins": 1, "ties": 0, "both_bad": 1, "n": 6, "win_rate": 0.75,
         "ci95": list(wilson(4.5, 6))}]
    assert review.latest(run)["step"] == 40
    assert main(["review", run]) == 0
    assert "      40           4     1     0         1    6      0.75" in capsys.readouterr().out


def test_export_dpo_from_votes(run, tmp_path, capsys):
    cast(run, 40, ["fine_tuned", "base", "tie", "both_bad"])
    out = tmp_path / "prefs.jsonl"
    assert main(["review", run, "--export-dpo", str(out)]) == 0
    assert f"wrote 2 preference pairs to {out}; skipped 1 tie, 1 both bad" in capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    votes = [v for v in review.read_votes(run) if v["winner"] in ("fine_tuned", "base")]
    for row, vote in zip(rows, votes):
        i = vote["id"].split("-")[1]
        tuned, base = f"tuned answer {i} at 40", f"base answer {i} at 40"
        assert row["prompt"] == [{"role": "user", "content": f"Question {i}?"}]
        assert (row["chosen"][0]["content"], row["rejected"][0]["content"]) == \
            ((tuned, base) if vote["winner"] == "fine_tuned" else (base, tuned))
        assert row["chosen"][0]["role"] == row["rejected"][0]["role"] == "assistant"


def test_export_dpo_from_judge_file_and_judged_comparisons(run, tmp_path):
    verdicts = [{"id": "x", "question": "Q?", "base": "B", "fine_tuned": "T", "winner": w} for w in ("fine_tuned", "base", "tie", "unparseable")]
    result = tmp_path / "eval.json"
    result.write_text(json.dumps({"judge_verdicts": verdicts}))
    out = tmp_path / "prefs.jsonl"
    assert main(["review", str(result), "--export-dpo", str(out), "--from", "judge"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in rows] == [("T", "B"), ("B", "T")]

    step_file = os.path.join(run, "comparisons", "step_000040.jsonl")
    lines = [json.loads(line) for line in open(step_file)]
    lines[0]["judge"] = {"winner": "fine_tuned"}
    lines[1]["judge"] = {"winner": "tie"}
    with open(step_file, "w") as handle:
        handle.write("\n".join(map(json.dumps, lines)) + "\n")
    assert main(["review", run, "--export-dpo", str(out), "--from", "judge"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in rows] == [("tuned answer 0 at 40", "base answer 0 at 40")]


def test_review_of_a_missing_run_exits_2(tmp_path, capsys):
    assert main(["review", str(tmp_path / "nope")]) == 2
    assert "no such run folder" in capsys.readouterr().err


def launch(run):
    import gradio as gr

    with gr.Blocks() as ui:
        with gr.Tab("Blind review"):
            review.review_tab(run)
    _, url, _ = ui.queue(default_concurrency_limit=None).launch(server_name="127.0.0.1", server_port=free_port(),
                                                                prevent_thread_lock=True, quiet=True)
    return ui, url


@pytest.fixture
def server(run):
    from gradio_client import Client

    ui, url = launch(run)
    yield url, Client(url, verbose=False)
    ui.close()


def test_api_pair_and_vote_through_gradio_client(server, run):
    _, client = server
    shown = client.predict(None, api_name="/review_pair")
    assert shown["step"] == 40 and set(shown) == {"pair_id", "step", "question", "a", "b"}
    assert client.predict(20, api_name="/review_pair")["step"] == 20
    assert client.predict(shown["pair_id"], choice_for(shown, "fine_tuned"), "clear", api_name="/review_vote") == \
        {"recorded": True, "votes": 1}
    assert review.summary(run)[0]["fine_tuned_wins"] == 1


def test_the_docs_snippet_shows_a_pair_and_records_a_vote(server, run):
    url, _ = server
    page = open(os.path.join(REPO, "docs", "review.md"), encoding="utf-8").read()
    snippet = page.split("```python")[1].split("```")[0].replace("http://127.0.0.1:7860/", url)
    scope = {}
    exec(snippet, scope)
    assert set(scope["shown"]) == {"pair_id", "step", "question", "a", "b"}
    assert sum(row["n"] for row in review.summary(run)) == 1


def test_api_errors_are_clear(server):
    from gradio_client.exceptions import AppError

    _, client = server
    with pytest.raises(AppError, match="unknown pair id"):
        client.predict("forged.id", "a", "", api_name="/review_vote")
    shown = client.predict(None, api_name="/review_pair")
    with pytest.raises(AppError, match="choice must be one of"):
        client.predict(shown["pair_id"], "maybe", "", api_name="/review_vote")
    with pytest.raises(AppError, match="no comparison at step 7"):
        client.predict(7, api_name="/review_pair")


def test_concurrent_voters_lose_no_vote(server, run):
    from gradio_client import Client

    url, _ = server
    voters = 8

    def one_voter(i):
        client = Client(url, verbose=False)
        results = []
        for _ in range(2):
            shown = client.predict(None, api_name="/review_pair")
            results.append(client.predict(shown["pair_id"], "tie", f"voter {i}", api_name="/review_vote"))
        return results

    with ThreadPoolExecutor(voters) as pool:
        results = [r for batch in pool.map(one_voter, range(voters)) for r in batch]
    assert sorted(r["votes"] for r in results) == list(range(1, 2 * voters + 1))
    votes = review.read_votes(run)
    assert len(votes) == 2 * voters and len({v["pair_id"] for v in votes}) == 2 * voters


def test_pair_ids_survive_a_restart(run):
    from gradio_client import Client

    ui, url = launch(run)
    shown = Client(url, verbose=False).predict(None, api_name="/review_pair")
    ui.close()
    ui, url = launch(run)
    try:
        assert Client(url, verbose=False).predict(shown["pair_id"], "b", "", api_name="/review_vote")["recorded"]
    finally:
        ui.close()
    assert len(review.read_votes(run)) == 1


@pytest.mark.slow
def test_a_real_browser_votes_blind(server, run):
    from playwright.sync_api import expect, sync_playwright

    url, _ = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox"] if os.geteuid() == 0 else [])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        expect(page.locator("#review-question")).to_contain_text("Question")
        a_text = page.locator("#review-a textarea").input_value()
        assert a_text.split()[0] in ("base", "tuned") and "at 40" in a_text
        page.locator("#review-comment textarea").fill("A reads better")
        page.get_by_role("button", name="A is better").click()
        expect(page.locator("#review-status")).to_contain_text("Recorded: 1 votes so far")
        browser.close()
    [vote] = review.read_votes(run)
    assert vote["winner"] == ("fine_tuned" if a_text.startswith("tuned") else "base")
    assert vote["comment"] == "A reads better" and vote["step"] == 40


def test_the_key_is_created_once_private_and_shared_by_concurrent_starts(tmp_path):
    run = write_run(tmp_path / "fresh")
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: review.key(run), range(32)))
    assert len(keys) == 1 and len(keys.pop()) == 32
    assert oct(os.stat(os.path.join(run, review.KEY_FILE)).st_mode & 0o777) == "0o600"
    assert sorted(os.listdir(run)) == [review.KEY_FILE, "comparisons"]  # nothing left aside


# --- end to end on a real trained run: the app's tab, `marco review`, the DPO export and the staged card ---

def copied_run(trained_tiny_run, tmp_path) -> str:
    """A copy of the shared trained run, to write votes into (the fixture itself is read-only)."""
    import shutil

    out = str(tmp_path / "run")
    shutil.copytree(trained_tiny_run, out, ignore=shutil.ignore_patterns("checkpoint-*"))
    return out


def answers_at(run: str, step: int) -> dict:
    """{question: row} of a step, to tell which shown answer is the fine-tuned one (a reviewer can't)."""
    return {row["question"]: row for row in review.rows(run, step).values()}


@pytest.mark.slow
def test_votes_in_the_app_reach_review_dpo_export_and_the_staged_card(trained_tiny_run, tmp_path, capsys):
    from gradio_client import Client

    from marco.publish import hub
    from marco.serve import demo

    run = copied_run(trained_tiny_run, tmp_path)
    latest = max(review.steps(run))
    rows = answers_at(run, latest)
    assert all(r["base"] != r["fine_tuned"] for r in rows.values())  # every pair can be told apart
    ui = demo.build(demo.load(run))  # the app as app.py serves this run: the chat and the "Blind review" tab
    _, url, _ = ui.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        client, cast_votes = Client(url, verbose=False), []
        for winner in ["fine_tuned"] * 4 + ["base", "tie"]:
            shown = client.predict(None, api_name="/review_pair")
            row = rows[shown["question"]]
            choice = winner if winner == "tie" else "a" if shown["a"] == row[winner] else "b"
            assert client.predict(shown["pair_id"], choice, "", api_name="/review_vote")["recorded"]
            cast_votes.append((row, winner))
    finally:
        ui.close()

    capsys.readouterr()  # the app's own output
    assert main(["review", run, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == [
        {"step": latest, "fine_tuned_wins": 4, "base_wins": 1, "ties": 1, "both_bad": 0, "n": 6, "win_rate": 0.75,
         "ci95": list(wilson(4.5, 6))}]

    prefs = tmp_path / "prefs.jsonl"
    assert main(["review", run, "--export-dpo", str(prefs)]) == 0
    exported = [json.loads(line) for line in prefs.read_text().splitlines()]
    decisive = [(row, winner) for row, winner in cast_votes if winner != "tie"]
    assert [(e["prompt"][0]["content"], e["chosen"][0]["content"], e["rejected"][0]["content"]) for e in exported] == \
        [(row["question"], row[winner], row["base" if winner == "fine_tuned" else "fine_tuned"]) for row, winner in decisive]

    assert main(["push", run, "--repo-id", "marco-test/tutor-tiny", "--dry-run"]) == 0
    stage = os.path.join(run, "hub", "model")
    staged_card = open(os.path.join(stage, "README.md"), encoding="utf-8").read()
    low, high = wilson(4.5, 6)
    assert (f"blind human review: 4 of 6 votes for the fine-tuned model at step {latest} (1 for the base, 1 ties, 0 "
            f"both bad); win rate 0.75, 95% Wilson interval {low:.2f}-{high:.2f}") in staged_card
    assert f"- ok: blind human review at step {latest}: fine-tuned win rate 0.75 over 6 pairs" in staged_card
    assert "**marco's gate: passed.**" in staged_card and "inconclusive" not in staged_card
    staged = {os.path.relpath(os.path.join(r, f), stage) for r, _, fs in os.walk(stage) for f in fs}
    assert review.KEY_FILE not in staged and votes.VOTES_FILE not in staged
    assert os.path.exists(os.path.join(run, review.KEY_FILE)) and f"comparisons/step_{latest:06d}.jsonl" in staged
    assert hub.load_run(run)[0].gate["evidence"] == "probes"  # the run's own report stays as training wrote it


@pytest.mark.slow
def test_reviewers_who_prefer_the_base_stop_the_push(trained_tiny_run, tmp_path, capsys):
    run = copied_run(trained_tiny_run, tmp_path)
    latest = max(review.steps(run))
    rows = answers_at(run, latest)
    for _ in range(8):
        shown = review.pair(run)
        review.vote(run, shown["pair_id"], "a" if shown["a"] == rows[shown["question"]]["base"] else "b")
    assert main(["push", run, "--repo-id", "marco-test/tutor-tiny", "--dry-run"]) == 2
    assert (f"refusing to publish: the fine-tuned model failed marco's gate (blind human review at step {latest}: "
            f"fine-tuned win rate 0.00 over 8 pairs") in capsys.readouterr().err
    assert not os.path.exists(os.path.join(run, "hub", "model", "README.md"))


@pytest.mark.slow
def test_the_tiny_run_passes_only_as_an_allowed_inconclusive_and_its_card_says_why(trained_tiny_run, tmp_path):
    from marco.evaluate import gate
    from marco.publish import hub

    run = copied_run(trained_tiny_run, tmp_path)
    report, recipe = hub.load_run(run)
    assert report.evaluation["base"]["pass_rate"] == report.evaluation["fine_tuned"]["pass_rate"] == 0.0
    assert recipe["gate_allow_inconclusive"] is True and report.gate["passed"]
    assert report.gate["checks"][0]["name"] == "inconclusive"
    strict = gate.verdict(report.evaluation, gate.policy_of({**recipe, "gate_allow_inconclusive": False}))
    assert not strict["passed"] and strict["reasons"][0].startswith(gate.INCONCLUSIVE)  # no vacuous pass
    staged_card = open(os.path.join(hub.stage_model(run, "marco-test/tutor-tiny", "apache-2.0"), "README.md")).read()
    assert ("inconclusive: no probe passed by either model; allowed by gate_allow_inconclusive because marco-tiny is "
            "a demo model of a few million parameters that passes no probe") in staged_card
    assert "blind human review" not in staged_card
