"""app.py and marco.serve.demo on a real server: gradio_client for the API, load and failures, headless Chromium for the
page; then the Space folder. One server per worker (session-scoped: built once, not again each time another module's
test runs between two of these), serving marco-tiny with a random (non-zero) LoRA adapter."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from conftest import REPO, free_port, started

from marco import tiny
from marco.evaluate import compare
from marco.errors import MarcoError
from marco.serve import columns, demo, local, remote

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
QUESTION = "Explain the grammar in 'Sono andato al mare'"
TOKENS = 24  # greedy replies this long already differ between base and adapter


def _hook_count(model):
    return sum(len(m._forward_pre_hooks) for m in model.modules())


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """What train.py leaves for the app: a LoRA on marco-tiny (seeded random B, so it answers differently from the
    base), its tokenizer and marco_report.json naming the base."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny.PATH),
                           LoraConfig(r=8, target_modules="all-linear", init_lora_weights=False))
    path = tmp_path_factory.mktemp("run")
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny.PATH).save_pretrained(path)
    (path / "marco_report.json").write_text(json.dumps({"base_model": "marco-tiny", "method": "lora"}))
    return path


@pytest.fixture(scope="session")
def server(run_dir):
    """(chat, url, client): the app launched as app.py launches it, on a free local port."""
    from gradio_client import Client

    chat = demo.load(str(run_dir))
    ui = demo.build(chat)
    _, url, _ = ui.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    yield chat, url, Client(url, verbose=False)
    ui.close()


def ask(client, message, base_history=None, tuned_history=None, tokens=TOKENS):
    return tuple(client.predict(message, base_history, tuned_history, "", tokens, 0.0, api_name="/compare"))


def separately(chat, base_messages, tuned_messages, tokens=TOKENS):
    """The same replies generated the plain way: the base with the adapter off, then the adapter, one row each."""
    model, tokenizer = chat.model, chat.tokenizer

    def prompt(messages):
        return compare.prompts(tokenizer, [{"messages": messages}], chat.encoder_decoder)

    with chat.lock:
        with model.disable_adapter():
            base = compare.generate(model, tokenizer, prompt(base_messages), tokens, 1)
        tuned = compare.generate(model, tokenizer, prompt(tuned_messages), tokens, 1)
    return base[0], tuned[0]


def user(text):
    return {"role": "user", "content": text}


def test_greedy_replies_equal_separate_base_and_adapter_generations(server):
    chat, _, client = server
    base, tuned = ask(client, QUESTION)
    assert base and tuned and base != tuned
    assert (base, tuned) == separately(chat, [user(QUESTION)], [user(QUESTION)])


def test_the_docs_snippet_gets_both_replies(server):
    _, url, _ = server
    page = open(os.path.join(REPO, "docs", "serving.md"), encoding="utf-8").read()
    snippet = page.split("```python")[1].split("```")[0].replace("http://127.0.0.1:7860/", url)
    scope = {}
    exec(snippet, scope)
    assert scope["base"] and scope["tuned"] and scope["base"] != scope["tuned"]


def test_each_column_answers_after_its_own_history(server):
    chat, _, client = server
    first = ask(client, QUESTION)
    histories = [[user(QUESTION), {"role": "assistant", "content": reply}] for reply in first]
    follow_up = "E con 'mia sorella'?"
    second = ask(client, follow_up, *histories)
    assert second == separately(chat, histories[0] + [user(follow_up)], histories[1] + [user(follow_up)])
    assert second != ask(client, follow_up)  # the histories changed the answers


def test_sixteen_concurrent_clients_are_all_answered(server):
    from gradio_client import Client

    chat, url, client = server

    def one_client(i):
        return ask(Client(url, verbose=False), f"Come si dice 'the number {i}' in italiano?", tokens=12)

    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(one_client, range(16)))
    assert len(replies) == 16 and all(base and tuned for base, tuned in replies)
    assert ask(client, QUESTION) == separately(chat, [user(QUESTION)], [user(QUESTION)])  # still up, still right
    assert not chat.lock.locked() and _hook_count(chat.model) == 0


