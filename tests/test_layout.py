"""The package's folders are the pipeline's stages (docs/how-it-works.md): a stage imports
only stages below it, and no two modules import each other, directly or round about."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pytest_cnncheck"

# Lowest first. The plain data sits between the spec (whose spans a finding keeps) and the
# run; the front doors, the runner and the probe are above every stage.
STAGES = {"paths": 0, "settings": 0, "spec": 1, "trace": 2, "fields": 2, "window": 2, "resize": 2, "kinds": 2, "ops": 2,
          "findings": 2, "arithmetic": 2, "run": 3, "explain": 4, "check": 5, "repair": 6, "report": 7}
TOP = 9


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def _imports() -> dict[str, set[str]]:
    modules = {_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" and name != "__init__" else name.split(".")[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            base = package[:len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
            for alias in node.names:
                target = ".".join([*base, alias.name])
                found.add(target if target in modules else ".".join(base))
        graph[name] = {target for target in found if target in modules and target != name}
    return graph


def _stage(module: str) -> int:
    return STAGES.get(module.split(".")[0], TOP)


def test_every_module_belongs_to_a_stage_or_is_a_front_door() -> None:
    top = sorted(name for name in _imports() if _stage(name) == TOP)
    assert top == ["__init__", "__main__", "api", "cli", "fixcommand", "items", "plugin", "probe", "runner"]


def test_no_stage_imports_a_higher_one() -> None:
    graph = _imports()
    assert {"explain.causes", "findings", "spec.model"} <= graph["check.compare"]  # it reads the imports
    upward = [(module, target) for module, targets in graph.items() for target in targets
              if _stage(module) != TOP and _stage(target) > _stage(module)]
    assert upward == []


def test_no_import_circles() -> None:
    graph = _imports()
    circles = []

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(graph[module]):
            if target in path:
                circles.append(path[path.index(target):] + [target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert circles == []
