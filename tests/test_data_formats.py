"""Input formats (ShareGPT, content parts, Alpaca, .json arrays) and the reliability cases of issue 17 for data."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, chat

from marco.data import UnusableInput, run

REPLIES = ["Gatto: un gatto, due gatti.", "Cane è maschile: il cane.", "Si dice 'casa', femminile.",
           "Il passato prossimo usa essere con andare.", "Mela: la mela, le mele."]


def conversations():
    return [chat(f"Domanda numero {i} sul lessico?", f"{r} Esempio {i}.", id=i) for i, r in enumerate(REPLIES)]


def marco(*args):
    return subprocess.run([sys.executable, "-m", "marco", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": REPO})


def test_sharegpt_from_value_reads_as_messages_with_identical_text(write_jsonl):
    records = [{"id": r["id"], "conversations": [{"from": "human", "value": r["messages"][0]["content"]},
                                                {"from": "gpt", "value": r["messages"][1]["content"]}]}
               for r in conversations()]
    records[0]["conversations"].insert(0, {"from": "system", "value": "Sei un tutor."})
    result = run(write_jsonl(records))
    assert result.report["formats"] == {"sharegpt": 5}
    assert [k["messages"] for k in result.kept[1:]] == [r["messages"] for r in conversations()[1:]]
    assert result.kept[0]["messages"][0] == {"role": "system", "content": "Sei un tutor."}
    assert all("conversations" not in k for k in result.kept)


def test_sharegpt_with_role_content_turns_and_an_unknown_role(write_jsonl):
    good = {"conversations": conversations()[0]["messages"]}
    bad = {"conversations": [{"from": "tool", "value": "x"}, {"from": "gpt", "value": "y"}]}
    result = run(write_jsonl([good, bad]))
    assert result.kept[0]["messages"] == good["conversations"]
    assert result.rejected[0]["rejection"]["reason"] == "unknown_role"
    assert result.rejected[0]["rejection"]["field"] == "conversations[0].from"


def test_content_parts_are_joined_and_a_non_text_part_rejects(write_jsonl):
    records = [{"id": r["id"], "messages": [{"role": m["role"], "content": [{"type": "text", "text": m["content"]}]}
                                            for m in r["messages"]]} for r in conversations()]
    records[1]["messages"][1]["content"] = [{"type": "text", "text": "Cane è maschile:"}, {"type": "text", "text": "il cane."}]
    records[2]["messages"][0]["content"].append({"type": "image_url", "image_url": {"url": "x.png"}})
    result = run(write_jsonl(records))
    kept = {k["id"]: k["messages"] for k in result.kept}
    assert kept[0] == conversations()[0]["messages"] and kept[1][1]["content"] == "Cane è maschile:\nil cane."
    assert result.report["formats"] == {"openai_parts": 4}
    rejection = result.rejected[0]["rejection"]
    assert (rejection["reason"], rejection["field"]) == ("non_text_content", "messages[0].content[1].type")


@pytest.mark.parametrize("value, prompt", [("", "Traduci"), ("<No Input>", "Traduci"), ("  <no input> ", "Traduci"),
                                           ("il gatto", "Traduci\n\nil gatto")])
def test_alpaca_empty_or_no_input_is_dropped(write_jsonl, value, prompt):
    result = run(write_jsonl([{"instruction": "Traduci", "input": value, "output": "the cat"}]))
    assert result.kept[0]["messages"][0]["content"] == prompt


@pytest.mark.parametrize("indent", [None, 2])
def test_json_array_is_read_as_an_array_with_element_numbers(tmp_path, indent):
    records = conversations() + [{"messages": [{"role": "user", "content": "x"}]}]
    path = tmp_path / "data.json"
    path.write_text(json.dumps(records, indent=indent, ensure_ascii=False), encoding="utf-8")
    result = run(str(path))
    assert len(result.kept) == 5
    assert result.rejected[0]["rejection"]["detail"].startswith(f"{path}: element 6: ")


def test_json_lines_under_a_json_name_still_read(tmp_path):
    path = tmp_path / "data.json"
    path.write_text("\n".join(json.dumps(r) for r in conversations()), encoding="utf-8")
    assert len(run(str(path)).kept) == 5


def test_broken_json_file_is_a_clear_error_with_its_position(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"messages": []},\n  {"messages" []}\n]', encoding="utf-8")
    proc = marco("data", "clean", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith(f"error: {path}: line 3 column 15: not valid JSON")
    assert not (tmp_path / "out").exists()


def test_a_file_with_no_known_format_exits_2(write_jsonl, tmp_path):
    path = write_jsonl([{"text": "hello"}, {"question": "a", "answer": "b"}])
    proc = marco("data", "clean", path, "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "no record in a known format" in proc.stderr and "'text'" in proc.stderr
    assert not (tmp_path / "out").exists()
    with pytest.raises(UnusableInput):
        run(write_jsonl(["not json", "[1]"], name="junk.jsonl"))
    assert len(run(write_jsonl([{"text": "hello"}, *conversations()], name="mixed.jsonl")).kept) == 5  # look-alike


def test_deep_nesting_rejects_that_record_and_keeps_the_rest(write_jsonl, tmp_path):
    line = '{"messages": ' + json.dumps(chat("Ciao?", "Ciao!")["messages"]) + ', "meta": ' + "[" * 300 + "]" * 300 + "}"
    path = write_jsonl([line, *conversations()])
    proc = marco("data", "clean", path, "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    rejected = [json.loads(line) for line in open(tmp_path / "out" / "rejected.jsonl")]
    assert [r["rejection"]["reason"] for r in rejected] == ["invalid_json"]
    assert rejected[0]["raw"] == line  # kept verbatim
    assert len(open(tmp_path / "out" / "kept.jsonl").readlines()) == 5
    shallow = {**chat("Ciao?", "Ciao!"), "meta": json.loads("[" * 100 + "]" * 100)}
    assert len(run(write_jsonl([shallow], name="shallow.jsonl")).kept) == 1  # look-alike: deep but allowed


def test_integers_beyond_64_bits_stay_exact(write_jsonl, tmp_path):
    big = 2**64 + 1
    path = write_jsonl([f'{{"id": {big}, "n": -{big}, "messages": ' + json.dumps(chat("Ciao?", "Ciao!")["messages"]) + "}",
                        *conversations()])
    assert marco("data", "clean", path, "--out", str(tmp_path / "out")).returncode == 0
    first = open(tmp_path / "out" / "kept.jsonl").readline()
    assert f'"id":{big}' in first.replace(" ", "") and json.loads(first)["n"] == -big


@pytest.mark.parametrize("content", ["\x00\x00\x00", "\x01\x02 \x7f\n", "\u200b\ufeff"])
def test_reply_of_control_characters_only_is_empty_content(write_jsonl, content):
    result = run(write_jsonl([chat("Ciao?", content), chat("Ciao?", "Ciao\x00 a te!")]))  # look-alike: text with a NUL
    assert [r["rejection"]["reason"] for r in result.rejected] == ["empty_content"]
    assert len(result.kept) == 1


def test_rich_markup_in_data_is_printed_literally(write_jsonl):
    path = write_jsonl([chat("[bold]Ciao[/]?", "[/] is rich markup [red]"), chat("[/]", "[/]")] * 1
                       + [{"[/bold]": 1}])
    proc = marco("data", "audit", path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
