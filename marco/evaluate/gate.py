"""The gate: did the fine-tuned model stay at least as good as its base? Decided from the probe comparison,
recorded in marco_report.json, and checked by every later stage (Hub push) unless forced."""

from dataclasses import fields

from marco.train.config import GateConfig


def policy_of(recipe: dict) -> GateConfig:
    """The GateConfig a run was trained with, from its flat recipe (marco_config.yaml); defaults for fields it lacks."""
    return GateConfig(**{f.name: recipe[f.name] for f in fields(GateConfig) if f.name in recipe})


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


def regression(comparison: dict, policy: GateConfig, judge: dict = None) -> str:
    """Why training should stop now, or '' to go on. `judge`: this comparison's judge summary, if one was asked."""
    base, tuned = comparison["base"], comparison["fine_tuned"]
    if judge and judge["n"] and judge["ci95"][1] < policy.gate_min_judge_win_rate:
        return (f"judge {judge['judge']} prefers the base: fine-tuned win rate {judge['win_rate']:.2f} over {judge['n']} "
                f"pairs (95% CI {judge['ci95'][0]:.2f}-{judge['ci95'][1]:.2f}, below {policy.gate_min_judge_win_rate:.2f})")
    if tuned["pass_rate"] < base["pass_rate"] - policy.regression_margin:
        return f"pass rate fell to {tuned['pass_rate']:.2f} from the base's {base['pass_rate']:.2f}"
    failed = [c["detail"] for c in decide(comparison, policy)["checks"]
              if c["name"] in ("template_rate", "template_rise") and not c["passed"]]
    return "template collapse: " + "; ".join(failed) if failed else ""


# --- judge and human verdicts: which evidence decides "better than its base" (human > judge > probes) ---
INCONCLUSIVE = "inconclusive: no probe passed by either model"


def verdict(comparison: dict, policy: GateConfig, judge: dict = None, human: dict = None) -> dict:
    """decide() with the strongest evidence of preference: a blind human review summary ({"step", "n", "win_rate",
    "ci95", ...}) over a judge summary ({"judge", "n", "win_rate", "ci95", ...}) over the probe pass rates. The
    template and diversity checks always apply. With no probe passed by either model the pass-rate check proves
    nothing, so the gate fails as inconclusive unless a verdict exists or `gate_allow_inconclusive` is set."""
    rates = {side: comparison[side]["pass_rate"] or 0.0 for side in ("base", "fine_tuned")}
    probes = decide({side: {**comparison[side], "pass_rate": rates[side]} for side in rates}, policy)
    checks = [c for c in probes["checks"] if c["name"] != "pass_rate"]
    evidence = next(((name, summary) for name, summary in (("human", human), ("judge", judge))
                     if summary and summary.get("n")), None)
    if evidence:
        name, summary = evidence
        low, high = summary["ci95"]
        who = f"blind human review at step {summary.get('step')}" if name == "human" else f"judge {summary['judge']}"
        checks.insert(0, {"name": name, "passed": high >= policy.gate_min_judge_win_rate,
                          "detail": f"{who}: fine-tuned win rate {summary['win_rate']:.2f} over {summary['n']} pairs (95% "
                                    f"CI {low:.2f}-{high:.2f}; upper bound must be >= {policy.gate_min_judge_win_rate:.2f})"})
    elif not any(rates.values()):
        silent = f" (judge {judge['judge']}: {judge.get('unparseable', 0)} unparseable, no verdict)" if judge else ""
        allowed = policy.gate_allow_inconclusive
        advice = "; allowed by gate_allow_inconclusive" if allowed else \
            "; add a judge or a blind review, or set gate_allow_inconclusive"
        checks.insert(0, {"name": "inconclusive", "passed": allowed, "detail": INCONCLUSIVE + silent + advice})
    else:
        checks.insert(0, next(c for c in probes["checks"] if c["name"] == "pass_rate"))
    return {"passed": all(c["passed"] for c in checks), "reasons": [c["detail"] for c in checks if not c["passed"]],
            "checks": checks, "evidence": evidence[0] if evidence else "probes"}
