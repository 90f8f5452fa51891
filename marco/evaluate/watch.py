"""Watch the model against its base while it trains: a TrainerCallback that answers the probes at step 0 and
after every evaluation, logs both models' figures (and the judge's win rate when a judge is configured), writes the
answers side by side with the judge's verdicts, and stops a run that collapses into templates or falls below its
base."""

import json
import os
import time

from transformers import TrainerCallback

from marco.evaluate import compare, gate, judge
from marco.models import is_adapter_model


class BaseComparisonCallback(TrainerCallback):
    """Added with `trainer.add_callback`; like TRL's LogCompletionsCallback it holds the trainer, for its tokenizer
    and its `log` (the figures go where the losses go: console, tensorboard, log_history)."""

    def __init__(self, trainer, probes: list, config: compare.CompareConfig, policy: gate.GateConfig, judge_backend=None):
        """`judge_backend`: judge.backend(JudgeConfig), loaded once by the caller (it judges the final comparison too)."""
        self.trainer, self.probes, self.config, self.policy = trainer, probes, config, policy
        self.judge_backend = judge_backend
        self.base_answers, self.history, self.stopped_because = None, [], ""

    def _answers(self, model) -> list:
        """Fine-tuned answers; the base's too on the first call (mixed batch for adapters; for full fine-tuning
        the first call is at step 0, when the model still is the base)."""
        answers = compare.answer(model, self.trainer.processing_class, self.probes, self.config,
                                 with_base=self.base_answers is None)
        if self.base_answers is None:
            self.base_answers = answers["base"] or answers["fine_tuned"]
        return answers["fine_tuned"]

    def _compare(self, args, state, control, model) -> None:
        start = time.perf_counter()
        tuned = self._answers(model)
        result = compare.compare(self.base_answers, tuned, self.probes)
        entry = {"step": state.global_step, "base": _figures(result["base"]), "fine_tuned": _figures(result["fine_tuned"])}
        logs = {f"probe_{side}_{k}": v for side in ("base", "fine_tuned") for k, v in entry[side].items()}
        if self.judge_backend is not None:
            judged_at = time.perf_counter()
            try:
                entry["judge"] = judge.judge_comparison(self.judge_backend, result["samples"])
                logs["judge_win_rate"] = entry["judge"]["win_rate"]
            except judge.JudgeUnavailable as error:  # a judge that is down must not end hours of training
                entry["judge_error"] = str(error)
                print(f"[marco] step {state.global_step}: not judged: {error}", flush=True)
            entry["judge_seconds"] = round(time.perf_counter() - judged_at, 2)
        verdict = gate.verdict(result, self.policy, judge=entry.get("judge"))
        entry.update(gate_passed=verdict["passed"], seconds=round(time.perf_counter() - start, 2))
        self.history.append(entry)
        if state.is_world_process_zero:
            folder = os.path.join(args.output_dir, "comparisons")
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"step_{state.global_step:06d}.jsonl"), "w", encoding="utf-8") as handle:
                handle.writelines(json.dumps(s, ensure_ascii=False) + "\n" for s in result["samples"])
            print(f"[marco] step {state.global_step}: base vs fine-tuned on {len(self.probes)} probes\n"
                  f"{compare.table(result)}" + (f"\n{judge.line(entry['judge'])}" if "judge" in entry else ""), flush=True)
        self.trainer.log(logs)
        reason = gate.regression(result, self.policy, judge=entry.get("judge"))
        if reason and self.policy.stop_on_regression and state.global_step > 0:
            self.stopped_because = f"step {state.global_step}: {reason}"
            control.should_training_stop = True

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step == 0 or is_adapter_model(model):  # a resumed full fine-tune has no base left to ask
            self._compare(args, state, control, model)

    def on_evaluate(self, args, state, control, model=None, **kwargs):
        if self.base_answers is not None:
            self._compare(args, state, control, model)


def _figures(scores: dict) -> dict:
    return {k: v for k, v in scores.items() if k != "templates"}
