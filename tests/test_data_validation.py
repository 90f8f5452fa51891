"""Loading, format conversion and every validation reason, one assertion per reason."""

import json

import pytest
from conftest import chat

from marco.data import CleaningConfig, UnusableInput, run

GOOD = chat("Come si dice 'cat'?", "Gatto: un gatto, due gatti.")


@pytest.mark.parametrize("line, reason, field", [
    ("{not json", "invalid_json", ""),
    ("   ", "blank_line", ""),
    ("[1, 2]", "not_an_object", ""),
    ({"text": "hello"}, "unknown_format", ""),
    ({"messages": "hi"}, "bad_message", "messages"),
    ({"messages": ["hi"]}, "bad_message", "messages[0]"),
    ({"messages": [{"role": "bot", "content": "x"}, {"role": "assistant", "content": "y"}]}, "unknown_role", "messages[0].role"),
    ({"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "y"}]}, "empty_content", "messages[0].content"),
    ({"messages": [{"role": "user", "content": 3}, {"role": "assistant", "content": "y"}]}, "non_string_content", "messages[0].content"),
    ({"prompt": ["not", "messages"], "completion": 5}, "non_string_content", "completion"),
    ({"prompt": ["not", "messages"], "completion": "x"}, "bad_message", "messages[0]"),
    ({"instruction": None, "output": "x"}, "non_string_content", "instruction"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}]}, "not_alternating", "messages[1].role"),
    ({"messages": [{"role": "assistant", "content": "a"}]}, "not_alternating", "messages[0].role"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]}, "not_alternating", "messages[2].role"),
    ({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}, "no_assistant_turn", "messages"),
    ({"messages": [{"role": "system", "content": "s"}]}, "no_assistant_turn", "messages"),
    ({"messages": []}, "no_assistant_turn", "messages"),
    (chat("a" * 50, "b" * 60), "too_long", "messages"),
])
def test_each_invalid_line_is_rejected_with_its_reason_line_and_field(write_jsonl, line, reason, field):
    path = write_jsonl([GOOD, line])
    result = run(path, CleaningConfig(max_chars=100))
    assert [r.rejection is None for r in result.rows] == [True, False]
    rejection = result.rows[1].rejection
    assert (rejection["reason"], rejection["line"], rejection["field"]) == (reason, 2, field)
    assert rejection["detail"].startswith(f"{path}:2: ")
    assert len(result.kept) == 1 and len(result.rejected) == 1


def test_unparseable_lines_are_kept_verbatim(write_jsonl):
    result = run(write_jsonl([GOOD, "{oops: 1", "[1,2]"]))
    assert [r["raw"] for r in result.rejected] == ["{oops: 1", "[1,2]"]


def test_alpaca_and_prompt_completion_become_messages_and_keep_other_fields(write_jsonl):
    path = write_jsonl([
        {"id": "a", "level": "A2", "instruction": "Translate to Italian", "input": "the dog", "output": "il cane"},
        {"id": "b", "instruction": "Say hello in Italian", "input": "", "output": "Ciao"},
        {"id": "c", "topic": "food", "prompt": "What is 'pane'?", "completion": "Bread."},
        {"id": "d", "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Sì?"}],
         "completion": [{"role": "assistant", "content": "Yes."}]},
    ])
    kept = run(path).kept
    assert kept[0] == {"id": "a", "level": "A2", "messages": [
        {"role": "user", "content": "Translate to Italian\n\nthe dog"}, {"role": "assistant", "content": "il cane"}]}
    assert kept[1]["messages"][0] == {"role": "user", "content": "Say hello in Italian"}
    assert kept[2] == {"id": "c", "topic": "food", "messages": [
        {"role": "user", "content": "What is 'pane'?"}, {"role": "assistant", "content": "Bread."}]}
    assert [m["role"] for m in kept[3]["messages"]] == ["system", "user", "assistant"]


def test_messages_records_are_kept_untouched(write_jsonl):
    record = {"id": 7, "extra": {"nested": [1, 2]}, "messages": [
        {"role": "system", "content": "Tutor."}, {"role": "user", "content": "Ciao"},
        {"role": "assistant", "content": "Ciao! Come stai?", "weight": 1}]}
    assert run(write_jsonl([record])).kept == [record]


def test_json_array_files_are_read_record_by_record(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps([GOOD, {"text": "no"}, chat("Altro?", "Sì, un altro esempio.")]), encoding="utf-8")
    result = run(str(path))
    assert len(result.kept) == 2
    assert result.rejected[0]["rejection"]["line"] == 2


def test_invalid_utf8_is_unusable_and_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(json.dumps(GOOD).encode() + b"\n" + b'{"messages": "\xff"}\n')
    with pytest.raises(UnusableInput, match=r"bad.jsonl:2: not valid UTF-8"):
        run(str(path))


def test_missing_file_is_unusable(tmp_path):
    with pytest.raises(UnusableInput, match="no such file"):
        run(str(tmp_path / "missing.jsonl"))


def test_offline_hub_name_gives_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UnusableInput, match="cannot load Hub dataset"):
        run("someone/not-a-local-dataset")
