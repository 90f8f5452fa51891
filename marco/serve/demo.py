"""The demo behind app.py: the base and the fine-tuned tutor answer the same message side by side, streamed token by
token from one model in memory (a peft mixed-adapter batch: row 0 without the adapter, row 1 with it)."""

import copy
import os
import threading
import time
from queue import Empty, Queue

from transformers.generation.streamers import BaseStreamer

from marco import models, review
from marco.compare import BASE, load_probes, no_leaked_adapter_hooks, prompts
from marco.errors import MarcoError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the checkout, or the Space folder
DEFAULT_ADAPTER = "outputs/marco-tiny"  # what the README's main job writes
TRAIN_HINT = "run `python train.py --config configs/marco_tiny.yaml` first"
MAX_MESSAGE_CHARS = 2000  # a long paragraph; longer pastes are refused with a message, not truncated
MAX_NEW_TOKENS = 512  # cap for API callers: one request must not hold the shared model for minutes
MAX_HISTORY_MESSAGES = 64  # per column, the most recent: older ones are dropped before the prompt is fitted
MAX_HISTORY_MESSAGE_CHARS = 8 * MAX_MESSAGE_CHARS  # a history message (a reply may be long) beyond this is refused
BACKEND_KEY_ENV = "MARCO_BACKEND_API_KEY"  # the --backend-url server's API key, read from the environment only
BATCH_REQUESTS = 8  # learners answered by one generate: each waits at most BATCH_WAIT_S for others to join
BATCH_WAIT_S = 0.02
QUEUE_SIZE = 64  # requests waiting beyond this are refused ("queue full") instead of piling up


class RowStreamer(BaseStreamer):
    """Streams every row of one batched generate (TextIteratorStreamer refuses batches). put() gets the prompt
    first, [rows, n]: causal models echo it, so it is skipped; an encoder-decoder's first put() is its decoder
    start token, kept and dropped by skip_special_tokens. Then one [rows] tensor of new tokens per step."""

    def __init__(self, tokenizer, rows: int, skip_prompt: bool):
        self.tokenizer, self.skip_prompt = tokenizer, skip_prompt
        self.ids = [[] for _ in range(rows)]
        self.offsets = [(0, 0)] * rows  # per row: where the last decoded chunk starts, and where it ends
        self.texts = [""] * rows
        self.queue = Queue()
        self.stopped = threading.Event()  # set when the reader is gone: generate stops at the next token
        self.error = None

    def put(self, value):
        if self.skip_prompt:
            self.skip_prompt = False
            return
        for row, new in enumerate(value.reshape(len(self.ids), -1).tolist()):
            self.ids[row] += new
            self.texts[row] += self._new_text(row)
        self.queue.put(tuple(text.strip() for text in self.texts))

    def _new_text(self, row: int) -> str:
        """Incremental decoding (as TGI and vLLM do it): decode the tokens since the last chunk together with that
        chunk, so that spaces and multi-token characters come out as a full decode would give them."""
        ids, (prefix, read) = self.ids[row], self.offsets[row]
        known = self.tokenizer.decode(ids[prefix:read], skip_special_tokens=True)
        text = self.tokenizer.decode(ids[prefix:], skip_special_tokens=True)
        if len(text) <= len(known) or text.endswith("\ufffd"):  # nothing new yet, or a character still missing bytes
            return ""
        self.offsets[row] = (read, len(ids))
        return text[len(known):]

    def end(self):
        self.queue.put(None)

    def __iter__(self):
        while (texts := self.queue.get()) is not None:
            yield texts



class BatchStreamer(BaseStreamer):
    """One generate for several requests: each step's tokens go to each request's own RowStreamer (its two rows),
    and a request whose reader has gone stops its rows only (a stopping criterion, per row)."""

    def __init__(self, members: list, skip_prompt: bool):
        self.members, self.skip_prompt = members, skip_prompt
        for member in members:
            member.skip_prompt = False  # the batch skips the prompt once for all of them

    def put(self, value):
        if self.skip_prompt:
            self.skip_prompt = False
            return
        rows = value.reshape(2 * len(self.members), -1)
        for index, member in enumerate(self.members):
            member.put(rows[2 * index: 2 * index + 2])

    def end(self):
        for member in self.members:
            member.end()

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        gone = [member.stopped.is_set() for member in self.members for _ in (0, 1)]
        return torch.tensor(gone, dtype=torch.bool, device=input_ids.device)


