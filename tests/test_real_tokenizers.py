"""The seed recipes through marco's real code paths with the seed models' real tokenizers (random tiny weights):
what carries the loss, where the end token is, which side pads and truncates, and the system prompt Qwen's template
adds when a conversation has none."""

import os
import sys

import pytest
import torch
from conftest import REPO
from real_models import QWEN_SYSTEM, qwen_dir, t5_dir  # noqa: F401  (fixtures)

sys.path.insert(0, REPO)
from marco import models  # noqa: E402
from marco.evaluate import compare
from marco.train import seq2seq, training
from marco.train.config import make_parser  # noqa: E402

QWEN_RECIPES = ["marco_qwen2.5-7b_lora.yaml", "marco_qwen2.5-7b_qlora.yaml"]
T5_RECIPES = ["finance_flan-t5-base_lora.yaml", "finance_flan-t5-small_full.yaml"]
TWO_TURNS = [{"role": "user", "content": "Come si dice 'so'?"}, {"role": "assistant", "content": "Si dice così."},
             {"role": "user", "content": "E 'can'?"}, {"role": "assistant", "content": "Può: 'lui può'."}]
WITH_SYSTEM = [{"role": "system", "content": "Learner: A2."}, *TWO_TURNS[:2]]


def recipe_args(recipe: str, model_dir: str, tmp_path, *extra):
    marco_args, *_, training_args, model_args = make_parser().parse_args_and_config(
        ["--config", os.path.join(REPO, "configs", recipe), "--model_name_or_path", model_dir, "--bf16", "false",
         "--dtype", "float32", "--output_dir", str(tmp_path), "--report_to", "none", "--eval_strategy", "no", *extra])
    model_args = training.method_model_args(marco_args.method, model_args)
    model_args.load_in_4bit = False  # masking and padding do not depend on the weights' format
    return training_args, model_args


def build(training_args, model_args, conversations: list):
    tokenizer = models.load_tokenizer(model_args.model_name_or_path)
    return training.build_trainer(training_args, model_args, [{"messages": c} for c in conversations], [], tokenizer)


def qwen_trainer(qwen_dir, tmp_path, conversations, recipe=QWEN_RECIPES[0], *extra):
    training_args, model_args = recipe_args(recipe, qwen_dir, tmp_path, *extra)
    return build(training_args, model_args, conversations)


def trained_text(trainer, row: int = 0) -> str:
    batch = trainer.data_collator([trainer.train_dataset[row]])
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    return trainer.processing_class.decode(ids[labels != -100])


@pytest.mark.parametrize("recipe", QWEN_RECIPES)
def test_qwen_recipes_train_only_the_replies_and_their_end_token(qwen_dir, tmp_path, recipe):
    trainer = qwen_trainer(qwen_dir, tmp_path, [TWO_TURNS], recipe)
    real = trainer.processing_class.chat_template
    # TRL swapped Qwen2.5's real template (no generation markers) for its training twin that has them
    assert "{% generation %}" not in real and "generation %}" in trainer.chat_template
    # exactly each reply and <|im_end|>, with the template's newline on either side; no user turn, no system prompt
    assert trained_text(trainer) == "\nSi dice così.<|im_end|>\n\nPuò: 'lui può'.<|im_end|>\n"


def test_qwen_default_system_prompt_is_rendered_in_training_and_in_probes_alike(qwen_dir, tmp_path):
    trainer = qwen_trainer(qwen_dir, tmp_path, [TWO_TURNS, WITH_SYSTEM])
    tokenizer = trainer.processing_class
    rendered = [tokenizer.decode(trainer.train_dataset[i]["input_ids"]) for i in (0, 1)]
    # no system message: Qwen's template (and TRL's training copy of it) writes its own default one
    assert rendered[0].startswith(f"<|im_start|>system\n{QWEN_SYSTEM}<|im_end|>\n<|im_start|>user\n")
    assert rendered[1].startswith("<|im_start|>system\nLearner: A2.<|im_end|>\n") and QWEN_SYSTEM not in rendered[1]
    # the probes, `marco eval` and the app (empty system box) render with the real template: the same prompt
    probe = compare.prompts(tokenizer, [{"messages": TWO_TURNS[:1]}])[0]
    assert rendered[0].startswith(probe[: -len("<|im_start|>assistant\n")])
    assert probe.endswith("<|im_start|>assistant\n") and QWEN_SYSTEM in probe
    assert trained_text(trainer, 1) == "\nSi dice così.<|im_end|>\n"  # nor is a given system prompt trained


def test_qwen_pads_right_in_training_and_truncates_the_end(qwen_dir, tmp_path):
    trainer = qwen_trainer(qwen_dir, tmp_path, [TWO_TURNS, TWO_TURNS[:2]], QWEN_RECIPES[0], "--max_length", "50")
    tokenizer = trainer.processing_class
    lengths = [len(trainer.train_dataset[i]["input_ids"]) for i in (0, 1)]
    assert lengths[0] == 50 > lengths[1]  # the long one (63 tokens) is cut at 50
    batch = trainer.data_collator([trainer.train_dataset[1], trainer.train_dataset[0]])
    pad = lengths[0] - lengths[1]
    assert batch["input_ids"][0, -pad:].eq(tokenizer.pad_token_id).all() and tokenizer.pad_token == "<|endoftext|>"
    assert batch["labels"][0, -pad:].eq(-100).all() and batch["attention_mask"][0, -pad:].eq(0).all()
    full = tokenizer.apply_chat_template(TWO_TURNS, tokenize=False)
    assert full.startswith(tokenizer.decode(trainer.train_dataset[0]["input_ids"]))  # kept: the start, not the end


