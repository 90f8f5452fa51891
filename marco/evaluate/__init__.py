"""marco.evaluate: the fine-tuned model against its own base: probes, the comparison during training, an LLM judge,
the gate that refuses a regression, saved answers and blind human votes."""
