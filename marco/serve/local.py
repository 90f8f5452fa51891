"""The local backend: the base and the fine-tuned model from one model in this process, streamed token by token (a peft
mixed-adapter batch: row 0 without the adapter, row 1 with it). Learners who ask while a reply is generated join one
batch."""

import copy
import os
import threading
import time
from queue import Empty, Queue

from transformers.generation.streamers import BaseStreamer

from marco import models
from marco.errors import MarcoError
from marco.evaluate.compare import BASE, no_leaked_adapter_hooks, prompts
from marco.serve.columns import Columns

DEFAULT_ADAPTER = "outputs/marco-tiny"  # what the README's main job writes
TRAIN_HINT = "run `python train.py --config configs/marco_tiny.yaml` first"
BATCH_REQUESTS = 8  # learners answered by one generate: each waits at most BATCH_WAIT_S for others to join
BATCH_WAIT_S = 0.02


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


def load(adapter: str = None, model: str = None) -> Chat:
    """The base model with the adapter on top (MarcoError if either is missing), on the GPU if there is one."""
    adapter = adapter or DEFAULT_ADAPTER
    if adapter == DEFAULT_ADAPTER and not os.path.isdir(adapter):
        raise MarcoError(f"no adapter in {adapter}/: {TRAIN_HINT} (or pass --adapter DIR_OR_HUB_ID)")
    peft_model, tokenizer, base = models.load_adapter(adapter, model)
    return Chat(peft_model, tokenizer, base, adapter)
