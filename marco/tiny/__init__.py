"""marco-tiny: the built-in offline model (Qwen2 architecture, ~4M parameters, its own BPE tokenizer and a
ChatML template with generation markers), shipped in this folder and rebuilt by `python -m marco.tiny.build`."""

import os

from marco import tiny_t5

NAME = "marco-tiny"
PATH = os.path.dirname(os.path.abspath(__file__))


def resolve(model_name_or_path: str) -> str:
    """The folder of a built-in model (marco-tiny, marco-tiny-t5) when it is asked for by name; any other name or
    path unchanged."""
    return {NAME: PATH, tiny_t5.NAME: tiny_t5.PATH}.get(model_name_or_path, model_name_or_path)
