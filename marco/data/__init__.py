"""marco.data: audit and clean chat datasets (duplicates, near duplicates, templates, diversity)."""

from .clean import CleanResult, audit, clean, run, write_outputs
from .split import split_train_eval
from .config import CleaningConfig
from .load import UnusableInput, read_rows
from .templates import STOCK_PHRASES, TemplateScan, scan

__all__ = ["CleanResult", "CleaningConfig", "STOCK_PHRASES", "TemplateScan", "UnusableInput", "audit", "clean",
           "read_rows", "run", "scan", "split_train_eval", "write_outputs"]
