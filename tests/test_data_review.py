"""A reader's review of the cleaner's verdicts: the Data review tab (`python app.py --data-review DIR`) on a real
server, its decisions in DIR/overrides.jsonl, and their application by `marco data clean --overrides` and train.py's
`data_overrides` (marco/data/overrides.py); in headless Chromium, the evidence marked and the data shown as text."""

import json
import os
import sys

import pytest
from conftest import FAST, REPO, browsing, chat, free_port, started

from marco import cli
from marco.data import CleaningConfig, UnusableInput, run
from marco.data.reasons import REASONS
from marco.data.verdicts import SAMPLE, Verdicts
from marco.serve import demo

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ATTACK = '<img src=x id=injected onerror="document.title=\'pwned\'">'
DISCLAIMER = "As an AI language model, I cannot have feelings."


@pytest.fixture
def data(write_jsonl):
    """A boilerplate rejection (HTML in its text), two kept records, an exact duplicate, a line that is not JSON."""
    return write_jsonl([
        chat(f"What does <b>ciao</b> mean? {ATTACK}", f"{DISCLAIMER} {ATTACK} Ciao means hello or goodbye.", id="b1"),
        chat("How do I say thank you?", "You say grazie, and grazie mille for many thanks.", id="k1"),
        chat("What is the plural of libro?", "The plural of libro is libri: masculine nouns in -o take -i.", id="k2"),
        chat("What is the plural of libro?", "The plural of libro is libri: masculine nouns in -o take -i.", id="d1"),
        "{not json",
    ])


