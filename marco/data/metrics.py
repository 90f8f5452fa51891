"""Diversity, length and balance figures of a set of conversations (used on data and on model answers)."""

import zlib
from collections import Counter

import numpy as np

from .text import ngram_hashes, word_hashes

_COMPRESSION_SAMPLE = 1_000_000  # characters: the ratio is stable long before this and zlib is not free
_DISTINCT_SAMPLE = 10_000  # texts: distinct-n falls as a corpus grows, so a fixed-size sample keeps it comparable


def distinct_n(normalized: list[str], n: int) -> float:
    """Unique word n-grams over all n-grams of the texts (Li et al., 2016): 1.0 = nothing repeats.
    Over at most 10,000 texts spread evenly, so that corpora of different sizes compare."""
    return distinct(normalized, (n,))[n]


def distinct(normalized: list[str], ns: tuple) -> dict:
    """{n: distinct_n(normalized, n)} for several n, the words hashed once."""
    words = word_hashes(normalized[:: max(1, -(-len(normalized) // _DISTINCT_SAMPLE))])
    found = {}
    for n in ns:
        hashes = np.sort(ngram_hashes(*words, n, short_texts=False)[0])
        found[n] = float((np.count_nonzero(hashes[1:] != hashes[:-1]) + 1) / hashes.size) if hashes.size else 0.0
    return found


def compression_ratio(texts: list[str], characters: int = None) -> float:
    """Raw size over zlib size of the joined texts (Shaib et al., 2024): higher = more repetitive. `characters`: their
    total length, where the caller knows it (so that a LazyTexts is not read whole to count it)."""
    step = max(1, (sum(map(len, texts)) if characters is None else characters) // _COMPRESSION_SAMPLE)
    data = "\n".join(texts[::step]).encode("utf-8")
    return round(len(data) / len(zlib.compress(data, 6)), 3) if data else 0.0


def top_openings(normalized: list[str], words: int = 4, top: int = 10) -> list[tuple[str, int]]:
    """Most common first words; over at most 10,000 texts spread evenly (a share needs no more)."""
    sample = normalized[:: max(1, -(-len(normalized) // _DISTINCT_SAMPLE))]
    return [(text, round(count * len(normalized) / len(sample))) for text, count in
            Counter(" ".join(t.split(" ", words)[:words]) for t in sample if t).most_common(top)]


def diversity(replies: list[str], normalized: list[str], opening_words: int = 4, characters: int = None) -> dict:
    """Figures that fall when a model or a dataset collapses into templates (`characters`: see compression_ratio)."""
    openings = top_openings(normalized, opening_words, top=1)
    distinct_1_2 = distinct(normalized, (1, 2))
    return {
        "replies": len(replies),
        "distinct_1": round(distinct_1_2[1], 4),
        "distinct_2": round(distinct_1_2[2], 4),
        "top_opening": openings[0][0] if openings else "",
        "top_opening_share": round(openings[0][1] / len(normalized), 4) if openings else 0.0,
        "compression_ratio": compression_ratio(replies, characters),
    }


def length_stats(lengths: list[int], unit: str, bins: int = 20) -> dict:
    if not lengths:
        return {"unit": unit, "count": 0}
    values = np.asarray(lengths)
    counts, edges = np.histogram(values, bins=min(bins, max(1, int(values.max() - values.min()) + 1)))
    return {
        "unit": unit,
        "count": int(values.size),
        "mean": round(float(values.mean()), 1),
        **{f"p{q}": int(np.percentile(values, q)) for q in (0, 50, 90, 99, 100)},
        "histogram": {"edges": [round(float(e), 1) for e in edges], "counts": counts.tolist()},
    }


def group_breakdown(values: list, reasons: list, top: int = 50) -> list[dict]:
    """Per value of a grouping field: how many records, and how many were duplicates or templates."""
    rows = {}
    for value, reason in zip(values, reasons):
        row = rows.setdefault(value, {"value": value, "records": 0, "kept": 0, "exact_duplicate": 0,
                                      "near_duplicate": 0, "template": 0, "invalid": 0})
        row["records"] += 1
        key = "kept" if reason is None else reason if reason in row else "invalid"
        row[key] += 1
    for row in rows.values():
        row["duplicate_share"] = round((row["exact_duplicate"] + row["near_duplicate"]) / row["records"], 4)
    return sorted(rows.values(), key=lambda r: (-r["duplicate_share"], -r["records"], str(r["value"])))[:top]
