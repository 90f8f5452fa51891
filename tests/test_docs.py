"""Every command in a code block of README.md and docs/ runs here as a user would type it, in a folder laid out like a
checkout after the main job (outputs/marco-tiny is the suite's shared trained run), with optional `[--flags]` left
out and the placeholders FILE and DIR filled in; or it is in NOT_RUN with the reason, and a reason that names another
test names one that exists. A command added to the docs with neither fails here, so the docs cannot go stale."""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

SHARED = os.path.join(os.path.dirname(REPO), "shared")
PAGES = ["README.md", *sorted(os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, "docs", "*.md")))]
PLACEHOLDERS = {"FILE": "data/examples/v1_templated.jsonl", "DIR": "outputs/filtered"}  # a user's own file and folder

GPU = "needs a GPU and the Hub's 7B weights (benchmarks/gpu_check.py measures these shapes on a GPU)"
HUB = "downloads from the Hub, which this machine cannot reach"
NOT_RUN = {
    "python -m marco data clean /shared/corpus/ --out /shared/clean --engine datatrove --tasks 64 --executor slurm "
    "--slurm-partition cpu --work-dir /shared/clean.work":
        "needs a Slurm cluster: tests/test_data_datatrove.py::test_the_slurm_jobs_it_submits_clean_the_set submits "
        "and runs the generated jobs",
    "RAY_ADDRESS=auto python -m marco data clean /shared/corpus/ --out /shared/clean --engine datatrove --tasks 64 "
    "--executor ray":
        "needs a Ray cluster: tests/test_data_datatrove.py::test_on_a_local_ray_instance runs it on a local one",
    "pip install -r requirements.txt && python train.py --config configs/marco_tiny.yaml":
        ".ci/run installs requirements.txt; tests/test_train.py::test_readme_main_job_trains_the_builtin_model_offline "
        "runs the main job as written",
    "python train.py --config configs/marco_tiny.yaml":
        "the main job: tests/test_train.py::test_readme_main_job_trains_the_builtin_model_offline",
    "python -m pytest -q": "the suite this test is part of",
    "python -m pytest -q tests/test_cli_errors.py":
        "part of this suite: tests/test_cli_errors.py::test_every_command_answers_bad_input_with_one_line_and_exit_2",
    "python train.py --config configs/marco_tiny.yaml --method qlora --learning_rate 1e-3":
        "trains for minutes: tests/test_train.py::test_qlora_trains_on_4bit_nf4_weights_on_cpu_with_the_comparisons_on "
        "trains this recipe's QLoRA, shortened, with the comparisons on",
    "python train.py --config configs/marco_qwen2.5-7b_qlora.yaml": GPU,
    "python train.py --config configs/marco_tiny.yaml --resume_from_checkpoint true":
        "needs a killed run: tests/test_train.py::test_resume_after_sigkill_ends_like_an_uninterrupted_run",
    "python train.py --config outputs/marco-tiny/marco_config.yaml --output_dir outputs/again":
        "trains again: tests/test_train.py::test_a_run_replays_from_its_saved_marco_config",
    "torchrun --nproc_per_node 2 train.py --config configs/marco_tiny.yaml":
        "trains in two processes: tests/test_train.py::test_two_processes_with_torchrun_on_cpu",
    "accelerate launch --config_file configs/accelerate/zero3.yaml train.py --config configs/marco_qwen2.5-7b_lora.yaml": GPU,
    "python -m marco preview --config configs/marco_qwen2.5-7b_lora.yaml --n 2":
        f"{HUB}: tests/test_preview.py::test_qwen_recipe_preview_trains_the_replies_and_im_end_only runs it on the real tokenizer",
    "python -m marco preview --config configs/finance_flan-t5-base_lora.yaml --json --n 5":
        f"{HUB}: tests/test_preview.py::test_flan_t5_recipe_preview_trains_the_answers_and_end_token_only",
    "python train.py --config configs/finance_tiny.yaml":
        "trains for 1.5 minutes: tests/test_seq2seq.py::test_finance_recipe_teaches_facts_the_base_never_saw_and_passes_the_gate",
    "python train.py --config configs/finance_flan-t5-small_full.yaml": HUB,
    "python train.py --config configs/finance_flan-t5-base_lora.yaml": HUB,
    "python -m marco eval --model marco-tiny-t5 --adapter outputs/finance-tiny --probes data/examples/finance_probes.jsonl":
        "needs the finance run: tests/test_seq2seq.py::test_eval_cli_compares_the_adapter_with_the_built_in_base",
    "python -m marco eval --adapter USER/NAME": HUB,
    "transformers serve Qwen/Qwen2.5-7B-Instruct --port 8000 &":
        f"{HUB}; tests/test_judge.py judges through a real `transformers serve` on marco-tiny",
    "python -m marco eval --answers answers.jsonl --judge-base-url http://127.0.0.1:8000/v1 --judge-model "
    "Qwen/Qwen2.5-7B-Instruct --out eval.json":
        "needs the Qwen server above: tests/test_answers.py judges answers through an endpoint",
    "python -m marco review outputs/marco-tiny --votes-repo USER/VOTES":
        "needs the Hub: tests/test_votes_hub.py::test_marco_review_reads_the_votes_repo runs it on a loopback Hub",
    "python -m marco space outputs/marco-tiny --repo-id USER/NAME --push USER/DEMO --votes-repo USER/VOTES":
        "needs the Hub: tests/test_hub.py::test_space_folder_is_pushed_as_a_gradio_space pushes it to a loopback Hub",
    "python -m marco review eval.json --export-dpo prefs.jsonl --from judge":
        "needs the judge's eval.json: tests/test_review.py::test_export_dpo_from_judge_file_and_judged_comparisons",
    "python -m marco dpo --config configs/marco_tiny_dpo.yaml --preferences prefs.jsonl":
        "trains DPO for a minute: tests/test_dpo.py::test_dpo_from_the_sft_adapter_changes_it_and_saves_a_loadable_adapter",
    "python -m marco push outputs/marco-tiny --repo-id USER/NAME [--private] [--create-pr] [--push-dataset] [--dry-run]":
        "publishes to the Hub: tests/test_hub.py::test_push_command_end_to_end pushes to a loopback Hub",
    "python -m marco push outputs/marco-tiny --repo-id USER/NAME --merged --gguf q8_0":
        "publishes to the Hub: tests/test_hub.py::test_merged_and_gguf_exports_are_published_beside_the_adapter",
    "python train.py --config configs/marco_qwen2.5-7b_qlora.yaml --push_to_hub --hub_model_id USER/NAME --push_dataset": GPU,
    "ollama create marco-tiny -f outputs/gguf/Modelfile": "Ollama is not installed here; tests/test_export.py reads the GGUF back with transformers",
    "python app.py --data-review outputs/v1_clean":
        "a server: tests/test_data_review.py::test_the_tab_writes_decisions_that_data_clean_applies_without_loading_a_model "
        "starts app.py --data-review and marks records through it",
    "python app.py --data-review outputs/marco-tiny":
        "a server: tests/test_data_review.py::test_a_training_run_folder_is_reviewed_and_train_py_applies_data_overrides "
        "reads a run's data/ folder the way the tab does",
    "python -m marco data clean data/examples/v1_templated.jsonl --out outputs/v1_clean --overrides "
    "outputs/v1_clean/overrides.jsonl":
        "needs a reader's decisions: tests/test_data_review.py::test_the_tab_writes_decisions_that_data_clean_applies_"
        "without_loading_a_model applies the tab's into the same folder",
    "python train.py --config configs/marco_tiny.yaml --data_overrides outputs/marco-tiny/data/overrides.jsonl "
    "--output_dir outputs/marco-tiny-reviewed":
        "trains for minutes: tests/test_data_review.py::test_a_training_run_folder_is_reviewed_and_train_py_applies_"
        "data_overrides parses these arguments with train.py's parser and prepares the data as train.py does",
    "python app.py":
        "a server: tests/test_app.py::test_app_py_serves_the_adapter_named_in_marco_adapter starts app.py and asks it",
    "python app.py --adapter USER/NAME [--model BASE] [--host 0.0.0.0] [--port 7860]":
        f"a server with a Hub adapter ({HUB}): tests/test_app.py::test_app_py_serves_the_adapter_named_in_marco_adapter",
    "python app.py --backend-url http://localhost:8000/v1 --base-model Qwen/Qwen2.5-7B-Instruct --tuned-model marco":
        "a server on an engine: tests/test_app.py::test_the_app_answers_through_an_openai_compatible_server",
    "python -m marco space outputs/qwen-7b --repo-id USER/NAME --push USER/DEMO":
        "a 7B run and the Hub: tests/test_app.py::test_a_base_above_1b_gets_a_zerogpu_space",
    "vllm serve Qwen/Qwen2.5-7B-Instruct --enable-lora --lora-modules marco=USER/NAME --max-lora-rank 64": GPU,
}
SNIPPETS_NOT_RUN = {  # Python blocks run elsewhere, each against what it needs
    ("docs/serving.md", 0): "needs the running app: tests/test_app.py::test_the_docs_snippet_gets_both_replies",
    ("docs/review.md", 0): "needs the running app: tests/test_review.py::test_the_docs_snippet_shows_a_pair_and_records_a_vote",
    ("docs/model_card_example.md", 0): f"{HUB}: tests/test_hub.py::test_downloaded_adapter_gives_the_answers_measured_after_training",
}
EXIT = {"python -m marco eval --answers ../shared/seed-project/v1_answers.jsonl --tuned-field v1_fine_tuned": 1}  # fails


