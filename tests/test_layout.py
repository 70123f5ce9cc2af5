"""The package's folders are the pipeline's stages (docs/how-it-works.md): a stage imports
only stages below it, and no two modules import each other, directly or round about."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pytest_cnncheck"

# Lowest first. The plain data sits between the spec (whose spans a finding keeps) and the
# run; the front doors, the runner and the probe are above every stage.
STAGES = {"paths": 0, "settings": 0, "files": 0, "spec": 1, "trace": 2, "fields": 2, "window": 2, "resize": 2,
          "kinds": 2, "ops": 2, "findings": 2, "arithmetic": 2, "run": 3, "explain": 4, "check": 5, "repair": 6,
          "report": 7}
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
    assert top == ["__init__", "__main__", "api", "cli", "cli.common", "cli.fix", "cli.graph", "cli.init", "cli.lint",
                   "cli.main", "cli.report", "cli.sizes", "items", "plugin", "probe", "runner"]


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


# The writers render typed findings: they compute nothing, so they import neither the
# explanations, the repair search nor the run, and read no source file (the places a finding
# names and the lines a fix edits come resolved: explain/places.py, repair/verify.py).
# report/scaffold.py (init's spec) and report/update.py (--cnncheck-update's edits) write
# specs, not findings.
WRITERS = ("report.diagram", "report.github", "report.hints", "report.results", "report.sarif", "report.terminal")
SOURCE_READERS = ("linecache", "read_source", "getsource", "tokenize")


def test_writers_render_and_read_no_source() -> None:
    graph = _imports()
    assert set(WRITERS) <= set(graph)
    reaching = {(writer, target) for writer in WRITERS for target in graph[writer]
                if target.split(".")[0] in ("explain", "repair", "run")}
    assert reaching == set()
    reading = [(writer, word) for writer in WRITERS for word in SOURCE_READERS
               if word in (PACKAGE / (writer.replace(".", "/") + ".py")).read_text(encoding="utf-8")]
    assert reading == []


# Functions over 60 lines, each with why it is one function. A new one is split, or named
# here with its reason; one that shrinks below the limit is taken off (the test says so).
LONG_FUNCTIONS = {
    "run/record.py:run_recorded": "the recorder's closures share one pass's state",
    "cli/fix.py:fix_command": "the subcommand's flow: read, probe, verify, write, report",
    "cli/main.py:_parser": "one argparse declaration per subcommand and option",
    "report/diagram.py:mermaid": "the diagram's nodes and edges in one walk of the calls",
    "repair/verify.py:repair": "candidates tried in order against one trace",
    "cli/sizes.py:sizes_command": "`cnncheck sizes`: its arguments, the scan and its report",
    "api.py:check_architecture": "the Python API's keyword arguments, each checked like a spec's key",
    "explain/clashes.py:explain_clash": "one explanation of a clash from its operands' paths",
    "report/results.py:markdown_report": "the report's parts in order",
    "run/flow.py:_op_field": "one branch per family of ops a receptive field passes through",
    "cli/init.py:init_command": "`cnncheck init`: its arguments, the probe and the spec it writes",
    "explain/candidates.py:crash_fix": "one branch per cause of a crash",
    "check/compare.py:_layer": "one branch per key of a layer's expectations",
    "spec/validate.py:sweep": "one branch per key of a sweep",
}
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 60


def test_modules_and_functions_stay_small_enough_to_read() -> None:
    long_modules = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                          if len(path.read_text(encoding="utf-8").splitlines()) > MAX_MODULE_LINES)
    assert long_modules == []
    long_functions = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_FUNCTION_LINES:
                long_functions.add(f"{path.relative_to(PACKAGE).as_posix()}:{node.name}")
    assert long_functions - set(LONG_FUNCTIONS) == set(), "split these, or say why here"
    assert set(LONG_FUNCTIONS) - long_functions == set(), "these are short now: take them off the list"


# Meaning read back out of text: a finding's key, message, details, hint or change taken
# apart with startswith/endswith/partition/split/lstrip. What is left, per module, until the
# findings carry typed keys and structured details; a new one fails here.
TEXT_READING = re.compile(r"\b(key|message|details?|hint|change|applicability)\.(startswith|endswith|partition|"
                          r"rpartition|split|lstrip)\(")
STILL_READ_FROM_TEXT = {
    "kinds.py": 3,  # a finding's kind from its key
    "findings.py": 1,  # identity: a rule's finding by its key
    "repair/verify.py": 2,  # the shape findings by their key
    "check/compare.py": 3,  # followers of a crash by their key
    "check/budgets.py": 1, "check/memory.py": 3,  # `training.<part>` memory keys
    "check/receptive.py": 1,  # effective stride against receptive field by the key
    "report/results.py": 1,  # Markdown nests a detail by its leading spaces
    "cli/sizes.py": 1,  # a sweep's problem by its message
}


def test_no_new_place_reads_meaning_back_out_of_text() -> None:
    found: dict[str, int] = {}
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE).as_posix()
        if name.startswith("spec/"):
            continue  # the spec stage reads the user's YAML text: that is its job
        count = len(TEXT_READING.findall(path.read_text(encoding="utf-8")))
        if count:
            found[name] = count
    assert found == STILL_READ_FROM_TEXT
