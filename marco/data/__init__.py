"""marco.data: audit and clean chat datasets (formats, duplicates, templates, defects, probes, prompts)."""

from .clean import CleanResult, audit, clean, run
from .outputs import write_outputs
from .probes import decontaminate, probe_questions
from .split import split_train_eval
from .config import CleaningConfig
from .load import UnusableInput
from .templates import STOCK_PHRASES, TemplateScan, scan

__all__ = ["CleanResult", "CleaningConfig", "STOCK_PHRASES", "TemplateScan", "UnusableInput", "audit", "clean", "decontaminate", "probe_questions",
           "run", "scan", "split_train_eval", "write_outputs"]
