"""Map a template found in normalised text back to the exact words of the original reply.

Templates are learned on normalised text (case-folded, punctuation gone), but a person checking a rejection
needs the reply's own words: `locate` returns the original substring (with its case and punctuation) whose
normalisation is the template's words, and its offsets.
"""

import functools
import re
from difflib import SequenceMatcher

from .templates import _SENTENCE_END, _SLOT_WORDS, _anchor, mask_slots
from .text import normalize_many

_TOKEN = re.compile(r"[^\s–—―…•·]+")  # the normaliser turns whitespace and these marks into spaces


def _words(reply: str) -> list[tuple[str, int, int]]:
    """(normalised word, start, end) for each word of the reply, in order; punctuation-only tokens vanish."""
    spans = [m.span() for m in _TOKEN.finditer(reply)]
    words = []
    for (start, end), norm in zip(spans, normalize_many([reply[s:e] for s, e in spans])):
        words.extend((w, start, end) for w in norm.split())
    return words


def _find(words: list, target: list[str], from_end: bool = False):
    """Span of the longest run of `target`'s words that the reply has in that order (the last one for closings)."""
    plain = [w for w, _, _ in words]
    matcher = SequenceMatcher(None, plain[::-1] if from_end else plain, target[::-1] if from_end else target,
                              autojunk=False)
    i, _, size = matcher.find_longest_match(0, len(plain), 0, len(target))
    if size < min(3, len(target)):
        return None
    first = len(plain) - i - size if from_end else i
    return words[first][1], words[first + size - 1][2], size


class Reply:
    """One reply, with its words and its sentence frames worked out once for every template it is checked against."""

    def __init__(self, text: str):
        self.text = text

    @functools.cached_property
    def words(self) -> list:
        return _words(self.text)

    @functools.cached_property
    def frames(self) -> dict:
        """{masked normalised frame: span} of each sentence and of the whole reply."""
        spans, position = [], 0
        for piece in _SENTENCE_END.split(self.text):
            start = self.text.index(piece, position) if piece else position
            if piece.strip():
                spans.append((start, start + len(piece)))
            position = start + len(piece)
        spans.append((0, len(self.text)))
        found = {}
        for span, norm in zip(spans, normalize_many([mask_slots(self.text[s:e]) for s, e in spans])):
            found.setdefault(norm, span)
        return found

    def locate(self, kind: str, template: str):
        """(evidence, start, end, words matched) for the template `template` of `kind`: the reply's own words that
        matched, with their case and punctuation; None when the reply does not hold them."""
        span = self.frames.get(template) if kind == "frame" else None
        if span is not None:
            span = (*span, len(template.split()))
        else:
            target = (_anchor(template) if kind == "frame" else template).split()
            span = _find(self.words, [w for w in target if w not in _SLOT_WORDS], from_end=kind == "closing")
        if span is None:
            return None
        start, end, size = span
        while end > start and self.text[end - 1].isspace():
            end -= 1
        while start < end and self.text[start].isspace():
            start += 1
        return self.text[start:end], start, end, size

