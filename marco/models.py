"""The one place that loads models: base models and tokenizers (built-in or Hub), adapters with their base, the
encoder-decoder check, and the device and dtype they run on. Training, the encoder-decoder path, `marco eval` and
the app all load through here, so a model that does not load fails the same way (one line) everywhere."""

import json
import os

from marco import run_dir, tiny
from marco.errors import MarcoError


def cannot_load(name_or_path: str, error: Exception, part: str = "") -> MarcoError:
    """The one-line error for a model (or its tokenizer, its config) that does not load."""
    return MarcoError(f"model {name_or_path!r}: cannot load{' its ' + part if part else ''} "
                      f"({str(error).splitlines()[0]})")


def device() -> str:
    """Where inference runs: the GPU when there is one (training's device is the Trainer's choice)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


default_device = device  # load_model's `device` argument hides the function inside it


def base_parameters(model) -> int:
    """The base's parameters without an adapter's (4-bit weights counted unpacked, as peft counts them)."""
    if hasattr(model, "get_nb_trainable_parameters"):  # a peft model: everything but the adapter is the base
        trainable, total = model.get_nb_trainable_parameters()
        return total - trainable
    return model.num_parameters()


def is_encoder_decoder(name_or_path, revision: str = None, trust_remote_code: bool = False) -> bool:
    """From the config alone (no weights loaded): T5 and its kin say so. Takes a loaded model too."""
    if hasattr(name_or_path, "config"):
        return bool(getattr(name_or_path.config, "is_encoder_decoder", False))
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(tiny.resolve(name_or_path), revision=revision,
                                            trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as error:
        raise cannot_load(name_or_path, error, "config") from None
    return bool(config.is_encoder_decoder)


def auto_model_class(name_or_path: str, revision: str = None, trust_remote_code: bool = False):
    """The Auto class that loads this model: AutoModelForSeq2SeqLM or AutoModelForCausalLM."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    seq2seq = is_encoder_decoder(name_or_path, revision, trust_remote_code)
    return AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM


def load_tokenizer(name_or_path: str, revision: str = None, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(tiny.resolve(name_or_path), revision=revision,
                                             trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as error:
        raise cannot_load(name_or_path, error, "tokenizer") from None


def load_model(name_or_path: str, revision: str = None, trust_remote_code: bool = False, dtype="auto", device=None,
               **kwargs):
    """The base model, by the class its config names, on `device` (default: `device()`); kwargs go to
    from_pretrained (attn_implementation, quantization_config, device_map)."""
    model_class = auto_model_class(name_or_path, revision, trust_remote_code)
    try:
        model = model_class.from_pretrained(tiny.resolve(name_or_path), revision=revision,
                                            trust_remote_code=trust_remote_code, dtype=dtype, **kwargs)
    except (OSError, ValueError) as error:
        raise cannot_load(name_or_path, error) from None
    return model if "device_map" in kwargs else model.to(device or default_device())


def is_adapter_model(model) -> bool:
    """A peft model: its base answers too, with the adapter switched off."""
    return hasattr(model, "peft_config") and hasattr(model, "disable_adapter")


def keep_4bit_weights_trainable(model) -> None:
    """bitsandbytes (0.50) repacks a 4-bit layer's weight for its AVX512-BF16 CPU inference kernel at the first forward
    in eval mode without grad (the base comparison's generate) and never unpacks it when training goes on: the next
    training forward takes the inference kernel and fails (`result += bias` on a leaf that requires grad). A model
    that trains keeps the layout training reads, on such a CPU too; elsewhere the flag is already off."""
    for module in model.modules():
        if getattr(module, "support_avx512bf16_for_cpu", False):
            module.support_avx512bf16_for_cpu = False


def check_lora_targets(model, targets) -> None:
    """peft adapts the layers whose names end with a listed name and skips the other names in silence: on Flan-T5,
    whose feed-forward input layers are wi_0 and wi_1, "wi" adapts nothing. Refuse a name that matches no layer."""
    import torch

    if isinstance(targets, str) or not targets:  # all-linear, or a regular expression
        return
    names = [name for name, _ in model.named_modules()]
    missing = sorted(t for t in targets if not any(n == t or n.endswith("." + t) for n in names))
    if missing:
        linear = sorted({n.split(".")[-1] for n, m in model.named_modules()
                         if isinstance(m, torch.nn.Linear) and "lora_" not in n and not n.endswith("base_layer")})
        raise MarcoError(f"lora_target_modules {missing} match no layer of this model; its linear layers are "
                         f"{', '.join(linear)} (or use lora_target_modules: all-linear)")


def base_model_of(adapter: str) -> str:
    """The adapter's base: marco_report.json's base_model ("marco-tiny" or a Hub id) when a marco run wrote one,
    since peft's adapter_config.json holds the local folder marco-tiny was loaded from; else peft's record."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError
    from peft import PeftConfig

    if os.path.isdir(adapter):
        run_dir.check_complete(adapter)  # a killed or running run's weights are not a result
        report = os.path.join(adapter, "marco_report.json")
    else:
        try:
            report = hf_hub_download(adapter, "marco_report.json")
        except (OSError, ValueError, EntryNotFoundError):  # not a marco run, or offline: peft's record is all there is
            report = None
    if report and os.path.exists(report):
        with open(report, encoding="utf-8") as handle:
            return json.load(handle)["base_model"]
    return PeftConfig.from_pretrained(adapter).base_model_name_or_path


def load_adapter(adapter: str, base: str = None, device=None) -> tuple:
    """(peft model in eval mode, tokenizer, base name): the base (default: the adapter's own, `base_model_of`)
    with the adapter on top, on `device` (default: `device()`)."""
    from peft import PeftModel

    try:
        base = base or base_model_of(adapter)
    except (OSError, ValueError) as error:
        raise MarcoError(f"adapter {adapter!r}: neither a folder nor a Hub adapter ({str(error).splitlines()[0]})") from None
    tokenizer = load_tokenizer(base)
    weights = load_model(base, device=device)
    try:
        model = PeftModel.from_pretrained(weights, adapter)
    except (OSError, ValueError) as error:
        raise MarcoError(f"adapter {adapter!r}: cannot load ({str(error).splitlines()[0]})") from None
    return model.eval(), tokenizer, base
