"""Publish a run to the Hugging Face Hub: refuse a model that failed its gate (decided again with the blind review's
votes in RUN/reviews.jsonl when there are any; unless forced, which the card then says), stage the folder that will
be uploaded with its model card, upload it, and optionally the cleaned dataset.

The token is never handled here: huggingface_hub reads it from HF_TOKEN or its own login."""

import contextlib
import fnmatch
import json
import os
import shutil
from dataclasses import replace

from marco.errors import MarcoError
from marco.evaluate import gate, review
from marco.publish import card
from marco.publish.report import RunReport

# What a model repo gets from OUTPUT_DIR: weights, configs, tokenizer, marco's report. Not checkpoints, the training
# data (that is the dataset push), tensorboard runs or pickles (training_args.bin).
MODEL_FILES = ["*.safetensors", "*.safetensors.index.json", "adapter_config.json", "config.json", "generation_config.json",
               "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", "vocab.json",
               "merges.txt", "*.model", "marco_report.json", "marco_config.yaml", "comparisons/*.jsonl"]
DATA_FILES = {"kept.jsonl": "data/train.jsonl", "report.json": "report.json", "report.html": "report.html"}


def load_run(output_dir: str) -> tuple:
    """(RunReport, recipe) of a finished run; the recipe is marco_config.yaml, flat as `--config` reads it."""
    import yaml

    report = RunReport.load(output_dir)
    try:
        with open(os.path.join(output_dir, "marco_config.yaml"), encoding="utf-8") as handle:
            config = yaml.safe_load(handle)
    except FileNotFoundError:
        raise MarcoError(f"{output_dir}: not a finished marco run (marco_config.yaml is missing)") from None
    if report.gate is None:
        raise MarcoError(f"{output_dir}/marco_report.json has no gate decision: train it with this version of marco")
    if report.evaluation is None:
        raise MarcoError(f"{output_dir}: nothing to publish: {'; '.join(report.gate['reasons'])}")
    return report, config


def checked_repo_id(repo_id: str, option: str = "--repo-id") -> str:
    """A Hub id, checked before anything is staged (huggingface_hub's own rule, quoted in the error)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise MarcoError(f"{option} {repo_id!r} is not a Hub repo id: {str(error).split(': ')[0]}") from None
    return repo_id


def check_gate(report, force: bool) -> None:
    if not report.gate["passed"] and not force:
        raise MarcoError("refusing to publish: the fine-tuned model failed marco's gate (" + "; ".join(report.gate["reasons"])
                         + "). Look at marco_report.json; --force publishes it anyway and the card says so")


def _link_or_copy(source: str, target: str) -> None:
    """Hard links keep a 15 GB full fine-tune from being copied; copy where linking is not possible."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _fresh(folder: str) -> str:
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    return folder


def stage_model(output_dir: str, repo_id: str, license: str, force: bool = False, dataset_repo: str = None) -> str:
    """OUTPUT_DIR/hub/model: exactly what the model repo will hold, README.md (the card) included."""
    report, config = load_run(output_dir)
    human = review.latest(output_dir)
    if human:  # blind votes since training: the gate is decided again, human before judge before probes
        report = replace(report, gate=gate.verdict(report.evaluation, gate.policy_of(config), judge=report.judge,
                                                   human=human))
    check_gate(report, force)
    stage = _fresh(os.path.join(output_dir, "hub", "model"))
    for root, _, files in os.walk(output_dir):
        relative_root = os.path.relpath(root, output_dir)
        if relative_root.split(os.sep)[0] in ("hub", "data") or relative_root.startswith("checkpoint-"):
            continue
        for name in files:
            relative = os.path.normpath(os.path.join(relative_root, name))
            if any(fnmatch.fnmatch(relative, pattern) for pattern in MODEL_FILES):
                _link_or_copy(os.path.join(root, name), os.path.join(stage, relative))
    adapter_config = os.path.join(stage, "adapter_config.json")
    if os.path.exists(adapter_config):  # peft wrote the base's local path (marco-tiny's folder): name it instead
        with open(adapter_config, encoding="utf-8") as handle:
            settings = json.load(handle)
        os.remove(adapter_config)  # a hard link: write a new file, leave the run's own config as it is
        settings["base_model_name_or_path"] = report.base_model
        with open(adapter_config, "w", encoding="utf-8") as handle:
            json.dump(settings, handle, indent=2)
    model_card = card.model_card(report, config, repo_id, license, forced=not report.gate["passed"],
                                 dataset_repo=dataset_repo, human=human)
    model_card.save(os.path.join(stage, "README.md"))
    return stage


def stage_dataset(output_dir: str, repo_id: str, model_repo: str, license: str) -> str:
    """OUTPUT_DIR/hub/dataset: the cleaned conversations and the audit, with a dataset card."""
    data = os.path.join(output_dir, "data")
    if not os.path.exists(os.path.join(data, "kept.jsonl")):
        raise MarcoError(f"{data}/kept.jsonl is missing: the dataset push needs the run's audited data")
    stage = _fresh(os.path.join(output_dir, "hub", "dataset"))
    for name, target in DATA_FILES.items():
        if os.path.exists(os.path.join(data, name)):
            _link_or_copy(os.path.join(data, name), os.path.join(stage, target))
    with open(os.path.join(data, "report.json"), encoding="utf-8") as handle:
        audit = json.load(handle)
    card.dataset_card(audit, repo_id, model_repo, license).save(os.path.join(stage, "README.md"))
    return stage


