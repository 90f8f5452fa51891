"""Settings of the data audit and cleaning, as a dataclass so `trl.TrlParser` can parse it with the rest."""

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class CleaningConfig:
    """How marco audits and cleans a chat dataset before training (`python -m marco data --help`)."""

    max_chars: int = field(
        default=32_000,
        metadata={"help": "Reject a conversation whose text (all turns) is longer than this many characters (reason too_long)."},
    )
    near_dup_threshold: float = field(
        default=0.8,
        metadata={"help": "Jaccard similarity of word shingles at or above which two conversations are near duplicates."},
    )
    shingle_words: int = field(default=3, metadata={"help": "Words per shingle for near-duplicate detection."})
    num_perm: int = field(
        default=128, metadata={"help": "MinHash signature length (one-permutation hashing bins); a power of two."}
    )
    template_filter: bool = field(
        default=True,
        metadata={"help": "Reject conversations whose assistant replies carry a template (off: --no-template-filter)."},
    )
    template_min_share: float = field(
        default=0.03,
        metadata={"help": "A learned opening, closing, phrase or frame is a template once this share of replies uses it."},
    )
    template_min_count: int = field(
        default=5, metadata={"help": "... and at least this many replies (stops tiny datasets from flagging coincidences)."}
    )
    template_edge_words: int = field(default=4, metadata={"help": "Words that make an opening (first) or closing (last)."})
    template_phrase_words: int = field(default=6, metadata={"help": "Words in a shared phrase (word n-gram) template."})
    group_by: Optional[list[str]] = field(
        default=None,
        metadata={"help": "Record fields to break duplicates down by (default: those of topic, type, category, level present)."},
    )

    def __post_init__(self):
        if not 0.0 < self.near_dup_threshold <= 1.0:
            raise ValueError(f"near_dup_threshold must be in (0, 1], got {self.near_dup_threshold}")
        if self.num_perm < 16 or self.num_perm & (self.num_perm - 1):
            raise ValueError(f"num_perm must be a power of two >= 16, got {self.num_perm}")
        if not 0.0 < self.template_min_share <= 1.0:
            raise ValueError(f"template_min_share must be in (0, 1], got {self.template_min_share}")
        for name in ("max_chars", "shingle_words", "template_min_count", "template_edge_words", "template_phrase_words"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