def text_of(content) -> str:
    """A message's text: a plain string, or Gradio's list of {"type": "text", "text": ...} parts."""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def plain(history) -> list:
    """A column's history as plain messages: the most recent MAX_HISTORY_MESSAGES, from a user turn on. A malformed
    or over-long message is refused (MarcoError naming it): the API takes histories from anywhere."""
    history = list(history or [])
    first = max(0, len(history) - MAX_HISTORY_MESSAGES)
    messages = []
    for number, message in enumerate(history[first:], start=first + 1):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant") or not isinstance(
                message.get("content"), (str, list)):
            raise MarcoError(f"History message {number}: expected {{\"role\": \"user\" or \"assistant\", \"content\": text}}.")
        text = text_of(message["content"])
        if len(text) > MAX_HISTORY_MESSAGE_CHARS:
            raise MarcoError(f"History message {number} too long: {len(text):,} characters, the limit is "
                             f"{MAX_HISTORY_MESSAGE_CHARS:,}.")
        messages.append({"role": message["role"], "content": text})
    while messages and messages[0]["role"] != "user":  # a cut history starts with a question
        messages.pop(0)
    return messages


def request(message: str, histories: tuple, system: str, max_new_tokens: int, temperature: float) -> tuple:
    """(the two columns' conversations, generation settings) of one request, bounded; MarcoError with the reason."""
    message = (message or "").strip()
    if not message:
        raise MarcoError("Type a message first.")
    if len(message) > MAX_MESSAGE_CHARS:
        raise MarcoError(f"Message too long: {len(message):,} characters, the limit is {MAX_MESSAGE_CHARS:,}.")
    system = (system or "").strip()
    head = [{"role": "system", "content": system}] if system else []
    conversations = [head + plain(history) + [{"role": "user", "content": message}] for history in histories]
    settings = {"max_new_tokens": max(1, min(int(max_new_tokens), MAX_NEW_TOKENS)), "do_sample": temperature > 0}
    if temperature > 0:
        settings["temperature"] = float(temperature)
    return conversations, settings


class Columns:
    """What the app asks of a backend: `stream`, `label`, `adapter` (a local run gets the Blind review tab) and
    `concurrency` (requests let in at once)."""

    def stream(self, message: str, histories: tuple, system: str = "", max_new_tokens: int = 128,
               temperature: float = 0.0):
        """Check the input now (MarcoError, with the reason), then return an iterator of (base text, fine-tuned
        text) so far. `histories` is (base history, fine-tuned history): each column keeps its own."""
        return self._stream(*request(message, histories, system, max_new_tokens, temperature))