def stage_exports(output_dir: str, repo_id: str, merged: bool, gguf: str) -> list:
    """[(folder, repo id)] for the merged model (REPO_ID-merged) and the GGUF (REPO_ID-GGUF, with its Modelfile),
    exported from the run into OUTPUT_DIR/hub/ from one merge; called after the gate allowed the adapter."""
    from marco.publish import export

    if not (merged or gguf):
        return []
    name = f"{repo_id.split('/')[-1]}-{gguf}.gguf" if gguf else None
    if gguf:
        export.check_gguf(output_dir, name)  # before the merge: an architecture the GGUF writer lacks fails at once
    model = export.merged_model(output_dir)
    stages = []
    if merged:  # first: the GGUF writer turns the weights to float32 in place
        stage, target = _fresh(os.path.join(output_dir, "hub", "merged")), f"{repo_id}-merged"
        export.export_merged(output_dir, stage, adapter_repo=repo_id, repo_id=target, merged=model)
        stages.append((stage, target))
    if gguf:
        stage, target = _fresh(os.path.join(output_dir, "hub", "gguf")), f"{repo_id}-GGUF"
        base = export.export_gguf(output_dir, os.path.join(stage, name), gguf, merged=model)
        with open(os.path.join(stage, "README.md"), "w", encoding="utf-8") as handle:
            handle.write(export.gguf_card(base, name, repo_id, target))
        stages.append((stage, target))
    return stages


def push_target(training_args) -> str:
    """The repo marco will push to at the end, after the gate (None for no push). Checked before training, so a
    missing id or token does not surface after hours of it. Changes nothing: train.py's main turns the Trainer's
    own push off, visibly."""
    from huggingface_hub import constants, get_token

    if training_args.hub_token:
        raise MarcoError("hub_token: marco reads the token only from HF_TOKEN or `hf auth login`; "
                         "remove it from the recipe and the command line")
    if not training_args.push_to_hub:
        return None
    if not training_args.hub_model_id:
        raise MarcoError("push_to_hub: true needs hub_model_id: USER/NAME")
    if constants.is_offline_mode() or get_token() is None:
        raise MarcoError("push_to_hub: true needs the Hub: unset HF_HUB_OFFLINE and set HF_TOKEN or run `hf auth login`")
    return training_args.hub_model_id


def client(endpoint: str = None):
    """HfApi, after the checks that need no network: the Hub is not switched off, and huggingface_hub has a token."""
    from huggingface_hub import HfApi, constants, get_token

    if constants.is_offline_mode():
        raise MarcoError("HF_HUB_OFFLINE is set: nothing was uploaded (what would be is staged under OUTPUT_DIR/hub/)")
    if get_token() is None:
        raise MarcoError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (marco reads it nowhere else)")
    return HfApi(endpoint=endpoint)


def upload(api, folder: str, repo_id: str, repo_type: str, message: str, private: bool = False, create_pr: bool = False,
           **create_options) -> str:
    """Create the repo if needed and upload the folder as one change; the commit or pull-request URL."""
    with _clear_errors(f"upload to {api.endpoint}"):
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, **create_options)
        info = api.upload_folder(repo_id=repo_id, repo_type=repo_type, folder_path=folder, commit_message=message,
                                 create_pr=create_pr)
    return info.pr_url or info.commit_url


def create_private(api, repo_id: str, repo_type: str) -> None:
    """A private repo, made with the user's token before anything writes to it (a Space's votes dataset)."""
    with _clear_errors(f"creating {repo_id} at {api.endpoint}"):
        api.create_repo(repo_id, repo_type=repo_type, private=True, exist_ok=True)


@contextlib.contextmanager
def _clear_errors(what: str):
    import httpx2  # huggingface_hub's HTTP client: connection failures arrive as its errors
    from huggingface_hub.errors import HfHubHTTPError

    try:
        yield
    except (HfHubHTTPError, httpx2.HTTPError, OSError) as error:
        raise MarcoError(f"{what} failed ({type(error).__name__}: {str(error).splitlines()[0]}); "
                         f"nothing local was changed: run the same command again to retry") from None


def push(output_dir: str, repo_id: str, private: bool = False, create_pr: bool = False, force: bool = False,
         push_dataset: bool = False, dataset_repo: str = None, license: str = None, endpoint: str = None,
         dry_run: bool = False, merged: bool = False, gguf: str = None) -> list:
    """Stage and upload the model (and the dataset; with `merged` the adapter merged into its base as REPO_ID-merged,
    with `gguf` an OUTTYPE GGUF as REPO_ID-GGUF); returns the commit or pull-request URLs (the staged folders for a dry
    run)."""
    checked_repo_id(repo_id)
    if dataset_repo:
        checked_repo_id(dataset_repo, "--dataset-repo-id")
    _, config = load_run(output_dir)
    license = license or config.get("license") or "apache-2.0"
    dataset_repo = (dataset_repo or f"{repo_id}-data") if push_dataset else None
    model_stage = stage_model(output_dir, repo_id, license, force, dataset_repo)
    data_stage = stage_dataset(output_dir, dataset_repo, repo_id, license) if dataset_repo else None
    exports = stage_exports(output_dir, repo_id, merged, gguf)
    if dry_run:
        return [model_stage] + ([data_stage] if data_stage else []) + [stage for stage, _ in exports]
    api, urls = client(endpoint), []
    if data_stage:
        urls.append(upload(api, data_stage, dataset_repo, "dataset", "marco: cleaned training data", private, create_pr))
    urls.append(upload(api, model_stage, repo_id, "model", "marco: fine-tuned model and card", private, create_pr))
    for stage, target in exports:
        urls.append(upload(api, stage, target, "model", f"marco: {os.path.basename(stage)} export", private, create_pr))
    return urls
