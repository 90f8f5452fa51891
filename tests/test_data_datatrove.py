"""The datatrove engine gives the default engine's outputs byte for byte: across the seams between tasks (duplicates,
shifted replies, an invalid line), on a folder of shards and a .json array, and through the Slurm jobs it generates."""

import json
import os
import subprocess
import sys

import pytest

from marco.data import CleaningConfig, clean
from marco.data.datatrove_engine import clean_with_datatrove, plan

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED = os.path.join(REPO, "data", "marco_it.jsonl")
OUTPUTS = ("kept.jsonl", "rejected.jsonl", "report.json", "report.html")


def _seams(path: str, tasks: int) -> list[int]:
    """The line each task after the first starts on."""
    return [spans[0][3] + 1 for spans in plan(path, CleaningConfig(), tasks).spans[1:]]


_ASKED = [("How long should I boil an egg for a soft yolk?", "Six minutes in boiling water, then straight into cold "
                                                              "water so the egg stops cooking."),
          ("How do I reverse a list in Python?", "Call my_list.reverse() to reverse the list in place, or "
                                                 "reversed(my_list) for an iterator."),
          ("Which train goes from Milan to Venice?", "The Frecciarossa train from Milano Centrale reaches Venezia "
                                                     "Santa Lucia in about two hours."),
          ("What fertiliser do tomato plants need?", "Tomato plants like a fertiliser rich in potassium once the "
                                                     "first flowers open."),
          ("How do I change a flat bicycle tyre?", "Lever the tyre off the rim, swap the inner tube, then pump the "
                                                   "bicycle tyre back up.")]
_MOVED = [(question, _ASKED[(k + 1) % len(_ASKED)][1]) for k, (question, _) in enumerate(_ASKED)]


@pytest.fixture(scope="module")
def across_seams(tmp_path_factory) -> str:
    """The bundled set with defects planted where three tasks' parts meet: replies moved one conversation along
    around each seam, an exact and a near duplicate of an early conversation late in the file, an invalid line."""
    records = [json.loads(line) for line in open(BUNDLED, encoding="utf-8")]
    records.append({**records[4], "id": "copy-of-5"})
    near = json.loads(json.dumps(records[100]))
    near["messages"][-1]["content"] = near["messages"][-1]["content"].replace(" ", "  ", 1) + " Ecco."
    records.append({**near, "id": "near-100"})
    path = str(tmp_path_factory.mktemp("seams") / "data.jsonl")

    def write():
        with open(path, "w", encoding="utf-8") as handle:
            for k, record in enumerate(records):
                handle.write(("{not json\n" if k == 300 else "") + json.dumps(record, ensure_ascii=False) + "\n")
    write()
    for seam in _seams(path, 3):  # around each seam, five conversations whose replies are moved one along
        for k, (question, reply) in zip(range(seam - 4, seam + 1), _MOVED):  # lines seam-3 .. seam+1
            moved = {"id": f"moved-{k}", "messages": [{"role": "user", "content": question},
                                                      {"role": "assistant", "content": reply}], "note": ""}
            size = len(json.dumps(records[k], ensure_ascii=False).encode()) - len(json.dumps(moved).encode())
            assert size >= 0, "a planted conversation must not be longer than the one it replaces"
            records[k] = {**moved, "note": " " * size}  # the same bytes per line: the seams stay where they were
    seams = _seams(path, 3)
    write()
    assert _seams(path, 3) == seams
    return path


def _same_outputs(default: str, datatrove: str) -> None:
    for name in OUTPUTS:
        with open(os.path.join(default, name), "rb") as a, open(os.path.join(datatrove, name), "rb") as b:
            assert a.read() == b.read(), f"{name} differs"


