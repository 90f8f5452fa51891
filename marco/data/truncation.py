"""Cut-off and malformed assistant replies (reason `truncated`).

Each reply is judged on its own ending first, with the corpus as context where one reply cannot tell. A reply is
flagged, with the first of these that applies, when it:
- stops at a length limit: at least `limit_min_replies` replies share the corpus's longest length exactly (in
  characters, words or, given a `tokenizer`, tokens): a generation cap, not a coincidence;
- ends in dangling markup: an open bracket or `[ [`, a list bullet, a heading mark, or a "Label:" with nothing
  after it ("Grammar note: [ [", "Examples:");
- leaves `**`, a code fence, an inline backtick, `(`, `[` or `{` open (emoticons such as ":(" and ":-[" and
  code-block contents are ignored; extra closers, as in "a) ... b)" lists, are no cut);
- ends open, whatever the corpus does (endings.py): on a comma, colon or dash, inside a quotation, a table row or
  a string in code, on a list item without the full stop its siblings have, on a word that cannot end a sentence
  in the reply's language ("...salt, and"; a tutor's quoted "e dietro il" in an English reply is content), on a
  sentence's first word ("? Is"), in a loop, on a promise or a title with nothing after it;
- has "..." inside a word ("capaci...tà", "Tutt...": the start of a corpus word, not one itself), or ends in
  "..." where at most `unpunctuated_max_share` of the corpus's replies do (a cut marker, not a style);
- ends on a letter or digit and the corpus says that is a cut: it almost never ends a reply so
  (`unpunctuated_max_share`); the last word is the start of a corpus word and no word itself ("analys"); or the
  reply is long for the corpus (`long_reply_quantile`) and ends mid-prose after sentences that end properly;
- with `score_model`: the model would not end the reply there (end-of-turn probability below
  `end_max_probability` and a tenth of the corpus's median).
Thresholds: the targets are recall >= 0.8 on cut-off replies of mixed real corpora, <= 1% of clean replies
flagged (benchmarks/real_data.py); `limit_min_replies` = 5 because five identical maxima in a corpus are far beyond
chance for free text; `unpunctuated_max_share` = 0.02 bounds what that rule can flag in a clean corpus to 2%, and
still holds where 1 reply in 80 was cut; `long_reply_quantile` = 0.75 and `long_reply_min_words` = 50: a cap cuts
long replies, and a short chat reply without a final stop is a style (CIMA's tutors end 6% of theirs so); in the
labelled real sets the complete replies that rule flagged lay between the 0.64 and 0.69 quantiles of their corpus's
lengths, nearly all the cut ones above 0.75.
"""

import bisect
import re
from array import array
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import xxhash

from . import score_model
from .endings import complete_form, judge_ending, last_word, long_prose, prose_lines, without_stray_fence
from .findings import Detector, Finding
from .languages import FUNCTION_WORDS

# ":)", ";-(", "xD" as a word, "(^_^)", "<3". It opens on a character class, so the regex engine scans for that
# class at C speed (an alternation of lookbehinds would be tried at every position: 6x slower here)
_EMOTICON = re.compile(r"[:;=8xX(<](?:(?<=(?<!\S)[:;=8xX])[-o^']?[()\[\]DPp3/\\|]+(?=\s|$)|(?<=\()[:;^][-_]?[)(^]\)|(?<=<)3)")
# a reply that begins inside a code block its previous part opened (ShareGPT splits long replies): code lines, then a
# closing fence, bare or with the label ShareGPT's export gives closers ("}\n```vbnet")
_STARTS_IN_CODE = re.compile(r"(?:[^`\n]*\n){0,200}?[^`\n]*(?:[;{}]|\)\s*)\s*\n```\w*\s*\n")
_FENCED = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_LIST_CLOSER = re.compile(r"(?m)^\s*(?:\w{1,3}|[ivx]+)\)")  # "1)", "a)", "iv)" list markers
_ACCENTED = re.compile(r"(?:^|(?<=\s))[^\W\d_]*[aeiouAEIOU]\Z")  # "perche" before "perche`", a word begun after a space
_DANGLING = re.compile(r"(?:(?:^|[\s(\[])[\[({](?:\s*[\[({])*|(?m:^\s*(?:[-*•+]|\d+[.)]|#{1,6}))|"
                       r"(?:^|(?<=[\s.;,!?]))[^\W\d_][^\n:.!?]{0,40}:)\s*\Z")
