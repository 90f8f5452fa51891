"""One pass over a dataset, keeping what the rest of a clean needs instead of the text.

Per row: its validation and name (and, for a breakdown, its group fields). Per valid conversation: its roles ("uaua"),
its normalised turns, spilled to disk (lazy.Spill); a prompt-side summary (prompts.PromptAudit); whether it asks a probe's
question. Per candidate (a valid conversation that is no probe): a 16-byte digest (exact duplicates), a MinHash
sketch (near duplicates) and a length. Each chunk's text is let go before the next is read, which is what keeps a
million conversations under 2 GiB.
"""

import hashlib
import os
import sys
from array import array
from collections import Counter

import numpy as np

from . import metrics
from .dedup import sketch
from .formats import record_name
from .load import reject
from .probes import decontaminate
from .prompts import PromptAudit
from .lazy import Spill
from .text import normalized_turns

GROUP_FIELDS = ("topic", "type", "category", "level")
ROLE_NAMES = {"s": "system", "u": "user", "a": "assistant"}  # the spill writes each role as its initial


def conversation_text(messages: list) -> str:
    """The text duplicates are judged on: every turn with its role."""
    return "\n".join(f"{m['role']}: {m['content']}" for m in messages)


def normalized_conversation(roles, turns: list[str]) -> str:
    """normalize(conversation_text(messages)) from the messages' roles and normalised turns: "role: " normalises to
    "role ", and a turn that normalises to nothing leaves no double space."""
    return " ".join(part for role, turn in zip(roles, turns) for part in (role, turn) if part)


def _digest(text: str) -> bytes:
    """What exact duplicates are keyed on: 16 bytes instead of the whole text (a collision among 4 billion texts: under 2^-64)."""
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class _Groups:
    """Per row, the value of each field a breakdown may use (coded: a million rows share a few topics)."""

    def __init__(self, fields):
        self.values = {f: {} for f in fields}
        self.codes = {f: array("i") for f in fields}
        self.present, self.valid = Counter(), 0

    def add(self, rows: list) -> None:
        records = [row.record for row in rows]
        for field, values in self.values.items():
            codes = [str(record.get(field)) if record else "(invalid)" for record in records]
            self.codes[field].extend([values.setdefault(value, len(values)) for value in codes])
            self.present[field] += sum(field in row.record for row in rows if row.rejection is None)
        self.valid += sum(row.rejection is None for row in rows)

    def absorb(self, other: "_Groups") -> None:
        """Take the rows of `other` (the next datatrove task's), its codes renumbered into these."""
        for field, values in self.values.items():
            renumbered = [values.setdefault(value, len(values)) for value in other.values[field]]
            self.codes[field].extend(renumbered[c] for c in other.codes[field])
        self.present.update(other.present)
        self.valid += other.valid

    def breakdown(self, asked, reasons: list) -> dict:
        """metrics.group_breakdown per field: the fields asked for, else those present in half the valid records."""
        fields = list(asked) if asked else [f for f in GROUP_FIELDS if self.valid and self.present[f] >= self.valid / 2]
        found = {}
        for field in fields:
            names = list(self.values[field])
            found[field] = metrics.group_breakdown([names[c] for c in self.codes[field]], reasons)
        return found


