"""Text normalisation and vectorised word/shingle hashing shared by dedup, templates and metrics.

Hashing is written in NumPy over whole batches (one pass over the bytes) because a Python call per word
would cap `clean` far below the 20k conversations/s target.
"""

import re
import unicodedata

import numpy as np

_SEP = "\x1e"  # joins texts for batch normalisation
# One bytes.translate (C speed) deletes ASCII punctuation and symbols and turns whitespace into spaces; the
# common non-ASCII marks are handled first. NFKC has already folded full-width forms to ASCII. Deleting rather
# than spacing punctuation leaves few double spaces to collapse (l'acqua -> lacqua, the same in every text).
_ASCII_WHITESPACE_TO_SPACE = bytes(0x20 if c < 128 and chr(c).isspace() and c != 0x1E else c for c in range(256))
_ASCII_PUNCTUATION = bytes(c for c in range(128) if not chr(c).isalnum() and not chr(c).isspace())
_UNICODE_SPACING_MARKS = "–—―…•·"  # usually stand between words: become spaces
_UNICODE_MARKS = "«»“”‘’„‚‹›‐‑¿¡′″§¶°"  # cling to a word: deleted
_MARK_REPLACEMENTS = {mark.encode(): b" " if mark in _UNICODE_SPACING_MARKS else b""
                      for mark in _UNICODE_SPACING_MARKS + _UNICODE_MARKS}
_MARKS = re.compile(b"|".join(map(re.escape, _MARK_REPLACEMENTS)))
_SPACES = re.compile(b"  +")
_BYTE_POWERS = np.array([pow(1099511628211, i, 1 << 64) for i in range(64)], dtype=np.uint64)  # FNV prime powers
_NORMALIZE_BATCH = 8192  # texts joined into one string per normalisation pass
_TEXTS_PER_PASS = 1024  # small passes stay in cache: 8x faster than one pass over 20k texts here
_SHINGLE_MULTIPLIERS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5,
                                 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x85EBCA77C2B2AE63, 0xD6E8FEB86659FD93],
                                dtype=np.uint64)


def normalize(text: str) -> str:
    """NFKC, case-folded, punctuation and symbols dropped, whitespace collapsed: the form duplicates are compared in."""
    return normalize_many([text])[0]


def normalize_many(texts: list[str]) -> list[str]:
    """normalize() of many texts, a batch at a time: one C-speed pass per batch, bounded temporary memory."""
    if len(texts) <= _NORMALIZE_BATCH:
        return _normalize_batch(texts)
    return [t for i in range(0, len(texts), _NORMALIZE_BATCH) for t in _normalize_batch(texts[i: i + _NORMALIZE_BATCH])]


def normalized_turns(conversations: list) -> list[list[str]]:
    """normalize() of every turn's content, each turn once: the conversation, reply and prompt texts are built
    from these rather than normalised again (normalisation is a third of a clean)."""
    flat = iter(normalize_many([m["content"] for messages in conversations for m in messages]))
    return [[next(flat) for _ in messages] for messages in conversations]


def _normalize_batch(texts: list[str]) -> list[str]:
    # NFKC text by text: a text already in NFKC (most) passes its C quick check untouched, where one "…" anywhere in
    # a joined batch sends the whole batch down the slow path (20x slower on the bundled set)
    # the rest in one pass each over the UTF-8 bytes (a mark's bytes never match inside another character)
    data = _SEP.join([unicodedata.normalize("NFKC", t.replace(_SEP, " ")).casefold() for t in texts]).encode("utf-8")
    data = _MARKS.sub(lambda mark: _MARK_REPLACEMENTS[mark.group()], data)
    data = _SPACES.sub(b" ", data.translate(_ASCII_WHITESPACE_TO_SPACE, _ASCII_PUNCTUATION))
    return data.replace(b" \x1e", b"\x1e").replace(b"\x1e ", b"\x1e").strip(b" ").decode("utf-8").split(_SEP)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads polynomial hashes over all 64 bits."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _in_passes(fn, offsets: np.ndarray, *args):
    """Apply `fn(offsets_of_a_pass, *args)` to small groups of texts and join the results (cache-friendly)."""
    n_texts = offsets.size - 1
    if n_texts <= _TEXTS_PER_PASS:
        return fn(offsets, *args)
    parts = [fn(offsets[i: i + _TEXTS_PER_PASS + 1], *args) for i in range(0, n_texts, _TEXTS_PER_PASS)]
    new_offsets = np.zeros(n_texts + 1, np.int64)
    np.cumsum(np.concatenate([np.diff(o) for _, o in parts]), out=new_offsets[1:])
    return np.concatenate([h for h, _ in parts]), new_offsets


