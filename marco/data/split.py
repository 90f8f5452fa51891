"""Train/eval split that keeps similar conversations on the same side, so eval loss is not a memory test."""

import hashlib

from .corpus import conversation_text
from .dedup import near_duplicates
from .text import normalize_many


def split_train_eval(records: list, eval_fraction: float, threshold: float = 0.5, seed: int = 42) -> tuple[list, list]:
    """(train, eval). Conversations with shingle Jaccard >= `threshold` form a group; whole groups go to eval,
    chosen by a seeded hash of their first member, until `eval_fraction` of the records is reached."""
    if eval_fraction <= 0 or len(records) < 2:
        return list(records), []
    normalized = normalize_many([conversation_text(r["messages"]) for r in records])
    group = list(range(len(records)))
    for dup in near_duplicates(normalized, threshold=threshold):
        group[dup.index] = group[dup.kept]
    members = {}
    for i, g in enumerate(group):
        members.setdefault(g, []).append(i)
    order = sorted(members, key=lambda g: hashlib.sha256(f"{seed}:{normalized[g]}".encode()).hexdigest())
    target, chosen = max(1, round(eval_fraction * len(records))), set()
    for g in order:
        if len(chosen) >= target:
            break
        chosen.update(members[g])
    return [r for i, r in enumerate(records) if i not in chosen], [r for i, r in enumerate(records) if i in chosen]