class Corpus:
    """Read `source` once (`read()`), measuring each chunk; `observe(positions, conversations)` sees every chunk's
    valid conversations too (the filters that run in this process)."""

    def __init__(self, source, cfg, tokenizer=None, questions=(), observe=None, spill: str = None):
        self.source, self.cfg, self.tokenizer, self.questions, self.observe = source, cfg, tokenizer, questions, observe
        self.rows, self.names, self.roles = [], [], []  # per row; roles "" for a row that is not valid
        self.assistant_characters = array("q")  # per row: the length of its replies, together
        self.candidates = array("q")  # row positions of the valid conversations that ask no probe's question
        self.digests, self.lengths = [], []  # per candidate
        self.sketches = []  # per chunk of candidates while reading, then (band hashes, has shingles) of them all
        self.formats = Counter()
        self.groups = _Groups(cfg.group_by or GROUP_FIELDS)
        self.prompts = PromptAudit()
        self.spill = Spill(spill)

    def read(self) -> "Corpus":
        for chunk in self.source.chunks():
            self._add(chunk)
        self.sketches = tuple(map(np.concatenate, zip(*self.sketches))) if self.sketches else None
        return self

    def __getstate__(self) -> dict:
        """What a datatrove task sends the next stage: the measurements, not the caller's tokenizer or callback."""
        return {**self.__dict__, "tokenizer": None, "observe": None}

    def absorb(self, other: "Corpus") -> None:
        """Take the rows `other` read (the next part of the source, a datatrove task's) as if read after these."""
        offset = len(self.rows)
        self.rows.extend(other.rows)
        self.names.extend(other.names)
        self.roles.extend(other.roles)
        self.assistant_characters.extend(other.assistant_characters)
        self.candidates.extend((np.frombuffer(other.candidates, np.int64) + offset).tolist())
        self.digests.extend(other.digests)
        self.lengths.extend(other.lengths)
        parts = [s for s in (self.sketches, other.sketches) if s is not None]
        self.sketches = tuple(map(np.concatenate, zip(*parts))) if parts else None
        self.formats.update(other.formats)
        self.groups.absorb(other.groups)
        self.prompts.absorb(other.prompts, offset)
        self.spill.absorb(other.spill)

    def _add(self, chunk: list) -> None:
        first = len(self.rows)
        valid = [k for k, row in enumerate(chunk) if row.rejection is None]
        positions = [first + k for k in valid]
        conversations = [chunk[k].messages for k in valid]
        turns = normalized_turns(conversations)
        roles = [sys.intern("".join(m["role"][0] for m in messages)) for messages in conversations]
        files = getattr(self.source, "names_files", False)
        self.names.extend(record_name(row.record, row.line, os.path.basename(row.prefix[:-1]) if files else None)
                          for row in chunk)
        self.groups.add(chunk)
        self.roles.extend([""] * len(chunk))
        self.assistant_characters.extend([0] * len(chunk))
        for k, role, messages in zip(valid, roles, conversations):
            self.roles[first + k] = role
            self.assistant_characters[first + k] = sum(len(m["content"]) for m in messages if m["role"] == "assistant")
        self.formats.update(chunk[k].fmt for k in valid)
        if self.observe:
            self.observe(positions, conversations)
        self.prompts.add(positions, conversations, turns, roles)
        if self.questions:
            self._reject_probe_overlaps(chunk, valid, conversations)
        spilled = [None] * len(chunk)
        for k, normalized in zip(valid, turns):
            spilled[k] = normalized
        self.spill.add(spilled)
        self._measure(chunk, first, [(k, role, normalized) for k, role, normalized in zip(valid, roles, turns)
                                     if chunk[k].rejection is None])
        for row in chunk:
            row.let_go()
        self.rows.extend(chunk)

    def _reject_probe_overlaps(self, chunk: list, valid: list, conversations: list) -> None:
        for hit in decontaminate(conversations, [q for _, q in self.questions]):
            row = chunk[valid[hit.conversation]]
            probe_id, question = self.questions[hit.probe]
            kind = "exact" if hit.exact else f"near ({hit.similarity:.0%} of its words)"
            reject(row, "probe_overlap", f"{row.where}: user turn is an {kind} duplicate of probe {probe_id} "
                   f"\"{question[:120]}\"", f"messages[{hit.turn}].content", duplicate_of=probe_id,
                   evidence=row.messages[hit.turn]["content"])

    def _measure(self, chunk: list, first: int, candidates: list) -> None:
        """Digest, sketch and length of each candidate: tokens with a tokenizer, else words of its normalised text."""
        texts = [normalized_conversation([ROLE_NAMES[r] for r in role], normalized) for _, role, normalized in candidates]
        self.candidates.extend(first + k for k, _, _ in candidates)
        self.digests.extend(_digest(text) for text in texts)
        self.sketches.append(sketch(texts, self.cfg.near_dup_threshold, self.cfg.shingle_words, self.cfg.num_perm))
        if self.tokenizer is not None and candidates:  # (a tokenizer refuses an empty batch)
            plain = [" ".join(m["content"] for m in chunk[k].messages) for k, _, _ in candidates]
            self.lengths.extend(len(ids) for ids in self.tokenizer(plain, add_special_tokens=False)["input_ids"])
        else:
            self.lengths.extend(t.count(" ") + 1 if t else 0 for t in texts)

    def length_stats(self) -> dict:
        return metrics.length_stats(self.lengths, "tokens" if self.tokenizer is not None and self.lengths else "words")

    def sketches_of(self, positions) -> tuple:
        """The near-duplicate sketches of some candidates (row positions, ascending)."""
        table, nonempty = self.sketches
        at = np.searchsorted(np.frombuffer(self.candidates, np.int64), np.asarray(positions, np.int64))
        return table[at], nonempty[at]