_BRACKETS = {"(": re.compile(r"[()]"), "[": re.compile(r"[\[\]]"), "{": re.compile(r"[{}]")}
_ELLIPSIS = re.compile(r"\.\.\.|…")  # starts with a literal: the regex engine scans for it fast
_LETTERS_AFTER = re.compile(r"[^\W\d_]*")
_CLOSING_QUOTES = "\"'”»)]"
# "a, b, c...": an enumeration trailing off means "and so on", a style, not a cut (three items of 1-4 words)
_OPEN_LIST = re.compile(r"(?:[^\W\d_]+(?: [^\W\d_]+){0,3}, ){2,}[^\W\d_]+(?: [^\W\d_]+){0,3}(?:\.\.\.|…)\Z")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_DANGLING_LAST = set("[({:-*•+#")  # what a reply with dangling markup can end on (besides "1." and "2)")
_TAIL_CHARS = 60
_VOCABULARY_SAMPLE = 5_000  # replies whose words decide what is a word (as the template scan learns on 5k)


def _strip_code_and_emoticons(text: str) -> str:
    return _EMOTICON.sub(" ", _FENCED.sub(" ", text))


def _open_markup(text: str) -> str | None:
    for mark in ("```", "**"):
        if text.count(mark) % 2:
            return mark
    if (text.count("`") - 3 * text.count("```")) % 2:
        return "`"
    for opener, closer in ("()", "[]", "{}"):
        if text.count(opener) > text.count(closer):  # an opener left at the end; extra closers are list markers
            return opener
    return None


def unbalanced(text: str) -> str | None:
    """The first markup left open: "```", "**", "`", "(", "[", "{"; None when all are closed. Counting is C-speed;
    code blocks, emoticons, "1)" list markers and "perche`" accents are removed only for a reply that looks open."""
    if _open_markup(text) is None:
        return None
    if text.count("```") % 2 and not _STARTS_IN_CODE.match(text):
        return "```"
    text = _strip_code_and_emoticons(text)
    if ")" in text:  # (each substitution only where it can match: they are the slow part)
        text = _LIST_CLOSER.sub(" ", text)
    if "`" in text:
        text = without_ascii_accents(text)
    return _open_markup(text)


def without_ascii_accents(text: str) -> str:
    """The text without the backticks that stand for accents ("perche`", "citta`"): after a vowel ending a word that
    begins after a space, outside a code span (in "`git clone`" and "`venire`" the backtick closes the span)."""
    kept, start, inside = [], 0, False
    for match in re.finditer("`", text):
        at = match.start()
        if not inside and not text[at + 1: at + 2].isalnum() and _ACCENTED.search(text[max(0, at - 40): at]):
            kept.append(text[start:at])
            start = at + 1
        else:
            inside = not inside
    return "".join(kept) + text[start:]


def first_unclosed(text: str, opener: str) -> int:
    """Where the opener left open is: the first unmatched "(", "[" or "{", the last "**" or backtick."""
    closer = {"(": ")", "[": "]", "{": "}"}.get(opener)
    if closer is None:
        return text.rfind(opener)
    stack = []
    for match in _BRACKETS[opener].finditer(text):  # the brackets alone, not every character
        if match.group() == opener:
            stack.append(match.start())
        elif stack:
            stack.pop()
    return stack[0] if stack else text.rfind(opener)


def ellipses(text: str):
    """(letters just before, letters just after, whether it ends the reply) for each "..." that follows a letter."""
    for match in _ELLIPSIS.finditer(text):
        before = last_word(text[max(0, match.start() - 40): match.start()], apostrophe=False)
        if before:
            after = _LETTERS_AFTER.match(text, match.end()).group()
            yield before, after, not text[match.end():].strip(_CLOSING_QUOTES + " \n")


def final_word(text: str) -> str:
    """The word the text ends on, as written ("" when it ends on anything else)."""
    return last_word(text[-40:], apostrophe=False)