def test_learners_who_ask_meanwhile_are_answered_in_one_batch(server, monkeypatch):
    import time

    from gradio_client import Client

    chat, url, _ = server
    questions = [f"Come si dice 'the number {i}' in italiano?" for i in range(4)]
    rows = []
    generate = chat.model.generate
    monkeypatch.setattr(chat.model, "generate", lambda **kw: rows.append(len(kw.get("adapter_names") or [])) or generate(**kw))
    with ThreadPoolExecutor(4) as pool:
        with chat.lock:  # a reply is being generated: the four requests arrive meanwhile
            replies = [pool.submit(ask, Client(url, verbose=False), q, tokens=12) for q in questions]
            deadline = time.time() + 60
            while chat.waiting.qsize() < 3:  # the first is taken (and waits for the lock), three wait for the next batch
                assert time.time() < deadline, "the requests did not arrive"
                time.sleep(0.05)
        answers = [reply.result(timeout=120) for reply in replies]
    monkeypatch.undo()
    assert sum(rows) == 8 and max(rows) >= 6 and len(rows) <= 2  # 4 requests, 2 rows each, in at most 2 generates
    for question, answer in zip(questions, answers):
        assert answer == separately(chat, [user(question)], [user(question)], tokens=12)


@pytest.mark.parametrize("message, says", [
    ("", "Type a message first."),
    ("   \n", "Type a message first."),
    ("x" * 2001, f"Message too long: 2,001 characters, the limit is {columns.MAX_MESSAGE_CHARS:,}."),
], ids=["empty", "blank", "too-long"])
def test_empty_and_over_long_messages_get_a_clear_message(server, message, says):
    from gradio_client.exceptions import AppError

    _, _, client = server
    with pytest.raises(AppError) as refused:
        ask(client, message)
    assert str(refused.value) == says
    assert all(ask(client, "Ciao!", tokens=4))


def test_a_ten_thousand_message_history_costs_a_few_renders_and_keeps_the_latest(server, monkeypatch):
    chat, _, client = server
    history = [{"role": ("user", "assistant")[i % 2], "content": f"messaggio {i}"} for i in range(10_000)]
    renders = []
    render = chat.fit_tokenizer.apply_chat_template
    monkeypatch.setattr(chat.fit_tokenizer, "apply_chat_template", lambda *a, **k: renders.append(1) or render(*a, **k))
    long = ask(client, QUESTION, history, history)
    assert len(renders) <= 2 * 8  # two columns, a binary search over at most 32 exchanges: not one render per exchange
    latest = history[-columns.MAX_HISTORY_MESSAGES:]
    assert long == ask(client, QUESTION, latest, latest) == separately(chat, latest + [user(QUESTION)],
                                                                        latest + [user(QUESTION)])


def test_a_history_beyond_the_context_loses_the_fewest_oldest_exchanges(server):
    chat = server[0]
    system = {"role": "system", "content": "Rispondi in breve."}
    history = [{"role": ("user", "assistant")[i % 2], "content": f"frase numero {i} " * 12} for i in range(40)]
    messages = [system, *history, user(QUESTION)]

    def fits(kept):
        text = compare.prompts(chat.tokenizer, [{"messages": kept}])[0]
        return len(chat.tokenizer(text, add_special_tokens=False)["input_ids"]) + 64 <= chat.model.config.max_position_embeddings

    assert not fits(messages)
    dropped = next(k for k in range(21) if fits([system, *history[2 * k:], user(QUESTION)]))  # one exchange at a time
    assert 0 < dropped < 20
    expected = compare.prompts(chat.tokenizer, [{"messages": [system, *history[2 * dropped:], user(QUESTION)]}])[0]
    assert chat._fit(messages, 64) == expected
    with pytest.raises(MarcoError, match="Message too long for the model's context of 1024 tokens"):
        chat._fit([{"role": "system", "content": "parola " * 1500}, user(QUESTION)], 64)


def test_the_next_prompt_is_fitted_while_the_model_is_busy(server):
    import threading
    import time

    chat = server[0]
    fitted, replies = threading.Event(), []
    fit = chat._fit
    chat._fit = lambda *args: (fit(*args), fitted.set())[0]
    try:
        with chat.lock:  # a reply being generated for someone else
            reader = threading.Thread(target=lambda: replies.append(list(chat.stream(QUESTION, ([], []), max_new_tokens=4))))
            reader.start()
            assert fitted.wait(30) and not replies  # fitted outside the lock; generation waits for the model
        reader.join(60)
    finally:
        del chat._fit
    assert replies and all(replies[0][-1])


