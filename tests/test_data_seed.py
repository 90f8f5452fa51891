"""The seed project's real data (../shared/seed-project/): what a careful reader flags, marco finds.
Each file is cleaned once per session; the tests skip where the seed project is not in this checkout."""

import json
import os
import re

import pytest
from conftest import REPO

from marco.data import run

SEED = os.path.join(REPO, "..", "shared", "seed-project")
BROKEN_TAIL = re.compile(r"\[\s*\[\s*$")
_FIELD = re.compile(r"messages\[(\d+)\]")


def seed_file(name: str) -> str:
    path = os.path.join(SEED, name)
    if not os.path.exists(path):
        pytest.skip(f"needs ../shared/seed-project/{name}: not in this checkout")
    return path


@pytest.fixture(scope="session")
def cima():
    return run(seed_file("cima_tutoring_conversations.jsonl"))


@pytest.fixture(scope="session")
def teaching():
    return run(seed_file("italian_conversations_teaching.jsonl"))


def test_templated_set_is_rejected(teaching):
    assert teaching.report["counts"]["by_reason"].get("template", 0) >= 0.99 * teaching.report["counts"]["input"]


def test_cima_kept_replies_rarely_end_in_the_broken_tail(cima):
    kept = [r for r in cima.kept if any(BROKEN_TAIL.search(m["content"]) for m in r["messages"] if m["role"] == "assistant")]
    assert len(kept) <= 0.01 * len(cima.kept)
    assert cima.report["counts"]["by_reason"]["exact_duplicate"] > 1000  # CIMA's duplicates are still found


@pytest.mark.parametrize("fixture", ["cima", "teaching"])
def test_template_evidence_is_verbatim_in_the_reply(request, fixture):
    """Rejected (the teaching file's scaffold) or flagged (CIMA's templates, each under 10% of its replies), a
    template finding quotes words the reply has."""
    result = request.getfixturevalue(fixture)
    cited = [(r["messages"], r["rejection"]) for r in result.rejected if r["rejection"]["reason"] == "template"] + \
            [(r["messages"], f) for r in result.kept for f in r.get("flags", []) if f["reason"] == "template"]
    verbatim = [f for messages, f in cited if f["evidence"] in messages[int(_FIELD.match(f["field"]).group(1))]["content"]]
    assert cited and len(verbatim) >= 0.99 * len(cited)
    assert all(f'"{f["evidence"][:200]}"' in f["detail"] for _, f in cited)  # the detail quotes it


def test_a_warning_quotes_the_dominant_first_user_turn(cima):
    assert any('"Can you help me learn Italian grammar?"' in w and "2823 of 5446" in w for w in cima.report["warnings"])
    first = cima.report["prompts"]["top_first_turns"][0]
    assert (first["text"], first["count"]) == ("Can you help me learn Italian grammar?", 2823)


def _as_sharegpt(record):
    return {"conversations": [{"from": {"user": "human", "assistant": "gpt"}[m["role"]], "value": m["content"]}
                              for m in record["messages"]]}


def _as_parts(record):
    return {"messages": [{"role": m["role"], "content": [{"type": "text", "text": m["content"]}]}
                         for m in record["messages"]]}


@pytest.mark.parametrize("convert", [_as_sharegpt, _as_parts])
def test_other_format_copies_of_a_clean_set_keep_the_same_text(cima, tmp_path, convert):
    clean_set = [{"messages": r["messages"]} for r in cima.kept]
    path = tmp_path / "copy.jsonl"
    path.write_text("".join(json.dumps(convert(r), ensure_ascii=False) + "\n" for r in clean_set), encoding="utf-8")
    again = run(str(path))
    texts = {json.dumps(r["messages"], ensure_ascii=False) for r in clean_set}
    same = [r for r in again.kept if json.dumps(r["messages"], ensure_ascii=False) in texts]
    assert len(same) >= 0.95 * len(clean_set)
