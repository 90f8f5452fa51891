"""`marco data clean --engine datatrove`: the same verdicts as the default engine, run by datatrove's executors
(local processes, a Slurm cluster or Ray) past one process.

Four datatrove pipelines, each stage waiting for the one before (`depends`):
1. read, N tasks: a task reads its part of the source (a byte span of the JSONL files, or a range of records) and
   measures it as `clean` does (validation, normalised turns, digests, MinHash sketches, prompt audit) while the
   filters without a model observe it; it writes what it measured to WORK/read/RANK.pkl.
2. decide, 1 task: merges the parts in rank order (Corpus.absorb, each detector's absorb), so that every verdict is
   judged by the statistics of the whole corpus (duplicates across parts, template shares, learned endings, the
   neighbours across a seam, the reader's overrides) by `clean.decide`, the default engine's own code.
3. write, N tasks: a task reads its part again as datatrove Documents; the `Verdicts` filter drops the rejected ones
   with marco's reason key into its exclusion writer (marco's `rejection` record), the writer keeps the others.
4. join, 1 task: the parts, in rank order, become DIR/kept.jsonl and rejected.jsonl beside report.json/html.
Near duplicates use marco's sketches (computed in parallel in stage 1, banded and verified in stage 2), not
datatrove's four minhash stages: the same pairs as the default engine by construction, and no signature files.
The filters that need a score model run in stage 2, over the whole source.
"""

import os
import pickle
import shlex
import shutil
import sys
from array import array
from dataclasses import dataclass

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.jsonl import JsonlWriter

from . import filters
from .clean import CleanResult, decide, inputs
from .config import CleaningConfig
from .corpus import Corpus
from .load import FolderSource, JsonlSource, RecordsSource, UnusableInput, open_source, shard_files, to_json, tokenizer_named
from .outputs import write_joined

EXECUTORS = ("local", "slurm", "ray")
_COUNT_BLOCK = 1 << 26  # bytes read at a time to count the lines before a span


@dataclass(frozen=True)
class Plan:
    """Which part of the source each task reads: JSONL spans (path, begin, end, lines before) per task, or ranges of
    record positions for a .json array or a Hub dataset."""

    source: str
    cfg: CleaningConfig
    split: str
    spans: list  # per task: [(path, begin, end, lines_before)] or (first, stop)
    shards: bool  # a folder of .jsonl files (rows named by file and line)

    @property
    def tasks(self) -> int:
        return len(self.spans)

    def part(self, rank: int):
        """The source of one task's rows."""
        if isinstance(self.spans[rank], tuple):
            return _RecordsPart(open_source(self.source, self.cfg.max_chars, self.split), *self.spans[rank])
        parts = [JsonlSource(path, self.cfg.max_chars, (begin, end, before)) for path, begin, end, before in self.spans[rank]]
        return FolderSource(parts) if self.shards else parts[0]

    def whole(self, starts: list):
        """The whole source, its line starts known from the parts' (`starts[rank]`: each span's, in order)."""
        if isinstance(self.spans[0], tuple):
            return open_source(self.source, self.cfg.max_chars, self.split)
        by_file = {}
        for spans, found in zip(self.spans, starts):
            for (path, *_), line_starts in zip(spans, found):
                by_file.setdefault(path, []).append(line_starts)
        files = []
        for path, pieces in by_file.items():  # a file's spans in order: each one's line starts, the last one's end
            files.append(JsonlSource(path, self.cfg.max_chars))
            files[-1].starts = np.concatenate([piece[:-1] for piece in pieces] + [pieces[-1][-1:]])
        if not self.shards:
            return files[0]
        folder = FolderSource(files)
        folder.firsts = np.cumsum([0, *map(len, files)])
        return folder


class _RecordsPart:
    """Records `first` to `stop` of a RecordsSource, by local position (their lines stay the source's)."""

    def __init__(self, source: RecordsSource, first: int, stop: int):
        self.source, self.first, self.stop = source, first, stop

    def __len__(self) -> int:
        return self.stop - self.first

    def size_hint(self) -> int:
        return len(self)

    def chunks(self, size: int = 4096, first: int = 0, stop: int = None):
        stop = len(self) if stop is None else stop
        yield from self.source.chunks(size, self.first + first, self.first + stop)

    def reread(self, positions) -> list:
        return self.source.reread([self.first + int(p) for p in positions])


