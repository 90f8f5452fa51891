"""The score model of `--score-model`: loaded once per process and shared by the filters that read it (IFD in
alignment.py, the end-of-turn probability in truncation.py)."""

import functools


@functools.cache
def load(name: str):
    """(tokenizer, model in eval mode on the GPU if there is one, device)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from marco.tiny import resolve

    tokenizer = AutoTokenizer.from_pretrained(resolve(name))
    model = AutoModelForCausalLM.from_pretrained(resolve(name)).eval()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return tokenizer, model.to(device), device


def prompt_ids(tokenizer, messages: list[dict]) -> list[int]:
    """The prompt as the model sees it: its chat template with the assistant header, else the plain texts."""
    if tokenizer.chat_template:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        return list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)
    return tokenizer("\n".join(m["content"] for m in messages) + "\n", add_special_tokens=False)["input_ids"]


def end_of_turn_id(tokenizer) -> int | None:
    """The token the model writes when a reply is over: the first one its chat template puts after a reply
    (Qwen's <|im_end|>), else its EOS token."""
    if tokenizer.chat_template:
        sentinel = "marco-end-of-reply"
        text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}, {"role": "assistant", "content": sentinel}],
                                             tokenize=False)
        after = text.split(sentinel, 1)[-1].lstrip(" ")
        ids = tokenizer(after, add_special_tokens=False)["input_ids"] if after else []
        if ids:
            return ids[0]
    return tokenizer.eos_token_id