def counts(folder: str) -> dict:
    with open(os.path.join(folder, "report.json"), encoding="utf-8") as handle:
        return json.load(handle)["counts"]


CHECKS = {  # what the page says each command gives, checked on its output (work folder, stdout)
    "python -m marco data audit data/examples/finance_duplicated.jsonl --out marco_reports/finance":
        lambda work, out: counts(os.path.join(work, "marco_reports/finance"))["kept"] == 8,
    "python -m marco data clean data/examples/v1_templated.jsonl --out outputs/v1_clean":
        lambda work, out: counts(os.path.join(work, "outputs/v1_clean"))["kept"] == 5,
    "python -m marco data clean ../shared/seed-project/cima_tutoring_conversations.jsonl --out outputs/cima --probes data/probes.jsonl":
        lambda work, out: counts(os.path.join(work, "outputs/cima"))["kept"] == 2400,
    "python -m marco eval --answers ../shared/seed-project/v1_answers.jsonl --tuned-field v1_fine_tuned":
        lambda work, out: "gate: FAILED" in out and "template rate 0.75 (max 0.10)" in out,
    "python -m marco eval --adapter outputs/marco-tiny":
        lambda work, out: os.path.isfile(os.path.join(work, "outputs/marco-tiny/marco_eval.json")),
    "python -m marco review outputs/marco-tiny": lambda work, out: "no votes yet" in out,
    "python -m marco review outputs/marco-tiny --export-dpo prefs.jsonl":
        lambda work, out: os.path.isfile(os.path.join(work, "prefs.jsonl")),
    "python -m marco export outputs/marco-tiny --format merged --out outputs/marco-tiny-merged":
        lambda work, out: os.path.isfile(os.path.join(work, "outputs/marco-tiny-merged/model.safetensors")),
    "python -m marco export outputs/marco-tiny --format gguf --outtype q8_0 --out outputs/gguf/marco-tiny.gguf":
        lambda work, out: {"marco-tiny.gguf", "Modelfile"} <= set(os.listdir(os.path.join(work, "outputs/gguf"))),
    "python -m marco space outputs/marco-tiny --repo-id USER/NAME":
        lambda work, out: os.path.isfile(os.path.join(work, "outputs/marco-tiny/hub/space/app.py")),
    "python -m marco data --help": lambda work, out: "--boilerplate" in out and "--engine" in out,
    "python -m marco data clean data/marco_it.jsonl --out outputs/clean_dt --engine datatrove --tasks 2":
        lambda work, out: counts(os.path.join(work, "outputs/clean_dt"))["input"] == 690 and "(2 datatrove tasks" in out,
}


