"""What a detector found in one conversation: the shared interface between the cleaner and its filters.

Each detector module (boilerplate, truncation, alignment) exposes a class with a `reason` class attribute and
`find(conversations) -> list[Finding | None]`, one entry per conversation in the same order. It sees the whole
corpus at once, so it can learn corpus statistics, look at neighbours and vectorise.
"""

from dataclasses import dataclass


@dataclass
class Finding:
    """One defect in one conversation, with the exact text that shows it."""

    reason: str  # registry key in marco/data/reasons.py, e.g. "boilerplate", "truncated", "misaligned"
    detail: str  # one line a person reads; quotes the evidence
    field: str  # where it is, e.g. "messages[3].content"
    evidence: str  # the exact substring of the original text that matched (original case and punctuation)
    start: int = -1  # offsets of `evidence` in that message's content (for `strip` and highlighting); -1: unknown
    end: int = -1
