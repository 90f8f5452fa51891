"""Watch the model against its base while it trains: a TrainerCallback that answers the probes at step 0 and
after every evaluation, logs both models' figures, writes the answers side by side, and stops a run that
collapses into templates or falls below its base."""

import json
import os
import time

from transformers import TrainerCallback

from marco import compare, gate


def is_adapter_model(model) -> bool:
    return hasattr(model, "peft_config") and hasattr(model, "disable_adapter")


class BaseComparisonCallback(TrainerCallback):
    def __init__(self, tokenizer, probes: list, policy: gate.GateConfig, output_dir: str):
        self.tokenizer, self.probes, self.policy, self.output_dir = tokenizer, probes, policy, output_dir
        self.base_answers, self.history, self.stopped_because, self.log = None, [], "", None

    def _answers(self, model) -> list:
        """Fine-tuned answers; the base's too on the first call (mixed batch for adapters; for full fine-tuning
        the first call is at step 0, when the model still is the base)."""
        p = self.policy
        if self.base_answers is None and is_adapter_model(model):
            self.base_answers, tuned = compare.answer_both(model, self.tokenizer, self.probes, p.compare_max_new_tokens,
                                                           p.compare_batch_size)
            return tuned
        texts = compare.prompts(self.tokenizer, self.probes, compare.is_encoder_decoder(model))
        tuned = compare.generate(model, self.tokenizer, texts, p.compare_max_new_tokens, p.compare_batch_size)
        if self.base_answers is None:
            self.base_answers = tuned
        return tuned

    def _compare(self, model, state, control) -> None:
        start = time.perf_counter()
        tuned = self._answers(model)
        result = compare.compare(self.base_answers, tuned, self.probes)
        verdict = gate.decide(result, self.policy)
        entry = {"step": state.global_step, "base": _figures(result["base"]), "fine_tuned": _figures(result["fine_tuned"]),
                 "gate_passed": verdict["passed"], "seconds": round(time.perf_counter() - start, 2)}
        self.history.append(entry)
        if state.is_world_process_zero:
            folder = os.path.join(self.output_dir, "comparisons")
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"step_{state.global_step:06d}.jsonl"), "w", encoding="utf-8") as handle:
                handle.writelines(json.dumps(s, ensure_ascii=False) + "\n" for s in result["samples"])
            print(f"[marco] step {state.global_step}: base vs fine-tuned on {len(self.probes)} probes\n"
                  f"{compare.table(result)}", flush=True)
        if self.log:
            self.log({f"probe_{side}_{k}": v for side in ("base", "fine_tuned") for k, v in entry[side].items()})
        reason = gate.regression(result, self.policy)
        if reason and self.policy.stop_on_regression and state.global_step > 0:
            self.stopped_because = f"step {state.global_step}: {reason}"
            control.should_training_stop = True

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step == 0 or is_adapter_model(model):  # a resumed full fine-tune has no base left to ask
            self._compare(model, state, control)

    def on_evaluate(self, args, state, control, model=None, **kwargs):
        if self.base_answers is not None:
            self._compare(model, state, control)


def _figures(scores: dict) -> dict:
    return {k: v for k, v in scores.items() if k != "templates"}
