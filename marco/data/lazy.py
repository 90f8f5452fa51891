"""Texts read when a step needs them instead of held: what lets `clean` work on a million conversations in bounded
memory.

`Spill` keeps each valid conversation's normalised turns in an unlinked temporary file (in TMPDIR): normalising is
the costliest part of reading, so it is done once. `LazyTexts` is a read-only list of texts fetched in batches from
wherever they live (the spill, or the source for the original text), so the template scan, the duplicate check and
the diversity figures take it where they took a list.
"""

import os
import shutil
import tempfile
from array import array
from collections.abc import Sequence

import numpy as np

_TURN = "\x1f"  # between the turns of one conversation, "\n" after it: normalised text has no control characters
_BATCH = 16_384  # texts fetched at a time when iterating


class Spill:
    """Append-only store of each row's normalised turns, by row position (none for a row that is not a valid
    conversation). At `path` (a datatrove task's, read by the next stage) or unlinked: nothing is left behind, even
    after a kill."""

    def __init__(self, path: str = None):
        self.path = path
        self.file = open(path, "w+b") if path else tempfile.TemporaryFile()
        self.starts = array("q", [0])

    def __getstate__(self) -> dict:
        if self.path is None:
            raise TypeError("an unlinked spill cannot be sent to another process")
        self.file.flush()
        return {"path": self.path, "starts": self.starts}

    def __setstate__(self, state: dict) -> None:
        self.path, self.starts = state["path"], state["starts"]
        self.file = open(self.path, "r+b")
        self.file.seek(0, os.SEEK_END)

    def absorb(self, other: "Spill") -> None:
        """Append `other`'s rows after these (the next datatrove task's part)."""
        other.file.flush()
        other.file.seek(0)
        shutil.copyfileobj(other.file, self.file, 1 << 22)
        self.starts.extend((np.frombuffer(other.starts, np.int64)[1:] + self.starts[-1]).tolist())

    def add(self, rows: list) -> None:
        """One chunk of rows, in order: the normalised turns of each, None for a row that is not valid."""
        data = [(_TURN.join(turns) + "\n" if turns is not None else "\n").encode() for turns in rows]
        for item in data:
            self.starts.append(self.starts[-1] + len(item))
        self.file.write(b"".join(data))

    def turns(self, positions) -> list[list[str]]:
        """The normalised turns of each row position (a valid conversation has two or more, so never "")."""
        self.file.flush()
        read = read_runs(self.file.fileno(), self.starts, positions)
        found = {p: data.decode().rstrip("\n") for p, data in read.items()}
        return [found[p].split(_TURN) if found[p] else [] for p in np.asarray(positions, dtype=np.int64).tolist()]

    def close(self) -> None:
        self.file.close()


def read_runs(descriptor: int, starts, positions) -> dict:
    """{position: its bytes} for each distinct position of a file of entries (entry p from starts[p] to
    starts[p + 1]), each run of neighbouring entries read with one pread."""
    wanted = np.unique(np.asarray(positions, dtype=np.int64))
    found = {}
    for run in np.split(wanted, np.flatnonzero(np.diff(wanted) > 1) + 1) if wanted.size else []:
        first, last = int(run[0]), int(run[-1])
        begin = int(starts[first])
        block = os.pread(descriptor, int(starts[last + 1]) - begin, begin)
        for position in range(first, last + 1):
            found[position] = block[int(starts[position]) - begin: int(starts[position + 1]) - begin]
    return found


class LazyTexts(Sequence):
    """A read-only list of `len(keys)` texts; `fetch(keys) -> texts` gets a batch of them when they are read."""

    def __init__(self, keys, fetch):
        self.keys, self.fetch = keys, fetch

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.fetch(self.keys[index]) if len(self.keys[index]) else []
        return self.fetch(self.keys[index: index + 1] if index >= 0 else [self.keys[index]])[0]

    def __iter__(self):
        for first in range(0, len(self.keys), _BATCH):
            yield from self.fetch(self.keys[first: first + _BATCH])

    def _keys_at(self, indices):
        if isinstance(self.keys, np.ndarray):
            return self.keys[np.asarray(indices, dtype=np.int64)]
        return [self.keys[i] for i in indices]

    def take(self, indices) -> list[str]:
        return self.fetch(self._keys_at(indices)) if len(indices) else []

    def subset(self, indices) -> "LazyTexts":
        return LazyTexts(self._keys_at(indices), self.fetch)


def take(texts, indices: list) -> list[str]:
    """texts[i] for each i: one batched read for a LazyTexts, plain indexing for a list."""
    return texts.take(indices) if isinstance(texts, LazyTexts) else [texts[i] for i in indices]
