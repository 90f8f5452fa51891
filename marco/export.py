"""`python -m marco export RUN --format merged|gguf`: a finished run as a standalone model for tools that do not
load adapters (vLLM without LoRA, llama.cpp, Ollama).

    python -m marco export outputs/marco-tiny --format merged --out outputs/marco-tiny-merged
    python -m marco export outputs/marco-tiny --format gguf --outtype q8_0 --out outputs/marco-tiny.gguf

merged: the adapter merged into the base (peft's merge_and_unload), saved in the base's own dtype with its tokenizer,
chat template, generation config and a card. gguf: the same merged weights in one GGUF file (marco.gguf_file), and an
Ollama Modelfile beside it. A QLoRA run merges into the base's unquantised weights, as peft recommends."""

import argparse
import json
import os

from marco import tiny
from marco.errors import MarcoError

# Ollama's template placeholders; rendered through the chat template to find what surrounds each part
SYSTEM, PROMPT, RESPONSE = "{{ .System }}", "{{ .Prompt }}", "{{ .Response }}"


def run_base(run_dir: str) -> str:
    """The base model a run was trained from: marco_report.json's base_model, else peft's record."""
    from marco.models import base_model_of

    if not os.path.isdir(run_dir):
        raise MarcoError(f"{run_dir}: no such run folder (train.py's output_dir)")
    try:
        return base_model_of(run_dir)
    except (OSError, ValueError, KeyError) as error:
        raise MarcoError(f"{run_dir}: not a finished run: no marco_report.json or adapter_config.json "
                         f"({str(error).splitlines()[0]})") from None


def is_adapter_run(run_dir: str) -> bool:
    return os.path.isfile(os.path.join(run_dir, "adapter_config.json"))


def merged_model(run_dir: str):
    """(merged model, tokenizer, base name). An adapter run is merged into its base loaded in the dtype it was saved
    in; a full fine-tuning run already is the whole model. The tokenizer is the run's own (its chat template)."""
    from marco import models

    tokenizer = models.load_tokenizer(run_dir)
    if not is_adapter_run(run_dir):
        return models.load_model(run_dir, device="cpu"), tokenizer, run_dir
    model, _, base = models.load_adapter(run_dir, run_base(run_dir), device="cpu")
    return model.merge_and_unload(), tokenizer, base


def card(base: str, run_dir: str) -> str:
    """A short model card: where the weights came from, and how to load them."""
    from huggingface_hub import ModelCard, ModelCardData

    data = ModelCardData(base_model=base if "/" in base and not os.path.isdir(base) else None,
                         library_name="transformers", pipeline_tag="text-generation", tags=["marco", "merged"])
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n# Merged marco run\n\nThe LoRA adapter of `{run_dir}` merged "
                         f"into `{base}` with peft's `merge_and_unload`: a plain transformers model.\n\n```python\n"
                         "from transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
                         "model = AutoModelForCausalLM.from_pretrained(PATH)\ntokenizer = AutoTokenizer.from_pretrained(PATH)\n"
                         "```\n"))


def export_merged(run_dir: str, out: str) -> str:
    model, tokenizer, base = merged_model(run_dir)
    model.save_pretrained(out)  # config, generation_config.json and safetensors, in the base's dtype
    tokenizer.save_pretrained(out)  # with chat_template.jinja
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as handle:
        handle.write(card(base, run_dir))
    return out


def ollama_template(tokenizer) -> str:
    """The chat template as an Ollama (Go) template: each part's surroundings, found by rendering the Jinja template
    with Ollama's placeholders as contents. Without a system message, what the chat template writes then (Qwen2.5:
    its default system prompt) is kept."""
    def render(messages, **kwargs):
        return tokenizer.apply_chat_template(messages, tokenize=False, **kwargs)

    system, user = {"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}
    with_system = render([system, user], add_generation_prompt=True)
    without = render([user], add_generation_prompt=True)
    answered = render([system, user, {"role": "assistant", "content": RESPONSE}])
    if SYSTEM not in with_system or PROMPT not in without or RESPONSE not in answered:
        raise MarcoError("the chat template does not write every message it is given: cannot derive an Ollama TEMPLATE")
    return ("{{ if .System }}" + with_system[: with_system.index(PROMPT)] + "{{ else }}"
            + without[: without.index(PROMPT)] + "{{ end }}" + with_system[with_system.index(PROMPT):]
            + answered[answered.index(RESPONSE):])


def stop_tokens(model, tokenizer) -> list:
    """Every token that ends a reply: the tokenizer's eos and the generation config's eos ids."""
    ids = model.generation_config.eos_token_id
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    tokens = [tokenizer.eos_token] + tokenizer.convert_ids_to_tokens(ids)
    return list(dict.fromkeys(t for t in tokens if t))


def modelfile(model, tokenizer, gguf_name: str) -> str:
    """An Ollama Modelfile for the GGUF beside it: `ollama create NAME -f Modelfile`."""
    lines = [f"FROM ./{gguf_name}", f'TEMPLATE """{ollama_template(tokenizer)}"""']
    lines += [f"PARAMETER stop {json.dumps(t)}" for t in stop_tokens(model, tokenizer)]
    return "\n".join(lines) + "\n"


def export_gguf(run_dir: str, out: str, outtype: str) -> str:
    from transformers import AutoConfig

    from marco.gguf_file import arch_of, write_gguf

    if not out.endswith(".gguf"):
        raise MarcoError(f"--out {out!r}: a GGUF file name ends in .gguf")
    try:  # the architecture is checked before minutes of loading and merging
        arch_of(AutoConfig.from_pretrained(tiny.resolve(run_base(run_dir)) if is_adapter_run(run_dir) else run_dir))
    except (OSError, ValueError) as error:
        raise MarcoError(f"{run_dir}: cannot read the model's config ({str(error).splitlines()[0]})") from None
    model, tokenizer, base = merged_model(run_dir)
    write_gguf(model.float(), tokenizer, out, outtype, name=os.path.basename(os.path.normpath(run_dir)))
    with open(os.path.join(os.path.dirname(os.path.abspath(out)), "Modelfile"), "w", encoding="utf-8") as handle:
        handle.write(modelfile(model, tokenizer, os.path.basename(out)))
    return out


def command(argv: list) -> int:
    """`python -m marco export`: exit 0 with the path written, or 2 with one line saying what to fix."""
    from marco.gguf_file import OUTTYPES

    parser = argparse.ArgumentParser(prog="python -m marco export", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a finished train.py run (output_dir)")
    parser.add_argument("--format", required=True, choices=["merged", "gguf"])
    parser.add_argument("--out", required=True, help="merged: a folder; gguf: FILE.gguf (the Modelfile goes beside it)")
    parser.add_argument("--outtype", default="f16", choices=OUTTYPES, help="gguf weight type (norms stay f32)")
    args = parser.parse_args(argv)
    try:
        written = export_merged(args.run, args.out) if args.format == "merged" else export_gguf(args.run, args.out, args.outtype)
    except MarcoError as error:
        import sys

        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {written}")
    return 0
