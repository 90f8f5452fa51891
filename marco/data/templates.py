"""Template detection: formulaic patterns learned from the replies themselves, plus known stock phrases.

A pattern is a template when at least `template_min_share` of the replies (and `template_min_count` of them)
use it. Four kinds are learned, so frames never seen before are found too:
- opening / closing: the first / last `template_edge_words` words of a reply;
- phrase: a word n-gram (`template_phrase_words` words) found in many replies;
- frame: a sentence, or a whole reply, that is identical once its slot content (quoted text, numbers,
  capitalised names) is masked, e.g. "This translates to '<Q>'. This sentence uses <X>."
Known stock phrases (STOCK_PHRASES) count from their first use. The same code judges training data and
model generations (`marco.eval`), so "templated" means the same thing in both.
"""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from .config import CleaningConfig
from .text import ngram_hashes, normalize_many, word_hashes

STOCK_PHRASES = [
    # English tutoring-bot filler
    "great question", "good question", "excellent question", "what a great question", "i hope this helps",
    "hope this helps", "keep practicing", "keep practising", "let's break it down", "let me break it down",
    "happy learning", "feel free to ask", "don't hesitate to ask", "i'd be happy to help", "as an ai",
    "this translates to", "in conclusion", "i hope that helps", "great job", "you're doing great",
    # Italian
    "ottima domanda", "bella domanda", "buona domanda", "spero che ti sia utile", "spero di esserti stato utile",
    "spero che questo ti aiuti", "continua così", "continua a praticare", "buono studio", "non esitare a chiedere",
]
_QUOTED = re.compile(r"(?<!\w)'(?:[^'\n]|'(?=\w)){1,80}?'(?!\w)|\"[^\"\n]{1,80}\"|«[^»\n]{1,80}»|“[^”\n]{1,80}”"
                     r"|‘[^’\n]{1,80}’|\*[^*\n]{1,80}\*")  # an apostrophe inside a word (l'acqua, I'm) is no quote
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_NAME = re.compile(r"(?<=[a-zàèéìòù,;] )[A-ZÀÈÉÌÒÙ][\w'-]*")  # capitalised word inside a sentence
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_SLOT_WORDS = {"slotq", "slotn", "slotx"}
_LEARN_SAMPLE = 50_000  # phrases are learned on at most this many replies, spread evenly; flags apply to all


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


def _is_frame(normalized: str) -> bool:
    words = normalized.split()
    return sum(w not in _SLOT_WORDS for w in words) >= 3


def _edges(normalized: list[str], k: int, take_last: bool) -> list[list[str]]:
    """Per reply, its first (or last) 3..k words as keys, longest first: 'nice try the' and 'nice try the word'."""
    keys = []
    for text in normalized:
        words = text.split()
        lengths = range(min(k, len(words) - 1), 2, -1)
        keys.append([" ".join(words[-n:] if take_last else words[:n]) for n in lengths])
    return keys


def _frames(replies: list[str]) -> list[set]:
    """Per reply, the set of its masked sentence frames and its whole masked frame."""
    owners, pieces = [], []
    for i, reply in enumerate(replies):
        masked = mask_slots(reply)
        sentences = [s for s in _SENTENCE_END.split(masked) if s.strip()]
        pieces.extend(sentences + ([masked] if len(sentences) > 1 else []))
        owners.extend([i] * (len(sentences) + (len(sentences) > 1)))
    frames = [set() for _ in replies]
    for owner, frame in zip(owners, normalize_many(pieces)):
        if _is_frame(frame):
            frames[owner].add(frame)
    return frames


