"""The model card and the dataset card: what was trained on which data (the audit), and whether it beats its
base (the comparison and the gate), as huggingface_hub cards whose metadata the Hub indexes.

Everything comes from a run's RunReport (marco_report.json) and its recipe (marco_config.yaml, flat), so a card
says only what was measured."""

import html
import json
import os

from marco import tiny, tiny_t5

BUILT_IN = {tiny.NAME, tiny_t5.NAME}  # models that ship with marco and are not on the Hub
FIGURES = [("pass_rate", "probe pass rate"), ("template_rate", "template rate"), ("distinct_2", "distinct-2"),
           ("top_opening_share", "most common opening"), ("mean_words", "mean words"), ("chrf", "chrF")]
SAMPLES = 4  # side-by-side answers shown in the card; all of them are in marco_report.json

MODEL_CARD = """---
{{ card_data }}
---

# {{ title }}

{{ summary }}

{{ gate_line }}

## Use it

```python
{{ usage }}
```

## Evaluation against the base model

{{ probes }} probes (`{{ probe_file }}`), answered greedily by the base and by the fine-tuned model. A probe passes
when the answer contains one of the expected phrases of every group and none of the known wrong claims. Template
rate: share of answers that share a learned opening, closing or phrase frame (the detector that cleans the data).

| metric | base | fine-tuned |
| --- | --- | --- |
{% for row in figures -%}
| {{ row[0] }} | {{ row[1] }} | {{ row[2] }} |
{% endfor %}
{%- if eval_loss is not none %}
Held-out eval loss: {{ eval_loss }}.
{% endif %}

### Sample answers

{% for s in samples -%}
**{{ s.question }}**

- base{{ " (passes)" if s.base_passes else "" }}: {{ s.base }}
- fine-tuned{{ " (passes)" if s.fine_tuned_passes else "" }}: {{ s.fine_tuned }}

{% endfor -%}
All {{ probes }} answers are in `marco_report.json`; answers during training are in `comparisons/`.

## The gate

{{ gate_detail }}
{% if judge_line %}
Judge (MT-Bench pairwise prompt, each pair asked twice with the answers swapped; two verdicts that disagree count as
a tie): {{ judge_line }}.
{% endif %}
{%- if human_line %}
The {{ human_line }}.
{% endif %}

## Training data

Source: {{ data_source }}. marco audited it before training: {{ data.input }} records in, {{ data.kept }} kept,
{{ data.rejected }} rejected{% if data.by_reason %} ({% for reason, n in data.by_reason.items() %}{{ reason }}: {{ n }}{{ ", " if not loop.last else "" }}{% endfor %}){% endif %}.
Template rate of the data: {{ data.template_rate }}.{{ clean_note }}
{% if data.tokenizer_warning %}
**Tokenizer coverage:** {{ data.tokenizer_warning }}.
{% endif %}
## Training recipe

| setting | value |
| --- | --- |
{% for key, value in recipe -%}
| {{ key }} | {{ value }} |
{% endfor %}
Trained with marco on TRL's SFTTrainer; the full configuration is `marco_config.yaml`.

## Limitations

- The probe figures are automatic checks (expected phrases, chrF against reference answers) on {{ probes }}
  questions, not a human judgement of teaching quality.
- The data audit finds duplicates, near duplicates and templated replies; it does not check facts or grammar.
- The model inherits the base model's limitations and licence terms.{{ extra_limitation }}
"""

DATASET_CARD = """---
{{ card_data }}
---

# {{ title }}

The training data of [{{ model_repo }}](https://huggingface.co/{{ model_repo }}), after marco's audit and cleaning:
`data/train.jsonl` holds the {{ counts.kept }} kept conversations (chat `messages` format).

## Audit

| | |
| --- | --- |
| records in | {{ counts.input }} |
| kept | {{ counts.kept }} |
| rejected | {{ counts.rejected }} |
{% for reason, n in counts.by_reason.items() -%}
| rejected: {{ reason }} | {{ n }} |
{% endfor -%}
| exact-duplicate clusters | {{ report.exact_duplicates.clusters }} |
| near-duplicate clusters | {{ report.near_duplicates.clusters }} |
| templated replies (before cleaning) | {{ report.templates.templated_replies }} of {{ report.templates.replies_scanned }} |
| distinct-2 of kept replies | {{ diversity.distinct_2 }} |
| most common opening of kept replies | "{{ diversity.top_opening }}" ({{ diversity.top_opening_share }}) |

`report.json` and `report.html` are the full audit. Rejected records are not published.
"""


