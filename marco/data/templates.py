"""Template detection: formulaic patterns learned from the replies themselves, plus known stock phrases.

A pattern is a template when at least `template_min_share` of the replies (and `template_min_count` of them)
use it. Four kinds are learned, so frames never seen before are found too:
- opening / closing: the first / last `template_edge_words` words of a reply;
- phrase: a word n-gram (`template_phrase_words` words) found in many replies;
- frame: a sentence, or a whole reply, that is identical once its slot content (quoted text, numbers,
  capitalised names) is masked, e.g. "This translates to '<Q>'. This sentence uses <X>."
Known stock phrases (STOCK_PHRASES) count from their first use. `scan()` takes any list of replies, so the
same code can judge training data and a model's answers: "templated" then means the same thing in both.
"""

import functools
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from .config import CleaningConfig
from .lazy import take
from .text import mix64, ngram_hashes, normalize_many, word_hashes

STOCK_PHRASES = [  # never misread elsewhere ("this translates to 3x = 45" is maths; AI disclaimers: boilerplate.py)
    # English tutoring-bot filler
    "great question", "good question", "excellent question", "what a great question", "i hope this helps",
    "hope this helps", "keep practicing", "keep practising", "let's break it down", "let me break it down",
    "happy learning", "feel free to ask", "don't hesitate to ask", "i'd be happy to help", "in conclusion", "i hope that helps", "great job", "you're doing great",
    # Italian
    "ottima domanda", "bella domanda", "buona domanda", "spero che ti sia utile", "spero di esserti stato utile",
    "spero che questo ti aiuti", "continua così", "continua a praticare", "buono studio", "non esitare a chiedere",
]
# Each pattern opens on a literal or a character class, its lookbehind after it: the regex engine then scans for that
# opening at C speed instead of trying the lookbehind at every position (2-3x faster, the same matches).
_QUOTED = re.compile(r"'(?<=(?<!\w)')(?:[^'\n]|'(?=\w)){1,80}?'(?!\w)|\"[^\"\n]{1,80}\"|«[^»\n]{1,80}»|“[^”\n]{1,80}”"
                     r"|‘[^’\n]{1,80}’|\*[^*\n]{1,80}\*")  # an apostrophe inside a word (l'acqua, I'm) is no quote
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_NAME = re.compile(r"[A-ZÀÈÉÌÒÙ](?<=[a-zàèéìòù,;] [A-ZÀÈÉÌÒÙ])[\w'-]*")  # capitalised word inside a sentence
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_SLOT_WORDS = {"slotq", "slotn", "slotx"}
_LEARN_SAMPLE = 5_000  # phrases and frames are learned on at most this many replies, spread evenly; flags apply to all
_PASS = 16_384  # replies hashed at a time when counting and flagging: bounds memory at any corpus size


@dataclass
class Template:
    kind: str  # opening, closing, phrase, frame, stock
    text: str
    count: int  # replies that use it
    share: float  # of all replies scanned
    examples: list = field(default_factory=list)  # names of the records (ids or lines) that use it

    def as_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text, "count": self.count, "share": round(self.share, 4),
                "examples": self.examples}


@dataclass
class TemplateScan:
    templates: list  # Template, most used first
    hits: list  # per reply: indices into `templates`

    @property
    def flagged(self) -> list:
        return [bool(h) for h in self.hits]

    @property
    def rate(self) -> float:
        return sum(self.flagged) / len(self.hits) if self.hits else 0.0


def mask_slots(text: str) -> str:
    """The reply's frame: quoted text, numbers and names replaced by slot words."""
    text = _QUOTED.sub(" SLOTQ ", text)
    text = _NUMBER.sub(" SLOTN ", text)
    return _NAME.sub("SLOTX", text)


def frames_of(replies: list[str]) -> list[set]:
    """Per reply, its masked sentence frames (3+ literal words) and, for several sentences, its whole frame."""
    owners, pieces = [], []
    for i, reply in enumerate(replies):
        masked = mask_slots(reply)
        sentences = [s for s in _SENTENCE_END.split(masked) if s.strip()]
        pieces.extend(sentences + ([masked] if len(sentences) > 1 else []))
        owners.extend([i] * (len(sentences) + (len(sentences) > 1)))
    frames = [set() for _ in replies]
    for owner, frame in zip(owners, normalize_many(pieces)):
        words = frame.split()
        if len(words) - sum(map(_SLOT_WORDS.__contains__, words)) >= 3:  # 3+ literal words (counted at C speed)
            frames[owner].add(frame)
    return frames


