"""Decontamination: training conversations whose user turn is (nearly) an evaluation probe's question.

Training on the test questions makes the base comparison meaningless. A user turn overlaps a probe when it is
the same text after normalisation (exact), or when at least `threshold` of the probe's word shingles occur in it
(near: containment rather than Jaccard, so a probe pasted inside a longer prompt is caught too).
"""

from dataclasses import dataclass

import numpy as np
import orjson

from .load import UnusableInput
from .text import ngram_hashes, normalize_many, word_hashes


@dataclass(frozen=True)
class Overlap:
    conversation: int  # index among the conversations given
    turn: int  # message index of the user turn
    probe: int  # index of the probe question
    similarity: float  # share of the probe's shingles found in the turn (1.0 for an exact match)
    exact: bool  # the same text as the probe after normalisation


def probe_questions(path: str) -> list[tuple[str, str]]:
    """(probe id, user question) of every user turn of a probes .jsonl; a bad line is a clear error."""
    try:
        with open(path, "rb") as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        raise UnusableInput(f"{path}: cannot read probes ({error.strerror})") from None
    questions = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            probe = orjson.loads(line)
            turns = [m["content"] for m in probe["messages"] if m["role"] == "user" and isinstance(m["content"], str)]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise UnusableInput(f"{path}:{number}: messages: a probe needs 'messages' with a user turn") from None
        if not turns:
            raise UnusableInput(f"{path}:{number}: messages: the probe has no user turn")
        questions.extend((str(probe.get("id", f"line {number}")), t) for t in turns)
    if not questions:
        raise UnusableInput(f"{path}: no probe in the file")
    return questions


def _distinct_shingles(texts: list[str], shingle_words: int) -> tuple[np.ndarray, np.ndarray]:
    """Every distinct shingle of every text once, with the text it belongs to."""
    grams, offsets = ngram_hashes(*word_hashes(texts), shingle_words)
    owner = np.repeat(np.arange(len(texts)), np.diff(offsets))
    order = np.lexsort((grams, owner))
    grams, owner = grams[order], owner[order]
    first = np.r_[True, (grams[1:] != grams[:-1]) | (owner[1:] != owner[:-1])] if grams.size else np.zeros(0, bool)
    return grams[first], owner[first]


def decontaminate(conversations: list[list[dict]], questions: list[str], threshold: float = 0.8,
                  shingle_words: int = 3) -> list[Overlap]:
    """The first user turn of each conversation that is an exact or near duplicate of one of `questions`."""
    owners = [(c, t) for c, messages in enumerate(conversations) for t, m in enumerate(messages) if m["role"] == "user"]
    turns = normalize_many([conversations[c][t]["content"] for c, t in owners])
    probes = normalize_many(questions)
    exact = {p: i for i, p in reversed(list(enumerate(probes)))}
    turn_grams, turn_of_gram = _distinct_shingles(turns, shingle_words)
    probe_grams, probe_offsets = ngram_hashes(*word_hashes(probes), shingle_words)
    best = {}
    for p in range(len(probes)):
        grams = np.unique(probe_grams[probe_offsets[p]: probe_offsets[p + 1]])
        if grams.size == 0:
            continue
        found = np.bincount(turn_of_gram[np.isin(turn_grams, grams)], minlength=len(turns)) / grams.size
        for turn in np.flatnonzero(found >= threshold).tolist():
            best.setdefault(turn, (p, round(float(found[turn]), 4), False))
    for turn, text in enumerate(turns):
        if text in exact:
            best[turn] = (exact[text], 1.0, True)
    overlaps, seen = [], set()
    for turn in sorted(best):
        c, t = owners[turn]
        if c not in seen:
            seen.add(c)
            overlaps.append(Overlap(c, t, *best[turn]))
    return overlaps
