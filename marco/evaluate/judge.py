"""Pairwise judge: a model reads a question and two answers and says which is better, the way MT-Bench's pairwise
judge does (Zheng et al. 2023, "Judging LLM-as-a-Judge", prompt `pair-v2`): its reply ends with [[A]], [[B]] or
[[C]] (tie). Each pair is asked twice with the answers swapped; two verdicts that disagree are a tie (the judge
preferred a position, not an answer), and a reply without exactly one verdict is counted as unparseable, never
guessed. The fine-tuned model's win rate is (wins + ties / 2) / n over the parsed pairs, with a Wilson interval.

Backends: a local transformers model (`judge_model` alone; loaded once, greedy, batched) or any OpenAI-compatible
endpoint (`judge_base_url` + `judge_model`: vLLM, TGI, Inference Providers, `transformers serve`), with the key
read from MARCO_JUDGE_API_KEY and never logged or saved. An endpoint that fails (5xx, garbage, a timeout, a dropped
connection) is tried `judge_retries` more times with backoff, then raises JudgeUnavailable: during training that
comparison goes unjudged and training goes on; at the end the saved model's report says why."""

import os
import re
from dataclasses import asdict, dataclass, field

from marco.errors import MarcoError
from marco.stats import wilson, win_rate
from marco.train.config import JUDGE_API_KEY_ENV, JudgeConfig

SYSTEM_PROMPT = (  # MT-Bench `pair-v2`, verbatim
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the "
    "user question displayed below. You should choose the assistant that follows the user's instructions and answers "
    "the user's question better. Your evaluation should consider factors such as the helpfulness, relevance, accuracy, "
    "depth, creativity, and level of detail of their responses. Begin your evaluation by comparing the two responses "
    "and provide a short explanation. Avoid any position biases and ensure that the order in which the responses were "
    "presented does not influence your decision. Do not allow the length of the responses to influence your "
    "evaluation. Do not favor certain names of the assistants. Be as objective as possible. After providing your "
    "explanation, output your final verdict by strictly following this format: \"[[A]]\" if assistant A is better, "
    "\"[[B]]\" if assistant B is better, and \"[[C]]\" for a tie.")
USER_PROMPT = ("[User Question]\n{question}\n\n[The Start of Assistant A's Answer]\n{a}\n[The End of Assistant A's "
               "Answer]\n\n[The Start of Assistant B's Answer]\n{b}\n[The End of Assistant B's Answer]")
_VERDICT = re.compile(r"\[\[([ABC])\]\]")


@dataclass
class PairVerdict:
    """One probe, asked twice: `replies[0]` with the base answer as A, `replies[1]` with the fine-tuned one as A."""

    id: str
    question: str
    base: str
    fine_tuned: str
    replies: list  # the judge's raw replies, in that order
    picks: list  # per reply: "base", "fine_tuned", "tie" or None (unparseable)
    winner: str  # "fine_tuned", "base", "tie" or "unparseable"


@dataclass
class JudgeResult:
    judge: str
    wins: int  # of the fine-tuned model
    losses: int
    ties: int  # both said tie, or the two orders disagreed
    unparseable: int  # pairs with a reply that had no single [[A]]/[[B]]/[[C]]; not in n
    n: int
    win_rate: float
    ci95: tuple
    verdicts: list = field(default_factory=list)

    def summary(self) -> dict:
        """The figures without the replies: what reports, the gate and `--out` carry."""
        return {"judge": self.judge, "wins": self.wins, "losses": self.losses, "ties": self.ties,
                "unparseable": self.unparseable, "n": self.n, "win_rate": self.win_rate, "ci95": list(self.ci95)}

    def as_dict(self) -> dict:
        return {**self.summary(), "verdicts": [asdict(v) for v in self.verdicts]}


class JudgeUnavailable(MarcoError):
    """The judge endpoint gave no usable reply within its retries."""


def parse(reply: str):
    """'A', 'B' or 'C' when the reply carries exactly one kind of verdict, else None."""
    found = set(_VERDICT.findall(reply or ""))
    return found.pop() if len(found) == 1 else None


def messages(question: str, a: str, b: str) -> list:
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": USER_PROMPT.format(question=question, a=a, b=b)}]


def combine(first, second) -> str:
    """The pair's outcome from its two picks (each already mapped from a position to a model)."""
    if first is None or second is None:
        return "unparseable"
    return first if first == second else "tie"


