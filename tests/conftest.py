import contextlib
import json
import os
import pathlib
import socket
import subprocess

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
if os.environ.get("PYTEST_XDIST_WORKER"):  # two workers on two cores: one thread each (and in their subprocesses)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# train.py arguments for test runs of a few steps: short sequences, no checkpoints, comparison only at the end
FAST = ["--max_length", "192", "--no_compare_during_training", "--compare_max_new_tokens", "8", "--per_device_train_batch_size", "4", "--logging_steps", "1", "--save_strategy", "no",
        "--eval_strategy", "no", "--eval_fraction", "0.2", "--warmup_steps", "0", "--disable_tqdm", "true"]


def pytest_collection_modifyitems(items):
    """The longest tests first (`@pytest.mark.slow(seconds=N)`), each followed by a short one. pytest-xdist's load
    scheduler (pyproject: `--maxschedchunk 1`) hands each worker two tests and then one at a time, so each worker starts
    on a long test and the short ones fill in around them: the suite takes about half its total time, not the start
    of the last long test plus its length. A worker thus switches modules often, and pytest tears a module-scoped
    fixture down at each switch: a costly one (a model, a server, a training run) is session-scoped instead, and one
    both workers can read is built once for both (built_once)."""
    def seconds(item):
        marker = item.get_closest_marker("slow")
        return marker.kwargs.get("seconds", 0) if marker else 0

    long = sorted((item for item in items if seconds(item)), key=seconds, reverse=True)
    short = [item for item in items if not seconds(item)]
    ordered = [test for index, item in enumerate(long) for test in [item, *short[index:index + 1]]]
    items[:] = ordered + short[len(long):]


@contextlib.contextmanager
def started(command: list, port: int, **options):
    """A gradio_client Client of an app started as its own process (`python app.py ...`), stopped afterwards;
    `client.process` is the process."""
    import time

    import httpx
    from gradio_client import Client

    app = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **options)
    try:
        deadline = time.time() + 120
        while True:
            assert app.poll() is None, app.stderr.read()
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except httpx.ConnectError:  # not listening yet
                assert time.time() < deadline, "the app did not start"
                time.sleep(0.5)
        client.process = app
        yield client
    finally:
        app.terminate()
        app.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def browsing(ui):
    """A headless Chromium page on the gradio app `ui`, launched on a free local port; both closed afterwards."""
    from playwright.sync_api import sync_playwright

    _, url, _ = ui.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--no-sandbox"] if os.geteuid() == 0 else [])
            page = browser.new_page()
            page.goto(url)
            yield page
            browser.close()
    finally:
        ui.close()


def chat(user: str, assistant: str, **fields) -> dict:
    return {**fields, "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}


@pytest.fixture
def write_jsonl(tmp_path):
    """Write records (dicts, or raw strings written verbatim) as a .jsonl file and return its path."""

    def write(records, name="data.jsonl"):
        path = tmp_path / name
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return str(path)

    return write


@pytest.fixture(scope="session")
def small_data(tmp_path_factory):
    """24 real conversations from the bundled data: enough to learn from in a few steps."""
    path = tmp_path_factory.mktemp("data") / "small.jsonl"
    with open(os.path.join(REPO, "data", "marco_it.jsonl"), encoding="utf-8") as handle:
        lines = [line for line in handle][::28][:24]
    path.write_text("".join(lines), encoding="utf-8")
    return str(path)


def built_once(tmp_path_factory, name: str, build) -> str:
    """A folder that `build(folder)` fills, built once per test run: pytest-xdist's workers are separate processes with
    session fixtures of their own, so the first one to get here builds it under a file lock and the others wait."""
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    root = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root  # the workers' common folder
    folder, done = root / name, root / f"{name}.done"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            folder.mkdir(exist_ok=True)
            build(str(folder))
            done.write_text("built\n")
    return str(folder)


@pytest.fixture(scope="session")
def trained_tiny_run(tmp_path_factory, small_data):
    """The output_dir (a pathlib.Path) of one real marco-tiny LoRA run through train.py's main, shared by every test
    that only needs a trained run: 12 steps at 1e-3 (its gate passes), an evaluation and a comparison with the base at step 6 and at
    step 12 (comparisons/step_*.jsonl), a checkpoint at step 12, the final comparison on every probe. Read it, never
    write into it (copy it first)."""
    import sys

    sys.path.insert(0, REPO)
    from marco import pipeline
    from marco.train.config import make_parser

    def build(out):
        args = ["--config", os.path.join(REPO, "configs", "marco_tiny.yaml"), "--dataset", small_data, "--output_dir", out,
                *FAST, "--compare_during_training", "true", "--compare_probes", "4", "--max_steps", "12",
                "--learning_rate", "1e-3", "--eval_strategy", "steps", "--eval_steps", "6", "--save_strategy", "steps",
                "--save_steps", "12"]
        pipeline.main(*make_parser().parse_args_and_config(args))

    return pathlib.Path(built_once(tmp_path_factory, "trained_tiny_run", build))


@pytest.fixture(scope="session")
def fixed_judge():
    """The fixed-verdict OpenAI-compatible judge (tests/judge_server.py) on a free local port."""
    from judge_server import JudgeServer

    with JudgeServer() as server:
        yield server


@pytest.fixture(scope="session")
def transformers_serve(tmp_path_factory):
    """`transformers serve` on CPU, on a free port (its /v1 URL), loading each model a request names (a local folder
    here); stopped after the session. A real OpenAI-compatible server for the judge and the app's --backend-url."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "transformers.cli.transformers", "serve",
                                    "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
                                   stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"transformers serve did not start: {log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