def _line_start(handle, at: int) -> int:
    """The first line start at or after byte `at`."""
    if at == 0:
        return 0
    handle.seek(at - 1)
    handle.readline()
    return handle.tell()


def _lines_before(handle, at: int) -> int:
    handle.seek(0)
    count = 0
    while handle.tell() < at:
        count += handle.read(min(_COUNT_BLOCK, at - handle.tell())).count(b"\n")
    return count


def plan(source: str, cfg: CleaningConfig, tasks: int, split: str = "train") -> Plan:
    """Cut the source into `tasks` parts of about equal size, each on line (or record) boundaries."""
    if tasks < 1:
        raise UnusableInput(f"--tasks {tasks}: give 1 or more")
    whole = open_source(source, cfg.max_chars, split)
    if isinstance(whole, RecordsSource):
        cuts = np.linspace(0, len(whole), tasks + 1).astype(int).tolist()
        return Plan(source, cfg, split, [(a, b) for a, b in zip(cuts, cuts[1:])], False)
    paths = shard_files(source) if isinstance(whole, FolderSource) else [source]
    sizes = [os.path.getsize(path) for path in paths]
    offsets, total = np.cumsum([0, *sizes]).tolist(), sum(sizes)
    cuts = []  # (file index, byte) of each task's first line, and the end
    for k in range(tasks):
        at = total * k // tasks
        index = max(i for i in range(len(paths)) if offsets[i] <= at)
        with open(paths[index], "rb") as handle:
            cuts.append((index, _line_start(handle, at - offsets[index])))
    cuts.append((len(paths) - 1, sizes[-1]))
    spans = []
    for (file_a, byte_a), (file_b, byte_b) in zip(cuts, cuts[1:]):
        spans.append([(paths[i], byte_a if i == file_a else 0, byte_b if i == file_b else sizes[i], 0)
                      for i in range(file_a, file_b + 1)])
    for task in spans:  # the line count before a span that starts inside a file
        for n, (path, begin, end, _) in enumerate(task):
            if begin:
                with open(path, "rb") as handle:
                    task[n] = (path, begin, end, _lines_before(handle, begin))
    return Plan(source, cfg, split, [[s for s in task if s[2] > s[1]] or task[:1] for task in spans],
                isinstance(whole, FolderSource))


class _Stage(PipelineStep):
    """A stage that reads the plan's parts, with their work folder and tokenizer name."""

    def __init__(self, plan: Plan, work: str, tokenizer: str = None):
        super().__init__()
        self.plan, self.work, self.tokenizer = plan, work, tokenizer


class ReadPart(_Stage):
    """Stage 1: one task's part read, measured and observed by the filters without a model."""

    name = "marco: read and measure a part"

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        cfg = self.plan.cfg
        questions, _ = inputs(cfg)
        detectors = {r: d for r, d in filters.enabled(cfg).items() if not getattr(d, "score_model", None)}
        for found_by in detectors.values() if rank else ():
            getattr(found_by, "follow", lambda: None)()  # judged across the seam by absorb
        positions = array("q")

        def observe(rows: list, conversations: list) -> None:
            positions.extend(rows)
            filters.observe_all(detectors, conversations)

        os.makedirs(os.path.join(self.work, "read"), exist_ok=True)
        part = self.plan.part(rank)
        corpus = Corpus(part, cfg, tokenizer_named(self.tokenizer), questions, observe,
                        spill=os.path.join(self.work, "read", f"{rank:05d}.spill"))
        corpus.read()
        self.stat_update("rows", value=len(corpus.rows))
        starts = [p.starts for p in part.parts] if isinstance(part, FolderSource) else [getattr(part, "starts", None)]
        with open(os.path.join(self.work, "read", f"{rank:05d}.pkl"), "wb") as handle:
            pickle.dump({"corpus": corpus, "detectors": detectors, "positions": positions, "starts": starts}, handle,
                        protocol=pickle.HIGHEST_PROTOCOL)


