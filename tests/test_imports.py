"""marco's modules import one way (data -> errors/models -> compare/gate -> callback -> training -> cli): every
import statement counts, function-level ones included, so a cycle cannot hide behind a late import."""

import ast
import os

from conftest import REPO

PACKAGE = os.path.join(REPO, "marco")


def module_name(path: str) -> str:
    relative = os.path.relpath(path, REPO)[: -len(".py")].split(os.sep)
    return ".".join(relative[:-1] if relative[-1] == "__init__" else relative)


def imports(path: str, modules: set) -> set:
    """The marco modules this file imports, anywhere in it: `import marco.x`, `from marco import x`,
    `from marco.x import y` (y a module or a name in x)."""
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read(), path)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                      for alias in node.names}
    return {name for name in found if name in modules}


def import_graph() -> dict:
    paths = [os.path.join(root, name) for root, _, names in os.walk(PACKAGE) for name in names if name.endswith(".py")]
    modules = {module_name(path) for path in paths}
    return {module_name(path): imports(path, modules) - {module_name(path)} for path in paths}


def cycle(graph: dict) -> list:
    """One import cycle as [a, b, ..., a], or [] (depth-first search, three colours)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = "done"
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_no_import_cycle_among_marco_modules():
    graph = import_graph()
    assert {"marco.training", "marco.callback", "marco.compare", "marco.seq2seq", "marco.models"} <= set(graph)
    assert cycle(graph) == [], " -> ".join(cycle(graph))


def test_the_detector_finds_a_cycle_through_a_function_level_import(tmp_path):
    late = tmp_path / "late.py"
    late.write_text("def f():\n    from marco.training import train\n")
    assert imports(str(late), {"marco.training", "marco.compare"}) == {"marco.training"}
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []  # a chain, the look-alike without the loop


def test_errors_imports_no_marco_module():
    assert import_graph()["marco.errors"] == set()


def test_the_flow_runs_one_way():
    graph = import_graph()
    assert not graph["marco.models"] & {"marco.compare", "marco.callback", "marco.training", "marco.seq2seq"}
    assert "marco.training" not in graph["marco.seq2seq"] | graph["marco.compare"] | graph["marco.callback"]
