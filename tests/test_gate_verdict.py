"""gate.verdict: human before judge before probes; no vacuous pass when no probe is passed; judge reasons name it."""

from marco.evaluate.gate import INCONCLUSIVE, GateConfig, verdict
from marco.stats import wilson


def figures(pass_rate, template_rate=0.0, distinct_2=0.5):
    return {"pass_rate": pass_rate, "template_rate": template_rate, "distinct_2": distinct_2}


def comparison(base=0.0, tuned=0.0, tuned_template=0.0):
    return {"base": figures(base), "fine_tuned": figures(tuned, tuned_template)}


def summary(wins, n, **extra):
    return {"n": n, "win_rate": wins / n if n else 0.5, "ci95": list(wilson(wins, n)), **extra}


JUDGE_PREFERS_BASE = summary(1, 12, judge="fixed at http://127.0.0.1:1/v1")  # CI 0.01-0.35
JUDGE_EVEN = summary(5, 10, judge="fixed")
HUMAN_PREFERS_TUNED = summary(5, 6, step=40)


def test_no_probe_passed_is_inconclusive_and_fails():
    result = verdict(comparison(), GateConfig())
    assert not result["passed"] and result["reasons"][0].startswith(INCONCLUSIVE)
    assert result["evidence"] == "probes"


def test_inconclusive_passes_only_when_allowed():
    result = verdict(comparison(), GateConfig(gate_allow_inconclusive=True))
    assert result["passed"] and result["checks"][0]["name"] == "inconclusive"


def test_probes_decide_when_some_probe_passed():
    assert verdict(comparison(0.5, 0.5), GateConfig())["passed"]
    failed = verdict(comparison(0.5, 0.25), GateConfig())
    assert not failed["passed"] and failed["reasons"][0].startswith("pass rate 0.25")


def test_judge_significantly_preferring_the_base_fails_and_is_named():
    result = verdict(comparison(0.5, 0.5), GateConfig(), judge=JUDGE_PREFERS_BASE)
    assert not result["passed"] and result["evidence"] == "judge"
    assert result["reasons"] == [f"judge fixed at http://127.0.0.1:1/v1: fine-tuned win rate 0.08 over 12 pairs "
                                 f"(95% CI 0.01-0.35; upper bound must be >= 0.50)"]


def test_an_even_judge_passes_even_when_no_probe_passed():
    result = verdict(comparison(), GateConfig(), judge=JUDGE_EVEN)
    assert result["passed"] and [c["name"] for c in result["checks"]][0] == "judge"


def test_a_judge_that_parsed_nothing_is_no_verdict():
    result = verdict(comparison(), GateConfig(), judge=summary(0, 0, judge="fixed", unparseable=3))
    assert not result["passed"] and result["reasons"][0].startswith(INCONCLUSIVE + " (judge fixed: 3 unparseable, no verdict)")


def test_human_verdict_comes_before_the_judge():
    result = verdict(comparison(), GateConfig(), judge=JUDGE_PREFERS_BASE, human=HUMAN_PREFERS_TUNED)
    assert result["passed"] and result["evidence"] == "human"
    assert result["checks"][0]["detail"].startswith("blind human review at step 40: fine-tuned win rate 0.83 over 6")


def test_template_checks_apply_whatever_the_evidence():
    result = verdict(comparison(tuned_template=0.5), GateConfig(), human=HUMAN_PREFERS_TUNED)
    assert not result["passed"] and any(r.startswith("template rate 0.50") for r in result["reasons"])


def test_unset_pass_rate_counts_as_no_probe():
    result = verdict({"base": figures(None), "fine_tuned": figures(None)}, GateConfig())
    assert result["reasons"][0].startswith(INCONCLUSIVE)
