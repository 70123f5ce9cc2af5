"""pytest glue: options, ini settings, and the hook that finds spec files.

Only wiring lives here, and it imports nothing else of ours but the settings' key: the pytest nodes
(items.py) load when a spec file is found, and torch when a spec item runs, so a
pytest session that collects no spec pays for neither.
"""

from __future__ import annotations

import fnmatch
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pytest

from .settings import SETTINGS

if TYPE_CHECKING:
    from .items import SpecFile
    from .trace import Trace

DEFAULT_PATTERNS = ["*.cnncheck.yaml", "*.cnncheck.yml"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cnncheck", "architecture specs (pytest-cnncheck)")
    group.addoption("--cnncheck-update", action="store_true", default=False,
                    help="rewrite the values of specs that mismatch to what the model does; "
                         "only those values change, and the specs pass")
    group.addoption("--cnncheck-report", action="append", default=[], metavar="PATH",
                    help="write a report of the spec results to PATH: .md (Markdown, for a pull "
                         "request or $GITHUB_STEP_SUMMARY), .json, or .sarif (SARIF 2.1.0, for "
                         "code scanning); may be given more than once")
    group.addoption("--cnncheck-baseline", default=None, metavar="PATH",
                    help="the JSON report of the base branch: the Markdown report then shows what "
                         "changed against it (params, mult-adds, memory, output), biggest first")
    group.addoption("--cnncheck-diagrams", action="store_true", default=False,
                    help="draw every spec's shape flow (a Mermaid flowchart with receptive fields) "
                         "in the Markdown report, not only failing specs'")
    parser.addini("cnncheck_patterns", type="args", default=DEFAULT_PATTERNS,
                  help="glob patterns of spec file names pytest-cnncheck collects "
                       f"(default: {' '.join(DEFAULT_PATTERNS)})")
    parser.addini("cnncheck_device", default="meta",
                  help="where specs that name no device run: meta (default; falls back to the "
                       "CPU where a model can't run there), cpu or cuda")
    parser.addini("cnncheck_max_input_mb", default="1024",
                  help="refuse a dummy input larger than this many MiB on a real device "
                       "(default 1024); on meta inputs take no memory")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cnncheck: an architecture spec checked by pytest-cnncheck")
    device = str(config.getini("cnncheck_device")).strip()
    if device not in ("meta", "cpu", "cuda"):
        raise pytest.UsageError(f"cnncheck_device must be meta, cpu or cuda, not {device!r}")
    megabytes = str(config.getini("cnncheck_max_input_mb")).strip()
    if not megabytes.isdigit():
        raise pytest.UsageError(f"cnncheck_max_input_mb must be a whole number of MiB, not {megabytes!r}")
    config.stash[SETTINGS] = {"default_device": device, "max_input_bytes": int(megabytes) * 2**20}
    if config.getoption("cnncheck_update"):
        from .items import UpdateSession

        config.pluginmanager.register(UpdateSession(config), "cnncheck-update")
    if config.get_verbosity() > 0:
        config.pluginmanager.register(VerboseFacts(config), "cnncheck-verbose")
    from .report import github

    if github.enabled() and not hasattr(config, "workerinput"):
        config.pluginmanager.register(GithubAnnotations(config), "cnncheck-github")
    paths = config.getoption("cnncheck_report")
    baseline = None
    if config.getoption("cnncheck_baseline"):
        from .report.results import read_report

        try:
            baseline = read_report(Path(config.invocation_params.dir, config.getoption("cnncheck_baseline")))
        except ValueError as error:
            raise pytest.UsageError(f"--cnncheck-baseline {config.getoption('cnncheck_baseline')}: "
                                    f"{error}") from None
        if not any(path.endswith(".md") for path in paths):
            raise pytest.UsageError("--cnncheck-baseline compares in the Markdown report: give "
                                    "--cnncheck-report with a .md name too")
    if paths:
        for path in paths:
            if not path.endswith((".md", ".json", ".sarif")):
                raise pytest.UsageError(f"--cnncheck-report {path}: the name must end in .md "
                                        "(Markdown), .json or .sarif (SARIF, for code scanning)")
        config.pluginmanager.register(ReportWriter(config, paths, baseline), "cnncheck-report")


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> str | None:
    return _header(sum(1 for item in items if hasattr(item, "cnncheck_result")))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    # Under xdist the workers collect; the controller says it once, for the first of them.
    config = node.config
    if config.stash.get(_HEADER_SAID, False):
        return
    config.stash[_HEADER_SAID] = True
    line = _header(sum(1 for nodeid in ids
                       if _is_spec_file(nodeid.partition("::")[0].rpartition("/")[2], config)))
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if line and terminal is not None:
        terminal.ensure_newline()
        terminal.write_line(line)


_HEADER_SAID = pytest.StashKey[bool]()


def _header(specs: int) -> str | None:
    """`cnncheck: 12 spec items; torch 2.13.0, torchinfo 1.8.0`, where there are specs."""
    if not specs:
        return None
    from .report.results import versions

    v = versions()
    return (f"cnncheck: {specs} spec item{'s' if specs != 1 else ''}; "
            f"torch {v['torch']}, torchinfo {v['torchinfo']}")


class VerboseFacts:
    """`-v`: a line of facts under each spec item's line (output shape, parameters,
    device); `-vv`: torchinfo's summary table under it too, passing or failing.

    The facts come from the one recorded forward pass; the table costs torchinfo's own.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(trylast=True)  # after the terminal reporter has written the item's line
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = getattr(report, "cnncheck_result", None)
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if report.when != "call" or result is None or terminal is None:
            return
        from .report.results import facts_line, training_line

        facts = facts_line(result)
        training = training_line(result)
        tables = [text for title, text in report.sections if "torchinfo summary" in title]
        if facts or training or tables:
            terminal.ensure_newline()
        if facts:
            terminal.write_line(f"    {facts}")
        if training:
            terminal.write_line(f"    {training}")
        if tables:
            for line in tables[0].splitlines():
                terminal.write_line(f"    {line}")


class GithubAnnotations:
    """Under GitHub Actions: each failing spec's findings as `::error` workflow commands at
    the spec's line and at the model's line to edit (github.py), printed once, on the
    controller, at the end of the run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = getattr(report, "cnncheck_result", None)
        if result is not None:
            self.results.append(result)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from .report.github import commands

        for result in self.results:
            for command in commands(result, self.config.rootpath):
                terminalreporter.write_line(command)


class ReportWriter:
    """`--cnncheck-report`: gathers each spec's result from its report (so from xdist
    workers too) and writes the files once, on the controller, when the session ends."""

    def __init__(self, config: pytest.Config, paths: list[str],
                 baseline: list[dict[str, Any]] | None = None) -> None:
        self.config = config
        self.paths = paths
        self.baseline = baseline
        self.rows: dict[str, dict[str, Any]] = {}
        self.failed: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = getattr(report, "cnncheck_result", None)
        if result is not None:
            self.rows[report.nodeid] = result

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput"):
            return  # an xdist worker: its reports reach the controller, which writes
        from .files import write_atomically
        from .report.results import json_report, markdown_report, versions
        from .report.sarif import sarif_report

        rows = [self.rows[nodeid] for nodeid in sorted(self.rows)]
        for name in self.paths:
            path = Path(self.config.invocation_params.dir, name)
            text = (markdown_report(rows, self.baseline) if name.endswith(".md") else
                    sarif_report(rows, self.config.rootpath, versions()["pytest-cnncheck"])
                    if name.endswith(".sarif") else json_report(rows))
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomically(path, text.encode("utf-8"), exclusive=False)
            except OSError as error:
                self.failed.append(f"cnncheck report: {name} could not be written: "
                                   f"{error.strerror or error}")
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            else:
                self.failed.append("")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for name, failure in zip(self.paths, self.failed):
            if failure:
                terminalreporter.write_line(failure, red=True, bold=True)
            else:
                terminalreporter.write_line(f"cnncheck report: {name} ({len(self.rows)} specs)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    if call.when != "call" or not hasattr(item, "cnncheck_result"):
        return
    report = outcome.get_result()
    # Plain attributes travel with the report from an xdist worker to the controller.
    changes = getattr(item, "changes", None)
    if changes:
        report.cnncheck_changes = [change.to_json() for change in changes]
    result = item.cnncheck_result
    if result is None and report.skipped and call.excinfo is not None:
        result = {"skipped": str(call.excinfo.value.msg if hasattr(call.excinfo.value, "msg")
                                 else call.excinfo.value), "findings": []}
    elif result is None:  # it stopped outside the checks: a timeout, an interrupt
        text = f"{call.excinfo.typename}: {call.excinfo.value}" if call.excinfo else "did not finish"
        result = {"error": [{"line": getattr(item, "line", 0), "message": text}], "findings": []}
    path, _, name = report.nodeid.partition("::")
    report.cnncheck_result = {"id": report.nodeid, "file": path, "name": name,
                              "line": getattr(item, "line", 0), "status": report.outcome, **result}


def _is_spec_file(name: str, config: pytest.Config) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in config.getini("cnncheck_patterns"))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SpecFile | None:
    if _is_spec_file(file_path.name, parent.config):
        from .items import SpecFile

        return SpecFile.from_parent(parent, path=file_path)
    return None


@pytest.fixture
def cnncheck(request: pytest.FixtureRequest) -> Callable[..., list[Trace]]:
    """`pytest_cnncheck.check_architecture`, with this project's rootdir (for import
    paths) and its ini settings (`cnncheck_device`, `cnncheck_max_input_mb`)."""
    from .api import check_architecture

    return functools.partial(check_architecture, rootdir=request.config.rootpath,
                             **request.config.stash[SETTINGS])
