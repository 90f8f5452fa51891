"""marco_report.json, typed: what a run measured (data audit summary, training metrics, the comparison with the
base, the gate), with the versions and timings that produced it. Written by training, read by the card, the Hub
push, the Space and the app through `RunReport`'s fields.

Adding a field: give it a default (old reports then load with it), and bump SCHEMA_VERSION only when an existing
field changes meaning."""

import json
import os
from dataclasses import asdict, dataclass, field, fields

from marco.errors import MarcoError

FILE = "marco_report.json"  # written last: a folder holding it is a complete run (see marco.pipeline)
TMP = ".tmp"  # FILE + TMP while it is written; a killed write leaves it, and the next run into the folder removes it
SCHEMA_VERSION = 1  # reports written before the schema (no schema_version) read as version 0: same fields


@dataclass
class RunReport:
    base_model: str = field(metadata={"help": "The base as the user named it (marco-tiny or a Hub id, never a local cache path)."})
    method: str = field(metadata={"help": "lora, qlora or full."})
    schema_version: int = field(default=SCHEMA_VERSION, metadata={"help": "Layout of this file (see SCHEMA_VERSION)."})
    encoder_decoder: bool = field(default=False, metadata={"help": "A T5-like model (Seq2Seq classes), else a causal LM."})
    base_parameters: int = field(default=None, metadata={"help": "The base model's parameter count (adapter left out): "
                                                                 "`marco space` asks for a GPU above 1B."})
    data: dict = field(default_factory=dict, metadata={"help": "Audit summary: source, counts, by_reason, template_rate."})
    training: dict = field(default_factory=dict, metadata={"help": "Trainer metrics (train_loss, eval_loss, ...) and world_size."})
    evaluation: dict = field(default=None, metadata={"help": "Final comparison with the base (compare.compare)."})
    judge: dict = field(default=None, metadata={"help": "The judge on the final comparison (JudgeResult.summary: judge, "
                                                        "wins, losses, ties, unparseable, n, win_rate, ci95), if one ran."})
    gate: dict = field(default=None, metadata={"help": "gate.verdict on the final comparison (and the judge): passed, "
                                                       "reasons, checks, evidence."})
    during_training: list = field(default_factory=list, metadata={"help": "Figures of each comparison during training."})
    stopped_early: str = field(default=None, metadata={"help": "Why the callback stopped training, if it did."})
    versions: dict = field(default_factory=dict, metadata={"help": "marco, torch, transformers, trl, peft versions."})
    timings: dict = field(default_factory=dict, metadata={"help": "Seconds spent per stage (training, final comparison)."})

    def save(self, output_dir: str) -> str:
        """Atomically (a temporary file, then os.replace): a reader sees the whole report or none."""
        path = os.path.join(output_dir, FILE)
        with open(path + TMP, "w", encoding="utf-8") as handle:
            json.dump(asdict(self), handle, indent=1, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(path + TMP, path)
        return path

    @classmethod
    def load(cls, output_dir: str) -> "RunReport":
        """MarcoError, on one line, for a folder without a report, an unreadable one, or a newer schema."""
        path = os.path.join(output_dir, FILE)
        try:
            with open(path, encoding="utf-8") as handle:
                values = json.load(handle)
        except (FileNotFoundError, NotADirectoryError):
            raise MarcoError(f"{output_dir}: not a finished marco run ({FILE} is missing)") from None
        except json.JSONDecodeError as error:
            raise MarcoError(f"{path}: not valid JSON (line {error.lineno}: {error.msg})") from None
        return cls.from_dict(values, path)

    @classmethod
    def from_dict(cls, values: dict, where: str = FILE) -> "RunReport":
        version = values.get("schema_version", 0)
        if version > SCHEMA_VERSION:
            raise MarcoError(f"{where}: schema_version {version} is newer than this marco reads ({SCHEMA_VERSION}): "
                             "upgrade marco")
        missing = [n for n in ("base_model", "method") if n not in values]
        if missing:
            raise MarcoError(f"{where}: field {missing[0]!r} is missing")
        known = {f.name for f in fields(cls)}
        return cls(**{**{k: v for k, v in values.items() if k in known}, "schema_version": version})


def versions() -> dict:
    """The library versions a run was trained with: what a reproduction has to match."""
    from importlib.metadata import version

    import marco

    return {"marco": marco.__version__, **{name: version(name) for name in ("torch", "transformers", "trl", "peft")}}
