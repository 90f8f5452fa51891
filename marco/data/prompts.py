"""Prompt-side audit: what the user turns of a corpus look like, where the reply side cannot tell.

A corpus where one user turn opens a fifth of the conversations teaches the model one question; a prompt with
many different replies teaches it nothing consistent. Both are reported (and quoted); whole-user-side duplicates
can be rejected (`reject_duplicate_prompts`).
"""

from collections import Counter, defaultdict

from .text import normalize_many, normalized_turns

DOMINANT_SHARE = 0.2  # a first user turn opening this share of the conversations is warned about
MANY_REPLIES = 5  # a prompt with this many different replies is warned about
_PREFIX_WORDS = 8  # words of a user turn that make its prefix


def user_side(messages: list) -> str:
    return "\n".join(m["content"] for m in messages if m["role"] == "user")


def audit(conversations: list[list[dict]], normalized: list[list[str]] = None, top: int = 10) -> dict:
    """Most common first user turns and prefixes with their shares, and prompts with many different replies.
    `normalized`: each conversation's turns, normalised (by the cleaner, which has them); else normalised here."""
    total = len(conversations)
    if normalized is None:
        normalized = normalized_turns(conversations)
    first_users = [next(j for j, m in enumerate(c) if m["role"] == "user") for c in conversations]
    firsts = [c[j]["content"] for c, j in zip(conversations, first_users)]
    normalized_firsts = [turns[j] for turns, j in zip(normalized, first_users)]
    original = {}
    for text, norm in zip(firsts, normalized_firsts):
        original.setdefault(norm, text)
    prefixes, prefix_text = Counter(), {}
    for text, norm in zip(firsts, normalized_firsts):
        if norm.count(" ") >= _PREFIX_WORDS:
            prefix = " ".join(norm.split(" ", _PREFIX_WORDS)[:_PREFIX_WORDS])
            prefixes[prefix] += 1
            prefix_text.setdefault(prefix, " ".join(text.split()[:_PREFIX_WORDS]))
    replies_of = defaultdict(set)
    sides = [" ".join(t for m, t in zip(c, turns) if m["role"] == "user" and t) for c, turns in zip(conversations, normalized)]
    for side, messages, first in zip(sides, conversations, firsts):
        replies_of[side].add(next(m["content"] for m in messages if m["role"] == "assistant"))
    side_text = dict(zip(sides, firsts))
    many = sorted(((len(r), s) for s, r in replies_of.items() if len(r) >= MANY_REPLIES), reverse=True)[:top]
    share = (lambda n: round(n / total, 4)) if total else (lambda n: 0.0)
    return {
        "conversations": total,
        "distinct_first_turns": len(original),
        "top_first_turns": [{"text": original[n], "count": c, "share": share(c)}
                            for n, c in Counter(normalized_firsts).most_common(top)],
        "top_prefixes": [{"text": prefix_text[p], "count": c, "share": share(c)} for p, c in prefixes.most_common(3)],
        "many_replies": [{"prompt": side_text[s], "replies": n} for n, s in many],
    }


def warnings(audit_: dict) -> list[str]:
    found = []
    for turn in audit_["top_first_turns"]:
        if turn["share"] >= DOMINANT_SHARE:
            found.append(f"one user turn opens {turn['count']} of {audit_['conversations']} conversations "
                         f"({turn['share']:.0%}): \"{turn['text'][:200]}\"")
    warned = [t["text"] for t in audit_["top_first_turns"] if t["share"] >= DOMINANT_SHARE]
    for prefix in audit_["top_prefixes"][:1]:
        if prefix["share"] >= DOMINANT_SHARE and not any(t.startswith(prefix["text"]) for t in warned):
            found.append(f"{prefix['share']:.0%} of the first user turns start with the same words: "
                         f"\"{prefix['text']} ...\"")
    for item in audit_["many_replies"][:3]:
        found.append(f"one prompt has {item['replies']} different replies: \"{item['prompt'][:200]}\"")
    return found


def duplicate_prompts(conversations: list[list[dict]]) -> list[tuple[int, int]]:
    """(index, index of the earlier conversation) for each conversation whose whole user side repeats an earlier one."""
    first, found = {}, []
    for index, side in enumerate(normalize_many([user_side(c) for c in conversations])):
        kept = first.setdefault(side, index)
        if kept != index:
            found.append((index, kept))
    return found