class Chat(Columns):
    """One base model with the adapter on top. Learners who ask while a reply is generated are answered together:
    one generating thread takes the waiting requests (up to BATCH_REQUESTS with the same settings) into one mixed
    base/adapter batch. It holds a lock while it generates (peft switches adapters per batch with hooks: neither
    thread-safe nor safe after a failure without the guard)."""

    concurrency = BATCH_REQUESTS  # requests in flight: Gradio lets this many in, the generating thread batches them

    def __init__(self, model, tokenizer, base: str, adapter: str):
        self.model, self.tokenizer, self.base, self.adapter = model, tokenizer, base, adapter
        self.adapter_name = model.active_adapter
        self.encoder_decoder = models.is_encoder_decoder(model)
        self.lock = threading.Lock()
        # prompts are fitted before the model is taken, with a tokenizer of their own: the Rust tokenizer must not be
        # used by two threads at once, and the generating thread uses the other one
        self.fit_tokenizer, self.fit_lock = copy.deepcopy(tokenizer), threading.Lock()
        self.waiting = Queue()  # (prompts, settings, streamer, done) of each request, for the generating thread
        threading.Thread(target=self._serve, daemon=True).start()
        self.label = f"**Base:** `{base}` · **Fine-tuned:** `{base}` + adapter `{adapter}`"

    def _stream(self, conversations: list, settings: dict):
        with self.fit_lock:  # not the model's lock: the next learner's prompt is fitted while a reply is generated
            texts = [self._fit(messages, settings["max_new_tokens"]) for messages in conversations]
        streamer, done = RowStreamer(self.tokenizer, len(conversations), False), threading.Event()
        self.waiting.put((texts, settings, streamer, done))
        try:
            yield from streamer
        finally:
            streamer.stopped.set()
            done.wait()  # its batch is over: the lock is free and the hooks are gone when the stream ends
        if isinstance(streamer.error, MarcoError):
            raise streamer.error
        if streamer.error:
            raise MarcoError(f"Generation failed ({type(streamer.error).__name__}: {streamer.error}).")

    def _serve(self) -> None:
        """The generating thread: the first waiting request, and those that join it within BATCH_WAIT_S, answered
        by one generate per distinct setting (max new tokens, sampling)."""
        while True:
            requests, deadline = [self.waiting.get()], time.monotonic() + BATCH_WAIT_S
            while len(requests) < BATCH_REQUESTS:
                try:
                    requests.append(self.waiting.get(timeout=max(0.0, deadline - time.monotonic())))
                except Empty:
                    break
            while requests:
                batch = [r for r in requests if r[1] == requests[0][1]]
                requests = [r for r in requests if r[1] != requests[0][1]]
                self._generate(batch)

    def _generate(self, requests: list) -> None:
        """Everything that touches the model or its tokenizer (not thread-safe either) happens here, in the
        generating thread, under the lock and the hook-leak guard; a failure goes to every reader of the batch."""
        import torch

        streamers = [streamer for _, _, streamer, _ in requests]
        texts = [text for prompts_, _, _, _ in requests for text in prompts_]
        batch_streamer = BatchStreamer(streamers, not self.encoder_decoder)
        try:
            with self.lock, torch.no_grad(), no_leaked_adapter_hooks(self.model):
                # a causal LM continues a left-padded prompt; an encoder reads its text with </s>, as in training
                batch = self.tokenizer(texts, return_tensors="pt", padding=True,
                                       padding_side="right" if self.encoder_decoder else "left",
                                       add_special_tokens=self.encoder_decoder).to(self.model.device)
                self.model.generate(**batch, **requests[0][1], adapter_names=[BASE, self.adapter_name] * len(requests),
                                    streamer=batch_streamer, stopping_criteria=[batch_streamer],
                                    pad_token_id=self.tokenizer.pad_token_id)
        except Exception as error:  # handed to the readers, which raise it
            for streamer in streamers:
                streamer.error = error
            batch_streamer.end()
        finally:
            for _, _, _, done in requests:
                done.set()

    def _fit(self, messages: list, max_new_tokens: int) -> str:
        """The prompt without the fewest oldest exchanges that makes it (and for a causal LM the reply too) fit the
        context: a binary search over how many to drop, so a long history costs a few renders, not one per exchange."""
        limit = getattr(self.model.config, "max_position_embeddings", None) or self.tokenizer.model_max_length
        reply = 0 if self.encoder_decoder else max_new_tokens  # an encoder-decoder writes the reply in its decoder
        start = 1 if messages[0]["role"] == "system" else 0

        def without(dropped: int) -> tuple:  # (prompt, fits) with the `dropped` oldest exchanges left out
            kept = messages[:start] + messages[start + 2 * dropped:]
            text = prompts(self.fit_tokenizer, [{"messages": kept}], self.encoder_decoder)[0]
            return text, len(self.fit_tokenizer(text, add_special_tokens=False)["input_ids"]) + reply <= limit

        low, high = 0, (len(messages) - start - 1) // 2  # the last user message always stays
        if not without(high)[1]:
            raise MarcoError(f"Message too long for the model's context of {limit} tokens.")
        while low < high:  # the fewest drops that fit lie in [low, high]
            middle = (low + high) // 2
            low, high = (low, middle) if without(middle)[1] else (middle + 1, high)
        return without(low)[0]


