"""Random-weight models with the seed models' REAL tokenizers (../shared/tokenizers): Qwen2.5-7B-Instruct's 151,665
tokens and chat template, Flan-T5-base's 32,100 tokens, at tiny widths so that they build in a second and train on
CPU. Built once per test run (shared by pytest-xdist's workers); a test module imports the fixtures it needs:

    from real_models import qwen_dir, t5_dir  # noqa: F401  (pytest fixtures)
"""

import os

import pytest

from conftest import REPO, built_once

TOKENIZERS = os.path.join(os.path.dirname(REPO), "shared", "tokenizers")
QWEN_TOKENIZER = os.path.join(TOKENIZERS, "qwen2.5-7b-instruct")
T5_TOKENIZER = os.path.join(TOKENIZERS, "flan-t5-base")
QWEN_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."  # its template's default
SEED = 0


def shared_tokenizer(path: str) -> str:
    """The folder, or a skip where this checkout has no ../shared beside it."""
    if not os.path.isfile(os.path.join(path, "tokenizer.json")):
        pytest.skip(f"needs ../shared/tokenizers/{os.path.basename(path)}: not in this checkout")
    return path


def build_qwen(out: str) -> str:
    """Qwen2.5-7B-Instruct's shape in miniature: the real vocabulary (151,665: the embedding is 151,665 x 64), untied
    embeddings, q/k/v biases and eos ids as in its generation_config.json; 2 layers of width 64 (bitsandbytes' 4-bit
    CPU kernels for AVX512-BF16 need every layer's input width to be a multiple of its 64-value block)."""
    import torch
    from transformers import AutoTokenizer, GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(shared_tokenizer(QWEN_TOKENIZER))
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096, rope_theta=1e6,
                         tie_word_embeddings=False, bos_token_id=151643, eos_token_id=151645, pad_token_id=None,
                         dtype="float32")
    torch.manual_seed(SEED)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(bos_token_id=151643, eos_token_id=[151645, 151643], pad_token_id=151643)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def build_t5(out: str) -> str:
    """Flan-T5-base's shape in miniature: its config's 32,128-row embedding for the 32,100-token tokenizer, gated-GELU
    feed-forward (wi_0, wi_1), untied output layer; 1 encoder and 1 decoder layer of width 32."""
    import torch
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    tokenizer = AutoTokenizer.from_pretrained(shared_tokenizer(T5_TOKENIZER))
    config = T5Config(vocab_size=32128, d_model=32, d_kv=8, d_ff=64, num_layers=1, num_decoder_layers=1, num_heads=4,
                      feed_forward_proj="gated-gelu", tie_word_embeddings=False, decoder_start_token_id=0,
                      eos_token_id=1, pad_token_id=0, dtype="float32")
    torch.manual_seed(SEED)
    T5ForConditionalGeneration(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def qwen_dir(tmp_path_factory) -> str:
    shared_tokenizer(QWEN_TOKENIZER)
    return built_once(tmp_path_factory, "random-qwen2.5", build_qwen)


@pytest.fixture(scope="session")
def t5_dir(tmp_path_factory) -> str:
    shared_tokenizer(T5_TOKENIZER)
    return built_once(tmp_path_factory, "random-flan-t5", build_t5)
