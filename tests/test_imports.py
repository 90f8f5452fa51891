"""marco's stages import one way: data/ -> the shared errors, models, stats and run_dir -> train/ -> evaluate/ ->
publish/ -> serve/ -> pipeline and cli. Every import statement counts, function-level ones included, so a backward
import or a cycle cannot hide behind a late import."""

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


# Each module's stage (the longest matching prefix): a module imports only its own stage and the ones before it.
STAGES = {
    "marco": 0,  # the package's __init__: its version only
    "marco.tiny": 0, "marco.tiny_t5": 0,  # the built-in models' files, which a data score model may name too
    "marco.data": 0,
    "marco.errors": 1, "marco.models": 1, "marco.stats": 1, "marco.run_dir": 1,
    "marco.train": 2, "marco.tiny.build": 2, "marco.tiny_t5.build": 2,  # the builders train the built-in models
    "marco.evaluate": 3,
    "marco.publish": 4,
    "marco.serve": 5,
    "marco.pipeline": 6, "marco.cli": 6,
    "marco.__main__": 7,
}


def stage(module: str) -> int:
    prefixes = [p for p in STAGES if module == p or module.startswith(p + ".")]
    return STAGES[max(prefixes, key=len)]


def backward_imports(graph: dict) -> list:
    """(module, target) pairs where a module imports a later stage."""
    return sorted((module, target) for module, targets in graph.items() for target in targets if stage(target) > stage(module))


def test_every_module_has_a_stage_and_imports_only_earlier_ones():
    graph = import_graph()
    assert {"marco.train.training", "marco.evaluate.watch", "marco.publish.hub", "marco.serve.demo", "marco.pipeline"} <= set(graph)
    assert backward_imports(graph) == []


def test_the_stage_check_catches_a_backward_import():
    assert backward_imports({"marco.train.training": {"marco.evaluate.compare"}}) == [("marco.train.training", "marco.evaluate.compare")]
    assert backward_imports({"marco.evaluate.compare": {"marco.train.seq2seq"}}) == []  # forward: the look-alike
    assert stage("marco.tiny_t5.build") == 2 and stage("marco.tiny_t5") == 0


def test_the_top_level_holds_the_shared_modules_and_the_entry_points_only():
    top = sorted(name for name in os.listdir(PACKAGE) if name.endswith(".py") and name not in ("__init__.py", "__main__.py"))
    assert top == ["cli.py", "errors.py", "models.py", "pipeline.py", "run_dir.py", "stats.py"]
    assert {"data", "train", "evaluate", "publish", "serve"} <= set(os.listdir(PACKAGE))


def test_no_import_cycle_among_marco_modules():
    graph = import_graph()
    assert cycle(graph) == [], " -> ".join(cycle(graph))


def test_the_detector_finds_a_cycle_through_a_function_level_import(tmp_path):
    late = tmp_path / "late.py"
    late.write_text("def f():\n    from marco.train.training import build_trainer\n")
    assert imports(str(late), {"marco.train.training", "marco.evaluate.compare"}) == {"marco.train.training"}
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []  # a chain, the look-alike without the loop


def test_errors_imports_no_marco_module():
    assert import_graph()["marco.errors"] == set()
