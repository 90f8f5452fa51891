"""Where the base comparison happens: greedy answers to the probe set from the base and the fine-tuned model,
out of one model in memory (peft mixed-adapter batches), and the figures that tell them apart. `answer` is the one
way probes are answered: by the training callback, the final comparison, `marco eval` and so the card."""

import json
from contextlib import contextmanager

from marco.data import metrics, templates
from marco.data.text import normalize_many
from marco.errors import MarcoError
from marco.models import is_adapter_model, is_encoder_decoder
from marco.train.config import CompareConfig
from marco.train.seq2seq import source_text

BASE = "__base__"  # peft's name for "no adapter" in a mixed batch


def probe_problem(probe) -> str:
    """What keeps a probe from being answered and scored ('' if nothing): the field and what is wrong with it."""
    if not isinstance(probe, dict):
        return "a probe is a JSON object"
    if not isinstance(probe.get("id"), (str, int)) or probe.get("id") == "":
        return "id: missing (every probe needs an id)"
    messages = probe.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        return "messages: missing (a list of {role, content} ending with the user's question)"
    if messages[-1].get("role") != "user" or not isinstance(messages[-1].get("content"), str) \
            or not messages[-1]["content"].strip():
        return "messages: the last message must be the user's question"
    if not isinstance(probe.get("reference"), str):
        return "reference: missing (the reference answer chrF is measured against)"
    return ""


def load_probes(path: str, limit: int = None) -> list:
    """The probes of a .jsonl file, each checked: MarcoError `FILE:LINE: field: what is wrong` before any model loads,
    never a KeyError after training."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = list(enumerate(handle, 1))
    except (OSError, UnicodeDecodeError) as error:
        raise MarcoError(f"probes {path}: {getattr(error, 'strerror', None) or error}") from None
    probes = []
    for number, line in lines:
        if not line.strip():
            continue
        try:
            probe = json.loads(line)
        except json.JSONDecodeError as error:
            raise MarcoError(f"{path}:{number}: not valid JSON ({error.msg})") from None
        problem = probe_problem(probe)
        if problem:
            raise MarcoError(f"{path}:{number}: {problem}")
        probes.append(probe)
    if not probes:
        raise MarcoError(f"{path}: no probe in the file")
    return probes[:limit] if limit else probes


def passes(answer: str, probe: dict) -> bool:
    """Every must_include_any group has one alternative in the answer, and no known wrong claim is there."""
    text = answer.lower()
    return (all(any(a.lower() in text for a in group) for group in probe.get("must_include_any", []))
            and not any(bad.lower() in text for bad in probe.get("must_not_include", [])))


def score(answers: list, probes: list) -> dict:
    """Figures of one model's answers: what a collapse into templates or a regression moves."""
    from sacrebleu.metrics import CHRF

    normalized = normalize_many(answers)
    diversity = metrics.diversity(answers, normalized)
    scan = templates.scan(answers, [p["id"] for p in probes], normalized=normalized)
    return {
        "pass_rate": round(sum(map(passes, answers, probes)) / len(probes), 4),
        "template_rate": round(scan.rate, 4),
        "templates": [t.as_dict() for t in scan.templates[:5]],
        "distinct_2": diversity["distinct_2"],
        "top_opening_share": diversity["top_opening_share"],
        "mean_words": round(sum(len(a.split()) for a in answers) / len(answers), 1),
        "chrf": round(CHRF().corpus_score(answers, [[p["reference"] for p in probes]]).score, 2),
    }


@contextmanager
def no_leaked_adapter_hooks(model):
    """peft registers per-row adapter hooks for a mixed batch and leaves them behind if generate raises
    (peft issue 3475): every later forward would still route rows to adapters. Remove what was added."""
    before = {id(m): set(m._forward_pre_hooks) for m in model.modules()}
    try:
        yield
    finally:
        for module in model.modules():
            for key in set(module._forward_pre_hooks) - before.get(id(module), set()):
                del module._forward_pre_hooks[key]
                module._forward_pre_hooks_with_kwargs.pop(key, None)


