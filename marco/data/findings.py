"""What a detector found in one conversation, and the interface the cleaner and its filters share.

Each detector module (boilerplate, truncation, alignment) exposes one `Detector` class with a `reason` class
attribute. The cleaner streams the corpus through it: `observe(conversations)` chunk after chunk in corpus order,
then `finish(read)`, which returns {index in corpus order: Finding}. A detector that needs corpus statistics (the
endings truncation learns) or neighbours (alignment) keeps what it needs of each chunk and, once it knows the whole
corpus, reads again the few conversations it must look at (`read(indices)`). `find(conversations)` does the same
over one list.
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


class Detector:
    """observe() chunks, then finish(); `reset()` starts over (subclasses set up their state there)."""

    def reset(self) -> None:
        raise NotImplementedError

    def observe(self, conversations: list[list[dict]]) -> None:
        raise NotImplementedError

    def finish(self, read) -> dict:
        raise NotImplementedError

    def find(self, conversations: list[list[dict]]) -> list:
        """One Finding or None per conversation, in order."""
        self.reset()
        self.observe(conversations)
        found = self.finish(lambda indices: [conversations[i] for i in indices])
        return [found.get(i) for i in range(len(conversations))]
