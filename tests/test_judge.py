"""marco.evaluate.judge: verdict parsing, both orders per pair, position bias as a tie, unparseable counted; against a fixed
judge with known verdicts (exact counts), a real `transformers serve` and a local transformers judge (plumbing)."""

import json

import pytest

from marco import tiny
from marco.evaluate import judge
from marco.stats import wilson, win_rate

SAMPLES = [  # (id, question, base, fine_tuned) -> what the fixed judge must make of it
    {"id": "win", "question": "q1", "base": "BAD answer", "fine_tuned": "GOOD answer"},
    {"id": "loss", "question": "q2", "base": "GOOD answer", "fine_tuned": "BAD answer"},
    {"id": "bias", "question": "q3", "base": "plain one", "fine_tuned": "plain two"},
    {"id": "tie", "question": "q4 SAME", "base": "x", "fine_tuned": "y"},
    {"id": "garbled", "question": "q5", "base": "GARBLE", "fine_tuned": "GOOD"},
    {"id": "win2", "question": "q6", "base": "BAD", "fine_tuned": "GOOD, again"},
]


@pytest.mark.parametrize("reply, expected", [
    ("A is better. [[A]]", "A"), ("[[B]]", "B"), ("tie [[C]]", "C"), ("[[A]] I said [[A]]", "A"),
    ("[A]", None), ("[[D]]", None), ("A is better", None), ("[[A]] or maybe [[B]]", None), ("", None), (None, None),
    ("[[ A ]]", None), ("[[a]]", None),
])
def test_parse_takes_exactly_one_verdict(reply, expected):
    assert judge.parse(reply) == expected


def test_combine_disagreement_is_a_tie_and_unparseable_is_never_guessed():
    assert judge.combine("fine_tuned", "fine_tuned") == "fine_tuned"
    assert judge.combine("base", "fine_tuned") == "tie"
    assert judge.combine("tie", "base") == "tie"
    assert judge.combine(None, "base") == "unparseable"


def test_wilson_known_values():
    assert wilson(5, 10) == (0.2366, 0.7634)
    assert wilson(0, 10) == (0.0, 0.2775)
    assert wilson(0, 0) == (0.0, 1.0)
    assert win_rate(2, 2, 5) == 0.6


def test_config_refuses_an_endpoint_without_a_model():
    with pytest.raises(ValueError, match="judge_model"):
        judge.JudgeConfig(judge_base_url="http://127.0.0.1:1/v1")


def test_fixed_judge_gives_known_counts_with_both_orders(fixed_judge, monkeypatch):
    monkeypatch.setenv(judge.JUDGE_API_KEY_ENV, "sk-test-secret-123")
    fixed_judge.requests.clear()
    config = judge.JudgeConfig(judge_model="fixed", judge_base_url=fixed_judge.url, judge_batch_size=4)
    result = judge.judge_samples(config, SAMPLES)

    assert (result.wins, result.losses, result.ties, result.unparseable, result.n) == (2, 1, 2, 1, 5)
    assert result.win_rate == 0.6 and result.ci95 == wilson(3, 5)
    assert [v.winner for v in result.verdicts] == ["fine_tuned", "base", "tie", "tie", "unparseable", "fine_tuned"]
    bias = result.verdicts[2]
    assert bias.picks == ["base", "fine_tuned"]  # the judge always chose position A
    asked = sorted(r[:3] for r in fixed_judge.requests)
    assert asked == sorted([(s["question"], s["base"], s["fine_tuned"]) for s in SAMPLES]
                           + [(s["question"], s["fine_tuned"], s["base"]) for s in SAMPLES])
    assert {r[3] for r in fixed_judge.requests} == {"Bearer sk-test-secret-123"}
    assert "sk-test-secret" not in json.dumps(result.as_dict()) + result.judge
    assert result.summary()["ci95"] == list(wilson(3, 5)) and "verdicts" not in result.summary()


def _assert_plumbing(result, samples):
    assert len(result.verdicts) == len(samples)
    assert all(len(v.replies) == 2 and all(isinstance(r, str) for r in v.replies) for v in result.verdicts)
    assert result.n + result.unparseable == len(samples)
    assert result.unparseable == sum(None in v.picks for v in result.verdicts)
    assert result.wins + result.losses + result.ties == result.n


@pytest.mark.slow
def test_transformers_serve_judge_asks_every_pair_twice(transformers_serve):
    config = judge.JudgeConfig(judge_model=tiny.PATH, judge_base_url=transformers_serve, judge_max_new_tokens=12)
    result = judge.judge_samples(config, SAMPLES[:3])
    _assert_plumbing(result, SAMPLES[:3])
    assert result.judge == f"{tiny.PATH} at {transformers_serve}"


def test_local_judge_is_loaded_once_and_batched():
    config = judge.JudgeConfig(judge_model="marco-tiny", judge_max_new_tokens=8, judge_batch_size=2)
    backend = judge.backend(config)
    assert isinstance(backend, judge.LocalJudge)
    result = judge.judge_samples(config, SAMPLES[:1], judge=backend)  # its two orders: one batch
    _assert_plumbing(result, SAMPLES[:1])
    again = judge.judge_samples(config, SAMPLES[:1], judge=backend)
    assert [v.replies for v in again.verdicts] == [v.replies for v in result.verdicts]  # greedy


@pytest.mark.parametrize("trouble", ["500", "garbage", "slow", "drop"])
def test_an_endpoint_that_fails_once_is_retried_into_the_same_verdicts(trouble):
    from judge_server import JudgeServer

    with JudgeServer(trouble=trouble, times=1, delay=2.0) as server:
        config = judge.JudgeConfig(judge_model="fixed", judge_base_url=server.url, judge_batch_size=4, judge_timeout=0.5)
        result = judge.judge_samples(config, SAMPLES)
    assert server.troubled == 1
    assert (result.wins, result.losses, result.ties, result.unparseable, result.n) == (2, 1, 2, 1, 5)


@pytest.mark.parametrize("trouble", ["500", "garbage", "slow", "drop"])
def test_an_endpoint_that_keeps_failing_is_a_clear_error_after_bounded_tries(trouble):
    import time

    from judge_server import JudgeServer

    with JudgeServer(trouble=trouble, times=10**6, delay=2.0) as server:
        config = judge.JudgeConfig(judge_model="fixed", judge_base_url=server.url, judge_batch_size=1, judge_timeout=0.5,
                                   judge_retries=2)
        start = time.perf_counter()
        with pytest.raises(judge.JudgeUnavailable, match=f"the judge at {server.url} gave no usable reply in 3 tries"):
            judge.judge_samples(config, SAMPLES[:1])
        assert time.perf_counter() - start < 15
    assert server.troubled == 6  # each of the pair's two conversations, three tries
