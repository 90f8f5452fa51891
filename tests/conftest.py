import json
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def chat(user: str, assistant: str, **fields) -> dict:
    return {**fields, "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}


@pytest.fixture
def write_jsonl(tmp_path):
    """Write records (dicts, or raw strings written verbatim) as a .jsonl file and return its path."""

    def write(records, name="data.jsonl"):
        path = tmp_path / name
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return str(path)

    return write