def _quoted(text) -> str:
    """What a probe or a model wrote, shown as text on one line: its HTML escaped (a stray `<!--` in an answer would
    hide the rest of the card, the gate included)."""
    return html.escape(str(text), quote=False).replace("\n", " ")


def _is_hub_id(name: str) -> bool:
    return name not in BUILT_IN and not os.path.exists(name) and name.count("/") == 1


def usage(repo_id: str, base_model: str, adapter: bool, seq2seq: bool) -> str:
    """The loading snippet: right classes, right ids (never a local path), each id a quoted Python string."""
    kind, repo = "Seq2SeqLM" if seq2seq else "CausalLM", json.dumps(repo_id)
    if not adapter:
        return (f"from transformers import AutoModelFor{kind}, AutoTokenizer\n\n"
                f'model = AutoModelFor{kind}.from_pretrained({repo})\ntokenizer = AutoTokenizer.from_pretrained({repo})')
    if _is_hub_id(base_model):
        return (f"from peft import AutoPeftModelFor{kind}\nfrom transformers import AutoTokenizer\n\n"
                f'model = AutoPeftModelFor{kind}.from_pretrained({repo})  # loads {base_model}, then the adapter\n'
                f'tokenizer = AutoTokenizer.from_pretrained({repo})')
    path = f"{base_model!r} (built into marco)" if base_model in BUILT_IN else "the base model you trained on"
    resolve = "from marco.tiny import resolve\n" if base_model in BUILT_IN else ""
    base = f"resolve({base_model!r})" if base_model in BUILT_IN else '"PATH/TO/BASE"'
    return (f"from peft import PeftModel\nfrom transformers import AutoModelFor{kind}, AutoTokenizer\n{resolve}\n"
            f"base = AutoModelFor{kind}.from_pretrained({base})  # {path}\n"
            f'model = PeftModel.from_pretrained(base, {repo})\ntokenizer = AutoTokenizer.from_pretrained({repo})')


def _recipe(report, config: dict) -> list:
    rows = [("method", report.method), ("base model", report.base_model)]
    if report.method != "full":
        rows += [("LoRA r / alpha / dropout", f"{config['lora_r']} / {config['lora_alpha']} / {config['lora_dropout']}"),
                 ("LoRA target modules", config["lora_target_modules"])]
    rows += [(key.replace("_", " "), config[key]) for key in
             ("learning_rate", "lr_scheduler_type", "num_train_epochs", "per_device_train_batch_size",
              "gradient_accumulation_steps", "max_length", "seed") if config.get(key) is not None]
    rows += [("processes", report.training.get("world_size", 1)), ("data cleaned before training", config["clean_data"])]
    if report.stopped_early:
        rows.append(("stopped early", report.stopped_early))
    return rows


def _inconclusive_because(base_model: str) -> str:
    """Why a run may pass although no probe showed anything (gate_allow_inconclusive)."""
    if base_model in BUILT_IN:
        return (f"{base_model} is a demo model of a few million parameters that passes no probe, before or after "
                "training; nothing here shows that the fine-tuned model is better than its base")
    return "the recipe sets it; nothing here shows that the fine-tuned model is better than its base"


def _gate_text(gate: dict, forced: bool, base_model: str) -> tuple[str, str]:
    """(one line under the title, the gate section)."""
    shown = [{**c, "detail": c["detail"] + f" because {_inconclusive_because(base_model)}"}
             if c["name"] == "inconclusive" and c["passed"] else c for c in gate["checks"]]
    allowed = next((c for c in shown if c["name"] == "inconclusive" and c["passed"]), None)
    checks = "\n".join(f"- {'ok' if c['passed'] else 'FAILED'}: {c['detail']}" for c in shown)
    if gate["passed"] and allowed:
        return f"**marco's gate: passed, {allowed['detail']}.**", checks
    if gate["passed"]:
        return "**marco's gate: passed.** The fine-tuned model passed every check below against its base.", checks
    reasons = "; ".join(gate["reasons"])
    line = (f"**Warning: this model FAILED marco's gate ({reasons}) and was published anyway with `--force`.** "
            "Prefer the base model unless you know why you want this one." if forced else
            f"**marco's gate: failed** ({reasons}).")
    return line, checks


