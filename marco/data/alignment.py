"""Replies that answer another prompt (reason `misaligned`).

Three signals, all corpus-wide:
- asked terms, no model: the words a question asks about (a quoted term; X in "how do I say X", "what is X",
  "come si dice X", "cómo se dice X", "comment dit-on X", "wie sagt man X") are missing from its reply, while the
  reply of a conversation within `neighbours` of it has them: the reply was shifted (CIMA's conversion: "What is
  tree again?" -> '"Pink" is "rosa"', and the next conversation's reply is '"tree" is "l'albero"'). A suspect,
  not a proof, so only terms of up to `max_term_words` words count (a whole quoted sentence is no asked term).
- shared words, no model: a reply that shares no content word with the turns before it and at least
  `min_shared_words` with the prompt of a neighbour whose own reply is off its prompt too (replies shifted by a
  data-generation bug answer each other's prompts);
- with `score_model` (a causal LM name or path; "marco-tiny" is the built-in one): Instruction-Following Difficulty,
  Li et al., NAACL 2024, "From Quantity to Quality" (Cherry LLM): IFD = PPL(reply | prompt) / PPL(reply). A prompt
  that helps predict its reply gives IFD < 1; the paper drops samples with IFD >= 1 ("the instruction gives no
  help"), hence the default `ifd_threshold` = 1.0. The per-conversation scores are kept in `self.scores`. The same
  model also scores each reply after its neighbours' prompts: one that predicts it better by `neighbour_margin` nats
  a token marks it misaligned, in any language.
"""

import math
import re
from dataclasses import dataclass, field

from . import score_model
from .findings import Detector, Finding
from .languages import FUNCTION_WORDS

_ASKED = re.compile(
    r"(?:\bhow\s+(?:do|would|can|should)\s+(?:i|you|we|one)\s+say|\bhow\s+to\s+say|\bwhat(?:'s|\s+is|\s+was)(?:\s+the\s+"
    r"(?:italian|english|spanish|french|german)\s+(?:word\s+)?for|\s+(?:the\s+)?word\s+for|\s+italian\s+for)?|"
    r"\bwhat\s+does|\btranslate|\bmeaning\s+of|"
    r"\bcome\s+si\s+(?:dice|traduce|scrive)|\b(?:che\s+)?cosa\s+(?:significa|vuol\s+dire)|\bche\s+vuol\s+dire|"
    r"\bqual\s+è\s+la\s+parola\s+per|\bcómo\s+se\s+(?:dice|traduce)|\bqué\s+significa|"
    r"\bcomment\s+(?:dit-on|dire|traduire|on\s+dit)|\bque\s+(?:veut\s+dire|signifie)|"
    r"\bwie\s+(?:sagt|übersetzt)\s+man|\bwas\s+(?:heißt|bedeutet))"
    r"\s+(?P<term>[^?!.\n\"“”«»]{1,60}?)\s*"
    r"(?:\b(?:again|in\s+\w+|mean|means|please|auf\s+\w+|en\s+\w+)\b\s*)*(?:[?!.\n]|$)",
    re.IGNORECASE)
_QUOTED = re.compile(r"\"([^\"\n]{1,60})\"|“([^”\n]{1,60})”|«\s*([^»\n]{1,60}?)\s*»|(?<!\w)'([^'\n]{1,60})'(?!\w)")
_QUOTE_MARKS = "\"“«'"  # one of them opens every _QUOTED match
# the ASCII words an _ASKED match starts with (its other openings, "cómo", "qué", "qual è", need a non-ASCII letter)
_ASKED_ASCII_STARTS = ("how", "what", "translate", "meaning", "come", "cosa", "che", "comment", "que", "wie", "was")
_WORDS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_LEADING_ARTICLES = re.compile(r"^(?:the|a|an|il|lo|la|i|gli|le|un|una|uno|el|los|las|le|les|der|die|das)\s+", re.I)


def _may_ask(prompt: str) -> bool:
    """False when _ASKED cannot match: an ASCII prompt (where IGNORECASE is plain lower-casing) holding none of the
    words its questions start with. Ten times cheaper than the regex on the prompts that ask nothing."""
    if not prompt.isascii():
        return True
    lowered = prompt.lower()
    return any(word in lowered for word in _ASKED_ASCII_STARTS)