@pytest.mark.parametrize("history, says", [
    ([{"role": "user", "content": "x" * (columns.MAX_HISTORY_MESSAGE_CHARS + 1)}],
     f"History message 1 too long: {columns.MAX_HISTORY_MESSAGE_CHARS + 1:,} characters, the limit is "
     f"{columns.MAX_HISTORY_MESSAGE_CHARS:,}."),
    ([{"role": "user", "content": "ciao"}, {"content": "no role"}],
     'History message 2: expected {"role": "user" or "assistant", "content": text}.'),
    ([{"role": "system", "content": "a system turn inside a history"}],
     'History message 1: expected {"role": "user" or "assistant", "content": text}.'),
], ids=["too-long", "no-role", "system-role"])
def test_the_api_refuses_a_malformed_or_over_long_history(server, history, says):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as refused:
        ask(server[2], QUESTION, history, [])
    assert str(refused.value) == says


def test_the_api_caps_max_new_tokens(server, monkeypatch):
    chat, _, client = server
    asked = []
    stream = chat._stream
    monkeypatch.setattr(chat, "_stream", lambda conversations, settings: asked.append(settings) or stream(conversations, settings))
    ask(client, "Ciao!", tokens=4)
    monkeypatch.setattr(chat, "_stream", lambda conversations, settings: asked.append(settings) or iter([("", "")]))
    ask(client, "Ciao!", tokens=10**9)
    assert [settings["max_new_tokens"] for settings in asked] == [4, columns.MAX_NEW_TOKENS]


def test_a_failed_generation_leaves_no_adapter_hooks_and_the_next_answer_is_right(server, monkeypatch):
    from gradio_client.exceptions import AppError

    chat, _, client = server
    expected = separately(chat, [user(QUESTION)], [user(QUESTION)])
    hooks_when_it_failed = []

    def out_of_memory(*args, **kwargs):  # fails inside peft's mixed-batch generate, after its per-row hooks are in
        hooks_when_it_failed.append(_hook_count(chat.model))
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(chat.model.get_base_model(), "generate", out_of_memory)
    with pytest.raises(AppError, match=r"Generation failed \(RuntimeError: CUDA out of memory \(simulated\)\)"):
        ask(client, QUESTION)
    monkeypatch.undo()
    assert hooks_when_it_failed[0] > 0 and _hook_count(chat.model) == 0  # peft left its hooks; the guard removed them
    assert ask(client, QUESTION) == expected


def test_a_stream_whose_reader_leaves_stops_and_frees_the_model(server, monkeypatch):
    chat, _, _ = server
    steps = []
    put = local.RowStreamer.put
    monkeypatch.setattr(local.RowStreamer, "put", lambda self, value: steps.append(1) or put(self, value))
    replies = chat.stream(QUESTION, ([], []), max_new_tokens=columns.MAX_NEW_TOKENS)
    assert len(next(replies)) == 2
    replies.close()  # what Gradio does when the tab closes or the event is cancelled
    assert len(steps) < 5  # generate stopped at its next token, not after 512
    assert not chat.lock.locked() and _hook_count(chat.model) == 0