def _frequent_ngrams(normalized: list[str], n: int, min_share: float, min_count: int) -> tuple:
    """Word n-grams used by many replies: learned on an even sample, then found in every reply."""
    hashes, offsets = ngram_hashes(*word_hashes(normalized), n, short_texts=False)
    owner = np.repeat(np.arange(len(normalized)), np.diff(offsets))
    step = max(1, len(normalized) // _LEARN_SAMPLE)
    sample = owner % step == 0
    sample_size = len(range(0, len(normalized), step))
    per_reply = np.unique(np.stack([owner[sample], hashes[sample]]), axis=1)[1]
    values, counts = np.unique(per_reply, return_counts=True)
    frequent = values[(counts >= max(min_share * sample_size, min_count / step))]
    if frequent.size == 0:
        return frequent, np.zeros(0, np.int64), np.zeros(0, np.int64), hashes, offsets
    position = np.searchsorted(frequent, hashes)
    hit = frequent[np.minimum(position, frequent.size - 1)] == hashes
    pairs = np.unique(np.stack([position[hit], owner[hit]]), axis=1)
    return frequent, pairs[0], pairs[1], hashes, offsets


def _count(frequent: np.ndarray, gram_hash: int, replies_of_gram: dict) -> int:
    i = int(np.searchsorted(frequent, np.uint64(gram_hash)))
    return len(replies_of_gram.get(i, ())) if i < frequent.size and frequent[i] == gram_hash else 0


def _phrase_templates(normalized, cfg, min_needed) -> tuple[list, list]:
    """Merge frequent n-grams that sit next to each other in an example reply into one phrase each."""
    n = cfg.template_phrase_words
    frequent, gram_of_pair, reply_of_pair, hashes, offsets = _frequent_ngrams(
        normalized, n, cfg.template_min_share, cfg.template_min_count)
    replies_of_gram = defaultdict(set)
    for gram, reply in zip(gram_of_pair.tolist(), reply_of_pair.tolist()):
        replies_of_gram[gram].add(reply)
    phrases, seen = [], {}
    for gram in sorted(replies_of_gram, key=lambda g: (-len(replies_of_gram[g]), min(replies_of_gram[g]))):
        replies = replies_of_gram[gram]
        if len(replies) < min_needed or gram in seen:
            continue
        covered = Counter(seen[g] for g in seen if replies_of_gram[g] & replies)
        best = max(covered, key=lambda p: len(phrases[p][1] & replies), default=None)
        if best is not None and len(phrases[best][1] & replies) >= 0.8 * len(replies):
            seen[gram] = best  # a variant of a phrase already reported (its edge shifted by a slot word)
            continue
        example = min(replies)
        grams = hashes[offsets[example]: offsets[example + 1]]
        strong = {i for i, g in enumerate(grams.tolist()) if _count(frequent, g, replies_of_gram) >= len(replies) / 2}
        start = end = int(np.flatnonzero(grams == frequent[gram])[0])
        while start - 1 in strong:
            start -= 1
        while end + 1 in strong:
            end += 1
        members = {int(np.searchsorted(frequent, g)) for g in grams[start: end + 1]}
        for m in members:
            seen.setdefault(m, len(phrases))
        words = normalized[example].split()
        phrases.append((" ".join(words[start: end + n]), set.union(*(replies_of_gram[m] for m in members))))
    hits = [[] for _ in normalized]
    for gram, replies in replies_of_gram.items():
        if gram in seen:
            for reply in replies:
                if seen[gram] not in hits[reply]:
                    hits[reply].append(seen[gram])
    return phrases, hits


def scan(replies: list[str], names: list, cfg: CleaningConfig = None, normalized: list = None) -> TemplateScan:
    """Find the templates of a set of replies and which replies use them. `names[i]` names reply i's record."""
    cfg = cfg or CleaningConfig()
    normalized = normalized if normalized is not None else normalize_many(replies)
    total = len(replies)
    min_needed = max(cfg.template_min_count, int(np.ceil(cfg.template_min_share * total)))
    templates, hits = [], [[] for _ in replies]

    def add(kind, text, reply_indices):
        index = len(templates)
        reply_indices = sorted(reply_indices)
        examples = list(dict.fromkeys(names[i] for i in reply_indices))[:5]
        templates.append(Template(kind, text, len(reply_indices), len(reply_indices) / total, examples))
        for i in reply_indices:
            hits[i].append(index)

    for kind, take_last in (("opening", False), ("closing", True)):
        keys = _edges(normalized, cfg.template_edge_words, take_last)
        where = defaultdict(list)
        for i, reply_keys in enumerate(keys):
            for key in reply_keys:
                where[key].append(i)
        frequent = {key for key, indices in where.items() if len(indices) >= min_needed}
        longest = {i: next(key for key in reply_keys if key in frequent)
                   for i, reply_keys in enumerate(keys) if frequent.intersection(reply_keys)}
        for key in sorted(set(longest.values()), key=lambda key: (-len(key), key)):
            add(kind, key, where[key])  # a shorter key is reported only where a reply stops at it
    frame_where = defaultdict(list)
    for i, frames in enumerate(_frames(replies)):
        for frame in frames:
            frame_where[frame].append(i)
    for frame, indices in frame_where.items():
        if len(indices) >= min_needed:
            add("frame", frame, indices)
    phrases, phrase_hits = _phrase_templates(normalized, cfg, min_needed)
    first_phrase = len(templates)
    for text, indices in phrases:
        add("phrase", text, indices)
    for i, reply_hits in enumerate(phrase_hits):
        for p in reply_hits:
            if first_phrase + p not in hits[i]:
                hits[i].append(first_phrase + p)
    stock = defaultdict(list)
    padded = [f" {text} " for text in normalized]
    for phrase in normalize_many(STOCK_PHRASES):
        for i, text in enumerate(padded):
            if f" {phrase} " in text:
                stock[phrase].append(i)
    for phrase, indices in stock.items():
        add("stock", phrase, indices)
    order = sorted(range(len(templates)), key=lambda t: (-templates[t].count, templates[t].kind, templates[t].text))
    rank = {old: new for new, old in enumerate(order)}
    return TemplateScan([templates[t] for t in order], [sorted(rank[t] for t in set(h)) for h in hits])