@dataclass
class TruncationFilter(Detector):
    """Flags assistant replies that were cut off or left their markup open (see the module docstring).

    Open markup and dangling tails are judged as each chunk comes; the rules that need the whole corpus (its usual
    endings, how often it ends on "...", its longest length) are judged at the end, on the few replies they can
    apply to, read again then."""

    limit_min_replies: int = field(default=5, metadata={"help": "Replies sharing the longest length that make it a "
                                                                "length limit."})
    unpunctuated_max_share: float = field(default=0.02, metadata={"help": "Where at most this share of replies end on "
                                                                          "a letter or digit, any such reply is cut."})
    long_reply_quantile: float = field(default=0.75, metadata={"help": "A reply at least this long (a quantile of the "
                                                                       "corpus's lengths) that ends mid-prose is cut."})
    long_reply_min_words: int = field(default=50, metadata={"help": "... and at least this many words (a chat "
                                                                    "message without a final stop is a style)."})
    score_model: str | None = field(default=None, metadata={"help": "Causal LM: also flag replies it would not end "
                                                                    "where they end."})
    end_max_probability: float = field(default=0.02, metadata={"help": "With score_model: a reply whose end-of-turn "
                                                                       "probability is below this (and a tenth of the "
                                                                       "corpus's median) is cut."})
    tokenizer: str | None = field(default=None, metadata={"help": "Tokenizer name/path: also find a cap in tokens."})

    reason = "truncated"

    def __post_init__(self):
        self.reset()

    def reset(self) -> None:
        self.seen = 0  # conversations observed
        self.owner, self.message = array("q"), array("i")  # per reply (in corpus order): its conversation, its turn
        self.unpunctuated, self.ellipsis_endings = 0, 0
        self.longest = {}  # unit -> (length, replies of that length, hashes of their texts)
        self.found = {}  # reply -> Finding: open markup and dangling tails, as each chunk comes
        self.with_ellipsis = {}  # reply -> its text: judged at the end against the corpus's habits (kept, not read again)
        self.unpunctuated_at = array("q")  # replies ending on a letter or digit: read again if the corpus makes that a cut
        self.prose = bytearray()  # ... whether their last line is prose after properly ended sentences (endings.py)
        self.last_words = []  # ... and the word they end on, lower-cased
        self.words = array("i")  # every reply's length in words: what "long" means in this corpus
        self._tokenizer = self._vocabulary = self._replies = None

    def observe(self, conversations: list[list[dict]]) -> None:
        replies = [(c, m, message["content"]) for c, messages in enumerate(conversations)
                   for m, message in enumerate(messages)
                   if message.get("role") == "assistant" and isinstance(message.get("content"), str)]
        first = len(self.owner)
        self.owner.extend(self.seen + c for c, _, _ in replies)
        self.message.extend(m for _, m, _ in replies)
        self.seen += len(conversations)
        self._measure(first, [text for _, _, text in replies])  # as written: a cap can stop on a space
        for i, (_, _, text) in enumerate(replies, first):
            text = without_stray_fence(text.rstrip())
            if not text:
                continue
            self.unpunctuated += text[-1].isalnum()
            self.ellipsis_endings += text.rstrip(_CLOSING_QUOTES).endswith(("...", "…"))
            problem = self.markup_problem(text)
            ending, prose = judge_ending(text) if problem is None else (None, False)
            problem = problem or ending
            if problem:
                self.found[i] = self._finding(i, replies[i - first][2], *problem)
            elif "..." in text or "…" in text:
                self.with_ellipsis[i] = replies[i - first][2]
            elif text[-1].isalnum():
                self.unpunctuated_at.append(i)
                self.prose.append(prose)
                self.last_words.append(final_word(text).casefold())

    def _measure(self, first: int, texts: list[str]) -> None:
        """Keep, per unit, the longest length seen and the replies of that length."""
        measures = {"characters": [len(t) for t in texts], "words": [len(t.split()) for t in texts]}
        self.words.extend(measures["words"])
        if self.tokenizer and texts:
            if self._tokenizer is None:
                from transformers import AutoTokenizer

                from marco.tiny import resolve

                self._tokenizer = AutoTokenizer.from_pretrained(resolve(self.tokenizer))
            measures["tokens"] = [len(ids) for ids in self._tokenizer(texts, add_special_tokens=False)["input_ids"]]
        for unit, lengths in measures.items():
            longest, at, texts_at = self.longest.get(unit, (0, [], set()))
            top = max(lengths, default=0)
            if top > longest:
                longest, at, texts_at = top, [], set()
            if top == longest:
                for i in (i for i, n in enumerate(lengths) if n == top):
                    at.append(first + i)
                    texts_at.add(xxhash.xxh3_64_intdigest(texts[i].encode()))  # not hash(): a datatrove task's must agree
            self.longest[unit] = longest, at, texts_at

    def finish(self, read) -> dict:
        total = max(1, len(self.owner))
        self.unpunctuated_share = self.unpunctuated / total
        self.ellipsis_share = self.ellipsis_endings / total
        self._replies = texts = _Replies(self, read)
        self.long_words = max(self.long_reply_min_words,
                              float(np.quantile(self.words, self.long_reply_quantile)) if len(self.words) else 0.0)
        unread = [i for k, i in enumerate(self.unpunctuated_at) if self._may_be_cut(k)]
        known = {**self.with_ellipsis, **dict(zip(unread, texts.get(unread)))}
        found = dict(self.found)
        for i in known:
            problem = self.ending_problem(known[i].rstrip(), self.words[i])
            if problem:
                found[i] = self._finding(i, known[i], *problem)
        if self.score_model:
            found.update({i: f for i, f in self.model_ends(read).items() if i not in found})
        found.update(self.length_caps(texts))  # a length limit is named first
        findings = {}
        for i in sorted(found):
            findings.setdefault(self.owner[i], found[i])
        return findings

    def absorb(self, other: "TruncationFilter") -> None:
        """Take what `other` observed of the conversations after these (a datatrove task), as if observed here."""
        replies = len(self.owner)
        self.owner.extend((np.frombuffer(other.owner, np.int64) + self.seen).tolist())
        self.message.extend(other.message)
        self.seen += other.seen
        self.unpunctuated += other.unpunctuated
        self.ellipsis_endings += other.ellipsis_endings
        for unit, (length, at, texts_at) in other.longest.items():
            mine = self.longest.get(unit, (0, [], set()))
            at = [replies + i for i in at]
            self.longest[unit] = (length, at, texts_at) if length > mine[0] else \
                (mine[0], mine[1] + at, mine[2] | texts_at) if length == mine[0] else mine
        self.found.update({replies + i: finding for i, finding in other.found.items()})
        self.with_ellipsis.update({replies + i: text for i, text in other.with_ellipsis.items()})
        self.unpunctuated_at.extend((np.frombuffer(other.unpunctuated_at, np.int64) + replies).tolist())
        self.prose.extend(other.prose)
        self.last_words.extend(other.last_words)
        self.words.extend(other.words)

    def _may_be_cut(self, k: int) -> bool:
        """Whether ending_problem() can flag the k-th reply ending on a letter or digit without "...", from what was
        kept of it: the corpus almost never ends so, or it is long prose, or its last word may be a cut-off word."""
        word = self.last_words[k]
        return (self.unpunctuated_share <= self.unpunctuated_max_share or self.prose[k]
                or (len(word) >= 3 and word.islower() and self.is_word_start(word)))

    def model_ends(self, read, batch_size: int = 16, max_length: int = 512) -> dict:
        """Replies the score model would not end where they end: P(end of turn | prompt, reply) below
        `end_max_probability` and below a tenth of the corpus's median, so a model that ends nothing well (random
        weights) flags nothing."""
        import torch

        tokenizer, model, device = score_model.load(self.score_model)
        end = score_model.end_of_turn_id(tokenizer)
        sequences, at = [], 0
        for first in range(0, self.seen, 256):
            for c, messages in enumerate(read(list(range(first, min(self.seen, first + 256)))), first):
                while at < len(self.owner) and self.owner[at] == c:
                    m = self.message[at]
                    ids = score_model.prompt_ids(tokenizer, messages[:m])
                    ids += tokenizer(messages[m]["content"], add_special_tokens=False)["input_ids"]
                    sequences.append((at, ids[-max_length:]))
                    at += 1
        probability = np.full(len(self.owner), np.nan)
        sequences.sort(key=lambda s: -len(s[1]))
        for first in range(0, len(sequences), batch_size):
            batch = sequences[first: first + batch_size]
            ids = torch.zeros(len(batch), len(batch[0][1]), dtype=torch.long)
            mask = torch.zeros_like(ids)
            for row, (_, tokens) in enumerate(batch):
                ids[row, : len(tokens)], mask[row, : len(tokens)] = torch.tensor(tokens), 1
            with torch.no_grad():
                logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
            last = logits[torch.arange(len(batch)), mask.sum(1).to(device) - 1].softmax(-1)[:, end]
            probability[[i for i, _ in batch]] = last.cpu().numpy()
        self.end_probability = probability
        bar = min(self.end_max_probability, 0.1 * float(np.nanmedian(probability))) if sequences else 0.0
        texts = self._replies
        low = np.flatnonzero(probability < bar).tolist()
        return {i: self._finding(i, text, f"the score model would not end the reply here (end-of-turn probability "
                                          f"{probability[i]:.4f})", text.rstrip()[-_TAIL_CHARS:])
                for i, text in zip(low, texts.get(low))}

    def _finding(self, i: int, text: str, detail: str, evidence: str) -> Finding:
        start = text.rfind(evidence)
        return Finding(self.reason, f'{detail}: "{evidence[-_TAIL_CHARS:]}"', f"messages[{self.message[i]}].content",
                       evidence, start, start + len(evidence) if start >= 0 else -1)

    def length_caps(self, texts) -> dict:
        """Replies that stop exactly at the corpus's longest length, when enough distinct ones do."""
        capped = {}
        for unit, (longest, at, texts_at) in self.longest.items():
            if longest and len(texts_at) >= self.limit_min_replies:  # duplicates are no cap
                for i, text in zip(at, texts.get(at)):
                    if i not in capped:
                        capped[i] = self._finding(i, text, f"stops at a length limit ({len(at)} replies are exactly "
                                                           f"{longest} {unit})", text[-_TAIL_CHARS:])
        return capped

    @staticmethod
    def markup_problem(text: str) -> tuple[str, str] | None:
        """Open markup or a dangling tail: judged on the reply alone."""
        tail = text[-_TAIL_CHARS:]
        if text[-1] in _DANGLING_LAST or (text[-1] in ".)" and text[-2:-1].isdigit()):  # the regex only where it can match
            dangling = _DANGLING.search(_EMOTICON.sub("", tail).rstrip())
            if dangling and dangling.group().strip() in tail:
                return "ends in dangling markup", tail[tail.rfind(dangling.group().strip()):]
        opened = unbalanced(text)
        if opened:
            position = first_unclosed(text, opened)
            return f"leaves {opened} open", text[position: position + _TAIL_CHARS]
        return None

    def ending_problem(self, text: str, words: int) -> tuple[str, str] | None:
        """A "..." inside a word or at a cut, or a missing final mark: judged against the corpus's habits."""
        tail = text[-_TAIL_CHARS:]
        if "..." in text or "…" in text:
            for left, right, at_end in ellipses(text):
                if (right or at_end) and self.is_fragment(left, right):
                    return '"..." inside a word', f"{left}{'...' if '...' in text else '…'}{right}"
                if (at_end and self.ellipsis_share <= self.unpunctuated_max_share and not _OPEN_LIST.search(tail)
                        and not text.rstrip().endswith((")", "]"))):  # "(a kilo of...)": closed, so not cut there
                    return 'ends in "..." where the corpus\'s replies almost never do', tail
        if text[-1].isalnum():
            lines = prose_lines(text)
            if (self.unpunctuated_share <= self.unpunctuated_max_share and words >= 4
                    and not complete_form(lines)):  # "Test", "5. Roots", "#Tech" are complete
                return "ends without final punctuation", tail
            word = final_word(text)
            if len(word) >= 3 and word.islower() and self.is_word_start(word):
                return f'ends inside a word ("{word}")', tail
            if words >= self.long_words and long_prose(lines):
                return "ends mid-sentence, after sentences that end properly", tail
        return None

    def is_word_start(self, word: str) -> bool:
        """A final word the corpus never uses that begins a longer word it does ("analys" of "analysis")."""
        if not self.is_fragment(word, ""):
            return False
        following = self._sorted[bisect.bisect_right(self._sorted, word)]
        return len(following) >= len(word) + 2 and self._vocabulary[following] >= 2

    def is_fragment(self, left: str, right: str) -> bool:
        """True when "left...right" splits one corpus word ("capaci...tà"), or, for a final "left...", when `left`
        is only the start of one ("Tutt..." where "tuttavia" is a word and "tutt" is not)."""
        if self._vocabulary is None:  # words of an even sample of the replies: bounded time at any corpus size
            sample = self._replies.get(range(0, len(self.owner), max(1, len(self.owner) // _VOCABULARY_SAMPLE)))
            words = Counter(_WORD.findall("\n".join(t.rstrip() for t in sample).casefold()))
            self._vocabulary, self._sorted = words, sorted(words)
        left, right = left.casefold(), right.casefold()
        if right:
            return self._vocabulary[left + right] > 0
        if self._vocabulary[left] >= 2 or left in FUNCTION_WORDS:
            return False
        following = bisect.bisect_right(self._sorted, left)
        return following < len(self._sorted) and self._sorted[following].startswith(left)


class _Replies:
    """A truncation filter's replies read again by their position in corpus order."""

    def __init__(self, detector: TruncationFilter, read):
        self.detector, self.read = detector, read

    def get(self, replies) -> list[str]:
        replies = list(replies)
        owners = sorted({self.detector.owner[i] for i in replies})
        conversations = dict(zip(owners, self.read(owners)))
        return [conversations[self.detector.owner[i]][self.detector.message[i]]["content"] for i in replies]