class RemoteChat(Columns):
    """Both columns from an OpenAI-compatible server that serves the base and the fine-tuned model under two names:
    vLLM (`vllm serve BASE --enable-lora --lora-modules marco=ADAPTER`: names BASE and marco), SGLang, TGI, Inference
    Endpoints, `transformers serve`. Each column streams from its own request, and requests are not serialised here:
    the engine batches them. The API key, if the server wants one, comes from the environment (BACKEND_KEY_ENV)."""

    concurrency = 16  # requests in flight at once: the engine batches them (continuous batching in vLLM, TGI, SGLang)

    def __init__(self, url: str, base_model: str, tuned_model: str):
        from openai import OpenAI

        self.url, self.models, self.adapter = url, (base_model, tuned_model), tuned_model
        self.client = OpenAI(base_url=url, api_key=os.environ.get(BACKEND_KEY_ENV) or "none", timeout=120, max_retries=1)
        self.label = f"**Base:** `{base_model}` · **Fine-tuned:** `{tuned_model}`, served at `{url}`"

    def check(self) -> "RemoteChat":
        """MarcoError, on one line, when no server answers (before the app starts, not at the first question)."""
        import openai

        try:
            self.client.models.list()
        except openai.APIStatusError:  # it answered: some servers (transformers serve) do not list local models
            pass
        except openai.APIConnectionError as error:  # nothing listening, or no reply in time
            raise MarcoError(f"--backend-url {self.url}: no OpenAI-compatible server answers ({type(error).__name__})") from None
        return self

    def _stream(self, conversations: list, settings: dict):
        updates, texts, streams = Queue(), ["", ""], []

        def column(row: int) -> None:  # one thread per column: both stream at once
            try:
                reply = self.client.chat.completions.create(
                    model=self.models[row], messages=conversations[row], stream=True,
                    max_tokens=settings["max_new_tokens"], temperature=settings.get("temperature", 0.0))
                streams.append(reply)
                for chunk in reply:
                    if chunk.choices and chunk.choices[0].delta.content:
                        updates.put((row, chunk.choices[0].delta.content))
            except Exception as error:  # handed to the reader, which raises it
                updates.put((row, error))
            updates.put((row, None))

        for row in (0, 1):
            threading.Thread(target=column, args=(row,), daemon=True).start()
        try:
            ended = 0
            while ended < 2:
                row, update = updates.get()
                if update is None:
                    ended += 1
                elif isinstance(update, Exception):
                    raise MarcoError(f"{self.models[row]} at {self.url}: {type(update).__name__}: "
                                     f"{str(update).splitlines()[0] if str(update) else 'failed'}")
                else:
                    texts[row] += update
                    yield tuple(texts)
        finally:
            for reply in streams:  # a reader that left (a closed tab) ends the server's generation too
                reply.close()


def load(adapter: str = None, model: str = None) -> Chat:
    """The base model with the adapter on top (MarcoError if either is missing), on the GPU if there is one."""
    adapter = adapter or DEFAULT_ADAPTER
    if adapter == DEFAULT_ADAPTER and not os.path.isdir(adapter):
        raise MarcoError(f"no adapter in {adapter}/: {TRAIN_HINT} (or pass --adapter DIR_OR_HUB_ID)")
    peft_model, tokenizer, base = models.load_adapter(adapter, model)
    return Chat(peft_model, tokenizer, base, adapter)


def examples(limit: int = 8) -> list:
    """One question per probe category: questions the adapter never trained on."""
    path = os.path.join(ROOT, "data", "probes.jsonl")
    if not os.path.exists(path):
        return []
    probes = load_probes(path)
    return [p["messages"][-1]["content"] for p in probes[::max(1, len(probes) // limit)][:limit]]


def build(chat: Columns, gpu=None):
    """The Blocks app, queued: two chat columns, the controls, and the `compare` API endpoint. `gpu` decorates the two
    handlers that generate (a ZeroGPU Space passes `spaces.GPU(duration=...)`: a GPU is attached only while they run)."""
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

    with gr.Blocks(title="marco: base vs fine-tuned") as ui:
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
        if os.path.isdir(os.path.join(chat.adapter, "comparisons")):  # a local run: review its checkpoints blind
            with gr.Tab("Blind review"):
                review.review_tab(chat.adapter)
    return ui.queue(max_size=QUEUE_SIZE, default_concurrency_limit=chat.concurrency)


def main(argv: list = None, adapter: str = None, model: str = None, gpu=None) -> int:
    """`python app.py` (and a Space's app.py, which passes its pushed adapter and base as the defaults, and on
    ZeroGPU `spaces.GPU` as `gpu`: see `build`)."""
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
    parser.add_argument("--host", help="address to serve on (default: $GRADIO_SERVER_NAME, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $GRADIO_SERVER_PORT, else 7860)")
    args = parser.parse_args(argv)
    try:
        if args.backend_url:
            if not (args.base_model and args.tuned_model):
                raise MarcoError("--backend-url needs --base-model and --tuned-model: the server's names for both")
            chat = RemoteChat(args.backend_url, args.base_model, args.tuned_model).check()
        else:
            chat = load(args.adapter, args.model)
    except MarcoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    build(chat, gpu).launch(server_name=args.host, server_port=args.port)
    return 0
