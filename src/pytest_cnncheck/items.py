"""The pytest nodes: a spec file, one item per spec, and the --cnncheck-update session.

Loaded by plugin.py when a spec file is found. torch is imported inside
`SpecItem.runtest` (through probe.py), only when a spec runs.
"""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest
from _pytest._code.code import TerminalRepr

from .findings import Finding
from .paths import folder_prefix, relative, user_frame
from .report.results import error_result, spec_result
from .report.terminal import BOLD, PLAIN, Line, failure_lines, spec_error_lines
from .report.update import Change, apply_changes, changes_for, summary_lines
from .settings import SETTINGS
from .spec.model import FileSpecs, Spec, SpecError
from .spec.parse import parse_file

if TYPE_CHECKING:
    from _pytest._io import TerminalWriter

    from .trace import Trace

FILE_ITEM_NAME = "<file>"  # the item standing for a file that could not be read at all


class CnncheckWarning(pytest.PytestWarning):
    """Something the user should know about a spec run that did not fail it."""


def _skip_at_spec(reason: str) -> BaseException:
    """A skip reported at the spec's line (as a skip marker's is), not inside the plugin."""
    try:
        return pytest.skip.Exception(reason, _use_item_location=True)
    except TypeError:  # a pytest without that keyword
        return pytest.skip.Exception(reason)


class UpdateSession:
    """`--cnncheck-update`: gathers the changes items ask for, from their reports (so
    xdist workers' too), and writes them once per file when the session ends."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.pending: dict[str, list[Change]] = {}
        self.written: list[Change] = []
        self.refused: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for data in getattr(report, "cnncheck_changes", ()):
            change = Change.from_json(data)
            self.pending.setdefault(change.path, []).append(change)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput"):
            return  # an xdist worker: its reports reach the controller, which writes
        if session.exitstatus == pytest.ExitCode.INTERRUPTED:
            # Ctrl-C (or a signal) stopped the run: the specs it did not reach were never
            # checked, so no file gets half a session's changes.
            self.refused.extend((path, "the run was interrupted, so nothing was written")
                                for path in self.pending)
            return
        for path, changes in self.pending.items():
            try:
                written, refused = apply_changes(Path(path), changes)
            except OSError as error:
                written, refused = [], f"writing it failed: {error}"
            self.written.extend(written)
            if refused:
                self.refused.append((path, refused))
                # Its items passed on the promise of this write: the run must not end green.
                warning = warnings.WarningMessage(CnncheckWarning(f"{path}: not updated: {refused}"),
                                                  CnncheckWarning, path, 1)
                self.config.hook.pytest_warning_recorded.call_historic(kwargs=dict(
                    warning_message=warning, when="runtest", nodeid="", location=None))
                if session.exitstatus == pytest.ExitCode.OK:
                    session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.written and not self.refused:
            return
        terminalreporter.section("cnncheck updates")
        root = self.config.rootpath
        for path, line, text in summary_lines(self.written):
            terminalreporter.write_line(f"{relative(Path(path), root)}:{line}: {text}")
        for path, reason in self.refused:
            terminalreporter.write_line(f"{relative(Path(path), root)}: not updated: {reason}", red=True)


class SpecFile(pytest.File):
    def collect(self) -> Iterator[SpecItem]:
        # Never raise here: pytest stops the whole session on a collection error,
        # and a bad spec must fail alone.
        parsed = parse_file(self.path)
        if parsed.error is not None:
            yield SpecItem.from_parent(self, name=FILE_ITEM_NAME, entry=parsed.error,
                                       parsed=parsed, line=parsed.error.problems[0][0])
            return
        for name, line, entry in parsed.entries:
            yield SpecItem.from_parent(self, name=name, entry=entry, parsed=parsed, line=line)


def _library_dirs() -> tuple[str, ...]:
    """Folders of the libraries a failure passes through, which are not the user's code."""
    import importlib.util

    dirs = []
    for name in ("torch", "_pytest", "pluggy", "pytest_timeout", "torchinfo"):
        found = importlib.util.find_spec(name) if name not in sys.modules else None
        module = sys.modules.get(name)
        origin = getattr(module, "__file__", None) or (found.origin if found else None)
        if origin:
            dirs.append(folder_prefix(Path(origin).parent))
    return tuple(dirs)


class SpecMismatch(Exception):
    def __init__(self, spec: Spec, trace: Trace, findings: list[Finding]) -> None:
        super().__init__(f"{len(findings)} mismatch(es)")
        self.spec = spec
        self.trace = trace
        self.findings = findings


class LinesRepr(TerminalRepr):
    """A failure's text, written line by line through pytest's TerminalWriter."""

    def __init__(self, lines: list[Line]) -> None:
        self.lines = lines

    def toterminal(self, tw: TerminalWriter) -> None:
        for text, markup in self.lines:
            tw.line(text, **markup)