def decisions_file(tmp_path, *decisions, name="overrides.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(d) + "\n" if isinstance(d, dict) else d + "\n" for d in decisions))
    return str(path)


def clean_out(argv, capsys) -> tuple[int, str]:
    code = cli.data_command(argv)
    return code, capsys.readouterr().err


def by_name(result):
    return {record.get("id", "line 5"): (kept, record) for kept, record in result.records()}


def test_overrides_move_records_the_last_decision_wins_and_the_report_says_how_often_the_reader_agreed(data, tmp_path):
    path = decisions_file(
        tmp_path,
        {"id": "k1", "decision": "drop", "note": "too short to teach"},
        {"id": "k2", "decision": "keep"}, {"id": "k2", "decision": "drop", "note": "second look"},  # the later wins
        {"id": "b1", "decision": "keep", "note": "the disclaimer is quoted"},
        {"id": "d1", "decision": "drop"},
        {"id": "line 5", "decision": "keep"},  # not a conversation: cannot be kept
        {"id": "ghost", "decision": "drop"})
    result = run(data, CleaningConfig(data_overrides=path))
    records = by_name(result)
    assert len(records) == 5 == result.report["counts"]["input"]  # conservation: every line once
    kept, k1 = records["k1"]
    assert not kept and k1["rejection"]["reason"] == "reviewer_drop" and '"too short to teach"' in k1["rejection"]["detail"]
    assert not records["k2"][0] and '"second look"' in records["k2"][1]["rejection"]["detail"]
    kept, b1 = records["b1"]
    assert kept and b1["flags"] == [{"reason": "reviewer_keep", "overruled": "boilerplate",
                                     "note": "the disclaimer is quoted", "detail": f"{data}:1: kept by the reader over "
                                     'boilerplate: "the disclaimer is quoted"'}]
    assert records["line 5"][1]["rejection"]["reason"] == "invalid_json"  # validation rejections stay
    report = result.report
    assert report["counts"]["kept"] == 1 and report["counts"]["by_reason"]["reviewer_drop"] == 2
    assert report["reasons"]["reviewer_drop"] == REASONS["reviewer_drop"].meaning
    review = report["review"]
    assert (review["decisions"], review["records_reviewed"], review["dropped"], review["kept"]) == (6, 5, 2, 1)
    assert review["by_verdict"] == {
        "boilerplate": {"reviewed": 1, "agreed": 0, "precision": 0.0},
        "exact_duplicate": {"reviewed": 1, "agreed": 1, "precision": 1.0},
        "invalid_json": {"reviewed": 1, "agreed": 0, "precision": 0.0},
        "kept": {"reviewed": 2, "agreed": 0, "precision": 0.0}}
    assert review["unknown_ids"] == {"count": 1, "first": ["ghost"]}
    assert review["kept_refused"] == {"count": 1, "first": ["line 5"]}
    assert any("1 reviewed ids are not in the data (first: ghost)" in w for w in report["warnings"])
    assert any("cannot be kept by a reader" in w for w in report["warnings"])


@pytest.mark.parametrize("line, says", [
    ('{"id": "k1", "decision": "maybe"}', "overrides.jsonl:2: field decision: must be 'keep' or 'drop', got 'maybe'"),
    ('{"decision": "drop"}', "overrides.jsonl:2: field id: must be the record's id"),
    ('{"id": "k1", "decision": "drop", "note": 3}', "overrides.jsonl:2: field note: must be text, got int"),
    ("{cut short", "overrides.jsonl:2: invalid JSON"),
    ('["k1", "drop"]', "overrides.jsonl:2: expected a JSON object, got list"),
])
def test_a_bad_overrides_line_is_one_line_naming_the_file_the_line_and_the_field(data, tmp_path, capsys, line, says):
    path = decisions_file(tmp_path, {"id": "k2", "decision": "drop"}, line)
    code, err = clean_out(["clean", data, "--out", str(tmp_path / "out"), "--overrides", path], capsys)
    assert code == 2 and says in err and err.count("\n") == 1 and not (tmp_path / "out").exists()


@pytest.mark.slow(seconds=10)
def test_the_tab_writes_decisions_that_data_clean_applies_without_loading_a_model(data, tmp_path, capsys):
    from gradio_client.exceptions import AppError

    folder = tmp_path / "cleaned"
    assert clean_out(["clean", data, "--out", str(folder)], capsys)[0] == 0
    port = free_port()
    # run where outputs/marco-tiny is absent: loading the default model would fail, so none is loaded
    with started([sys.executable, os.path.join(REPO, "app.py"), "--data-review", str(folder), "--port", str(port)],
                 port, cwd=tmp_path) as client:
        shown = client.predict("boilerplate", 0, api_name="/data_review_record")
        assert (shown["id"], shown["line"], shown["verdicts"], shown["decision"]) == ("b1", 1, ["boilerplate"], None)
        assert shown["findings"][0]["evidence"] == DISCLAIMER and shown["messages"][1]["content"].startswith(DISCLAIMER)
        marked = client.predict("kept (random sample)", 0, "drop", " too short ", api_name="/data_review_mark")
        client.predict("boilerplate", 0, "keep", "quoted on purpose", api_name="/data_review_mark")
        with pytest.raises(AppError, match="cannot be kept by a reader"):
            client.predict("invalid_json", 0, "keep", "", api_name="/data_review_mark")
        assert client.predict("boilerplate", 0, api_name="/data_review_record")["decision"]["note"] == "quoted on purpose"
    lines = [json.loads(line) for line in (folder / "overrides.jsonl").read_text().splitlines()]
    assert len(lines) == 2 and all(set(line) == {"id", "decision", "note", "reviewer", "time"} for line in lines)
    assert {"recorded": True, **lines[0]} == {**marked, "note": "too short"} and marked["id"] in ("k1", "k2")
    assert len(lines[0]["reviewer"]) == 12 and "127.0.0.1" not in lines[0]["reviewer"]
    decisions = str(folder / "overrides.jsonl")
    code, _ = clean_out(["clean", data, "--out", str(folder), "--overrides", decisions], capsys)  # into the same folder
    assert code == 0
    assert (folder / "overrides.jsonl").exists() and (folder / ".review_key").exists()  # carried into the new set
    kept = [json.loads(line) for line in (folder / "kept.jsonl").read_text().splitlines()]
    rejected = [json.loads(line) for line in (folder / "rejected.jsonl").read_text().splitlines()]
    assert {r["id"] for r in kept} == {"k1", "k2"} - {marked["id"]} | {"b1"} and len(kept) + len(rejected) == 5
    report = json.loads((folder / "report.json").read_text())
    assert report["review"]["records_reviewed"] == 2 and report["counts"]["by_reason"]["reviewer_drop"] == 1
    html = (folder / "report.html").read_text()
    assert "Reviewed by a reader" in html and "<td>boilerplate</td>" in html


@pytest.mark.slow(seconds=10)
def test_a_training_run_folder_is_reviewed_and_train_py_applies_data_overrides(small_data, tmp_path, capsys):
    from marco.errors import MarcoError
    from marco.pipeline import main
    from marco.train import training
    from marco.train.config import make_parser

    with open(small_data, encoding="utf-8") as handle:
        first = json.loads(handle.readline())["id"]
    decisions = decisions_file(tmp_path, {"id": first, "decision": "drop", "note": "off topic"})
    out = tmp_path / "run"
    args = ["--config", os.path.join(REPO, "configs", "marco_tiny.yaml"), "--dataset", small_data, "--output_dir",
            str(out), *FAST, "--data_overrides", decisions]
    marco_args, cleaning, *_ = make_parser().parse_args_and_config(args)
    train, held_out, report = training.prepare_data(marco_args, cleaning, str(out), 42, True)
    assert first not in {r.get("id") for r in train + held_out} and len(train + held_out) == report["counts"]["kept"]
    assert report["review"]["dropped"] == 1
    verdicts = Verdicts(str(out))  # the run's folder: its data/ is read
    assert verdicts.folder == str(out / "data") and "reviewer_drop" in verdicts.groups
    assert verdicts.record("reviewer_drop", 0)["id"] == first
    inside = out / "data" / "overrides.jsonl"
    os.replace(decisions, inside)
    with pytest.raises(MarcoError, match="inside output_dir .* --overwrite_output_dir empties first"):
        main(*make_parser().parse_args_and_config([*args[:-1], str(inside), "--overwrite_output_dir", "true"]))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert demo.main(["--data-review", str(empty)]) == 2
    assert "expected kept.jsonl, rejected.jsonl, report.json in it" in capsys.readouterr().err


def test_flagged_records_are_a_group_and_the_kept_sample_is_seeded(data, tmp_path):
    from marco.data import write_outputs

    write_outputs(run(data, CleaningConfig(boilerplate="flag")), str(tmp_path / "flagged"))
    verdicts = Verdicts(str(tmp_path / "flagged"))
    assert [label for label, _ in verdicts.choices()] == ["exact_duplicate (1)", "invalid_json (1)",
                                                          "boilerplate (flagged) (1)", f"{SAMPLE} (3)"]
    shown = verdicts.record("boilerplate (flagged)", 0)
    assert shown["id"] == "b1" and shown["findings"][0]["evidence"] == DISCLAIMER
    assert verdicts.record("invalid_json", 0)["raw"] == "{not json" and verdicts.record("invalid_json", 0)["messages"] is None
    assert Verdicts(str(tmp_path / "flagged"), sample=2).groups[SAMPLE] == Verdicts(str(tmp_path / "flagged"), sample=2).groups[SAMPLE]
    decisions = decisions_file(tmp_path, {"id": "b1", "decision": "drop"})
    review = run(data, CleaningConfig(boilerplate="flag", data_overrides=decisions)).report["review"]
    assert review["by_verdict"] == {"boilerplate (flagged)": {"reviewed": 1, "agreed": 1, "precision": 1.0}}
    with pytest.raises(UnusableInput, match="no record 1"):
        verdicts.record("boilerplate (flagged)", 1)


@pytest.mark.slow(seconds=15)
def test_a_real_browser_sees_the_tab_beside_the_chat_the_evidence_marked_and_the_html_as_text(data, tmp_path):
    from playwright.sync_api import expect
    from stream_server import StreamServer

    from marco.data import write_outputs
    from marco.serve.remote import RemoteChat

    write_outputs(run(data), str(tmp_path / "cleaned"))
    with StreamServer(words=["Ciao"]) as backend, browsing(demo.build(
            RemoteChat(backend.url, "base", "tuned").check(), data_review=Verdicts(str(tmp_path / "cleaned")))) as page:
        expect(page.locator("#base-chat")).to_be_visible()  # the chat, with the tab beside it
        page.get_by_role("tab", name="Data review").click()
        conversation = page.locator("#data-review-conversation")
        expect(conversation.locator("mark")).to_have_text(DISCLAIMER)  # the evidence, marked
        expect(conversation).to_contain_text(ATTACK)  # the characters themselves
        expect(page.locator("#data-review-header")).to_contain_text("id b1")
        assert conversation.locator("b", has_text="ciao").count() == 0  # <b> in the question is text too
        page.locator("#data-review-note textarea").fill("right call")
        page.get_by_role("button", name="Drop").click()
        expect(page.locator("#data-review-status")).to_contain_text("Recorded: b1 drop")
        assert page.title() != "pwned" and page.locator("#injected").count() == 0
    [line] = (tmp_path / "cleaned" / "overrides.jsonl").read_text().splitlines()
    assert json.loads(line)["note"] == "right call" and json.loads(line)["decision"] == "drop"