class Decide(_Stage):
    """Stage 2: the parts merged in rank order and judged as one corpus; each part's verdicts and the report."""

    name = "marco: decide on the whole corpus"

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        _, decisions = inputs(self.plan.cfg)
        parts = [_load(self.work, "read", k) for k in range(self.plan.tasks)]
        corpus, detectors, positions = parts[0]["corpus"], parts[0]["detectors"], parts[0]["positions"]
        bounds = [0, len(corpus.rows)]
        for part in parts[1:]:
            positions.extend((np.frombuffer(part["positions"], np.int64) + len(corpus.rows)).tolist())
            corpus.absorb(part["corpus"])
            for reason, found_by in detectors.items():
                found_by.absorb(part["detectors"][reason])
            bounds.append(len(corpus.rows))
        corpus.source = self.plan.whole([part["starts"] for part in parts])
        corpus.tokenizer = tokenizer_named(self.tokenizer)
        result = decide(self.plan.source, corpus, filters.Observed(corpus.source, self.plan.cfg, detectors,
                                                                         positions), decisions)
        os.makedirs(os.path.join(self.work, "verdicts"), exist_ok=True)
        for k, (first, stop) in enumerate(zip(bounds, bounds[1:])):
            _dump(result.rows[first:stop], self.work, "verdicts", k)
        _dump(result.report, self.work, "verdicts", "report")


class PartRecords(PipelineStep):
    """Stage 3's reader: one task's records as datatrove Documents, each with its verdict (`metadata`)."""

    name = "marco: read a part with its verdicts"
    type = "📖 - READER"

    def __init__(self, plan: Plan, work: str):
        super().__init__()
        self.plan, self.work = plan, work

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        rows = _load(self.work, "verdicts", rank)
        result = CleanResult(rows, {}, self.plan.part(rank))
        for row, (kept, record) in zip(rows, result.records()):
            self.stat_update("documents")
            yield Document(text="", id=row.where, metadata={"record": record, "reason": None if kept else
                                                            row.rejection["reason"]})


class Verdicts(BaseFilter):
    """Drops what marco rejected, with marco's reason key: the exclusion writer gets the `rejection` record."""

    name = "marco: verdicts"

    def filter(self, doc: Document):
        reason = doc.metadata["reason"]
        return True if reason is None else (False, reason)


class RecordsWriter(JsonlWriter):
    """A Document's marco record, one JSON line each, as the default engine writes it (load.to_json)."""

    def __init__(self, folder: str):
        super().__init__(folder, output_filename="${rank}.jsonl", compression=None,
                         adapter=lambda self, doc: doc.metadata["record"])

    def _write(self, document: dict, file_handler, _filename: str):
        file_handler.write(to_json(document) + b"\n")


class Join(PipelineStep):
    """Stage 4: the parts' kept and rejected records, in rank order, and the report, written as one set."""

    name = "marco: join the parts"

    def __init__(self, plan: Plan, work: str, out_dir: str):
        super().__init__()
        self.plan, self.work, self.out_dir = plan, work, out_dir

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        parts = {name: [os.path.join(self.work, name, f"{k:05d}.jsonl") for k in range(self.plan.tasks)]
                 for name in ("kept", "rejected")}
        write_joined(_load(self.work, "verdicts", "report"), self.out_dir, parts)
        for stage in ("read", "verdicts", "kept", "rejected"):  # the logs stay: datatrove's stats per task
            shutil.rmtree(os.path.join(self.work, stage), ignore_errors=True)


def _pickle_path(work: str, stage: str, name) -> str:
    return os.path.join(work, stage, f"{name:05d}.pkl" if isinstance(name, int) else f"{name}.pkl")