class SpecItem(pytest.Item):
    def __init__(self, *, entry: Spec | SpecError, parsed: FileSpecs, line: int,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entry = entry
        self.parsed = parsed
        self.line = line
        self.changes: list[Change] = []  # what --cnncheck-update will write for this spec
        self.cnncheck_result: dict[str, Any] | None = None  # facts for -v and the reports
        self.add_marker("cnncheck")

    def runtest(self) -> None:
        if isinstance(self.entry, SpecError):
            self.cnncheck_result = error_result(self.entry)
            raise self.entry
        with warnings.catch_warnings():
            # torch warns at import when the optional NumPy is missing; specs never need it.
            warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
            from . import probe  # torch is imported here, and only here
        probe.freeze_startup_objects()

        workers = getattr(self.config, "workerinput", {}).get("workercount")
        if workers:
            probe.share_cores(int(workers))
        spec = self.entry
        from .runner import Options, run_spec

        # torchinfo's table costs a second, hooked forward pass: -vv asks for it, -v not.
        # So do receptive fields (the pass under Flow): -vv, or a report that draws them all.
        wants_table = self.config.get_verbosity() > 1
        diagrams = self._diagrams()
        update = bool(self.config.getoption("cnncheck_update")) and spec.scan is None
        options = Options(**self.config.stash[SETTINGS], summary=wants_table,
                          fields=wants_table or diagrams == "all",
                          count=bool(self.config.getoption("cnncheck_report")), draw=bool(diagrams),
                          settle=(lambda trace, findings: self._update(spec, trace, findings)) if update else None)
        with self._probing(probe):
            outcome = run_spec(spec, self.config.rootpath, options)
        self._say_fallbacks(outcome.traces)
        if outcome.trace.summary and wants_table:
            self.add_report_section("call", "torchinfo summary", outcome.trace.summary)
        findings = list(outcome.findings)
        self.cnncheck_result = spec_result(spec, list(outcome.traces), findings,
                                           diagram=bool(diagrams) and spec.scan is None
                                           and (bool(findings) or diagrams == "all"))
        if findings:
            raise SpecMismatch(*outcome.shown, findings)

    def _say_fallbacks(self, traces: tuple[Trace, ...]) -> None:
        """Where meta could not run the model: a report section, and a warning where the
        pass ran on the CPU (where it crashed anyway, the failure says it all)."""
        fallbacks = [trace for trace in traces if trace.fallback]
        if not fallbacks:
            return
        if len(traces) > 1:
            self.add_report_section("call", "cnncheck", f"{len(fallbacks)} size(s) ran on the "
                                                        f"CPU because {fallbacks[0].fallback}")
            return
        message = f"ran on the CPU because {fallbacks[0].fallback}"
        self.add_report_section("call", "cnncheck", message)
        if fallbacks[0].crash is None:
            warnings.warn_explicit(CnncheckWarning(message), CnncheckWarning,
                                   filename=str(self.path), lineno=self.line)

    def _diagrams(self) -> str | None:
        """Which specs the Markdown report draws: "all" (--cnncheck-diagrams), "failed", or
        None (no Markdown report)."""
        if not any(str(path).endswith(".md") for path in self.config.getoption("cnncheck_report")):
            return None
        return "all" if self.config.getoption("cnncheck_diagrams") else "failed"

    def _update(self, spec: Spec, trace: Trace, findings: list[Finding]) -> list[Finding]:
        """`--cnncheck-update`: ask for the edits that make the spec state what the model
        does, and keep the findings no edit settles. A model whose forward pass raised
        did not do anything worth stating: nothing of its spec is written."""
        refusal = ("the forward pass raised, so none of its numbers are written"
                   if trace.crash is not None else
                   "the values of a swept spec hold for every size; write them with the "
                   "sweep's names" if spec.bindings else
                   "the file changed since it was read; run again to update it"
                   if self._changed_on_disk() else None)
        if refusal is not None:
            self.add_report_section("call", "cnncheck update", f"not updated: {refusal}")
            return findings
        self.changes = changes_for(self.parsed, spec.name, [f for f in findings if f.updatable])
        notes = [text for _, _, text in summary_lines(self.changes)]
        for finding in findings:
            span = finding.inherited
            if span is not None:
                line = self.parsed.text.count("\n", 0, span.start) + 1
                notes.append(f"not updated: {finding.key} is inherited from line {line}, through an "
                             "anchor other specs may share; edit it there")
        self.add_report_section("call", "cnncheck update", "\n".join(notes))
        return [finding for finding in findings if not finding.updatable]

    def _changed_on_disk(self) -> bool:
        try:
            return self.path.read_bytes().decode("utf-8-sig", "replace") != self.parsed.text
        except OSError:
            return True

    @contextmanager
    def _probing(self, probe: Any) -> Iterator[None]:
        """A device that isn't here skips the item; a spec error is its result."""
        try:
            yield
        except probe.DeviceUnavailable as reason:
            raise _skip_at_spec(str(reason)) from None
        except SpecError as error:
            self.cnncheck_result = error_result(error)
            raise

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | TerminalRepr:
        where = relative(self.path, self.config.rootpath)
        error = excinfo.value
        if isinstance(error, SpecError):
            return LinesRepr(spec_error_lines(error, where, self.parsed.lines))
        if isinstance(error, SpecMismatch):
            return LinesRepr(failure_lines(error.spec, error.trace, error.findings, where,
                                           self.parsed.lines))
        if isinstance(error, (pytest.fail.Exception, KeyboardInterrupt)) or self._in_user_code(excinfo):
            # Interrupted from outside (pytest-timeout, a signal), or a model that escaped
            # our guards: say where in the user's code it was, not in ours.
            text = str(error) if isinstance(error, pytest.fail.Exception) else \
                f"{type(error).__name__}: {error}"
            lines: list[Line] = [(f"{where}:{self.line}: spec {self.name!r} stopped: {text}", BOLD)]
            frame = user_frame(excinfo.tb, skip=_library_dirs())
            if frame:
                lines.append((f"  while running {frame}", PLAIN))
            return LinesRepr(lines)
        return super().repr_failure(excinfo)

    @staticmethod
    def _in_user_code(excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
        return user_frame(excinfo.tb, skip=_library_dirs()) is not None

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.line - 1, f"cnncheck: {self.name}"