class EndpointJudge:
    """An OpenAI-compatible chat endpoint, through the `openai` client; requests go out `judge_batch_size` at a time."""

    def __init__(self, config: JudgeConfig):
        from openai import OpenAI

        self.config = config
        self.client = OpenAI(base_url=config.judge_base_url, api_key=os.environ.get(JUDGE_API_KEY_ENV) or "none",
                             timeout=config.judge_timeout, max_retries=0)  # retried below: a garbage 200 too

    def _once(self, conversation: list) -> str:
        reply = self.client.chat.completions.create(model=self.config.judge_model, messages=conversation,
                                                    max_tokens=self.config.judge_max_new_tokens, temperature=0)
        text = reply.choices[0].message.content  # a body that is not a completion fails here
        if not isinstance(text, (str, type(None))):
            raise TypeError(f"message content is {type(text).__name__}")
        return text or ""

    def _one(self, conversation: list) -> str:
        import time

        import openai

        tries = self.config.judge_retries + 1
        for attempt in range(tries):
            try:
                return self._once(conversation)
            except (openai.APIError, AttributeError, IndexError, TypeError) as error:
                if attempt + 1 == tries:
                    cause = f"{type(error).__name__}: {(str(error) or '?').splitlines()[0][:200]}"
                    raise JudgeUnavailable(f"the judge at {self.config.judge_base_url} gave no usable reply in {tries} "
                                           f"{'try' if tries == 1 else 'tries'} ({cause})") from None
                time.sleep(0.5 * 2 ** attempt)

    def replies(self, conversations: list) -> list:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.config.judge_batch_size) as pool:
            return list(pool.map(self._one, conversations))


class LocalJudge:
    """A transformers causal LM in this process: loaded once, greedy, batched (marco.evaluate.compare.generate)."""

    def __init__(self, config: JudgeConfig):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from marco import tiny

        path = tiny.resolve(config.judge_model)
        self.config = config
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(path)

    def replies(self, conversations: list) -> list:
        from marco.evaluate.compare import generate, prompts

        texts = prompts(self.tokenizer, [{"messages": c} for c in conversations])
        return generate(self.model, self.tokenizer, texts, self.config.judge_max_new_tokens, self.config.judge_batch_size)


def backend(config: JudgeConfig):
    return EndpointJudge(config) if config.judge_base_url else LocalJudge(config)


def judge_pairs(judge, pairs: list, name: str) -> JudgeResult:
    """Judge (id, question, base answer, fine-tuned answer) tuples, each pair in both orders, in one batch."""
    conversations = []
    for _, question, base, tuned in pairs:
        conversations += [messages(question, base, tuned), messages(question, tuned, base)]
    raw = judge.replies(conversations)
    sides = [{"A": "base", "B": "fine_tuned", "C": "tie"}, {"A": "fine_tuned", "B": "base", "C": "tie"}]
    verdicts = []
    for i, (probe_id, question, base, tuned) in enumerate(pairs):
        replies = raw[2 * i: 2 * i + 2]
        picks = [sides[k].get(parse(reply)) for k, reply in enumerate(replies)]
        verdicts.append(PairVerdict(probe_id, question, base, tuned, replies, picks, combine(*picks)))
    count = {w: sum(v.winner == w for v in verdicts) for w in ("fine_tuned", "base", "tie", "unparseable")}
    n = count["fine_tuned"] + count["base"] + count["tie"]
    return JudgeResult(name, count["fine_tuned"], count["base"], count["tie"], count["unparseable"], n,
                       win_rate(count["fine_tuned"], count["tie"], n),
                       wilson(count["fine_tuned"] + count["tie"] / 2, n), verdicts)


def judge_samples(config: JudgeConfig, samples: list, judge=None) -> JudgeResult:
    """Judge a comparison's samples ({"id", "question", "base", "fine_tuned"}); `judge` reuses a loaded backend."""
    pairs = [(s["id"], s["question"], s["base"], s["fine_tuned"]) for s in samples]
    return judge_pairs(judge or backend(config), pairs, config.name)


def line(summary: dict) -> str:
    """A judge summary in one console line."""
    return (f"judge {summary['judge']}: {summary['wins']} wins, {summary['losses']} losses, {summary['ties']} ties, "
            f"{summary['unparseable']} unparseable; win rate {summary['win_rate']:.2f} "
            f"(95% CI {summary['ci95'][0]:.2f}-{summary['ci95'][1]:.2f})")


def judge_comparison(judge, samples: list) -> dict:
    """Judge a comparison's samples with a loaded backend, in place: each sample gets its verdict as "judge":
    {"winner", "picks", "replies"} (the row format of comparisons/step_N.jsonl that `marco review --from judge`
    exports). Returns the summary."""
    result = judge_samples(judge.config, samples, judge)
    for sample, verdict in zip(samples, result.verdicts):
        sample["judge"] = {"winner": verdict.winner, "picks": verdict.picks, "replies": verdict.replies}
    return result.summary()