def _dump(value, work: str, stage: str, name) -> None:
    with open(_pickle_path(work, stage, name), "wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _load(work: str, stage: str, name):
    with open(_pickle_path(work, stage, name), "rb") as handle:
        return pickle.load(handle)


def pipelines(plan: Plan, work: str, out_dir: str, tokenizer: str = None) -> list[tuple[list, int]]:
    """The four stages as (pipeline, tasks)."""
    return [([ReadPart(plan, work, tokenizer)], plan.tasks),
            ([Decide(plan, work, tokenizer)], 1),
            ([PartRecords(plan, work), Verdicts(exclusion_writer=RecordsWriter(os.path.join(work, "rejected"))),
              RecordsWriter(os.path.join(work, "kept"))], plan.tasks),
            ([Join(plan, work, out_dir)], 1)]


def executors(plan: Plan, work: str, out_dir: str, executor: str = "local", tokenizer: str = None,
              slurm: dict = None) -> list:
    """One datatrove executor per stage, each depending on the one before; run the last to run them all (`run()`
    on local and Ray waits; on Slurm it submits the jobs and returns)."""
    made = []
    for stage, (pipeline, tasks) in zip(("read", "decide", "write", "join"), pipelines(plan, work, out_dir, tokenizer)):
        logs = os.path.join(work, "logs", stage)
        depends = made[-1] if made else None
        if executor == "local":
            from datatrove.executor import LocalPipelineExecutor

            made.append(LocalPipelineExecutor(pipeline, tasks=tasks, workers=tasks, logging_dir=logs, depends=depends))
        elif executor == "ray":
            from datatrove.executor.ray import RayPipelineExecutor

            made.append(RayPipelineExecutor(pipeline, tasks=tasks, workers=tasks, logging_dir=logs, depends=depends))
        elif executor == "slurm":
            from datatrove.executor.slurm import SlurmPipelineExecutor

            made.append(SlurmPipelineExecutor(pipeline, tasks=tasks, logging_dir=logs, depends=depends,
                                              job_name=f"marco-{stage}", env_command=_job_environment(),
                                              **(slurm or {})))
        else:
            raise UnusableInput(f"--executor {executor}: one of {', '.join(EXECUTORS)}")
    return made


def _marco_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _job_environment() -> str:
    """What a Slurm job runs first: this Python environment (its venv, when it is one) and marco importable from
    where this process imports it (a shared filesystem)."""
    venv = f"source {shlex.quote(os.path.join(sys.prefix, 'bin', 'activate'))}\n" if sys.prefix != sys.base_prefix else ""
    return f'{venv}export PYTHONPATH={shlex.quote(_marco_root())}${{PYTHONPATH:+:$PYTHONPATH}}'


def _start_ray() -> bool:
    """Join the Ray cluster RAY_ADDRESS names, else start a local one; its workers import marco from where this
    process does (a cluster's nodes need marco installed). True when this call connected (and so must disconnect)."""
    import ray

    if ray.is_initialized():
        return False
    path = os.pathsep.join(filter(None, [_marco_root(), os.environ.get("PYTHONPATH")]))
    ray.init(address=os.environ.get("RAY_ADDRESS"), runtime_env={"env_vars": {"PYTHONPATH": path}},
             include_dashboard=False)
    return True


class StageFailed(RuntimeError):
    """A stage ended with tasks unfinished; its logs say why."""


def run_in_order(stages: list) -> None:
    """Run each stage after the one before, and stop at one with unfinished tasks: datatrove's Ray executor would
    retry a failed task three times and then wait for it forever (its dependents poll every two minutes)."""
    for stage in stages:
        stage.run()
        if unfinished := stage.get_incomplete_ranks(skip_completed=True):
            raise StageFailed(f"datatrove stage {stage.logging_dir.path}: tasks {unfinished} did not finish "
                               "(their logs are in its logs/ folder)")


def clean_with_datatrove(source: str, out_dir: str, cfg: CleaningConfig = None, tasks: int = 2,
                         executor: str = "local", work: str = None, tokenizer: str = None, split: str = "train",
                         slurm: dict = None) -> str:
    """Clean `source` into `out_dir` with datatrove; returns the work folder (the stages' files and logs). A work
    folder left by an earlier run is emptied first: datatrove would skip the tasks it holds as done."""
    cfg = cfg or CleaningConfig()
    inputs(cfg)  # a bad probes or overrides file fails here, before any job starts
    work = os.path.abspath(work or f"{os.path.abspath(out_dir).rstrip(os.sep)}.datatrove")
    shutil.rmtree(work, ignore_errors=True)
    stages = executors(plan(source, cfg, tasks, split), work, os.path.abspath(out_dir), executor, tokenizer, slurm)
    if executor == "slurm":
        stages[-1].run()  # submits the four job arrays, chained by afterok, and returns
        return work
    connected = executor == "ray" and _start_ray()
    try:
        run_in_order(stages)
    finally:
        if connected:
            import ray

            ray.shutdown()  # a Ray left running in this process would deadlock its later forks
    return work
