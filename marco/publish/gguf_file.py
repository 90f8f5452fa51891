"""A merged causal LM as one GGUF file for llama.cpp and Ollama, written with llama.cpp's own `gguf` package: its
tensor names (gguf.TensorNameMap), metadata keys and quantisers, and its SpecialVocab for merges, special ids and the
chat template. What is written follows llama.cpp's convert_hf_to_gguf.py (TextModel, LlamaModel, Qwen2Model)."""

import os
import tempfile

from marco.errors import MarcoError

ARCHITECTURES = {"qwen2": "QWEN2", "llama": "LLAMA"}  # transformers model_type -> gguf.MODEL_ARCH member
OUTTYPES = ("f32", "f16", "q8_0")
# the tokenizer's pre-tokenizer split, as llama.cpp names it (tokenizer.ggml.pre): how text is cut before merging
QWEN2_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def arch_of(config):
    """The gguf.MODEL_ARCH of a transformers config, or a MarcoError naming what is supported."""
    import gguf

    if config.model_type not in ARCHITECTURES:
        raise MarcoError(f"GGUF export supports {' and '.join(ARCHITECTURES)} models; this one is {config.model_type!r} "
                         f"(export it with --format merged and convert it with llama.cpp's convert_hf_to_gguf.py)")
    rope = getattr(config, "rope_parameters", None) or {}
    if rope.get("rope_type", "default") != "default":
        raise MarcoError(f"GGUF export writes plain RoPE; this model uses {rope['rope_type']!r} scaling")
    return getattr(gguf.MODEL_ARCH, ARCHITECTURES[config.model_type])


def pre_tokenizer_name(tokenizer) -> str:
    """llama.cpp's name for the tokenizer's split (read from its tokenizer.json), or a MarcoError: llama.cpp would
    tokenise the text differently from the model's own tokenizer."""
    import json

    backend = json.loads(tokenizer.backend_tokenizer.to_str())
    if backend["model"]["type"] != "BPE" or backend["model"].get("byte_fallback"):
        raise MarcoError("GGUF export writes byte-level BPE vocabularies (Qwen2, Llama 3); this tokenizer is "
                         f"{backend['model']['type']}{' with byte fallback' if backend['model'].get('byte_fallback') else ''}")
    pre = backend.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", [pre])
    splits = [s["pattern"].get("Regex") for s in steps if s.get("type") == "Split"]
    if splits == [QWEN2_SPLIT]:
        return "qwen2"
    if splits == [LLAMA3_SPLIT]:
        return "llama-bpe"
    if not splits and any(s.get("type") == "ByteLevel" and s.get("use_regex", True) for s in steps):
        return "gpt-2"  # GPT-2's own split inside ByteLevel (marco-tiny's tokenizer)
    raise MarcoError("GGUF export: the tokenizer's pre-tokenizer split is not one llama.cpp knows (qwen2, llama-bpe, gpt-2)")


def vocabulary(tokenizer, vocab_size: int) -> tuple[list, list]:
    """Tokens and their types, one per embedding row, as convert_hf_to_gguf.py's get_vocab_base writes them: rows no
    token uses become [PADn], added tokens are CONTROL when special and USER_DEFINED otherwise."""
    import gguf

    by_id = {i: token for token, i in tokenizer.get_vocab().items()}
    added = tokenizer.added_tokens_decoder
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
            continue
        tokens.append(by_id[i])
        if i in added:
            types.append(gguf.TokenType.CONTROL if added[i].special else gguf.TokenType.USER_DEFINED)
        else:
            types.append(gguf.TokenType.NORMAL)
    return tokens, types


def permute(weight, heads: int):
    """llama.cpp's RoPE layout for Llama's q/k projections (convert_hf_to_gguf.py's LlamaModel.permute)."""
    return weight.reshape(heads, 2, weight.shape[0] // heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def tensor_type(name: str, data, outtype: str):
    """The GGML type a tensor is stored in: norms and biases stay f32, as llama.cpp keeps them; q8_0 needs rows of
    a multiple of 32 and falls back to f16 otherwise."""
    import gguf

    types = gguf.GGMLQuantizationType
    if outtype == "f32" or data.ndim == 1:
        return types.F32
    if outtype == "q8_0" and data.shape[-1] % gguf.GGML_QUANT_SIZES[types.Q8_0][0] == 0:
        return types.Q8_0
    return types.F16


def tensors(model, arch):
    """(GGUF name, float32 array) for every weight, renamed by gguf's own TensorNameMap."""
    import gguf

    config = model.config
    names = gguf.get_tensor_name_map(arch, config.num_hidden_layers)
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight" and config.tie_word_embeddings:
            continue  # llama.cpp reads the embedding back as the output layer
        data = tensor.float().numpy()
        if config.model_type == "llama" and name.endswith(("q_proj.weight", "k_proj.weight")):
            data = permute(data, config.num_key_value_heads if "k_proj" in name else config.num_attention_heads)
        gguf_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise MarcoError(f"GGUF export: no GGUF name for the tensor {name!r}")
        yield gguf_name, data


def add_metadata(writer, model, name: str, outtype: str) -> None:
    """The hyperparameters llama.cpp reads (TextModel.set_gguf_parameters)."""
    import gguf

    config = model.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    writer.add_name(name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(config.rope_parameters["rope_theta"])
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    if config.model_type == "llama":
        writer.add_rope_dimension_count(head_dim)
    file_types = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
                  "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}
    writer.add_file_type(file_types[outtype])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


def add_tokenizer(writer, tokenizer, vocab_size: int) -> None:
    """Vocabulary, merges, special ids and chat template, read back by gguf.SpecialVocab from the saved tokenizer."""
    import gguf

    tokens, types = vocabulary(tokenizer, vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre_tokenizer_name(tokenizer))
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save_pretrained(folder)
        gguf.SpecialVocab(folder, load_merges=True, n_vocab=vocab_size).add_to_gguf(writer, quiet=True)


def write_gguf(model, tokenizer, path: str, outtype: str = "f16", name: str = "marco") -> str:
    """`model` (a merged transformers causal LM) and its tokenizer as one GGUF file at `path`."""
    import gguf

    if outtype not in OUTTYPES:
        raise MarcoError(f"--outtype {outtype!r}: choose one of {', '.join(OUTTYPES)}")
    arch = arch_of(model.config)
    writer = gguf.GGUFWriter(path, gguf.MODEL_ARCH_NAMES[arch])
    add_metadata(writer, model, name, outtype)
    add_tokenizer(writer, tokenizer, model.config.vocab_size)
    for gguf_name, data in tensors(model, arch):
        qtype = tensor_type(gguf_name, data, outtype)
        writer.add_tensor(gguf_name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