def asked_terms(prompt: str, max_words: int) -> list[str]:
    """The terms a prompt asks about, lower-cased: quoted ones first, else the X of "how do I say X"-like questions."""
    has_quote = any(mark in prompt for mark in _QUOTE_MARKS)
    quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(prompt)] if has_quote else []
    terms = quoted or ([m.group("term") for m in _ASKED.finditer(prompt)] if _may_ask(prompt) else [])
    cleaned = [_LEADING_ARTICLES.sub("", " ".join(t.casefold().split())).strip(" ,;:?.!") for t in terms]
    return [t for t in cleaned if t and len(t.split()) <= max_words]


_PUNCTUATION = ".,;:!?\"'()[]«»“”¿¡*`"


def content_words(text: str) -> set:
    """The text's content words, a final "s" dropped and cut to six letters (a crude stem: "reversed" and "reverse",
    "means" and "mean" meet)."""
    return {(w[:-1] if w.endswith("s") and len(w) > 3 else w)[:6]
            for w in set(_WORDS.findall(text.casefold())).difference(FUNCTION_WORDS) if len(w) >= 3}


def mentions(reply_words: set, reply_lower: str, term: str) -> bool:
    """True when the reply has one of the term's content words, or the whole phrase for a term of function words."""
    content = [w for w in _WORDS.findall(term) if w not in FUNCTION_WORDS]
    if content:
        return any(w in reply_words for w in content)
    return re.search(rf"(?<!\w){re.escape(term)}(?!\w)", reply_lower) is not None


def _last_turns(messages: list[dict]) -> tuple[int, str, str] | None:
    """(index of the last assistant message, the user turn before it, its text), or None."""
    for m in range(len(messages) - 1, 0, -1):
        if messages[m].get("role") == "assistant" and isinstance(messages[m].get("content"), str):
            users = [x for x in messages[:m] if x.get("role") == "user" and isinstance(x.get("content"), str)]
            return (m, users[-1]["content"], messages[m]["content"]) if users else None
    return None