def model_card(report, config: dict, repo_id: str, license: str, forced: bool = False, dataset_repo: str = None,
               human: dict = None):
    """The ModelCard of a run (its RunReport and recipe) as it will be on the Hub under `repo_id`; `human`: the
    blind review summary of the latest reviewed step (marco.evaluate.review.latest), when there are votes."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    from marco.evaluate import judge, review

    evaluation, gate, data = report.evaluation, report.gate, report.data
    adapter, seq2seq, base_model = report.method != "full", report.encoder_decoder, report.base_model
    base_id = base_model if _is_hub_id(base_model) else None
    probe_file = os.path.basename(config["probes"])
    task = "text2text-generation" if seq2seq else "text-generation"
    results = [EvalResult(task_type=task, dataset_type="marco-probes", dataset_name=f"marco probes ({probe_file})",
                          metric_type=key, metric_name=f"{label} (fine-tuned)", metric_value=evaluation["fine_tuned"][key])
               for key, label in FIGURES if key in ("pass_rate", "template_rate", "distinct_2", "chrf")]
    datasets = [d for d in (dataset_repo, data["source"]) if d and _is_hub_id(d)]
    card_data = ModelCardData(
        model_name=repo_id.split("/")[-1], base_model=base_id, library_name="peft" if adapter else "transformers",
        pipeline_tag=task, license=license, datasets=datasets or None, eval_results=results,
        tags=["marco", "trl", "sft", report.method, "tutoring"] + ([base_model] if base_model in BUILT_IN else []),
    )
    gate_line, gate_detail = _gate_text(gate, forced, base_model)
    what = {"lora": "A LoRA adapter", "qlora": "A LoRA adapter trained on 4-bit weights (QLoRA)",
            "full": "A fully fine-tuned version"}[report.method]
    base_link = f"[{base_id}](https://huggingface.co/{base_id})" if base_id else f"`{os.path.basename(base_model)}`"
    source = f"`{data['source']}`" + (f", published cleaned as [{dataset_repo}](https://huggingface.co/datasets/{dataset_repo})"
                                      if dataset_repo else "")
    return ModelCard.from_template(
        card_data, template_str=MODEL_CARD, title=repo_id.split("/")[-1],
        summary=f"{what} of {base_link}, trained and checked with marco against its own base model.",
        gate_line=gate_line, gate_detail=gate_detail, judge_line=judge.line(report.judge) if report.judge else "",
        human_line=review.sentence(human) if human else "", usage=usage(repo_id, base_model, adapter, seq2seq),
        probes=evaluation["probes"], probe_file=probe_file,
        figures=[(label, evaluation["base"][key], evaluation["fine_tuned"][key]) for key, label in FIGURES],
        eval_loss=round(report.training["eval_loss"], 4) if "eval_loss" in report.training else None,
        samples=[{**s, **{k: _quoted(s[k]) for k in ("question", "base", "fine_tuned")}} for s in evaluation["samples"][:SAMPLES]],
        data=data, data_source=source,
        clean_note="" if config["clean_data"] else " The model was trained on the data as given (--no_clean_data).",
        recipe=_recipe(report, config),
        extra_limitation=(f"\n- {base_model} is a test and demo model of a few million parameters: most of "
                          "its answers are nonsense." if base_model in BUILT_IN else ""),
    )


def dataset_card(data_report: dict, repo_id: str, model_repo: str, license: str):
    """The DatasetCard of the cleaned data, carrying its audit."""
    from huggingface_hub import DatasetCard, DatasetCardData

    card_data = DatasetCardData(license=license, tags=["marco", "audited", "conversational"],
                                configs=[{"config_name": "default", "data_files": [{"split": "train", "path": "data/train.jsonl"}]}])
    return DatasetCard.from_template(card_data, template_str=DATASET_CARD, title=repo_id.split("/")[-1],
                                     model_repo=model_repo, counts=data_report["counts"], report=data_report,
                                     diversity=data_report["diversity"]["kept"])