def _anchor(frame: str) -> str:
    """The longest run of literal words in a frame: a reply without it cannot have the frame."""
    runs = " ".join(w if w not in _SLOT_WORDS else "|" for w in frame.split()).split("|")
    return max((r.strip() for r in runs), key=len)


class _Scanner:
    """One scan. Patterns are learned on an even sample; counting and flagging run over all replies in passes
    of `_PASS` replies, so memory stays bounded at any corpus size."""

    def __init__(self, replies, names, cfg, normalized):
        self.replies, self.names, self.cfg, self.normalized = replies, names, cfg, normalized
        self.total = len(replies)
        self.min_needed = max(cfg.template_min_count, int(np.ceil(cfg.template_min_share * self.total)))
        self.step = max(1, -(-self.total // _LEARN_SAMPLE))
        self.sample = range(0, self.total, self.step)
        # in the learning sample, a pattern must reach the same share (and the count scaled down)
        self.min_in_sample = max(2.0, cfg.template_min_share * len(self.sample),
                                 cfg.template_min_count * len(self.sample) / max(1, self.total))
        self.templates, self.hits = [], [[] for _ in range(self.total)]

    def add(self, kind: str, text: str, reply_indices) -> None:
        reply_indices = sorted(set(reply_indices))
        index = len(self.templates)
        examples = list(dict.fromkeys(self.names[i] for i in reply_indices))[:5]
        self.templates.append(Template(kind, text, len(reply_indices), len(reply_indices) / self.total, examples))
        for i in reply_indices:
            self.hits[i].append(index)

    def collect(self, phrase_targets: np.ndarray, stock_targets: dict) -> None:
        """One pass over all replies, a few thousand at a time: edge keys of every length, and which replies hold
        a frequent phrase n-gram or a stock phrase. Each batch's words are hashed once."""
        k_range = range(3, self.cfg.template_edge_words + 1)
        self.edge_keys = {(kind, k): np.zeros(self.total, np.uint64) for kind in ("opening", "closing") for k in k_range}
        self.phrase_hits, self.stock_hits = defaultdict(set), defaultdict(set)
        lookups = [(self.cfg.template_phrase_words, phrase_targets, self.phrase_hits, None)]
        lookups += [(n, targets, self.stock_hits, n) for n, targets in stock_targets.items()]
        for first in range(0, self.total, _PASS):
            words, word_offsets = word_hashes(self.normalized[first: first + _PASS])
            grams_of = {n: ngram_hashes(words, word_offsets, n, short_texts=False)
                        for n in {*k_range, *(n for n, _, _, _ in lookups)}}
            for k in k_range:
                grams, offsets = grams_of[k]
                longer = np.flatnonzero(np.diff(offsets) > 1)  # more than k words: the edge is not the whole reply
                self.edge_keys["opening", k][first + longer] = grams[offsets[longer]]
                self.edge_keys["closing", k][first + longer] = grams[offsets[longer + 1] - 1]
            for n, targets, found, tag in lookups:
                grams, offsets = grams_of[n]
                if targets.size == 0 or grams.size == 0:
                    continue
                position = np.minimum(np.searchsorted(targets, grams), targets.size - 1)
                hit = np.flatnonzero(targets[position] == grams)
                owner = first + np.searchsorted(offsets, hit, side="right") - 1
                for target, reply in zip(position[hit].tolist(), owner.tolist()):
                    found[target if tag is None else (tag, target)].add(reply)

    def edges(self, kind: str) -> None:
        """First/last 3..k words; each reply counts under its longest frequent key ('nice try the word' before
        'nice try the'), and a shorter key is reported only where some reply stops at it."""
        assigned = np.zeros(self.total, bool)
        for k in range(self.cfg.template_edge_words, 2, -1):
            keys = self.edge_keys[kind, k]
            eligible = np.flatnonzero(keys)
            values, inverse, counts = np.unique(keys[eligible], return_inverse=True, return_counts=True)
            for v in np.flatnonzero(counts >= self.min_needed):
                members = eligible[inverse == v]
                if not assigned[members].all():
                    assigned[members] = True
                    words = self.normalized[members[0]].split()
                    self.add(kind, " ".join(words[-k:] if kind == "closing" else words[:k]), members.tolist())

    def frequent_phrase_grams(self) -> np.ndarray:
        """Sorted hashes of the word n-grams that enough replies of the learning sample share."""
        n = self.cfg.template_phrase_words
        grams, offsets = ngram_hashes(*word_hashes(take(self.normalized, self.sample)), n, short_texts=False)
        owner = np.repeat(np.arange(offsets.size - 1, dtype=np.uint64), np.diff(offsets))
        per_reply = np.unique(mix64(grams ^ mix64(owner)), return_index=True)[1]
        values, counts = np.unique(grams[per_reply], return_counts=True)
        return values[counts >= self.min_in_sample]

    def phrases(self, frequent: np.ndarray) -> None:
        """Neighbouring frequent n-grams of one example reply merge into one reported phrase."""
        n, replies_of, claimed = self.cfg.template_phrase_words, self.phrase_hits, set()
        for gram in sorted(replies_of, key=lambda g: (-len(replies_of[g]), min(replies_of[g]))):
            replies = replies_of[gram]
            if len(replies) < self.min_needed or gram in claimed:
                continue
            example = min(replies)
            example_grams = ngram_hashes(*word_hashes([self.normalized[example]]), n, short_texts=False)[0]
            at = np.searchsorted(frequent, example_grams).clip(0, frequent.size - 1)
            at = np.where(frequent[at] == example_grams, at, -1).tolist()  # -1: a gram that is not frequent
            strong = [g in replies_of and len(replies_of[g]) >= len(replies) / 2 for g in at]
            start = end = int(np.flatnonzero(example_grams == frequent[gram])[0])
            while start > 0 and strong[start - 1]:
                start -= 1
            while end + 1 < len(strong) and strong[end + 1]:
                end += 1
            members = {g for g in at[start: end + 1] if g in replies_of}
            members |= {g for g in replies_of if g not in claimed and len(replies_of[g] & replies) >= 0.8 * len(replies_of[g])}
            claimed |= members
            words = self.normalized[example].split()
            self.add("phrase", " ".join(words[start: end + n]), set().union(*(replies_of[m] for m in members)))

    def frames(self) -> None:
        """Frames learned on the sample, then looked for, in one pass, in every reply that holds a frame's literal
        anchor."""
        counts = Counter(f for frames in frames_of(take(self.replies, self.sample)) for f in frames)
        frequent = [frame for frame, count in sorted(counts.items()) if count >= self.min_in_sample]
        if not frequent:
            return
        anchors = [f" {_anchor(frame)} " for frame in frequent]
        members = [[] for _ in frequent]
        for first in range(0, self.total, _PASS):
            holding = {}  # reply -> the frames whose anchor it holds
            for i, text in enumerate(self.normalized[first: first + _PASS], first):
                padded = f" {text} "
                found = [k for k, anchor in enumerate(anchors) if anchor in padded]
                if found:
                    holding[i] = found
            for (i, found), frames in zip(holding.items(), frames_of(take(self.replies, list(holding)))):
                for k in found:
                    if frequent[k] in frames:
                        members[k].append(i)
        for frame, replies in zip(frequent, members):
            if len(replies) >= self.min_needed:
                self.add("frame", frame, replies)


@functools.cache
def _stock_targets() -> tuple[dict, dict]:
    """Stock phrases by length: {n: sorted n-gram hashes}, {n: phrase texts in that order}."""
    phrases = normalize_many(STOCK_PHRASES)
    targets, texts = {}, {}
    for n in sorted({len(p.split()) for p in phrases}):
        of_length = [p for p in phrases if len(p.split()) == n]
        hashes = ngram_hashes(*word_hashes(of_length), n)[0]
        order = np.argsort(hashes)
        targets[n], texts[n] = hashes[order], [of_length[i] for i in order]
    return targets, texts


def scan(replies: list[str], names: list, cfg: CleaningConfig = None, normalized: list = None) -> TemplateScan:
    """Find the templates of a set of replies and which replies use them. `names[i]` names reply i's record."""
    cfg = cfg or CleaningConfig()
    normalized = normalized if normalized is not None else normalize_many(replies)
    scanner = _Scanner(replies, names, cfg, normalized)
    if replies:
        frequent = scanner.frequent_phrase_grams()
        stock_targets, stock_texts = _stock_targets()
        scanner.collect(frequent, stock_targets)
        scanner.edges("opening")
        scanner.edges("closing")
        scanner.frames()
        scanner.phrases(frequent)
        for (n, target), found in sorted(scanner.stock_hits.items()):
            scanner.add("stock", stock_texts[n][target], found)
    templates = scanner.templates
    order = sorted(range(len(templates)), key=lambda t: (-templates[t].count, templates[t].kind, templates[t].text))
    rank = {old: new for new, old in enumerate(order)}
    return TemplateScan([templates[t] for t in order], [sorted({rank[t] for t in h}) if h else h for h in scanner.hits])
