"""Every reason the data code can emit is in the one registry (marco/data/reasons.py), and the CLI uses it."""

import ast
import glob
import os

from conftest import REPO

from marco.data.filters import FILTERS
from marco.data.reasons import REASONS, VALIDATION

DATA = os.path.join(REPO, "marco", "data")


def emitted_reasons():
    """(reason constants, calls whose reason is not a constant) across marco/data: reject(row, REASON, ...),
    Invalid(REASON, ...) and filter classes' `reason = ...`."""
    constants, computed = set(), []
    for path in glob.glob(os.path.join(DATA, "*.py")):
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("reject", "Invalid"):
                arg = node.args[1 if node.func.id == "reject" else 0]
                if isinstance(arg, ast.Constant):
                    constants.add(arg.value)
                else:
                    computed.append((os.path.basename(path), ast.unparse(arg)))
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.Assign) and any(getattr(t, "id", "") == "reason" for t in item.targets) \
                            and isinstance(item.value, ast.Constant):
                        constants.add(item.value.value)
    return constants, computed


def test_every_emitted_reason_is_registered():
    constants, computed = emitted_reasons()
    assert len(constants) >= 15  # the parser found the calls
    assert constants - set(REASONS) == set()
    # the only computed reasons: an Invalid's (its constants are counted above) and a filter's (checked next)
    assert sorted(computed) == [("filters.py", "finding.reason"), ("load.py", "bad.reason")]
    assert set(FILTERS) <= set(REASONS)


def test_registry_entries_say_what_they_mean():
    assert all(r.meaning and r.key == key for key, r in REASONS.items())
    assert {"invalid_json", "unknown_format", "empty_content", "non_text_content"} <= VALIDATION
    assert not VALIDATION & {"exact_duplicate", "template", "boilerplate", "probe_overlap"}


def test_cli_keeps_no_copy_of_the_reasons():
    source = open(os.path.join(REPO, "marco", "cli.py"), encoding="utf-8").read()
    assert "VALIDATION_REASONS" not in source and "reasons import VALIDATION" in source