def prompts(tokenizer, probes: list, encoder_decoder: bool = False) -> list:
    """What the model reads: the chat template up to the reply, or for an encoder-decoder model the conversation
    as plain text (its decoder writes the reply)."""
    if encoder_decoder:
        return [source_text(p["messages"]) for p in probes]
    return [tokenizer.apply_chat_template(p["messages"], tokenize=False, add_generation_prompt=True) for p in probes]


def generate(model, tokenizer, texts: list, max_new_tokens: int, batch_size: int, adapter_names: list = None) -> list:
    """Greedy answers, batched; `adapter_names[i]` picks row i's adapter (peft models). A causal LM continues its
    left-padded prompt, so its answer is what follows the prompt; an encoder-decoder model reads the text (with
    its closing </s>, right-padded as in training) and its whole output is the answer."""
    import torch

    encoder_decoder = is_encoder_decoder(model)
    side, tokenizer.padding_side = tokenizer.padding_side, "right" if encoder_decoder else "left"
    was_training = model.training
    model.eval()
    answers = []
    try:
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start: start + batch_size], return_tensors="pt", padding=True,
                              add_special_tokens=encoder_decoder).to(model.device)
            extra = {"adapter_names": adapter_names[start: start + batch_size]} if adapter_names else {}
            with torch.no_grad(), no_leaked_adapter_hooks(model):
                out = model.generate(**batch, **extra, max_new_tokens=max_new_tokens, do_sample=False,
                                     pad_token_id=tokenizer.pad_token_id)
            answers += tokenizer.batch_decode(out if encoder_decoder else out[:, batch["input_ids"].shape[1]:],
                                              skip_special_tokens=True)
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    return [a.strip() for a in answers]


def answer(model, tokenizer, probes: list, config: CompareConfig, base_model=None, with_base: bool = True) -> dict:
    """{"base": answers or None, "fine_tuned": answers}. A peft model answers for its base too, each probe twice in
    one mixed batch; a fully fine-tuned model has no base inside, so its base answers come from `base_model` (a
    separately loaded base) or are None. with_base=False skips the base (a caller that already has its answers)."""
    texts = prompts(tokenizer, probes, is_encoder_decoder(model))
    size, tokens = config.compare_batch_size, config.compare_max_new_tokens
    if with_base and is_adapter_model(model):
        rows = [t for t in texts for _ in (0, 1)]
        names = [name for _ in texts for name in (BASE, model.active_adapter)]
        both = generate(model, tokenizer, rows, tokens, size * 2, names)
        return {"base": both[0::2], "fine_tuned": both[1::2]}
    base = generate(base_model, tokenizer, texts, tokens, size) if with_base and base_model is not None else None
    return {"base": base, "fine_tuned": generate(model, tokenizer, texts, tokens, size)}


def compare(base_answers: list, tuned_answers: list, probes: list) -> dict:
    """The base-vs-fine-tuned figures and side-by-side samples, as stored in marco_report.json."""
    return {
        "probes": len(probes),
        "base": score(base_answers, probes),
        "fine_tuned": score(tuned_answers, probes),
        "samples": [{"id": p["id"], "question": p["messages"][-1]["content"], "base": b, "fine_tuned": t,
                     "base_passes": passes(b, p), "fine_tuned_passes": passes(t, p)}
                    for p, b, t in zip(probes, base_answers, tuned_answers)],
    }


def table(result: dict) -> str:
    """The comparison as a plain-text table for the console."""
    rows = ["pass_rate", "template_rate", "distinct_2", "top_opening_share", "mean_words", "chrf"]
    lines = [f"{'metric':<20}{'base':>12}{'fine-tuned':>12}"]
    lines += [f"{r:<20}{result['base'][r]:>12}{result['fine_tuned'][r]:>12}" for r in rows]
    return "\n".join(lines)
