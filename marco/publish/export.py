"""`python -m marco export RUN --format merged|gguf`: a finished run as a standalone model for tools that do not
load adapters (vLLM without LoRA, llama.cpp, Ollama).

    python -m marco export outputs/marco-tiny --format merged --out outputs/marco-tiny-merged
    python -m marco export outputs/marco-tiny --format gguf --outtype q8_0 --out outputs/marco-tiny.gguf

merged: the adapter merged into the base (peft's merge_and_unload), saved in the base's own dtype with its tokenizer,
chat template, generation config and a card. gguf: the same merged weights in one GGUF file (marco.publish.gguf_file), and an
Ollama Modelfile beside it. A QLoRA run merges into the base's unquantised weights, as peft recommends."""

import argparse
import json
import os

from marco import tiny
from marco.errors import MarcoError

# Ollama's template placeholders; rendered through the chat template to find what surrounds each part
SYSTEM, PROMPT, RESPONSE = "{{ .System }}", "{{ .Prompt }}", "{{ .Response }}"


def checked_run(run_dir: str) -> str:
    if not os.path.isdir(run_dir):
        raise MarcoError(f"{run_dir}: no such run folder (train.py's output_dir)")
    return run_dir


def run_base(run_dir: str) -> str:
    """The base model a run was trained from: marco_report.json's base_model, else peft's record."""
    from marco.models import base_model_of

    checked_run(run_dir)
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

    tokenizer = models.load_tokenizer(checked_run(run_dir))
    if not is_adapter_run(run_dir):
        return models.load_model(run_dir, device="cpu"), tokenizer, run_dir
    model, _, base = models.load_adapter(run_dir, run_base(run_dir), device="cpu")
    return model.merge_and_unload(), tokenizer, base


def _hub_base(base: str):
    return base if "/" in base and not os.path.isdir(base) else None


def card(base: str, run_dir: str, adapter_repo: str = None, repo_id: str = None) -> str:
    """A short model card: where the weights came from, and how to load them. Published (`marco push --merged`), it
    names the adapter's repo, whose card holds the evaluation and the gate, and its own id; never a local path."""
    from huggingface_hub import ModelCard, ModelCardData

    data = ModelCardData(base_model=_hub_base(base), library_name="transformers", pipeline_tag="text-generation",
                         tags=["marco", "merged"])
    source = (f"The LoRA adapter [{adapter_repo}](https://huggingface.co/{adapter_repo}) (its card has the comparison with "
              "the base, the gate and the data audit)") if adapter_repo else f"The LoRA adapter of `{run_dir}`"
    where = json.dumps(repo_id) if repo_id else "PATH"
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n# Merged marco run\n\n{source} merged into `{base}` with "
                         "peft's `merge_and_unload`: a plain transformers model, for engines that do not load adapters.\n\n"
                         "```python\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
                         f"model = AutoModelForCausalLM.from_pretrained({where})\n"
                         f"tokenizer = AutoTokenizer.from_pretrained({where})\n```\n"))


def gguf_card(base: str, gguf_name: str, adapter_repo: str, repo_id: str) -> str:
    """The card of a published GGUF (`marco push --gguf`): llama.cpp and Ollama commands, the adapter's repo."""
    from huggingface_hub import ModelCard, ModelCardData

    data = ModelCardData(base_model=_hub_base(base), library_name="gguf", tags=["marco", "gguf", "llama.cpp", "ollama"])
    return str(ModelCard(
        f"---\n{data.to_yaml()}\n---\n\n# {repo_id}\n\nThe LoRA adapter [{adapter_repo}](https://huggingface.co/"
        f"{adapter_repo}) (its card has the comparison with the base, the gate and the data audit) merged into `{base}` "
        f"and written as one GGUF file, `{gguf_name}`, with an Ollama `Modelfile` (chat template and stop tokens).\n\n"
        f"```bash\nllama-cli -hf {repo_id}:{gguf_name}\n"
        f"hf download {repo_id} --local-dir model && cd model && ollama create tutor -f Modelfile && ollama run tutor\n```\n"))


def export_merged(run_dir: str, out: str, adapter_repo: str = None, repo_id: str = None, merged: tuple = None) -> str:
    """`merged`: merged_model(run_dir) when the caller has it already (`marco push --merged --gguf` merges once)."""
    model, tokenizer, base = merged or merged_model(run_dir)
    model.save_pretrained(out)  # config, generation_config.json and safetensors, in the base's dtype
    tokenizer.save_pretrained(out)  # with chat_template.jinja
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as handle:
        handle.write(card(base, run_dir, adapter_repo, repo_id))
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


def check_gguf(run_dir: str, out: str) -> None:
    """MarcoError for a GGUF that cannot be written, before minutes of loading and merging: the file name, the
    architecture (Qwen2 and Llama only)."""
    from transformers import AutoConfig

    from marco.publish.gguf_file import arch_of

    checked_run(run_dir)
    if not out.endswith(".gguf"):
        raise MarcoError(f"--out {out!r}: a GGUF file name ends in .gguf")
    try:
        arch_of(AutoConfig.from_pretrained(tiny.resolve(run_base(run_dir)) if is_adapter_run(run_dir) else run_dir))
    except (OSError, ValueError) as error:
        raise MarcoError(f"{run_dir}: cannot read the model's config ({str(error).splitlines()[0]})") from None


def export_gguf(run_dir: str, out: str, outtype: str, merged: tuple = None) -> str:
    """The base's name; `merged` as in export_merged (the weights are turned to float32 in place: save any other
    export of the same merged model first)."""
    from marco.publish.gguf_file import write_gguf

    check_gguf(run_dir, out)
    model, tokenizer, base = merged or merged_model(run_dir)
    write_gguf(model.float(), tokenizer, out, outtype, name=os.path.basename(os.path.normpath(run_dir)))
    with open(os.path.join(os.path.dirname(os.path.abspath(out)), "Modelfile"), "w", encoding="utf-8") as handle:
        handle.write(modelfile(model, tokenizer, os.path.basename(out)))
    return base


def command(argv: list) -> int:
    """`python -m marco export`: exit 0 with the path written, or 2 with one line saying what to fix."""
    from marco.publish.gguf_file import OUTTYPES

    parser = argparse.ArgumentParser(prog="python -m marco export", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a finished train.py run (output_dir)")
    parser.add_argument("--format", required=True, choices=["merged", "gguf"])
    parser.add_argument("--out", required=True, help="merged: a folder; gguf: FILE.gguf (the Modelfile goes beside it)")
    parser.add_argument("--outtype", default="f16", choices=OUTTYPES, help="gguf weight type (norms stay f32)")
    args = parser.parse_args(argv)
    try:
        if args.format == "merged":
            export_merged(args.run, args.out)
        else:
            export_gguf(args.run, args.out, args.outtype)
    except MarcoError as error:
        import sys

        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    return 0
