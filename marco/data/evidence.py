"""Map a template found in normalised text back to the exact words of the original reply.

Templates are learned on normalised text (case-folded, punctuation gone), but a person checking a rejection
needs the reply's own words: `locate` returns the original substring (with its case and punctuation) whose
normalisation is the template's words, and its offsets.
"""

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


def _frame_span(reply: str, frame: str):
    """The sentence (or the whole reply) whose masked, normalised form is the frame."""
    pieces, position = [], 0
    for piece in _SENTENCE_END.split(reply):
        start = reply.index(piece, position) if piece else position
        pieces.append((start, start + len(piece)))
        position = start + len(piece)
    texts = [reply[s:e] for s, e in pieces if reply[s:e].strip()] + [reply]
    spans = [(s, e) for s, e in pieces if reply[s:e].strip()] + [(0, len(reply))]
    for (start, end), norm in zip(spans, normalize_many([mask_slots(t) for t in texts])):
        if norm == frame:
            return start, end, len(frame.split())
    return None


def locate(reply: str, kind: str, text: str):
    """(evidence, start, end, words matched) for the template `text` of `kind` in `reply`: the reply's own words
    that matched, with their case and punctuation; None when the reply does not hold them."""
    span = _frame_span(reply, text) if kind == "frame" else None
    if span is None:
        target = (_anchor(text) if kind == "frame" else text).split()
        span = _find(_words(reply), [w for w in target if w not in _SLOT_WORDS], from_end=kind == "closing")
    if span is None:
        return None
    start, end, size = span
    while end > start and reply[end - 1].isspace():
        end -= 1
    while start < end and reply[start].isspace():
        start += 1
    return reply[start:end], start, end, size
