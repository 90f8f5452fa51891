"""Prompt-side audit: what the user turns of a corpus look like, where the reply side cannot tell.

A corpus where one user turn opens a fifth of the conversations teaches the model one question; a prompt with
many different replies teaches it nothing consistent. Both are reported (and quoted); whole-user-side duplicates
can be rejected (`reject_duplicate_prompts`).

The audit keeps a few hashes per conversation, not its text, so it runs alongside a streaming clean; the handful
of texts the report quotes are read again at the end.
"""

from array import array

import numpy as np
import xxhash

DOMINANT_SHARE = 0.2  # a first user turn opening this share of the conversations is warned about
MANY_REPLIES = 5  # a prompt with this many different replies is warned about
_PREFIX_WORDS = 8  # words of a user turn that make its prefix


def user_side(turns: list[str], roles: str) -> str:
    """The user turns of a conversation (normalised), as one text: what a duplicate prompt is judged on."""
    return " ".join(t for role, t in zip(roles, turns) if role == "u" and t)


class PromptAudit:
    """Conversations added chunk after chunk (`add`), figures at the end (`result`). Hashes are xxhash's, not
    Python's: a datatrove task's must agree with the others' (`absorb`)."""

    def __init__(self):
        self.positions = array("q")  # whose hashes these are (row positions, ascending)
        self.first_turn = array("q")  # first user turn, normalised
        self.prefix = array("q")  # its first _PREFIX_WORDS words (0: shorter)
        self.side = array("q")  # the whole user side, normalised
        self.side_reply = array("q")  # the user side with the first reply, as written

    def add(self, positions: list, conversations: list[list[dict]], normalized: list[list[str]], roles: list[str]) -> None:
        """Valid conversations, with their normalised turns and their roles as initials ("sua...")."""
        self.positions.extend(positions)
        for messages, turns, initials in zip(conversations, normalized, roles):
            first = initials.index("u")
            side = user_side(turns, initials)
            words = turns[first].split(" ", _PREFIX_WORDS)
            self.first_turn.append(_hash(turns[first]))
            self.prefix.append(_hash(" ".join(words[:_PREFIX_WORDS])) if len(words) > _PREFIX_WORDS else 0)
            self.side.append(_hash(side))
            self.side_reply.append(_hash(f"{side}\x00{messages[initials.index('a')]['content']}"))

    def absorb(self, other: "PromptAudit", offset: int) -> None:
        """Take the conversations of `other`, whose rows start at position `offset` (the next datatrove task's)."""
        self.positions.extend((np.frombuffer(other.positions, np.int64) + offset).tolist())
        for name in ("first_turn", "prefix", "side", "side_reply"):
            getattr(self, name).extend(getattr(other, name))

    def side_of(self, positions) -> np.ndarray:
        """The user-side hash of each of these (added) row positions."""
        known = np.frombuffer(self.positions, np.int64)
        return np.frombuffer(self.side, np.int64)[np.searchsorted(known, np.asarray(positions, np.int64))]

    def result(self, first_turns, sides, top: int = 10) -> dict:
        """Most common first user turns and prefixes with their shares, and prompts with many different replies.
        `first_turns(positions)` gives those rows' first user turns as written, `sides(positions)` their normalised
        user sides: the quoted texts are read again."""
        total = len(self.positions)
        positions = np.frombuffer(self.positions, np.int64)
        share = (lambda n: round(n / total, 4)) if total else (lambda n: 0.0)
        top_turns = _most_common(np.frombuffer(self.first_turn, np.int64), top)
        prefix = np.frombuffer(self.prefix, np.int64)
        long_enough = np.flatnonzero(prefix != 0)
        top_prefixes = [(long_enough[i], n) for i, n in _most_common(prefix[long_enough], 3)]
        shown = positions[[i for i, _ in top_turns + top_prefixes]].tolist()
        texts = dict(zip(shown, first_turns(shown)))
        return {
            "conversations": total,
            "distinct_first_turns": int(np.unique(np.frombuffer(self.first_turn, np.int64)).size),
            "top_first_turns": [{"text": texts[positions[i]], "count": n, "share": share(n)} for i, n in top_turns],
            "top_prefixes": [{"text": " ".join(texts[positions[i]].split()[:_PREFIX_WORDS]), "count": n, "share": share(n)}
                             for i, n in top_prefixes],
            "many_replies": self._many_replies(positions, first_turns, sides, top),
        }

    def _many_replies(self, positions: np.ndarray, first_turns, sides, top: int) -> list[dict]:
        """User sides with MANY_REPLIES or more different first replies, most first (ties: the side's text, as
        sorted strings break them), each quoted by the first user turn of its last conversation."""
        side, pair = np.frombuffer(self.side, np.int64), np.frombuffer(self.side_reply, np.int64)
        distinct_pairs = np.unique(np.stack([side, pair], axis=1), axis=0) if side.size else np.zeros((0, 2), np.int64)
        values, replies = np.unique(distinct_pairs[:, 0], return_counts=True)
        many = values[replies >= MANY_REPLIES]
        if not many.size:
            return []
        wanted = set(many.tolist())
        last = {value: k for k, value in enumerate(side.tolist()) if value in wanted}
        chosen = [positions[last[value]] for value in many.tolist()]
        texts = dict(zip(many.tolist(), sides(chosen)))
        counts = dict(zip(values.tolist(), replies.tolist()))
        ranked = sorted(((counts[v], texts[v], v) for v in many.tolist()), reverse=True)[:top]
        quoted = dict(zip(chosen, first_turns(chosen)))
        return [{"prompt": quoted[positions[last[v]]], "replies": n} for n, _, v in ranked]


def _hash(text: str) -> int:
    return xxhash.xxh3_64_intdigest(text.encode()) - (1 << 63)  # signed, for array("q")


def _most_common(hashes: np.ndarray, top: int) -> list[tuple[int, int]]:
    """(index of the first occurrence, count) of the `top` most common values, ties in order of first occurrence
    (as collections.Counter.most_common orders them)."""
    if not hashes.size:
        return []
    _, first, counts = np.unique(hashes, return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))[:top]
    return [(int(first[k]), int(counts[k])) for k in order]


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
