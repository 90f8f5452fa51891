"""The page behind app.py: the base and the fine-tuned tutor answer the same message side by side, in two streamed
columns, with the `compare` API and, for a local run, the Blind review tab; with `--data-review DIR` the Data review
tab (marco.serve.data_review), beside the chat or, with no model asked for, alone. The models answer through a
backend: marco.serve.local (in this process) or marco.serve.remote (an OpenAI-compatible engine)."""

import os

from marco.data import UnusableInput
from marco.data.verdicts import Verdicts
from marco.errors import MarcoError
from marco.evaluate import review
from marco.evaluate.compare import load_probes
from marco.evaluate.votes import Votes
from marco.serve.columns import MAX_NEW_TOKENS, Columns, plain
from marco.serve.data_review import data_review_tab
from marco.serve.local import DEFAULT_ADAPTER, load
from marco.serve.remote import BACKEND_KEY_ENV, RemoteChat

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the checkout, or the Space folder
VOTES_REPO_ENV = "MARCO_VOTES_REPO"
QUEUE_SIZE = 64  # requests waiting beyond this are refused ("queue full") instead of piling up


def examples(limit: int = 8) -> list:
    """One question per probe category: questions the adapter never trained on."""
    path = os.path.join(ROOT, "data", "probes.jsonl")
    if not os.path.exists(path):
        return []
    probes = load_probes(path)
    return [p["messages"][-1]["content"] for p in probes[::max(1, len(probes) // limit)][:limit]]


def build(chat: Columns = None, gpu=None, review_run: str = None, votes=None, data_review: Verdicts = None):
    """The Blocks app, queued: two chat columns, the controls, and the `compare` API endpoint (no chat: `chat` None).
    `gpu` decorates the two handlers that generate (a ZeroGPU Space passes `spaces.GPU(duration=...)`: a GPU is
    attached only while they run). The Blind review tab reviews `review_run` (default: the adapter, when it is a local
    run) into `votes`; the Data review tab, the verdicts of a cleaning in `data_review`."""
    import gradio as gr

    with gr.Blocks(title="marco: base vs fine-tuned" if chat else "marco: data review") as ui:
        if chat is None:
            gr.Markdown("## marco: review the data cleaner's verdicts")
        else:
            _chat(chat, gpu)
            review_run = review_run or chat.adapter
            if os.path.isdir(os.path.join(review_run, "comparisons")):  # a run's checkpoints, reviewed blind
                with gr.Tab("Blind review"):
                    review.review_tab(review_run, votes)
        if data_review:
            with gr.Tab("Data review"):
                data_review_tab(data_review)
    return ui.queue(max_size=QUEUE_SIZE, default_concurrency_limit=chat.concurrency if chat else None)


def _chat(chat: Columns, gpu) -> None:
    """The two chat columns, their controls and the `compare` API, inside the caller's gr.Blocks."""
    import gradio as gr

    on_gpu = gpu or (lambda handler: handler)

    @on_gpu
    def respond(message, base_history, tuned_history, system, max_new_tokens, temperature):
        histories = [plain(base_history), plain(tuned_history)]
        try:
            replies = chat.stream(message, histories, system, max_new_tokens, temperature)
            shown = [h + [{"role": "user", "content": message.strip()}, {"role": "assistant", "content": ""}]
                     for h in histories]
            yield "", *shown
            for texts in replies:
                for history, text in zip(shown, texts):
                    history[-1]["content"] = text
                yield gr.skip(), *shown  # the box was cleared once: what the user types meanwhile stays
        except MarcoError as error:
            raise gr.Error(str(error), print_exception=False) from None

    @on_gpu
    def compare(message: str, base_history: list[dict] | None = None, tuned_history: list[dict] | None = None,
                system_prompt: str = "", max_new_tokens: int = 128, temperature: float = 0.0) -> tuple[str, str]:
        """The base's and the fine-tuned model's replies to `message`, each after its own history (a list of
        {"role", "content"} messages); temperature 0 is greedy."""
        texts = ("", "")
        try:
            for texts in chat.stream(message, (base_history, tuned_history), system_prompt, max_new_tokens, temperature):
                pass
        except MarcoError as error:
            raise gr.Error(str(error), print_exception=False) from None
        return texts

    gr.Markdown(f"## marco: the base and the fine-tuned tutor, side by side\n{chat.label}")
    with gr.Row():
        base_chat = gr.Chatbot(label="Base", elem_id="base-chat", height=420)
        tuned_chat = gr.Chatbot(label="Fine-tuned", elem_id="tuned-chat", height=420)
    message = gr.Textbox(placeholder="Ask both tutors, e.g. Explain the grammar in 'Sono andato al mare'",
                         show_label=False, elem_id="message")
    with gr.Row():
        send = gr.Button("Send", variant="primary")
        clear = gr.Button("Clear")
    with gr.Accordion("Settings", open=False):
        system = gr.Textbox(label="System prompt", placeholder="e.g. Learner: A2, English speaker, wants short answers")
        max_new_tokens = gr.Slider(16, MAX_NEW_TOKENS, value=128, step=16, label="Max new tokens")
        temperature = gr.Slider(0, 1.5, value=0, step=0.05, label="Temperature (0 = greedy: reproducible)")
    if questions := examples():
        gr.Examples([[q] for q in questions], inputs=message, label="Probe questions (never trained on)")
    inputs = [message, base_chat, tuned_chat, system, max_new_tokens, temperature]
    for trigger in (message.submit, send.click):
        trigger(respond, inputs, [message, base_chat, tuned_chat], concurrency_id="model", api_visibility="private")
    clear.click(lambda: ("", [], []), None, [message, base_chat, tuned_chat], queue=False, api_visibility="private")
    gr.api(compare, api_name="compare", concurrency_id="model")


def keep_votes(run: str, repo_id: str) -> Votes:
    """Votes kept in a Hub dataset repo; SIGTERM (a Space restarting) becomes a normal exit, so the scheduler's last
    commit runs."""
    import signal
    import sys

    store = Votes(run, repo_id)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    return store


def main(argv: list = None, adapter: str = None, model: str = None, gpu=None, votes_repo: str = None,
         review_run: str = None) -> int:
    """`python app.py` (and a Space's app.py, which passes its pushed adapter and base as the defaults, on ZeroGPU
    `spaces.GPU` as `gpu`, and with `marco space --votes-repo` that repo and its copy of the run's comparisons)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python app.py", description="The base and the fine-tuned tutor side by side "
                                     "in a browser: http://127.0.0.1:7860")
    parser.add_argument("--adapter", default=os.environ.get("MARCO_ADAPTER", adapter),
                        help=f"adapter folder or Hub id (default: $MARCO_ADAPTER, else {adapter or DEFAULT_ADAPTER})")
    parser.add_argument("--model", default=os.environ.get("MARCO_MODEL", model),
                        help="base model: Hub id, folder or marco-tiny (default: $MARCO_MODEL, else the adapter's "
                             "marco_report.json base_model)")
    parser.add_argument("--backend-url", help="an OpenAI-compatible server (vLLM, TGI, SGLang, transformers serve) that "
                        f"answers both columns, e.g. http://localhost:8000/v1; API key from ${BACKEND_KEY_ENV}")
    parser.add_argument("--base-model", help="with --backend-url: the server's name for the base model")
    parser.add_argument("--tuned-model", help="with --backend-url: the server's name for the fine-tuned model")
    parser.add_argument("--votes-repo", default=os.environ.get(VOTES_REPO_ENV, votes_repo), metavar="USER/NAME",
                        help="keep the blind review's votes in this Hub dataset repo (private; created if missing), "
                        f"so that they survive a restart (default: ${VOTES_REPO_ENV}); token from HF_TOKEN")
    parser.add_argument("--data-review", metavar="DIR", help="a Data review tab over the cleaning outputs in DIR "
                        "(`python -m marco data clean FILE --out DIR`, or a training run's folder): mark its verdicts "
                        "Keep or Drop into DIR/overrides.jsonl; alone, no model is loaded")
    parser.add_argument("--host", help="address to serve on (default: $GRADIO_SERVER_NAME, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $GRADIO_SERVER_PORT, else 7860)")
    args = parser.parse_args(argv)
    try:
        data = Verdicts(args.data_review) if args.data_review else None  # a wrong folder: one line, before a model
        chat = votes = None
        if args.backend_url:
            if not (args.base_model and args.tuned_model):
                raise MarcoError("--backend-url needs --base-model and --tuned-model: the server's names for both")
            chat = RemoteChat(args.backend_url, args.base_model, args.tuned_model).check()
        elif not data or args.adapter or args.model:  # the data review alone loads no model
            chat = load(args.adapter, args.model)
        if chat:
            review_run = os.path.join(ROOT, review_run) if review_run else chat.adapter
            if args.votes_repo and not os.path.isdir(os.path.join(review_run, "comparisons")):
                raise MarcoError(f"--votes-repo keeps blind review votes, and {review_run} has no comparisons/ to "
                                 "review: pass --adapter a run folder train.py wrote")
            votes = keep_votes(review_run, args.votes_repo) if args.votes_repo else None
    except (MarcoError, UnusableInput) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    build(chat, gpu, review_run, votes, data).launch(server_name=args.host, server_port=args.port)
    return 0
