"""Turn one parsed record into a validated `messages` conversation, or a named reason why not.

Accepted formats (checked in this order):
- chat: `messages` = [system?] user, assistant, user, assistant, ...
- prompt/completion: strings, or lists of messages as in TRL's conversational prompt-completion format
- Alpaca: `instruction`, optional `input`, `output`
Every other field of the record is left as it is.
"""

from dataclasses import dataclass
from typing import Optional

ROLES = ("system", "user", "assistant")
FORMAT_FIELDS = {
    "messages": ("messages",),
    "prompt_completion": ("prompt", "completion"),
    "alpaca": ("instruction", "input", "output"),
}


@dataclass
class Invalid(Exception):
    """A record that cannot be trained on: `reason` is a stable name, `field` points at the culprit."""

    reason: str
    field: str
    detail: str


def detect_format(record: dict) -> str:
    if "messages" in record:
        return "messages"
    if "prompt" in record and "completion" in record:
        return "prompt_completion"
    if "instruction" in record and "output" in record:
        return "alpaca"
    raise Invalid("unknown_format", "", f"no recognised format: expected 'messages', 'prompt'+'completion' or "
                  f"'instruction'+'output', found fields {sorted(record)[:8]}")


def _string(value, field: str) -> str:
    if not isinstance(value, str):
        raise Invalid("non_string_content", field, f"{field} must be a string, got {type(value).__name__}")
    return value


def _as_turns(value, role: str, field: str) -> list:
    """A prompt or completion is a string (one turn of `role`) or already a list of messages."""
    if isinstance(value, list):
        return value
    return [{"role": role, "content": _string(value, field)}]


def to_messages(record: dict, fmt: str) -> list:
    """The record's conversation in the `messages` format (not yet validated)."""
    if fmt == "messages":
        if not isinstance(record["messages"], list):
            raise Invalid("bad_message", "messages", f"messages must be a list, got {type(record['messages']).__name__}")
        return record["messages"]
    if fmt == "prompt_completion":
        return _as_turns(record["prompt"], "user", "prompt") + _as_turns(record["completion"], "assistant", "completion")
    instruction = _string(record["instruction"], "instruction")
    extra = _string(record.get("input") or "", "input")
    prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": _string(record["output"], "output")}]


def validate(messages: list, max_chars: int) -> list:
    """Check roles, contents, alternation and length, in one pass; return the messages."""
    system_first = bool(messages) and isinstance(messages[0], dict) and messages[0].get("role") == "system"
    total = 0
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if type(message) is not dict or "role" not in message or "content" not in message:
            raise Invalid("bad_message", where, f"{where} must be an object with 'role' and 'content'")
        role, content = message["role"], message["content"]
        if role not in ROLES:
            raise Invalid("unknown_role", f"{where}.role", f"{where}.role {role!r} is not one of {', '.join(ROLES)}")
        if type(content) is not str:
            raise Invalid("non_string_content", f"{where}.content",
                          f"{where}.content must be a string, got {type(content).__name__}")
        if not content or content.isspace():
            raise Invalid("empty_content", f"{where}.content", f"{where}.content is empty")
        if i or not system_first:
            expected = ("user", "assistant")[(i - system_first) % 2]
            if role != expected:
                raise Invalid("not_alternating", f"{where}.role", f"{where} is {role!r} where {expected!r} was "
                              "expected (optional system first, then user and assistant alternate)")
        total += len(content)
    if len(messages) - system_first < 2:
        raise Invalid("no_assistant_turn", "messages", "the conversation has no assistant turn")
    if messages[-1]["role"] != "assistant":
        raise Invalid("not_alternating", f"messages[{len(messages) - 1}].role",
                      "the conversation must end with an assistant turn")
    if total > max_chars:
        raise Invalid("too_long", "messages", f"{total} characters, over the limit of {max_chars} (max_chars)")
    return messages


def conversation(record: dict, max_chars: int) -> tuple[str, list]:
    """(format name, validated messages) of a record, or raise Invalid."""
    fmt = detect_format(record)
    return fmt, validate(to_messages(record, fmt), max_chars)


def converted(record: dict, fmt: str, messages: list) -> dict:
    """The record as it is written to kept.jsonl: its own fields untouched, the format fields replaced by `messages`."""
    if fmt == "messages":
        return record
    out = {key: value for key, value in record.items() if key not in FORMAT_FIELDS[fmt]}
    out["messages"] = messages
    return out


def record_name(record: Optional[dict], line: int):
    """How reports point at a record: its `id` when it has one, else its line."""
    if isinstance(record, dict) and isinstance(record.get("id"), (str, int)) and not isinstance(record.get("id"), bool):
        return record["id"]
    return f"line {line}"