def blocks(path: str, language: str) -> list:
    with open(os.path.join(REPO, path), encoding="utf-8") as handle:
        return re.findall(rf"^```{language}\n(.*?)^```", handle.read(), re.S | re.M)


def commands(path: str) -> list:
    """The commands of a page's bash blocks: continuation lines joined, comments and blank lines left out."""
    found = []
    for block in blocks(path, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            command = " ".join(re.sub(r"(^|\s)#.*$", "", line).split())
            if command:
                found.append(command)
    return found


def as_run(command: str) -> str:
    """The command as it runs here: optional [--flags] left out, placeholders filled in."""
    command = " ".join(re.sub(r"\[[^\]]*\]", "", command).split())
    return re.sub(r"\b(FILE|DIR)\b", lambda m: PLACEHOLDERS[m.group(1)], command)


DOC_COMMANDS = [(page, command) for page in PAGES for command in commands(page)]
TO_RUN = sorted({command for _, command in DOC_COMMANDS if command not in NOT_RUN})


def test_the_commands_are_found_and_every_one_is_run_or_has_a_reason():
    assert len(DOC_COMMANDS) > 40 and len(TO_RUN) >= 14
    assert "python train.py --config configs/marco_tiny.yaml" in NOT_RUN and "python -m marco data --help" in TO_RUN
    stale = set(NOT_RUN) - {command for _, command in DOC_COMMANDS}
    assert not stale, f"NOT_RUN names commands no page shows any more: {stale}"
    assert set(CHECKS) <= {as_run(command) for command in TO_RUN}


@pytest.mark.parametrize("reason", sorted(set(NOT_RUN.values()) | set(SNIPPETS_NOT_RUN.values())))
def test_a_reason_that_names_a_test_names_one_that_exists(reason):
    for path, name in re.findall(r"(tests/\w+\.py)::(\w+)", reason):
        with open(os.path.join(REPO, path), encoding="utf-8") as handle:
            assert f"def {name}(" in handle.read(), f"{path} has no {name}"


def test_every_python_block_is_run_or_has_a_reason():
    python_blocks = [(page, index) for page in PAGES for index, _ in enumerate(blocks(page, "python"))]
    assert set(SNIPPETS_NOT_RUN) <= set(python_blocks)
    assert [block for block in python_blocks if block not in SNIPPETS_NOT_RUN] == [("docs/data.md", 0)]


@pytest.fixture
def work(trained_tiny_run, tmp_path):
    """A checkout after the main job, where the docs' relative paths resolve: the repo's files linked, the shared trained
    run copied to outputs/marco-tiny (commands write into it), ../shared beside it where this machine has it."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("marco", "configs", "data", "tests", "train.py", "app.py", "pyproject.toml", "requirements.txt"):
        os.symlink(os.path.join(REPO, name), checkout / name)
    shutil.copytree(trained_tiny_run, checkout / "outputs" / "marco-tiny")
    if os.path.isdir(SHARED):
        os.symlink(SHARED, tmp_path / "shared")
    return checkout


def run_in(work, command: str) -> subprocess.CompletedProcess:
    argv = command.split()
    argv = [sys.executable, *argv[1:]] if argv[0] == "python" else argv
    return subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(work)})


@pytest.mark.slow(seconds=40)
@pytest.mark.parametrize("command", TO_RUN)
def test_the_command_runs_as_the_docs_say(command, work):
    if "../shared" in command and not os.path.isdir(SHARED):
        pytest.skip(f"{SHARED} is absent: the seed project's data is read from there")
    done = run_in(work, as_run(command))
    assert done.returncode == EXIT.get(command, 0), (done.stdout[-2000:], done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    check = CHECKS.get(as_run(command))
    assert check is None or check(str(work), done.stdout), done.stdout[-3000:]


@pytest.mark.slow(seconds=10)
def test_the_data_page_snippet_runs(work):
    snippet = blocks("docs/data.md", "python")[0]
    done = subprocess.run([sys.executable, "-c", snippet + "\nprint(len(conversations))"], cwd=work,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(work)})
    assert done.returncode == 0 and done.stdout.split()[-1] == "690", done.stderr[-3000:]
