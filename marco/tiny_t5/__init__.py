"""marco-tiny-t5: the built-in offline encoder-decoder model (T5 v1.1 architecture like Flan-T5, ~3.5M parameters,
its own Unigram tokenizer), shipped in this folder and rebuilt by `python -m marco.tiny_t5.build`."""

import os

NAME = "marco-tiny-t5"
PATH = os.path.dirname(os.path.abspath(__file__))
