"""`python -m marco preview`: the seed recipes on the real-vocab models show exactly the replies and their end token as
trained, nothing of the system prompt or the user turns, through the code training itself uses."""

import json
import os

from conftest import REPO
from real_models import QWEN_SYSTEM, qwen_dir, t5_dir  # noqa: F401  (fixtures)

from marco.cli import main

TWO_TURNS = [{"role": "user", "content": "Come si dice 'so'?"}, {"role": "assistant", "content": "Si dice così."},
             {"role": "user", "content": "E 'can'?"}, {"role": "assistant", "content": "Può: 'lui può'."}]
WITH_SYSTEM = [{"role": "system", "content": "Learner: A2, wants short answers."},
               {"role": "user", "content": "What does 'magari' mean?"},
               {"role": "assistant", "content": "'Magari' means 'maybe', or 'if only!' on its own."}]


def preview(capsys, recipe: str, model_dir: str, dataset: str, *extra) -> list:
    args = ["preview", "--config", os.path.join(REPO, "configs", recipe), "--model_name_or_path", model_dir,
            "--dataset", dataset, "--eval_fraction", "0", "--json", *extra]
    assert main(args) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_qwen_recipe_preview_trains_the_replies_and_im_end_only(qwen_dir, write_jsonl, capsys):
    rows = preview(capsys, "marco_qwen2.5-7b_lora.yaml", qwen_dir, write_jsonl([{"messages": TWO_TURNS},
                                                                                 {"messages": WITH_SYSTEM}]))
    assert [row["messages"] for row in rows] == [TWO_TURNS, WITH_SYSTEM]
    assert rows[0]["trained"] == "\nSi dice così.<|im_end|>\n\nPuò: 'lui può'.<|im_end|>\n"
    assert rows[1]["trained"] == "\n'Magari' means 'maybe', or 'if only!' on its own.<|im_end|>\n"
    # the rendered text has the default system prompt (no system message) and the given one, neither trained
    assert rows[0]["text"].startswith(f"<|im_start|>system\n{QWEN_SYSTEM}<|im_end|>\n<|im_start|>user\nCome si dice")
    assert rows[1]["text"].startswith("<|im_start|>system\nLearner: A2") and QWEN_SYSTEM not in rows[1]["text"]
    for row in rows:
        assert "system" not in row["trained"] and "user" not in row["trained"]


def test_qwen_preview_of_real_data_trains_each_reply_exactly(qwen_dir, small_data, capsys):
    rows = preview(capsys, "marco_qwen2.5-7b_qlora.yaml", qwen_dir, small_data, "--n", "8")
    assert len(rows) == 8
    for row in rows:
        replies = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
        assert row["trained"] == "".join(f"\n{reply}<|im_end|>\n" for reply in replies)


def test_flan_t5_recipe_preview_trains_the_answers_and_end_token_only(t5_dir, write_jsonl, capsys):
    rows = preview(capsys, "finance_flan-t5-base_lora.yaml", t5_dir, write_jsonl([{"messages": TWO_TURNS},
                                                                                  {"messages": WITH_SYSTEM}]))
    assert [row["messages"] for row in rows] == [TWO_TURNS, WITH_SYSTEM]
    assert rows[0]["trained"] == "Si dice cos<unk>.</s>Pu<unk>: 'lui pu<unk>'.</s>"  # Flan-T5 has no ì or ò
    assert rows[1]["trained"] == "'Magari' means 'maybe', or 'if only!' on its own.</s>"
    assert rows[0]["text"].startswith("encoder: Come si dice 'so'?</s>\ndecoder: Si dice cos<unk>.</s>\n")
    assert "encoder: system: Learner: A2" in rows[1]["text"]  # the system prompt is read, never trained


def test_preview_marks_the_trained_tokens_without_colour_off_a_terminal(qwen_dir, write_jsonl, capsys):
    dataset = write_jsonl([{"messages": TWO_TURNS}])
    assert main(["preview", "--config", os.path.join(REPO, "configs", "marco_qwen2.5-7b_lora.yaml"),
                 "--model_name_or_path", qwen_dir, "--dataset", dataset, "--eval_fraction", "0"]) == 0
    out = capsys.readouterr().out
    assert "\033[" not in out and "conversation 1 of 1 (trained tokens between [[ and ]])" in out
    assert "<|im_start|>assistant[[\nSi dice così.<|im_end|>\n]]<|im_start|>user\nE 'can'?" in out


def test_preview_of_a_missing_dataset_is_one_line(capsys, tmp_path):
    assert main(["preview", "--config", os.path.join(REPO, "configs", "marco_tiny.yaml"),
                 "--dataset", str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "nope.jsonl" in err and len(err.splitlines()) == 1