@pytest.mark.slow(seconds=60)
def test_the_command_gives_the_default_engines_outputs_across_seams(across_seams, tmp_path):
    result = clean(across_seams, str(tmp_path / "default"), CleaningConfig())
    reasons = {r.rejection["reason"] for r in result.rows if r.rejection}
    assert {"exact_duplicate", "near_duplicate", "invalid_json"} <= reasons
    flagged = {r.line for r in result.rows if any(f["reason"] == "misaligned" for f in r.flags or [])}
    assert any(seam - 2 <= line <= seam + 1 for seam in _seams(across_seams, 3) for line in flagged), \
        "no moved reply at a seam was found: the test would not show that seams are judged"
    done = subprocess.run([sys.executable, "-m", "marco", "data", "clean", across_seams, "--out", str(tmp_path / "dt"),
                           "--engine", "datatrove", "--tasks", "3"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(3 datatrove tasks" in done.stdout
    _same_outputs(str(tmp_path / "default"), str(tmp_path / "dt"))
    stats = json.load(open(tmp_path / "dt.datatrove" / "logs" / "write" / "stats.json"))
    dropped = {k: v for step in stats for k, v in step["stats"].items() if k.startswith("dropped_")}
    assert dropped == {f"dropped_{reason}": n for reason, n in result.report["counts"]["by_reason"].items()}
    assert not os.path.exists(tmp_path / "dt.datatrove" / "read")  # the parts' files go once joined


@pytest.mark.slow(seconds=50)
def test_a_folder_of_shards_and_a_json_array(tmp_path):
    lines = open(BUNDLED, encoding="utf-8").read().splitlines(keepends=True)
    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "a.jsonl").write_text("".join(lines[:200]), encoding="utf-8")
    (folder / "b.jsonl").write_text("".join(lines[150:]), encoding="utf-8")  # 50 exact duplicates across files
    array = tmp_path / "data.json"
    array.write_text(json.dumps([json.loads(line) for line in lines[:300]], ensure_ascii=False), encoding="utf-8")
    for source, tasks in ((str(folder), 3), (str(array), 2)):
        default = clean(source, str(tmp_path / "default"), CleaningConfig())
        clean_with_datatrove(source, str(tmp_path / "dt"), CleaningConfig(), tasks=tasks)
        _same_outputs(str(tmp_path / "default"), str(tmp_path / "dt"))
    assert default.report["counts"]["input"] == 300
    assert sum(len(spans) for spans in plan(str(folder), CleaningConfig(), 3).spans) == 4  # one task reads two files


_FAILING_STAGE = """
import sys
from datatrove.executor.ray import RayPipelineExecutor
from marco.data.datatrove_engine import StageFailed, _start_ray, run_in_order

def fail(data, rank, world_size):
    raise OSError("the shard went away")

_start_ray()
try:
    run_in_order([RayPipelineExecutor([fail], tasks=1, logging_dir=sys.argv[1])])
except StageFailed as error:
    print(error)
"""


@pytest.mark.slow(seconds=90)
def test_on_a_local_ray_instance(tmp_path):
    """In subprocesses, as users run it: a Ray left running in a process deadlocks the processes it forks later."""
    pytest.importorskip("ray")
    source = tmp_path / "data.jsonl"
    source.write_text("".join(open(BUNDLED, encoding="utf-8").readlines()[:120]), encoding="utf-8")
    clean(str(source), str(tmp_path / "default"), CleaningConfig())
    done = subprocess.run([sys.executable, "-m", "marco", "data", "clean", str(source), "--out", str(tmp_path / "ray"),
                           "--engine", "datatrove", "--executor", "ray"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    _same_outputs(str(tmp_path / "default"), str(tmp_path / "ray"))
    # a task that fails on every retry stops the run, naming the stage, instead of leaving it waiting forever
    failed = subprocess.run([sys.executable, "-c", _FAILING_STAGE, str(tmp_path / "failing")], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert f"datatrove stage {tmp_path / 'failing'}: tasks [0] did not finish" in failed.stdout, failed.stderr[-2000:]


_SBATCH = """#!/bin/sh
# Slurm's sbatch, which cannot run here: records the job and its arguments, answers as sbatch does
n=$(($(cat "$SUBMITTED" 2>/dev/null | wc -l) + 1))
echo "$n $*" >> "$SUBMITTED"
echo "Submitted batch job $n"
"""
_SRUN = """#!/bin/sh
# Slurm's srun inside a job: runs the job step (datatrove writes `srun -l -n 1 COMMAND`)
while [ "${1#-}" != "$1" ]; do case "$1" in -n) shift 2;; *) shift;; esac; done
exec "$@"
"""
_SCONTROL = """#!/bin/sh
# Slurm's scontrol: `scontrol show hostnames NODELIST` lists the job's nodes
echo localhost
"""


@pytest.mark.slow(seconds=60)
def test_the_slurm_jobs_it_submits_clean_the_set(tmp_path):
    """The four stages are submitted as job arrays chained by afterok; their generated scripts, run as Slurm would
    run each array task (SLURM_ARRAY_TASK_ID, SLURM_NODELIST), write the default engine's outputs. Only sbatch and srun, which cannot
    run here, are stood in for (with scontrol, which names the job's nodes)."""
    source = tmp_path / "data.jsonl"
    source.write_text("".join(open(BUNDLED, encoding="utf-8").readlines()[:120]), encoding="utf-8")
    clean(str(source), str(tmp_path / "default"), CleaningConfig())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (("sbatch", _SBATCH), ("srun", _SRUN), ("scontrol", _SCONTROL)):
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}",
           "SUBMITTED": str(tmp_path / "submitted")}
    done = subprocess.run([sys.executable, "-m", "marco", "data", "clean", str(source), "--out", str(tmp_path / "out"),
                           "--engine", "datatrove", "--tasks", "2", "--executor", "slurm", "--slurm-partition", "cpu"],
                          cwd=REPO, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "submitted the four stages' Slurm jobs" in done.stdout and not (tmp_path / "out").exists()
    submitted = (tmp_path / "submitted").read_text().splitlines()
    stages = [line for line in submitted if "RUN_OFFSET" in line]  # the other jobs merge datatrove's stats
    assert len(stages) == 4 and "--dependency" not in stages[0]
    assert all(f"--dependency=afterok:{job}" in stages[k + 1] for k, job in
               enumerate(int(line.split()[0]) for line in submitted if "RUN_OFFSET" in line) if k < 3)
    work = tmp_path / "out.datatrove" / "logs"
    for stage, tasks in (("read", 2), ("decide", 1), ("write", 2), ("join", 1)):
        script = (work / stage / "launch_script.slurm").read_text()
        assert f"#SBATCH --array=0-{tasks - 1}" in script and "#SBATCH --partition=cpu" in script
        for task in range(tasks):
            ran = subprocess.run(["bash", str(work / stage / "launch_script.slurm")], cwd=REPO, capture_output=True,
                                 text=True, env={**env, "SLURM_ARRAY_TASK_ID": str(task), "RUN_OFFSET": "0",
                                                              "SLURM_NODELIST": "localhost"})
            assert ran.returncode == 0, ran.stderr[-2000:]
    _same_outputs(str(tmp_path / "default"), str(tmp_path / "out"))