def forced_answer(model, tokenizer, token_id: int, max_new_tokens: int = 6) -> torch.Tensor:
    """Greedy generation with `token_id` made the likeliest next token: the new ids that come out."""
    model.generation_config.sequence_bias = [[[token_id], 1e4]]
    try:
        prompt = compare.prompts(tokenizer, [{"messages": TWO_TURNS[:1]}])
        batch = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        return model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False)[0, batch["input_ids"].shape[1]:]
    finally:
        model.generation_config.sequence_bias = None


def test_qwen_generation_stops_at_im_end_and_endoftext(qwen_dir, tmp_path):
    trainer = qwen_trainer(qwen_dir, tmp_path, [TWO_TURNS])
    model, tokenizer = trainer.model, trainer.processing_class
    assert tokenizer.eos_token == "<|im_end|>" and 151645 in model.generation_config.eos_token_id
    for end in ("<|im_end|>", "<|endoftext|>"):
        end_id = tokenizer.convert_tokens_to_ids(end)
        assert forced_answer(model, tokenizer, end_id).tolist() == [end_id]
    assert len(forced_answer(model, tokenizer, tokenizer.encode("Ciao")[0])) == 6  # ordinary: runs to max_new_tokens


@pytest.mark.parametrize("recipe", T5_RECIPES)
def test_flan_t5_labels_are_the_answer_and_its_end_token(t5_dir, tmp_path, recipe):
    training_args, model_args = recipe_args(recipe, t5_dir, tmp_path)
    trainer = build(training_args, model_args, [TWO_TURNS])
    tokenizer = trainer.processing_class
    first, second = (trainer.train_dataset[i] for i in (0, 1))
    assert tokenizer.decode(first["input_ids"]) == "Come si dice 'so'?</s>"
    assert tokenizer.decode(first["labels"]) == "Si dice cos<unk>.</s>"  # Flan-T5 has no "ì" (marco.data.coverage)
    assert first["labels"][-1] == tokenizer.eos_token_id == 1 and first["labels"].count(1) == 1
    assert tokenizer.decode(second["labels"]) == "Pu<unk>: 'lui pu<unk>'.</s>"
    assert "user: Come si dice 'so'?" in tokenizer.decode(second["input_ids"])  # the earlier turns, as text
    batch = trainer.data_collator([first, second])  # labels padded with -100 on the right, never trained
    assert batch["labels"][0, len(first["labels"]):].eq(-100).all() and tokenizer.padding_side == "right"


def test_flan_t5_truncation_keeps_the_question_and_the_end_token(t5_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(t5_dir)
    long_history = [{"role": "user", "content": "old " * 50}, {"role": "assistant", "content": "yes " * 50}] + TWO_TURNS
    (feature,) = seq2seq.features(tokenizer, seq2seq.examples([{"messages": long_history}])[-1:], 24, 6)
    source, labels = tokenizer.decode(feature["input_ids"]), feature["labels"]
    assert len(feature["input_ids"]) == 24 and source.endswith("user: E 'can'?</s>") and "old" not in source
    assert len(labels) == 6 and labels[-1] == 1  # a long reply loses its end but keeps </s>
    assert tokenizer.truncation_side == "right"  # features() switched to the left for the source only


def test_flan_t5_generation_stops_at_its_end_token(t5_dir):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(t5_dir), AutoModelForSeq2SeqLM.from_pretrained(t5_dir)
    batch = tokenizer(["What is the CPF?"], return_tensors="pt")
    for token, expected in (("</s>", 2), ("▁CPF", 8)):  # decoder start + the token; an ordinary one runs on
        model.generation_config.sequence_bias = [[[tokenizer.convert_tokens_to_ids(token)], 1e4]]
        assert model.generate(**batch, max_new_tokens=7, do_sample=False).shape[1] == expected


def test_training_probes_eval_and_app_share_qwens_default_system_block(qwen_dir, tmp_path):
    """No system message anywhere: training, the probes (and so `marco eval` and the card) and the app all render
    Qwen's own default system prompt, so the model is asked at inference exactly as it was trained."""
    from peft import LoraConfig, get_peft_model

    from marco.serve.local import Chat

    block = f"<|im_start|>system\n{QWEN_SYSTEM}<|im_end|>\n<|im_start|>user\n{TWO_TURNS[0]['content']}<|im_end|>\n"
    trainer = qwen_trainer(qwen_dir, tmp_path, [TWO_TURNS[:2]])
    tokenizer = trainer.processing_class
    trained = tokenizer.decode(trainer.train_dataset[0]["input_ids"])
    probe = compare.prompts(tokenizer, [{"messages": TWO_TURNS[:1]}])[0]
    lora = get_peft_model(trainer.model, LoraConfig(r=2, target_modules=["q_proj"]))
    chat = Chat(lora, tokenizer, "Qwen/Qwen2.5-7B-Instruct", "adapter")
    app = chat._fit([{"role": "user", "content": TWO_TURNS[0]["content"]}], max_new_tokens=16)  # empty system box
    assert trained.startswith(block) and probe == app == block + "<|im_start|>assistant\n"
