"""Text normalisation and vectorised word/shingle hashing shared by dedup, templates and metrics.

Hashing is written in NumPy over whole batches (one pass over the bytes) because a Python call per word
would cap `clean` far below the 20k conversations/s target.
"""

import re
import unicodedata

import numpy as np

_SEP = "\x1e"  # joins texts for batch normalisation; it is \W, so the regex below must spare it
_NON_WORD = re.compile(r"[^\w\x1e]+|_+")
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_BYTE_POWERS = np.array([pow(1099511628211, i, 1 << 64) for i in range(64)], dtype=np.uint64)  # FNV prime powers
_TEXTS_PER_PASS = 1024  # small passes stay in cache: 8x faster than one pass over 20k texts here
_SHINGLE_MULTIPLIERS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5,
                                 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x85EBCA77C2B2AE63, 0xD6E8FEB86659FD93],
                                dtype=np.uint64)


def normalize(text: str) -> str:
    """NFKC, case-folded, punctuation and symbols dropped, whitespace collapsed: the form duplicates are compared in."""
    return normalize_many([text])[0]


def normalize_many(texts: list[str]) -> list[str]:
    joined = unicodedata.normalize("NFKC", _SEP.join(t.replace(_SEP, " ") for t in texts)).casefold()
    return [part.strip() for part in _NON_WORD.sub(" ", joined).split(_SEP)]


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads polynomial hashes over all 64 bits."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def word_hashes(normalized: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hash of every word of every (normalised) text, and offsets: text i owns hashes[offsets[i]:offsets[i+1]]."""
    if len(normalized) <= _TEXTS_PER_PASS:
        return _word_hashes(normalized)
    parts = [_word_hashes(normalized[i: i + _TEXTS_PER_PASS]) for i in range(0, len(normalized), _TEXTS_PER_PASS)]
    lengths = np.concatenate([np.diff(offsets) for _, offsets in parts])
    offsets = np.zeros(len(normalized) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return np.concatenate([hashes for hashes, _ in parts]), offsets


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
    lengths = np.diff(offsets)
    text_of_word = np.repeat(np.arange(len(lengths)), lengths)
    position = np.arange(hashes.size) - offsets[:-1][text_of_word]
    padded = np.concatenate([hashes, np.zeros(n, np.uint64)])
    combined = np.zeros(hashes.size, np.uint64)
    for j in range(n):
        inside = (position + j) < lengths[text_of_word]
        combined += np.where(inside, padded[j: j + hashes.size], np.uint64(0)) * _SHINGLE_MULTIPLIERS[j % 8]
    last_start = np.maximum(lengths - n, 0 if short_texts else -1)
    keep = position <= last_start[text_of_word]
    counts = np.bincount(text_of_word[keep], minlength=len(lengths))
    new_offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(counts, out=new_offsets[1:])
    return mix64(combined[keep]), new_offsets
