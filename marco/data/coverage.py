"""Which characters of the data a tokenizer cannot carry: those it maps to its unknown token (the model can never
read or write them: Flan-T5 has no "ì", so a tutor on it can never write "così") and those that do not come back
from encode -> decode (Flan-T5 turns "\\n" into a space and "…" into "..."). Byte-level BPE (Qwen, Llama 3) loses
nothing, and the check says so.

    from marco.data.coverage import coverage
    report = coverage(tokenizer, [m["content"] for r in records for m in r["messages"]])

Each distinct character is tokenised once, between two letters (the way it appears in text, and so that a tokenizer
that drops leading or trailing spaces does not look lossy); the messages are then only scanned for the characters
that failed."""

CONTEXT = ("a", "b")  # letters every tokenizer has: the character is tokenised between them, as inside a word
EXAMPLE_CHARS = 40  # characters of text kept on each side of an example occurrence
LISTED = 6  # characters named in the one-line warning


def _codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"


def _example(text: str, char: str) -> str:
    at = text.index(char)
    return text[max(0, at - EXAMPLE_CHARS): at + EXAMPLE_CHARS + 1]


def _failures(tokenizer, chars: list) -> tuple[set, dict]:
    """(characters that become the unknown token, {character: what it decodes back as}) over the distinct characters."""
    if not chars:  # no text (every conversation rejected): nothing to tokenise
        return set(), {}
    left, right = CONTEXT
    samples = [f"{left}{c}{right}" for c in chars]
    encoded = tokenizer(samples, add_special_tokens=False)["input_ids"]
    unk = tokenizer.unk_token_id
    unknown = {c for c, ids in zip(chars, encoded) if unk is not None and unk in ids}
    changed = {}
    for char, sample, ids in zip(chars, samples, encoded):
        back = tokenizer.decode(ids, clean_up_tokenization_spaces=False)
        if char not in unknown and back != sample:
            changed[char] = back[len(left): len(back) - len(right)] if back.startswith(left) and back.endswith(right) else back
    return unknown, changed


def _affected(texts: list, bad: set) -> tuple[dict, dict]:
    """Per bad character: how many texts contain it, and the first one's surroundings."""
    counts, examples = dict.fromkeys(bad, 0), {}
    for text in texts:
        for char in bad.intersection(text):
            counts[char] += 1
            examples.setdefault(char, _example(text, char))
    return counts, examples


def _rows(chars, counts: dict, examples: dict, changed: dict = None) -> list:
    rows = [{"char": c, "codepoint": _codepoint(c), "messages": counts[c], "example": examples[c],
             **({"becomes": changed[c]} if changed is not None else {})} for c in chars]
    return sorted(rows, key=lambda row: (-row["messages"], row["char"]))


def _named(rows: list) -> str:
    shown = ", ".join(f"{row['char']!r} {row['messages']}" for row in rows[:LISTED])
    return shown + (f" and {len(rows) - LISTED} more" if len(rows) > LISTED else "")


def coverage(tokenizer, texts: list[str]) -> dict:
    """What `tokenizer` cannot carry of `texts` (one text per message): counts of messages per character, an
    example for each, and a one-line `warning` (None when nothing is lost)."""
    texts = [t for t in texts if t]
    chars = sorted(set().union(*map(set, texts))) if texts else []
    unknown, changed = _failures(tokenizer, chars)
    counts, examples = _affected(texts, unknown | set(changed))
    with_unknown = sum(1 for t in texts if unknown.intersection(t))
    with_changed = sum(1 for t in texts if set(changed).intersection(t))
    report = {
        "tokenizer": getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__,
        "messages": len(texts),
        "characters": len(chars),
        "unknown_token": tokenizer.unk_token,
        "messages_with_unknown": with_unknown,
        "unknown": _rows(unknown, counts, examples),
        "messages_not_round_trip": with_changed,
        "not_round_trip": _rows(changed, counts, examples, changed),
    }
    report["warning"] = warning(report)
    return report


def warning(report: dict) -> str | None:
    """One line for the audit summary and the card; None when the tokenizer carries every character."""
    parts = []
    if report["unknown"]:
        parts.append(f"{len(report['unknown'])} characters become {report['unknown_token']} in "
                     f"{report['messages_with_unknown']:,} of {report['messages']:,} messages "
                     f"({_named(report['unknown'])}): the model can never write them")
    if report["not_round_trip"]:
        changes = ", ".join(f"{row['char']!r} -> {row['becomes']!r} in {row['messages']}"
                            for row in report["not_round_trip"][:LISTED])
        parts.append(f"{len(report['not_round_trip'])} characters do not survive encode/decode ({changes})")
        if any(row["char"] == "\n" for row in report["not_round_trip"]):
            parts.append("newlines come back as spaces: the model cannot write line breaks (lists, paragraphs)")
    return f"tokenizer {report['tokenizer']}: " + "; ".join(parts) if parts else None
