"""benchmarks/gpu_check.py --smoke: the GPU check's own code (random Qwen2.5 shape, real tokenizer, LoRA and 4-bit
QLoRA, padded and packed batches, the mixed-adapter reply) runs end to end at tiny widths on CPU."""

import os
import subprocess
import sys

import pytest
from conftest import REPO
from real_models import QWEN_TOKENIZER, shared_tokenizer


@pytest.mark.slow
def test_gpu_check_smoke_prints_the_table():
    shared_tokenizer(QWEN_TOKENIZER)
    done = subprocess.run([sys.executable, os.path.join("benchmarks", "gpu_check.py"), "--smoke"], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("Qwen2.5-7B shape (smoke: tiny widths)") and "max_length 64" in lines[0]
    rows = [line.split() for line in lines[2:6]]
    assert [r[:3] for r in rows] == [["lora", "sdpa", "padded"], ["lora", "sdpa", "packed"],
                                     ["qlora", "sdpa", "padded"], ["qlora", "sdpa", "packed"]]
    assert all(float(r[4].replace(",", "")) > 0 for r in rows) and lines[6].startswith("app reply, 4 new tokens")
