"""The gate: did the fine-tuned model stay at least as good as its base? Decided from the probe comparison,
recorded in marco_report.json, and checked by every later stage (Hub push) unless forced."""

from dataclasses import dataclass, field


@dataclass
class GateConfig:
    """The policy an adapter must pass, and the regression that stops a run (how the comparison runs is
    marco.compare.CompareConfig)."""

    gate_min_pass_rate_gain: float = field(
        default=0.0, metadata={"help": "Fine-tuned probe pass rate must be >= base pass rate + this."})
    gate_max_template_rate: float = field(
        default=0.10, metadata={"help": "Fine-tuned answers flagged as templated must be at most this share."})
    gate_max_template_rise: float = field(
        default=0.05, metadata={"help": "... and at most this much above the base model's template rate."})
    gate_min_distinct2_ratio: float = field(
        default=0.8, metadata={"help": "Fine-tuned distinct-2 must be at least this fraction of the base's."})
    stop_on_regression: bool = field(
        default=True, metadata={"help": "Stop training when a comparison fails the gate's template checks or the pass "
                                        "rate falls below the base by more than `regression_margin`."})
    regression_margin: float = field(
        default=0.10, metadata={"help": "Pass-rate drop below the base (absolute) that stops training."})


def decide(comparison: dict, policy: GateConfig) -> dict:
    """{"passed": bool, "reasons": failures, "checks": every check with its numbers}."""
    base, tuned = comparison["base"], comparison["fine_tuned"]
    checks = [
        ("pass_rate", tuned["pass_rate"] >= base["pass_rate"] + policy.gate_min_pass_rate_gain,
         f"pass rate {tuned['pass_rate']:.2f} vs base {base['pass_rate']:.2f} (+{policy.gate_min_pass_rate_gain:.2f} needed)"),
        ("template_rate", tuned["template_rate"] <= policy.gate_max_template_rate,
         f"template rate {tuned['template_rate']:.2f} (max {policy.gate_max_template_rate:.2f})"),
        ("template_rise", tuned["template_rate"] <= base["template_rate"] + policy.gate_max_template_rise,
         f"template rate {tuned['template_rate']:.2f} vs base {base['template_rate']:.2f} "
         f"(max rise {policy.gate_max_template_rise:.2f})"),
        ("distinct_2", tuned["distinct_2"] >= policy.gate_min_distinct2_ratio * base["distinct_2"],
         f"distinct-2 {tuned['distinct_2']:.3f} vs base {base['distinct_2']:.3f} "
         f"(min {policy.gate_min_distinct2_ratio:.0%} of base)"),
    ]
    return {"passed": all(ok for _, ok, _ in checks),
            "reasons": [text for _, ok, text in checks if not ok],
            "checks": [{"name": name, "passed": ok, "detail": text} for name, ok, text in checks]}


def regression(comparison: dict, policy: GateConfig) -> str:
    """Why training should stop now, or '' to go on."""
    base, tuned = comparison["base"], comparison["fine_tuned"]
    if tuned["pass_rate"] < base["pass_rate"] - policy.regression_margin:
        return f"pass rate fell to {tuned['pass_rate']:.2f} from the base's {base['pass_rate']:.2f}"
    failed = [c["detail"] for c in decide(comparison, policy)["checks"]
              if c["name"] in ("template_rate", "template_rise") and not c["passed"]]
    return "template collapse: " + "; ".join(failed) if failed else ""
