"""The engine backend: both columns from an OpenAI-compatible server (vLLM, SGLang, TGI, Inference Endpoints,
`transformers serve`), streamed through the `openai` client."""

import os
import threading
from queue import Queue

from marco.errors import MarcoError
from marco.serve.columns import Columns

BACKEND_KEY_ENV = "MARCO_BACKEND_API_KEY"  # the --backend-url server's API key, read from the environment only


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
                    cause = f"{type(update).__name__}: {str(update).splitlines()[0] if str(update) else 'failed'}"
                    if texts[row]:  # the column keeps what came before the break
                        cause += "; it stopped mid-reply (the text so far is kept): is the server still running?"
                    raise MarcoError(f"{self.models[row]} at {self.url}: {cause}")
                else:
                    texts[row] += update
                    yield tuple(texts)
        finally:
            for reply in streams:  # a reader that left (a closed tab) ends the server's generation too
                reply.close()