@pytest.mark.slow
def test_a_real_browser_sees_both_columns_fill(server, run_dir, tmp_path):
    import re

    from playwright.sync_api import expect, sync_playwright

    _, url, _ = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox"] if os.geteuid() == 0 else [])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        expect(page.locator("body")).to_contain_text(f"marco-tiny + adapter {run_dir}")  # what is loaded
        page.locator("#message textarea").fill(QUESTION)
        page.locator("#message textarea").press("Enter")
        for column in ("#base-chat", "#tuned-chat"):
            expect(page.locator(f'{column} [data-testid="user"]')).to_have_text(QUESTION)
            expect(page.locator(f'{column} [data-testid="bot"]')).to_have_text(re.compile(r"\w{3}"), timeout=30_000)
        page.screenshot(path=tmp_path / "app.png")
        browser.close()
    png = (tmp_path / "app.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000


@pytest.mark.slow
def test_app_py_serves_the_adapter_named_in_marco_adapter(server, run_dir):
    port = free_port()
    with started([sys.executable, os.path.join(REPO, "app.py"), "--port", str(port)], port,
                 env={**os.environ, "MARCO_ADAPTER": str(run_dir)}) as launched:
        assert ask(launched, QUESTION) == ask(server[2], QUESTION)  # the same base and adapter as the in-process app


@pytest.mark.slow
def test_the_app_answers_through_an_openai_compatible_server(server, run_dir, transformers_serve, tmp_path):
    """`transformers serve` (a real server, CPU) serves the base and the merged export under two names, as vLLM serves
    a base and its LoRA: the app's columns stream from it, both at once, and say what the in-process app says."""
    from gradio_client import Client

    from marco.publish.export import export_merged

    merged = export_merged(str(run_dir), str(tmp_path / "merged"))
    chat = remote.RemoteChat(transformers_serve, tiny.PATH, merged).check()
    assert chat.concurrency > 1  # requests go to the engine together; it batches them
    ui = demo.build(chat)
    _, url, _ = ui.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        served, local = ask(Client(url, verbose=False), QUESTION), ask(server[2], QUESTION)
        assert served == local and served[0] != served[1]
        with pytest.raises(MarcoError, match="Type a message first"):  # checked here, not sent
            chat.stream(" ", ([], []))
    finally:
        ui.close()


def test_app_without_its_adapter_says_to_train_first(tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(REPO, "app.py")], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: no adapter in outputs/marco-tiny/: run `python train.py --config "
                                   "configs/marco_tiny.yaml` first (or pass --adapter DIR_OR_HUB_ID)")


@pytest.mark.slow
def test_space_folder_serves_the_pushed_adapter(run_dir, tmp_path):
    import gradio
    from huggingface_hub import SpaceCard

    from marco.publish.space import prepare_space

    proc = subprocess.run([sys.executable, "-m", "marco", "space", str(run_dir), "--repo-id", "someone/marco-tiny-it",
                           "--out", str(tmp_path / "space")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    space = tmp_path / "space"
    data = SpaceCard.load(space / "README.md").data
    assert (data.sdk, data.app_file, data.sdk_version) == ("gradio", "app.py", gradio.__version__)
    assert data.models == ["someone/marco-tiny-it"]
    files = {str(p.relative_to(space)) for p in space.rglob("*") if p.is_file()}
    assert {"README.md", "app.py", "requirements.txt", "data/probes.jsonl", "marco/serve/demo.py", "marco/evaluate/compare.py",
            "marco/tiny/model.safetensors"} <= files and not any("__pycache__" in f for f in files)
    pins = (space / "requirements.txt").read_text().split()
    assert {"torch==2.13.0", "peft==0.21.2"} <= set(pins) and not any(p.startswith(("gradio", "pytest")) for p in pins)
    app = (space / "app.py").read_text()
    assert len(app.splitlines()) == 4 and "from marco.serve.demo import main" in app  # marco's app, not a copy of it
    # the Space's app.py defaults to the pushed adapter: offline, that is a clear error naming it
    run = subprocess.run([sys.executable, "app.py"], cwd=space, capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 2 and run.stderr.strip().splitlines()[-1].startswith("error: adapter 'someone/marco-tiny-it'")
    # a second run replaces the folder it wrote, but never a folder it did not
    assert prepare_space(str(run_dir), "a/b", str(space)) == str(space) and "'a/b'" in (space / "app.py").read_text()
    with pytest.raises(MarcoError, match="is not a Space folder marco wrote"):
        prepare_space(str(run_dir), "a/b", REPO)


def test_a_base_above_1b_gets_a_zerogpu_space(run_dir, tmp_path):
    import shutil

    from huggingface_hub import SpaceCard

    from marco.publish.space import prepare_space

    big, small = tmp_path / "run-7b", tmp_path / "run-tiny"
    shutil.copytree(run_dir, big)
    report = json.loads((big / "marco_report.json").read_text())
    report.update(base_model="Qwen/Qwen2.5-7B-Instruct", base_parameters=7_615_616_512)
    (big / "marco_report.json").write_text(json.dumps(report))
    space = prepare_space(str(big), "someone/tutor-7b", str(tmp_path / "space-7b"))
    data = SpaceCard.load(os.path.join(space, "README.md")).data
    assert data.suggested_hardware == "zero-a10g"
    assert data.preload_from_hub == data.models == ["someone/tutor-7b", "Qwen/Qwen2.5-7B-Instruct"]
    assert "spaces==0.51.3" in open(os.path.join(space, "requirements.txt")).read().split()
    app = open(os.path.join(space, "app.py")).read()
    assert app.index("import spaces") < app.index("from marco.serve.demo import main")
    assert "main(adapter='someone/tutor-7b', model='Qwen/Qwen2.5-7B-Instruct', gpu=spaces.GPU(duration=120))" in app
    assert not os.path.exists(os.path.join(space, "marco", "tiny", "model.safetensors"))  # the base comes from the Hub
    shutil.copytree(run_dir, small)  # the built-in 4M-parameter base: a CPU Space, no `spaces`
    report.update(base_model="marco-tiny", base_parameters=4_200_000)
    (small / "marco_report.json").write_text(json.dumps(report))
    space = prepare_space(str(small), "someone/tutor-tiny", str(tmp_path / "space-tiny"))
    assert SpaceCard.load(os.path.join(space, "README.md")).data.suggested_hardware == "cpu-basic"
    assert "spaces" not in open(os.path.join(space, "app.py")).read()
    assert not any(p.startswith("spaces") for p in open(os.path.join(space, "requirements.txt")).read().split())


def test_the_generating_handlers_run_under_the_gpu_decorator(server):
    decorated = []

    def gpu(handler):
        decorated.append(handler.__name__)
        return handler

    demo.build(server[0], gpu=gpu)
    assert sorted(decorated) == ["compare", "respond"]


@pytest.mark.slow
def test_a_zerogpu_space_folder_starts_and_answers_on_cpu(run_dir, server, tmp_path):
    """`spaces.GPU` does nothing off ZeroGPU, so the folder written for ZeroGPU runs here: its app.py, started as a
    Space starts it, answers like the in-process app with the same adapter."""
    space = tmp_path / "space"
    proc = subprocess.run([sys.executable, "-m", "marco", "space", str(run_dir), "--repo-id", "someone/tutor",
                           "--out", str(space), "--hardware", "zero-a10g"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "gpu=spaces.GPU(duration=120)" in (space / "app.py").read_text()
    port = free_port()
    with started([sys.executable, "app.py"], port, cwd=space,
                 env={**os.environ, "MARCO_ADAPTER": str(run_dir), "GRADIO_SERVER_PORT": str(port)}) as client:
        assert ask(client, QUESTION) == ask(server[2], QUESTION)


def test_an_encoder_decoder_adapter_is_served_side_by_side(tmp_path):
    """marco-tiny-t5 with a LoRA: the same server, the same API; replies equal separate generations."""
    from gradio_client import Client
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSeq2SeqLM

    from marco import tiny_t5

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForSeq2SeqLM.from_pretrained(tiny_t5.PATH),
                           LoraConfig(r=8, target_modules=["q", "v", "wi_0", "wi_1", "wo"], init_lora_weights=False,
                                      task_type="SEQ_2_SEQ_LM"))
    model.save_pretrained(tmp_path)
    (tmp_path / "marco_report.json").write_text(json.dumps({"base_model": tiny_t5.NAME, "method": "lora"}))
    chat = demo.load(str(tmp_path))
    assert chat.encoder_decoder and chat.base == tiny_t5.NAME
    ui = demo.build(chat)
    _, url, _ = ui.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        question = "What does MAS stand for?"
        base, tuned = ask(Client(url, verbose=False), question)
    finally:
        ui.close()
    assert base and tuned and base != tuned
    assert (base, tuned) == separately(chat, [user(question)], [user(question)])



def test_a_backend_that_dies_mid_stream_keeps_the_text_so_far_and_says_which_model_failed():
    from gradio_client import Client
    from gradio_client.exceptions import AppError
    from stream_server import WORDS, StreamServer

    with StreamServer(before_death=2) as backend:
        chat = remote.RemoteChat(backend.url, "dies", "steady").check()
        seen = []
        with pytest.raises(MarcoError, match=rf"^dies at {backend.url}: \w+: .*; it stopped mid-reply \(the text so far"):
            for texts in chat.stream(QUESTION, ([], [])):
                seen.append(texts)
        assert "".join(WORDS[:2]) in {base for base, _ in seen}  # what came before the break was shown
        assert all(base in ("", WORDS[0], "".join(WORDS[:2])) for base, _ in seen)
        ui = demo.build(chat)
        _, url, _ = ui.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
        try:
            with pytest.raises(AppError, match=rf"dies at {backend.url}"):
                Client(url, verbose=False).predict(QUESTION, api_name="/compare")
            steady = remote.RemoteChat(backend.url, "steady", "steady").check()
            assert list(steady.stream(QUESTION, ([], [])))[-1] == ("".join(WORDS),) * 2  # the server itself lives on
        finally:
            ui.close()
