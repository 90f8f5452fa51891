"""Publishing, up to the wire: the staged folder and its cards, the gate's refusal and --force, the upload to a
loopback Hub (token from the environment only), retry after a failed upload, and the downloaded adapter's answers."""

import json
import os
import secrets
import shutil
import sys

import pytest
from conftest import REPO
from fake_hub import FakeHub

sys.path.insert(0, REPO)
from marco import pipeline, tiny  # noqa: E402
from marco.cli import main as cli  # noqa: E402
from marco.errors import MarcoError  # noqa: E402
from marco.evaluate import compare
from marco.publish import card, hub
from marco.train.config import make_parser  # noqa: E402

SECRET = "hf_" + secrets.token_hex(17)  # token-shaped, made up per run: no real token, and none in the source
REPO_ID = "marco-test/tutor-tiny"


@pytest.fixture
def online(monkeypatch):
    """The Hub as huggingface_hub sees it in these tests: reachable (the loopback fake) and a token in HF_TOKEN."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", SECRET)


@pytest.fixture(scope="module")
def pushed(tmp_path_factory, trained_tiny_run):
    """The shared trained run (a copy: pushing writes OUTPUT_DIR/hub/), pushed with its dataset to a loopback Hub, as
    train.py does after training when the recipe says `push_to_hub: true` and `push_dataset: true`."""
    from huggingface_hub import constants

    root = tmp_path_factory.mktemp("hub")
    out = str(root / "run")
    shutil.copytree(trained_tiny_run, out, ignore=shutil.ignore_patterns("checkpoint-*"))
    saved = constants.HF_HUB_OFFLINE, constants.ENDPOINT, os.environ.get("HF_TOKEN")
    with FakeHub(str(root / "server")) as server:
        constants.HF_HUB_OFFLINE, constants.ENDPOINT, os.environ["HF_TOKEN"] = False, server.endpoint, SECRET
        try:
            hub.push(out, REPO_ID, push_dataset=True)
            yield {"out": out, "server": server, "root": root}
        finally:
            constants.HF_HUB_OFFLINE, constants.ENDPOINT = saved[:2]
            os.environ.pop("HF_TOKEN") if saved[2] is None else os.environ.__setitem__("HF_TOKEN", saved[2])


def files_under(folder) -> set:
    return {os.path.relpath(os.path.join(r, f), folder) for r, _, fs in os.walk(folder) for f in fs}


def failed_copy(run: str, tmp_path) -> str:
    copy = str(tmp_path / "failed")
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("hub"))
    path = os.path.join(copy, "marco_report.json")
    report = json.load(open(path))
    report["gate"] = {"passed": False, "reasons": ["template rate 0.95 (max 0.30)"],
                      "checks": [{"name": "template_rate", "passed": False, "detail": "template rate 0.95 (max 0.30)"}]}
    json.dump(report, open(path, "w"))
    return copy


@pytest.mark.slow
def test_push_uploads_the_staged_model_and_dataset(pushed):
    out, server = pushed["out"], pushed["server"]
    staged, uploaded = os.path.join(out, "hub", "model"), server.repo_path("model", REPO_ID)
    assert files_under(staged) == files_under(uploaded) == {
        "README.md", "adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "tokenizer_config.json",
        "chat_template.jinja", "marco_report.json", "marco_config.yaml",
        *(f"comparisons/step_{step:06d}.jsonl" for step in (0, 6, 12))}
    for name in files_under(staged):
        assert open(os.path.join(staged, name), "rb").read() == open(os.path.join(uploaded, name), "rb").read()
    # the base is named, never marco-tiny's local folder; the run's own adapter config keeps the local path
    assert json.load(open(os.path.join(uploaded, "adapter_config.json")))["base_model_name_or_path"] == "marco-tiny"
    assert json.load(open(os.path.join(out, "adapter_config.json")))["base_model_name_or_path"] == tiny.PATH
    dataset = server.repo_path("dataset", REPO_ID + "-data")
    assert files_under(dataset) == {"README.md", "data/train.jsonl", "report.json", "report.html"}
    report = json.load(open(os.path.join(out, "marco_report.json")))
    assert sum(1 for _ in open(os.path.join(dataset, "data", "train.jsonl"))) == report["data"]["kept"] == 24
    creates = [json.loads(r["body"]) for r in server.requests if r["path"] == "/api/repos/create"]
    assert [(c["name"], c.get("type")) for c in creates] == [("tutor-tiny-data", "dataset"), ("tutor-tiny", "model")]


@pytest.mark.slow
def test_model_card_metadata_and_body(pushed):
    from huggingface_hub import DatasetCard, ModelCard

    report = json.load(open(os.path.join(pushed["out"], "marco_report.json")))
    model_card = ModelCard.load(os.path.join(pushed["server"].repo_path("model", REPO_ID), "README.md"))
    meta = model_card.data
    assert meta.base_model is None  # marco-tiny is not on the Hub; a Hub base is tested below
    assert (meta.library_name, meta.pipeline_tag, meta.license) == ("peft", "text-generation", "apache-2.0")
    assert {"marco", "lora", "marco-tiny"} <= set(meta.tags) and meta.datasets == [REPO_ID + "-data"]
    results = {r.metric_type: r.metric_value for r in meta.eval_results}
    assert results == {k: report["evaluation"]["fine_tuned"][k] for k in ("pass_rate", "template_rate", "distinct_2", "chrf")}
    body = model_card.text
    assert "marco's gate: passed" in body and f'PeftModel.from_pretrained(base, "{REPO_ID}")' in body
    assert f"| template rate | {report['evaluation']['base']['template_rate']} | {report['evaluation']['fine_tuned']['template_rate']} |" in body
    assert report["evaluation"]["samples"][0]["question"] in body
    assert "24 records in, 24 kept" in body and "| learning rate | 0.001 |" in body
    headings = [line for line in body.splitlines() if line.startswith("#")]
    example = open(os.path.join(REPO, "docs", "model_card_example.md"), encoding="utf-8").read()
    assert [line for line in example.split("---", 2)[2].splitlines() if line.startswith("#")][1:] == headings[1:]
    data_card = DatasetCard.load(os.path.join(pushed["server"].repo_path("dataset", REPO_ID + "-data"), "README.md"))
    assert data_card.data.configs[0]["data_files"][0]["path"] == "data/train.jsonl"
    assert "| kept | 24 |" in data_card.text


@pytest.mark.slow
def test_downloaded_adapter_gives_the_answers_measured_after_training(pushed, tmp_path, monkeypatch):
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoTokenizer

    uploaded = pushed["server"].repo_path("model", REPO_ID)
    monkeypatch.chdir(tmp_path)  # the uploaded config names its base "marco-tiny": here that name is the built-in folder
    os.symlink(tiny.PATH, "marco-tiny")
    model = AutoPeftModelForCausalLM.from_pretrained(uploaded)
    tokenizer = AutoTokenizer.from_pretrained(uploaded)
    report = json.load(open(os.path.join(pushed["out"], "marco_report.json")))
    probes = compare.load_probes(os.path.join(REPO, "data", "probes.jsonl"))
    answers = compare.answer(model, tokenizer, probes, compare.CompareConfig(compare_max_new_tokens=8))
    base, tuned = answers["base"], answers["fine_tuned"]  # as train.py's final comparison asked them
    assert tuned == [s["fine_tuned"] for s in report["evaluation"]["samples"]]
    assert base == [s["base"] for s in report["evaluation"]["samples"]]


@pytest.mark.slow
def test_the_token_is_sent_but_never_written(pushed, capsys):
    requests = pushed["server"].requests
    writes = [r for r in requests if r["path"].startswith(("/api/repos/create", "/api/models/", "/api/datasets/"))]
    assert len(writes) >= 6 and all(r["authorization"] == f"Bearer {SECRET}" for r in writes)
    assert {r["authorization"] for r in requests} <= {None, f"Bearer {SECRET}"}
    for folder in (pushed["out"], pushed["server"].folder):
        for name in files_under(folder):
            assert SECRET.encode() not in open(os.path.join(folder, name), "rb").read(), name
    assert all(SECRET.encode() not in r["body"] for r in requests)


@pytest.mark.slow
def test_push_command_end_to_end(pushed, tmp_path):
    """`python -m marco push` in a fresh process: endpoint and token from the environment, as a user runs it."""
    import subprocess

    run = str(tmp_path / "run")
    shutil.copytree(pushed["out"], run, ignore=shutil.ignore_patterns("hub"))
    with FakeHub(str(tmp_path / "server")) as server:
        env = {**os.environ, "HF_ENDPOINT": server.endpoint, "HF_TOKEN": SECRET, "HF_HUB_OFFLINE": "0"}
        done = subprocess.run([sys.executable, "-m", "marco", "push", run, "--repo-id", "someone/tutor", "--private",
                               "--push-dataset"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"pushed: {server.endpoint}/datasets/someone/tutor-data/commit/{1:040d}",
                                        f"pushed: {server.endpoint}/someone/tutor/commit/{1:040d}"]
    assert SECRET not in done.stdout + done.stderr
    assert all(json.loads(r["body"]).get("visibility") == "private" for r in server.requests if r["path"] == "/api/repos/create")
    assert os.path.exists(os.path.join(server.repo_path("model", "someone/tutor"), "adapter_model.safetensors"))


@pytest.mark.slow
def test_failed_gate_is_refused_and_force_is_stated(pushed, tmp_path, online, capsys):
    run = failed_copy(pushed["out"], tmp_path)
    with FakeHub(str(tmp_path / "server")) as server:
        with pytest.raises(MarcoError, match="failed marco's gate.*template rate 0.95"):
            hub.push(run, "marco-test/bad", endpoint=server.endpoint)
        assert server.requests == [] and not os.path.exists(os.path.join(run, "hub"))
        assert cli(["push", run, "--repo-id", "marco-test/bad", "--dry-run"]) == 2
        assert "refusing to publish" in capsys.readouterr().err
        hub.push(run, "marco-test/bad", force=True, endpoint=server.endpoint)
        text = open(os.path.join(server.repo_path("model", "marco-test/bad"), "README.md")).read()
    assert "FAILED marco's gate (template rate 0.95 (max 0.30)) and was published anyway with `--force`" in text


@pytest.mark.slow
def test_failed_upload_leaves_outputs_intact_and_a_retry_succeeds(pushed, tmp_path, online, monkeypatch):
    from huggingface_hub.utils import _http

    monkeypatch.setattr(_http.time, "sleep", lambda seconds: None)  # huggingface_hub's own backoff between its retries
    run = str(tmp_path / "run")
    shutil.copytree(pushed["out"], run, ignore=shutil.ignore_patterns("hub"))
    before = {name: open(os.path.join(run, name), "rb").read() for name in files_under(run)}
    with FakeHub(str(tmp_path / "server")) as server:
        server.fail_commits = 6  # the Hub stays down through huggingface_hub's 5 retries
        with pytest.raises(MarcoError, match="upload to http://127.0.0.1:.* failed.*run the same command again"):
            hub.push(run, REPO_ID, endpoint=server.endpoint)
        assert {n: open(os.path.join(run, n), "rb").read() for n in before} == before
        assert not os.path.exists(server.repo_path("model", REPO_ID))
        urls = hub.push(run, REPO_ID, endpoint=server.endpoint, create_pr=True)
        assert urls == [f"{server.endpoint}/{REPO_ID}/discussions/1"]
        assert files_under(server.repo_path("model", REPO_ID, "refs/pr/1")) == files_under(os.path.join(run, "hub", "model"))


def test_connection_refused_is_a_clear_error(pushed_free_run, online):
    with pytest.raises(MarcoError, match="upload to http://127.0.0.1:9 failed.*retry"):
        hub.push(pushed_free_run, REPO_ID, endpoint="http://127.0.0.1:9")


def test_offline_and_missing_token_are_refused_before_any_upload(pushed_free_run, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(MarcoError, match="HF_HUB_OFFLINE is set: nothing was uploaded"):
        hub.push(pushed_free_run, REPO_ID)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", "/nonexistent/token")
    with pytest.raises(MarcoError, match="no Hugging Face token: set HF_TOKEN"):
        hub.push(pushed_free_run, REPO_ID)


def test_train_refuses_a_token_in_the_recipe_and_push_without_repo_id():
    parser = make_parser()
    recipe = os.path.join(REPO, "configs", "marco_tiny.yaml")
    with pytest.raises(MarcoError, match="hub_token: marco reads the token only from HF_TOKEN"):
        pipeline.main(*parser.parse_args_and_config(["--config", recipe, "--hub_token", SECRET]))
    with pytest.raises(MarcoError, match="push_to_hub: true needs hub_model_id"):
        pipeline.main(*parser.parse_args_and_config(["--config", recipe, "--push_to_hub"]))


@pytest.mark.parametrize("method, loader", [("lora", "AutoPeftModelForCausalLM"), ("full", "AutoModelForCausalLM")])
def test_card_for_a_hub_base_model_names_it_and_loads_it(pushed_free_run, method, loader):
    report, config = hub.load_run(pushed_free_run)
    report.base_model, report.method = "Qwen/Qwen2.5-7B-Instruct", method
    model_card = card.model_card(report, config, "someone/qwen-tutor", "apache-2.0")
    assert model_card.data.base_model == "Qwen/Qwen2.5-7B-Instruct"
    assert model_card.data.library_name == ("peft" if method == "lora" else "transformers")
    assert f'model = {loader}.from_pretrained("someone/qwen-tutor")' in model_card.text
    assert "[Qwen/Qwen2.5-7B-Instruct](https://huggingface.co/Qwen/Qwen2.5-7B-Instruct)" in model_card.text


def test_card_for_an_encoder_decoder_adapter(pushed_free_run):
    report, config = hub.load_run(pushed_free_run)
    assert card.model_card(report, config, "someone/x", "apache-2.0").data.pipeline_tag == "text-generation"
    report.base_model, report.method, report.encoder_decoder = "google/flan-t5-base", "lora", True
    model_card = card.model_card(report, config, "someone/finance-t5", "apache-2.0")
    assert model_card.data.pipeline_tag == "text2text-generation"
    assert 'model = AutoPeftModelForSeq2SeqLM.from_pretrained("someone/finance-t5")' in model_card.text


@pytest.fixture
def pushed_free_run(tmp_path):
    """A finished run without training: marco-tiny's own weights as a 'full fine-tune', with a report and config."""
    run = tmp_path / "run"
    shutil.copytree(tiny.PATH, run, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    report = {"base_model": "marco-tiny", "method": "full", "data": {"source": "data/marco_it.jsonl", "input": 3, "kept": 2,
              "rejected": 1, "by_reason": {"exact_duplicate": 1}, "template_rate": 0.0},
              "training": {"world_size": 1}, "gate": {"passed": True, "reasons": [], "checks": []},
              "evaluation": {"probes": 1, "samples": [], **{side: {k: 0.5 for k, _ in card.FIGURES} for side in ("base", "fine_tuned")}}}
    (run / "marco_report.json").write_text(json.dumps(report))
    (run / "marco_config.yaml").write_text(json.dumps({"probes": "data/probes.jsonl", "clean_data": True, "lora_r": 16,
                                                        "lora_alpha": 32, "lora_dropout": 0.0,
                                                        "lora_target_modules": "all-linear", "learning_rate": 1e-4}))
    (run / "data").mkdir()
    return str(run)


@pytest.mark.slow
def test_space_folder_is_pushed_as_a_gradio_space(pushed, tmp_path, online, monkeypatch, capsys):
    from huggingface_hub import SpaceCard, constants

    with FakeHub(str(tmp_path / "server")) as server:
        monkeypatch.setattr(constants, "ENDPOINT", server.endpoint)
        assert cli(["space", pushed["out"], "--repo-id", REPO_ID, "--out", str(tmp_path / "space"),
                    "--push", "marco-test/tutor-demo", "--votes-repo", "marco-test/tutor-votes"]) == 0
    space, votes = (json.loads(r["body"]) for r in server.requests if r["path"] == "/api/repos/create")
    assert (space["type"], space["sdk"], space["name"]) == ("space", "gradio", "tutor-demo")
    assert (votes["type"], votes["name"], server.repos["dataset", "marco-test/tutor-votes"]["private"]) == \
        ("dataset", "tutor-votes", True)
    uploaded = server.repo_path("space", "marco-test/tutor-demo")
    assert files_under(uploaded) == files_under(tmp_path / "space")
    assert {f for f in files_under(uploaded) if f.startswith("review")} == {
        os.path.join("review", "comparisons", name) for name in os.listdir(os.path.join(pushed["out"], "comparisons"))
        if name.endswith(".jsonl")}  # the comparisons only: no review key, no local votes
    card = SpaceCard.load(os.path.join(uploaded, "README.md"))
    assert card.data.app_file == "app.py" and "secret `HF_TOKEN`" in card.text
    out = capsys.readouterr().out
    assert f"pushed: {server.endpoint}/spaces/marco-test/tutor-demo/commit/" in out
    assert "add a secret HF_TOKEN" in out



def test_an_invalid_repo_id_is_refused_before_anything_is_staged(pushed, tmp_path, capsys):
    run = str(tmp_path / "run")
    shutil.copytree(pushed["out"], run, ignore=shutil.ignore_patterns("hub"))
    for command in (["push", run, "--repo-id", "bad id!", "--dry-run"],
                    ["push", run, "--repo-id", "a/b/c", "--dry-run"],
                    ["push", run, "--repo-id", REPO_ID, "--push-dataset", "--dataset-repo-id", "x--", "--dry-run"],
                    ["space", run, "--repo-id", "bad id!"], ["space", run, "--repo-id", REPO_ID, "--push", "no way"]):
        assert cli(command) == 2, command
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is not a Hub repo id: Repo id must" in err, err
        assert not os.path.exists(os.path.join(run, "hub"))


def test_html_in_answers_and_questions_reaches_the_card_as_text(trained_tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_tiny_run, run)
    report = json.load(open(run / "marco_report.json"))
    report["evaluation"]["samples"][0].update(question="What is <b>bold</b>?", fine_tuned="<!-- the rest is hidden\n<script>x()</script>")
    (run / "marco_report.json").write_text(json.dumps(report))
    body = open(os.path.join(hub.stage_model(str(run), "marco-test/tutor-tiny", "apache-2.0"), "README.md")).read()
    assert "<!--" not in body and "<script>" not in body and "<b>" not in body
    assert "&lt;!-- the rest is hidden &lt;script&gt;x()&lt;/script&gt;" in body and "What is &lt;b&gt;bold&lt;/b&gt;?" in body
    assert body.index("## The gate") > body.index("&lt;!--")  # the gate is still shown, after the answer


def test_the_cards_snippet_quotes_the_repo_id_as_a_python_string():
    import ast

    for adapter, base in ((True, "Qwen/Qwen2.5-7B-Instruct"), (True, tiny.NAME), (False, "Qwen/Qwen2.5-7B-Instruct")):
        snippet = card.usage('evil")\nimport os#/x', base, adapter, seq2seq=False)
        calls = [node for node in ast.walk(ast.parse(snippet)) if isinstance(node, ast.Call) and node.args
                 and isinstance(node.args[-1], ast.Constant)]
        assert 'evil")\nimport os#/x' in {node.args[-1].value for node in calls}
        assert not any(isinstance(node, ast.Import) and node.names[0].name == "os" for node in ast.walk(ast.parse(snippet)))


@pytest.mark.slow
def test_merged_and_gguf_exports_are_published_beside_the_adapter(pushed, tmp_path, online):
    import torch
    from huggingface_hub import ModelCard
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    run = str(tmp_path / "run")
    shutil.copytree(pushed["out"], run, ignore=shutil.ignore_patterns("hub"))
    with FakeHub(str(tmp_path / "server")) as server:
        urls = hub.push(run, "someone/tutor", endpoint=server.endpoint, merged=True, gguf="f32")
        merged, gguf = server.repo_path("model", "someone/tutor-merged"), server.repo_path("model", "someone/tutor-GGUF")
        assert [url.split("/commit/")[0] for url in urls] == [f"{server.endpoint}/someone/tutor{suffix}"
                                                             for suffix in ("", "-merged", "-GGUF")]
        assert {"README.md", "model.safetensors", "config.json", "generation_config.json", "tokenizer.json",
                "chat_template.jinja"} <= files_under(merged)
        assert files_under(gguf) == {"README.md", "Modelfile", "tutor-f32.gguf"}
        ids = torch.tensor([[5, 17, 230, 41, 99]])
        with torch.no_grad():
            expected = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny.PATH), run)(ids).logits
            published = AutoModelForCausalLM.from_pretrained(merged)(ids).logits
        assert (published - expected).abs().max() < 1e-4
        merged_card, gguf_card = ModelCard.load(os.path.join(merged, "README.md")), ModelCard.load(os.path.join(gguf, "README.md"))
        assert "[someone/tutor](https://huggingface.co/someone/tutor)" in merged_card.text
        assert 'from_pretrained("someone/tutor-merged")' in merged_card.text and run not in merged_card.text
        assert gguf_card.data.library_name == "gguf" and "llama-cli -hf someone/tutor-GGUF:tutor-f32.gguf" in gguf_card.text
        assert open(os.path.join(gguf, "Modelfile")).read().startswith("FROM ./tutor-f32.gguf\n")
        failed = failed_copy(pushed["out"], tmp_path)
        with pytest.raises(MarcoError, match="failed marco's gate"):
            hub.push(failed, "someone/bad", endpoint=server.endpoint, merged=True, gguf="q8_0")
        assert not os.path.exists(os.path.join(failed, "hub", "merged")) and not os.path.exists(server.repo_path("model", "someone/bad-merged"))
