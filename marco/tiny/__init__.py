"""marco-tiny: the built-in offline model (Qwen2 architecture, ~4M parameters, its own BPE tokenizer and a
ChatML template with generation markers), shipped in this folder and rebuilt by `python -m marco.tiny.build`."""

import os

NAME = "marco-tiny"
PATH = os.path.dirname(os.path.abspath(__file__))


def resolve(model_name_or_path: str) -> str:
    """The folder of the built-in model when it is asked for by name; any other name or path unchanged."""
    return PATH if model_name_or_path == NAME else model_name_or_path