def word_hashes(normalized: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hash of every word of every (normalised) text, and offsets: text i owns hashes[offsets[i]:offsets[i+1]]."""
    return _in_passes(lambda o: _word_hashes(normalized[o[0]: o[-1]]), np.arange(len(normalized) + 1))


def _word_hashes(normalized: list[str]) -> tuple[np.ndarray, np.ndarray]:
    data = np.frombuffer(("\n".join(normalized) + "\n").encode("utf-8"), dtype=np.uint8)
    is_sep = (data == 32) | (data == 10)
    letters = np.flatnonzero(~is_sep)
    if letters.size == 0:
        return np.zeros(0, np.uint64), np.zeros(len(normalized) + 1, np.int64)
    begins_word = np.r_[True, letters[1:] != letters[:-1] + 1]
    first_letter_of_word = np.flatnonzero(begins_word)
    starts = letters[first_letter_of_word]  # byte position where each word starts
    offset_in_word = np.minimum(letters - np.repeat(starts, np.diff(np.r_[first_letter_of_word, letters.size])), 63)
    contributions = (data[letters].astype(np.uint64) + np.uint64(1)) * _BYTE_POWERS[offset_in_word]
    hashes = mix64(np.add.reduceat(contributions, first_letter_of_word))
    text_of_word = np.searchsorted(np.flatnonzero(data == 10), starts)
    offsets = np.zeros(len(normalized) + 1, np.int64)
    np.cumsum(np.bincount(text_of_word, minlength=len(normalized)), out=offsets[1:])
    return hashes, offsets


def ngram_hashes(hashes: np.ndarray, offsets: np.ndarray, n: int, short_texts: bool = True):
    """Hashes of the word n-grams of each text, with offsets. A text shorter than n words gives one n-gram
    of all its words when `short_texts` (so short conversations still have a shingle), none otherwise."""
    if n == 1:
        return hashes, offsets
    return _in_passes(lambda o: _ngram_hashes(hashes[o[0]: o[-1]], o - o[0], n, short_texts), offsets)


def _ngram_hashes(hashes: np.ndarray, offsets: np.ndarray, n: int, short_texts: bool):
    lengths = np.diff(offsets)
    counts = np.maximum(lengths - n + 1, (lengths > 0) if short_texts else 0)
    new_offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(counts, out=new_offsets[1:])
    starts = np.arange(new_offsets[-1]) + np.repeat(offsets[:-1] - new_offsets[:-1], counts)
    ends = np.repeat(offsets[1:], counts) if short_texts and (lengths < n).any() else None
    return gram_at(hashes, starts, n, ends), new_offsets


def gram_at(hashes: np.ndarray, starts: np.ndarray, n: int, ends: np.ndarray = None) -> np.ndarray:
    """Hash of the n words from each start (words at or past `ends` count as absent)."""
    combined = np.zeros(starts.size, np.uint64)
    padded = np.concatenate([hashes, np.zeros(n, np.uint64)])
    for j in range(n):
        words = padded[starts + j]
        if ends is not None:
            words = np.where(starts + j < ends, words, np.uint64(0))
        combined += words * _SHINGLE_MULTIPLIERS[j % 8]
    return mix64(combined)
