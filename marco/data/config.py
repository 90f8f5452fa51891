"""Settings of the data audit and cleaning, as a dataclass so `trl.TrlParser` can parse it with the rest."""

from dataclasses import dataclass, field
from typing import Optional

ACTIONS = ("reject", "strip", "flag", "off")  # what a content filter does with what it finds


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
    template: str = field(
        default="reject",
        metadata={"help": "Templated replies: reject a conversation whose pattern is common enough to teach a formula "
                          "(template_reject_share) and flag the rarer ones; strip: the same, but the rarer ones' "
                          "sentences are removed (kept, noted in its flags); flag: reject none, flag all; off: only "
                          "report them.", "choices": list(ACTIONS)},
    )
    template_reject_share: float = field(
        default=0.1,
        metadata={"help": "Share of replies a pattern must reach to reject the conversations using it (the seed "
                          "project's scaffold is in all its replies; ChatGPT's courtesy phrases in 1 to 4 of 100)."},
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
    boilerplate: str = field(
        default="reject",
        metadata={"help": "AI disclaimers and refusals in replies: reject the conversation, strip the sentence (kept, "
                          "noted in its flags), flag it (kept, noted) or off.", "choices": list(ACTIONS)},
    )
    truncated: str = field(
        default="reject",
        metadata={"help": "Replies cut off mid-sentence or with unbalanced/dangling markup: reject, strip, flag or off.",
                  "choices": list(ACTIONS)},
    )
    misaligned: str = field(
        default="flag",
        metadata={"help": "Replies that seem to answer a neighbouring question (a suspect, found without a model): "
                          "reject, strip, flag (listed for a person to check) or off.",
                  "choices": list(ACTIONS)},
    )
    score_model: Optional[str] = field(
        default=None,
        metadata={"help": "A causal LM (Hub id, folder or marco-tiny) that scores every conversation's Instruction-"
                          "Following Difficulty, PPL(reply | prompt) / PPL(reply) (Li et al., NAACL 2024); replies at "
                          "or above ifd_threshold are misaligned; the variety audit then groups requests by its mean-pooled "
                          "hidden states. Off by default: it runs a model."},
    )
    ifd_threshold: float = field(
        default=1.0, metadata={"help": "IFD at or above which a reply is misaligned (1.0: the prompt does not help)."}
    )
    variety_warn_share: float = field(
        default=0.5,
        metadata={"help": "Warn when one kind of request (the report's variety section: first user turns grouped by "
                          "their words) holds more than this share of the kept conversations."},
    )
    reject_duplicate_prompts: bool = field(
        default=False,
        metadata={"help": "Reject a conversation whose whole user side repeats a kept conversation's (reason "
                          "duplicate_prompt); off: the prompt-side audit only reports it."},
    )
    decontaminate_probes: Optional[str] = field(
        default=None,
        metadata={"help": "A probes .jsonl (the evaluation questions): reject training conversations whose user turn "
                          "is an exact or near duplicate of a probe question (reason probe_overlap). train.py always "
                          "uses the run's `probes` when this is unset; `marco data` takes it as --probes."},
    )
    data_overrides: Optional[str] = field(
        default=None,
        metadata={"help": "A reader's decisions (overrides.jsonl, written by the Data review tab of `python app.py "
                          "--data-review DIR`), applied last: a kept record marked drop is rejected (reason "
                          "reviewer_drop), a rejected one marked keep is kept, flagged reviewer_keep; report.json's "
                          "`review` says how often the reader agreed with each filter. `marco data` takes it as "
                          "--overrides."},
    )
    group_by: Optional[list[str]] = field(
        default=None,
        metadata={"help": "Record fields to break duplicates down by (default: those of topic, type, category, level present)."},
    )

    def __post_init__(self):
        if not 0.0 < self.near_dup_threshold <= 1.0:
            raise ValueError(f"near_dup_threshold must be in (0, 1], got {self.near_dup_threshold}")
        if self.num_perm < 16 or self.num_perm & (self.num_perm - 1):
            raise ValueError(f"num_perm must be a power of two >= 16, got {self.num_perm}")
        for name in ("template_min_share", "variety_warn_share"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if not self.template_min_share <= self.template_reject_share <= 1.0:
            raise ValueError(f"template_reject_share must be in [template_min_share, 1], got {self.template_reject_share}")
        for name in ("template", "boilerplate", "truncated", "misaligned"):
            if getattr(self, name) not in ACTIONS:
                raise ValueError(f"{name} must be one of {', '.join(ACTIONS)}, got {getattr(self, name)!r}")
        for name in ("max_chars", "shingle_words", "template_min_count", "template_edge_words", "template_phrase_words"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
