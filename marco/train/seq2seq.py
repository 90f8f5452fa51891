"""The encoder-decoder path (T5, Flan-T5): TRL's SFTTrainer trains causal LMs only, so these models train with
transformers' Seq2SeqTrainer, from the same recipe, on the same audited data, watched and gated the same way.

An encoder-decoder model reads a source and writes a target: the source is the conversation up to a user turn
(`source_text`, also what the comparison and the app send), the target is the tutor's reply."""

from marco import models
from marco.data.corpus import conversation_text
from marco.errors import MarcoError


def source_text(messages: list) -> str:
    """The encoder's input. A lone question stays as it is, the way Flan-T5 was instruction-tuned; a system message
    or earlier turns come first as "role: text" lines, as the data audit renders conversations."""
    return messages[0]["content"] if len(messages) == 1 else conversation_text(messages)


def examples(records: list) -> list[tuple[str, str]]:
    """(source, target) pairs, one per assistant turn: every reply is trained on, as assistant_only_loss does for a
    causal model. Called after the train/eval split, so a conversation's turns never straddle it."""
    pairs = []
    for record in records:
        messages = record["messages"]
        pairs += [(source_text(messages[:i]), m["content"]) for i, m in enumerate(messages) if m["role"] == "assistant"]
    return pairs


def features(tokenizer, pairs: list, source_len: int, target_len: int) -> list[dict]:
    """Token ids of each (source, target) pair, cut to length (the tokenizer keeps the closing </s>): a long source
    loses its oldest turns, not the question; a long target its end. Padding is the collator's job."""
    side, tokenizer.truncation_side = tokenizer.truncation_side, "left"
    try:
        sources = tokenizer([s for s, _ in pairs], max_length=source_len, truncation=True)
    finally:
        tokenizer.truncation_side = side
    targets = tokenizer(text_target=[t for _, t in pairs], max_length=target_len, truncation=True)
    return [{"input_ids": ids, "attention_mask": mask, "labels": labels}
            for ids, mask, labels in zip(sources["input_ids"], sources["attention_mask"], targets["input_ids"])]


def training_arguments(config):
    """TRL's SFTConfig as Seq2SeqTrainingArguments, field by field: the recipe stays one SFTConfig for both paths,
    and Seq2SeqTrainer reads its own generation fields (left at their defaults) from its arguments."""
    from dataclasses import fields

    from transformers import Seq2SeqTrainingArguments

    return Seq2SeqTrainingArguments(**{f.name: getattr(config, f.name) for f in fields(Seq2SeqTrainingArguments)
                                       if f.init and hasattr(config, f.name)})


def check_config(training_args, quantization_config) -> None:
    """Refuse SFTConfig settings that only mean something for a causal LM. assistant_only_loss needs no check:
    a seq2seq loss covers the target, the reply, and nothing else."""
    if training_args.packing or training_args.padding_free:
        raise MarcoError("packing/padding_free join conversations into one token stream, which only a causal LM can "
                         "read: set packing: false and padding_free: false for an encoder-decoder model")
    if quantization_config is not None:
        raise MarcoError("method qlora (4-bit weights) is for causal LMs here: train a T5 model with method: lora or "
                         "full (Flan-T5-base, 250M parameters, fits any GPU without quantisation)")


def build_trainer(training_args, model_args, train_records: list, eval_records: list, tokenizer, peft_config,
                  quantization_config=None):
    """Seq2SeqTrainer on (conversation so far -> reply) pairs, with LoRA (peft) or full fine-tuning."""
    from dataclasses import replace

    from datasets import Dataset
    from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, set_seed

    check_config(training_args, quantization_config)
    set_seed(training_args.seed)  # as SFTTrainer does before it builds the model: the adapter's initialisation too
    model = models.load_model(model_args.model_name_or_path, **(training_args.model_init_kwargs or {}))
    if peft_config is not None:
        from peft import get_peft_model

        models.check_lora_targets(model, peft_config.target_modules)
        model = get_peft_model(model, replace(peft_config, task_type="SEQ_2_SEQ_LM"))
        if training_args.activation_checkpointing:
            model.enable_input_require_grads()  # frozen embeddings: checkpointed layers need inputs with gradients

    def dataset(records):
        if records:
            return Dataset.from_list(features(tokenizer, examples(records), training_args.max_length, training_args.max_length))

    return Seq2SeqTrainer(model=model, args=training_arguments(training_args), processing_class=tokenizer,
                          data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
                          train_dataset=dataset(train_records), eval_dataset=dataset(eval_records))