@dataclass
class AlignmentFilter(Detector):
    """Flags conversations whose last reply seems to answer another prompt (see the module docstring). A conversation
    is judged as soon as its neighbours have been seen; with `score_model`, every conversation is scored at the end."""

    neighbours: int = field(default=2, metadata={"help": "Conversations on each side whose replies are compared."})
    max_term_words: int = field(default=4, metadata={"help": "Longest asked term, in words."})
    min_shared_words: int = field(default=2, metadata={"help": "Content words a reply must share with a neighbour's "
                                                                "prompt, and none with its own, to be a suspect."})
    score_model: str | None = field(default=None, metadata={"help": "Causal LM for IFD scores; None: no model."})
    ifd_threshold: float = field(default=1.0, metadata={"help": "IFD at or above which a reply is misaligned."})
    neighbour_margin: float = field(default=0.5, metadata={"help": "With score_model: nats a token by which a "
                                                                   "neighbour's prompt must predict a reply better "
                                                                   "than its own to call it misaligned."})
    batch_size: int = field(default=16, metadata={"help": "Sequences per forward pass when scoring."})
    max_length: int = field(default=512, metadata={"help": "Tokens per scored sequence (prompt cut from the left)."})

    reason = "misaligned"

    def __post_init__(self):
        self.reset()

    def reset(self) -> None:
        self.seen = self.judged = self.held = 0  # held: the first conversations kept for `absorb` (a following part)
        self.turns = {}  # conversation -> _last_turns(), while a neighbour may still need it (all of them to score)
        self.context = {}  # conversation -> the messages before its last reply, as long as turns
        self.words = {}  # conversation -> content words of (its last reply, its context), once asked for
        self.replies = {}  # conversation -> [lower-cased reply, its words], built only around a question asking a term
        self.found, self.conversations, self.scores, self.neighbour_gain = {}, [], None, {}

    def observe(self, conversations: list[list[dict]]) -> None:
        for messages in conversations:
            self.turns[self.seen] = turn = _last_turns(messages)
            if turn is not None:
                self.context[self.seen] = messages[: turn[0]]
            self.seen += 1
        if self.score_model:
            self.conversations.extend(conversations)
        self._judge(self.seen - self.neighbours)

    def finish(self, read) -> dict:
        self._judge(self.seen)
        if self.score_model:
            turns = [self.turns[c] for c in range(self.seen)]
            self.scores = self.ifd(self.conversations, turns)
            for c, gain in sorted(self.neighbour_gain.items()):
                if c not in self.found and gain >= self.neighbour_margin:
                    m, _, reply = turns[c]
                    self.found[c] = Finding(self.reason, f"a neighbouring conversation's prompt predicts the reply better "
                                            f"than its own ({gain:.2f} nats a token): \"{' '.join(reply.split())[:80]}\"",
                                            f"messages[{m}].content", reply, 0, len(reply))
            for c, score in enumerate(self.scores):
                if c not in self.found and score >= self.ifd_threshold:
                    m, _, reply = turns[c]
                    self.found[c] = Finding(self.reason, f'IFD {score:.2f} >= {self.ifd_threshold}: the prompt does '
                                            f'not help predict the reply "{" ".join(reply.split())[:80]}"',
                                            f"messages[{m}].content", reply, 0, len(reply))
        return dict(sorted(self.found.items()))

    def follow(self) -> None:
        """Observe a part that comes after another (a datatrove task's): its first conversations are judged by
        `absorb`, once the conversations before them are known."""
        self.judged = self.held = self.neighbours

    def absorb(self, other: "AlignmentFilter") -> None:
        """Take what `other` (a part that `follow`ed this one) observed, and judge the conversations on both sides of
        the seam, which had a side of their neighbours missing."""
        seam = self.seen
        for mine, theirs in ((self.turns, other.turns), (self.context, other.context), (self.words, other.words),
                             (self.replies, other.replies), (self.found, other.found)):
            mine.update({seam + n: value for n, value in theirs.items()})
        self.seen += other.seen
        self._judge(min(seam + other.held, self.seen - self.neighbours))  # those with all their neighbours known
        if other.judged > other.held:  # and `other` judged those after them
            self.judged = seam + other.judged

    def _judge(self, upto: int) -> None:
        """Judge the conversations before `upto`, then let go of those no later one will compare itself with."""
        for c in range(self.judged, upto):
            if self.turns[c] is not None:
                self._suspect(c)
        self.judged = max(self.judged, upto)
        if not self.score_model:
            for n in [n for n in self.turns if self.held * 2 <= n < self.judged - self.neighbours]:
                del self.turns[n]
                self.replies.pop(n, None)
                self.context.pop(n, None)
                self.words.pop(n, None)

    def _has(self, n: int, term: str) -> bool:
        """mentions(), building the reply's word set only once one of the term's words is in it at all."""
        if n not in self.replies:
            self.replies[n] = [self.turns[n][2].casefold() if self.turns[n] else "", None]
        reply = self.replies[n]
        content = [w for w in _WORDS.findall(term) if w not in FUNCTION_WORDS]
        if content and not any(w in reply[0] for w in content):
            return False
        if reply[1] is None:
            reply[1] = set(_WORDS.findall(reply[0]))
        return mentions(reply[1], reply[0], term)

    def _suspect(self, c: int) -> None:
        turn = self.turns[c]
        if self._off_topic(c):
            return
        for term in asked_terms(turn[1], self.max_term_words):
            if self._has(c, term):
                continue
            near = [n for n in range(max(0, c - self.neighbours), min(self.seen, c + self.neighbours + 1))
                    if n != c and self._has(n, term)]
            if near:
                self.found[c] = Finding(
                    self.reason, f'asks about "{term}", which its reply never mentions but the reply of '
                    f'{_neighbour(near[0] - c)} does: "{" ".join(turn[2].split())[:80]}"', f"messages[{turn[0]}].content",
                    turn[2], 0, len(turn[2]))
                return

    def _off_topic(self, c: int) -> bool:
        """A reply that shares no content word with anything before it in its conversation and at least
        `min_shared_words` with the prompt of a neighbour whose reply is off its prompt too: the replies were shifted
        ("How long should I boil an egg?" -> "Use my_list.reverse()", and the next conversation asks how to reverse a
        list and is answered about eggs)."""
        head = self.turns[c][2][:1000].casefold()
        prompt = {w.strip(_PUNCTUATION) for w in self.turns[c][1].casefold().split()}
        if any(len(w) >= 4 and w in head for w in prompt if w not in FUNCTION_WORDS):  # most replies: a prompt word
            return False
        near = [n for n in range(max(0, c - self.neighbours), min(self.seen, c + self.neighbours + 1))
                if n != c and self.turns.get(n) is not None]
        if self.min_shared_words > 0 and c not in self.words and not self._may_share(c, near):
            return False
        reply, context = self._words(c)
        if len(reply) < 3 or reply & context:
            return False
        shared = {n: len(reply & content_words(self.turns[n][1]))  # a neighbour whose own reply is off its prompt too
                  for n in near if not self._words(n)[0] & self._words(n)[1]}
        best = max(shared, key=shared.get, default=None)
        if best is None or shared[best] < self.min_shared_words:
            return False
        turn = self.turns[c]
        self.found[c] = Finding(
            self.reason, f"shares no word with its prompt but {shared[best]} with the prompt of "
            f'{_neighbour(best - c)}: "{" ".join(turn[2].split())[:80]}"', f"messages[{turn[0]}].content", turn[2], 0,
            len(turn[2]))
        return True

    def _may_share(self, c: int, near: list) -> bool:
        """False when no neighbour's prompt can share `min_shared_words` content words with the reply: a content word
        is a prefix of a word of its text, so each shared one is a substring of that prompt. Most tutoring replies
        stop here, before the word sets of their context and of their neighbours are built."""
        reply = content_words(self.turns[c][2][:600])
        return len(reply) >= 3 and any(sum(w in prompt for w in reply) >= self.min_shared_words
                                       for prompt in (self.turns[n][1].casefold() for n in near))

    def _words(self, n: int) -> tuple[set, set]:
        if n not in self.words:
            before = " ".join(str(m.get("content", "")) for m in self.context[n][-2:])[-1000:]  # what was just asked
            self.words[n] = content_words(self.turns[n][2][:600]), content_words(before)
        return self.words[n]

    def ifd(self, conversations: list[list[dict]], turns: list) -> list[float]:
        """IFD per conversation (nan where there is no prompt and reply), batched, longest first."""
        tokenizer, model, device = score_model.load(self.score_model)
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        pairs = {}
        for c, turn in enumerate(turns):
            if turn is None:
                continue
            prompt = score_model.prompt_ids(tokenizer, conversations[c][: turn[0]])
            reply = tokenizer(turn[2], add_special_tokens=False)["input_ids"][: self.max_length // 2]
            if reply:
                pairs[c] = (prompt[-(self.max_length - len(reply)):], reply)
        conditioned = [(c, p + r, len(r)) for c, (p, r) in pairs.items()]
        alone = [(c, [start] + r, len(r)) for c, (_, r) in pairs.items()]
        with_prompt = mean_nll(model, conditioned, self.batch_size, device)
        without = mean_nll(model, alone, self.batch_size, device)
        self.neighbour_gain = self._other_prompts(model, pairs, with_prompt, device)
        return [math.exp(with_prompt[c] - without[c]) if c in pairs else math.nan for c in range(len(turns))]

    def _other_prompts(self, model, pairs: dict, own: dict, device: str) -> dict:
        """Per conversation, how much better (nats per token) the previous or next conversation's prompt predicts its
        reply than its own prompt does; a reply that a neighbour's prompt explains by `neighbour_margin` or more is
        misaligned (the shift of a data-generation bug, in any language: "Claustrophobia." after its neighbour's
        "What's the word for a fear of small enclosed spaces?")."""
        swapped = [((c, n), pairs[n][0][-(self.max_length - len(r)):] + r, len(r))
                   for c, (_, r) in pairs.items() for n in (c - 1, c + 1) if n in pairs]
        other = mean_nll(model, swapped, self.batch_size, device)
        gain = {}
        for (c, n), nll in other.items():
            gain[c] = max(gain.get(c, -math.inf), own[c] - nll)
        return gain


def _neighbour(offset: int) -> str:
    """How a finding names a neighbour: by where it is from the conversation (a datatrove task cannot know the
    conversation's number in the whole corpus)."""
    if abs(offset) == 1:
        return "the next conversation" if offset > 0 else "the previous conversation"
    return f"the conversation {abs(offset)} {'after' if offset > 0 else 'before'}"


def mean_nll(model, sequences: list[tuple[int, list[int], int]], batch_size: int, device: str) -> dict:
    """Mean negative log-likelihood of each sequence's last `n` tokens, {conversation: nll}."""
    import torch

    results = {}
    ordered = sorted(sequences, key=lambda s: -len(s[1]))
    for first in range(0, len(ordered), batch_size):
        batch = ordered[first: first + batch_size]
        width = len(batch[0][1])
        ids = torch.zeros(len(batch), width, dtype=torch.long)
        mask = torch.zeros(len(batch), width, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        for row, (_, tokens, n) in enumerate(batch):
            ids[row, : len(tokens)] = torch.tensor(tokens)
            mask[row, : len(tokens)] = 1
            labels[row, len(tokens) - n: len(tokens)] = torch.tensor(tokens[-n:])
        with torch.no_grad():
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:].to(device),
                                                 reduction="none")
        per_row = loss.sum(1) / (labels[:, 1:] != -100).sum(1).to(device)
        for (c, _, _), value in zip(batch, per_row.tolist()):
            results[c] = value
    return results
