"""Turn one parsed record into a validated `messages` conversation, or a named reason why not.

Accepted formats (checked in this order):
- chat: `messages` = [system?] user, assistant, user, assistant, ...; a `content` may be a list of OpenAI content
  parts, whose text parts are joined with a newline (a non-text part rejects the record: marco trains on text)
- ShareGPT: `conversations` = turns with `from`/`value` (human/gpt/system/...) or `role`/`content`
- prompt/completion: strings, or lists of messages as in TRL's conversational prompt-completion format
- Alpaca: `instruction`, optional `input` (dropped when empty or "<No Input>"), `output`
The text of every turn is kept exactly; every other field of the record is left as it is.
"""

from dataclasses import dataclass
from typing import Optional

ROLES = ("system", "user", "assistant")
FORMAT_FIELDS = {
    "messages": ("messages",),
    "sharegpt": ("conversations",),
    "prompt_completion": ("prompt", "completion"),
    "alpaca": ("instruction", "input", "output"),
}
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
                  "bard": "assistant", "bing": "assistant", "model": "assistant", "system": "system"}
NO_INPUT = {"", "<no input>", "<noinput>", "no input"}  # Alpaca exports' ways of saying "no input"
# content that is only these is empty: whitespace plus C0/C1 control characters (NUL included)
_INVISIBLE = "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0)])) + " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004" \
    "\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"


@dataclass
class Invalid(Exception):
    """A record that cannot be trained on: `reason` is a stable name, `field` points at the culprit."""

    reason: str
    field: str
    detail: str


def detect_format(record: dict) -> str:
    if "messages" in record:
        return "messages"
    if "conversations" in record:
        return "sharegpt"
    if "prompt" in record and "completion" in record:
        return "prompt_completion"
    if "instruction" in record and "output" in record:
        return "alpaca"
    raise Invalid("unknown_format", "", f"no recognised format: expected 'messages', 'conversations', "
                  f"'prompt'+'completion' or 'instruction'+'output', found fields {sorted(record)[:8]}")


def _string(value, field: str) -> str:
    if not isinstance(value, str):
        raise Invalid("non_string_content", field, f"{field} must be a string, got {type(value).__name__}")
    return value


def _as_turns(value, role: str, field: str) -> list:
    """A prompt or completion is a string (one turn of `role`) or already a list of messages."""
    if isinstance(value, list):
        return value
    return [{"role": role, "content": _string(value, field)}]


def _sharegpt(turns, field: str = "conversations") -> list:
    if not isinstance(turns, list):
        raise Invalid("bad_message", field, f"{field} must be a list, got {type(turns).__name__}")
    messages = []
    for i, turn in enumerate(turns):
        where = f"{field}[{i}]"
        if type(turn) is not dict:
            raise Invalid("bad_message", where, f"{where} must be an object with 'from' and 'value'")
        if "from" not in turn:
            messages.append(turn)  # role/content inside `conversations`: validated as messages
            continue
        role = SHAREGPT_ROLES.get(str(turn["from"]).lower()) if isinstance(turn["from"], str) else None
        if role is None:
            raise Invalid("unknown_role", f"{where}.from", f"{where}.from {turn['from']!r} is not one of "
                          f"{', '.join(sorted(SHAREGPT_ROLES))}")
        if "value" not in turn:
            raise Invalid("bad_message", where, f"{where} has 'from' but no 'value'")
        messages.append({"role": role, "content": turn["value"]})
    return messages


def joined_parts(parts: list, where: str) -> str:
    """The text of OpenAI content parts, joined with newlines; a non-text part is refused."""
    texts = []
    for j, part in enumerate(parts):
        kind = part.get("type") if type(part) is dict else None
        if kind != "text":
            raise Invalid("non_text_content", f"{where}.content[{j}].type", f"{where}.content[{j}] is a "
                          f"{kind or type(part).__name__!r} part: marco trains on text parts only")
        texts.append(_string(part.get("text"), f"{where}.content[{j}].text"))
    return "\n".join(texts)


def to_messages(record: dict, fmt: str) -> list:
    """The record's conversation in the `messages` format (not yet validated)."""
    if fmt == "messages":
        if not isinstance(record["messages"], list):
            raise Invalid("bad_message", "messages", f"messages must be a list, got {type(record['messages']).__name__}")
        return record["messages"]
    if fmt == "sharegpt":
        return _sharegpt(record["conversations"])
    if fmt == "prompt_completion":
        return _as_turns(record["prompt"], "user", "prompt") + _as_turns(record["completion"], "assistant", "completion")
    instruction = _string(record["instruction"], "instruction")
    extra = _string(record.get("input") or "", "input")
    prompt = instruction if extra.strip().lower() in NO_INPUT else f"{instruction}\n\n{extra}"
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": _string(record["output"], "output")}]


def validate(messages: list, max_chars: int) -> list:
    """Check roles, contents, alternation and length, in one pass; return the messages (content parts joined)."""
    system_first = bool(messages) and isinstance(messages[0], dict) and messages[0].get("role") == "system"
    total = 0
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if type(message) is not dict or "role" not in message or "content" not in message:
            raise Invalid("bad_message", where, f"{where} must be an object with 'role' and 'content'")
        role, content = message["role"], message["content"]
        if role not in ROLES:
            raise Invalid("unknown_role", f"{where}.role", f"{where}.role {role!r} is not one of {', '.join(ROLES)}")
        if type(content) is list:
            content = joined_parts(content, where)
            messages = [*messages[:i], {**message, "content": content}, *messages[i + 1:]]
        elif type(content) is not str:
            raise Invalid("non_string_content", f"{where}.content",
                          f"{where}.content must be a string, got {type(content).__name__}")
        if not content.strip(_INVISIBLE):
            raise Invalid("empty_content", f"{where}.content", f"{where}.content has no visible text")
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
    """(format name, validated messages) of a record, or raise Invalid. Content parts read as "openai_parts"."""
    fmt = detect_format(record)
    raw = to_messages(record, fmt)
    messages = validate(raw, max_chars)
    return ("openai_parts" if messages is not raw and fmt == "messages" else fmt), messages


def converted(record: dict, fmt: str, messages: list) -> dict:
    """The record as it is written to kept.jsonl: its own fields untouched, the format fields replaced by `messages`."""
    if record.get("messages") is messages:
        return record
    out = {key: value for key, value in record.items() if key not in FORMAT_FIELDS.get(fmt, ("messages",))}
    out["messages"] = messages
    return out


def record_name(record: Optional[dict], line: int, file: str = None):
    """How reports point at a record: its `id` when it has one, else its line (and file, in a corpus of shards)."""
    if isinstance(record, dict) and isinstance(record.get("id"), (str, int)) and not isinstance(record.get("id"), bool):
        return record["id"]
    return f"{file} line {line}" if file else f"line {line}"
