"""What the app asks of a backend (`Columns`), and the bounded request both backends take: one learner's message, each
column's own history and the generation settings, checked the same whether the models run here or on an engine."""

from marco.errors import MarcoError

MAX_MESSAGE_CHARS = 2000  # a long paragraph; longer pastes are refused with a message, not truncated
MAX_NEW_TOKENS = 512  # cap for API callers: one request must not hold the shared model for minutes
MAX_HISTORY_MESSAGES = 64  # per column, the most recent: older ones are dropped before the prompt is fitted
MAX_HISTORY_MESSAGE_CHARS = 8 * MAX_MESSAGE_CHARS  # a history message (a reply may be long) beyond this is refused


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
