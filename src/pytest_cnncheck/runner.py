"""Spec -> Outcome: the probe, the checks, and the repair search, which runs the spec again
on edited copies of the model. Every front door calls `run_spec`: the pytest item, the
Python API, `cnncheck init`, `graph`, `sizes` and `fix`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from . import probe
from .check.compare import check, check_scan, first_against
from .explain.places import located
from .findings import Finding
from .repair.verify import repair
from .spec.model import Spec
from .trace import Trace

__all__ = ["Options", "Outcome", "run_spec", "verify"]


@dataclass(frozen=True)
class Options:
    """How to run one spec. The defaults are a spec item's: meta, no extra passes, fixes
    verified."""

    default_device: str = "meta"  # where a spec with no `device` runs
    max_input_bytes: int | None = None  # the largest dummy input a spec may make off meta
    factory: Callable[..., Any] | None = None  # builds the model, where the spec's path doesn't
    fixes: bool = True  # try each finding's fix on the model before it is shown
    summary: bool = False  # torchinfo's table: a second, hooked pass
    fields: bool = False  # receptive fields: the pass under Flow
    count: bool = False  # mult-adds
    draw: bool = False  # a failing spec's flow for its diagram: one more pass, failing specs only
    varying: bool = False  # which sizes depend on values: one more pass where such ops ran (init)
    # Takes the findings another step settles before fixes are tried (`--cnncheck-update`
    # writes a value into the spec instead) and returns those left.
    settle: Callable[[Trace, list[Finding]], list[Finding]] | None = None

    @property
    def probing(self) -> dict[str, Any]:
        return {"default_device": self.default_device, "max_input_bytes": self.max_input_bytes,
                "factory": self.factory}


@dataclass(frozen=True)
class Outcome:
    """What running a spec found: its trace (one per size of a sweep) and its findings."""

    spec: Spec
    traces: tuple[Trace, ...]
    findings: tuple[Finding, ...]

    @property
    def trace(self) -> Trace:
        return self.traces[0]

    @property
    def shown(self) -> tuple[Spec, Trace]:
        """The spec and trace a failure is shown against: a sweep's first size that fails."""
        return first_against(self.spec, list(self.traces)) if self.spec.scan is not None else (self.spec, self.trace)


def run_spec(spec: Spec, rootdir: Path, options: Options = Options()) -> Outcome:
    """Build the model, run the dummy input, check; with `options.fixes`, each finding's fix
    is applied to the model and the spec run again before it is kept."""
    if spec.scan is not None:
        traces = probe.scan(spec, rootdir, **options.probing)
        scanned = Outcome(spec, tuple(traces), tuple(check_scan(spec, traces)))
        return replace(scanned, findings=tuple(located(f, scanned.shown[1]) for f in scanned.findings))
    trace = probe.probe(spec, rootdir, summary=options.summary, fields=options.fields, count=options.count,
                        varying=options.varying, **options.probing)
    findings = check(spec, trace)
    if findings and options.settle is not None:
        findings = options.settle(trace, findings)
    if findings and options.fixes:
        findings = verify(spec, trace, findings, rootdir, options)
    if findings and options.draw and trace.flow is None:
        drawn = probe.probe(spec, rootdir, fields=True, **options.probing)
        if (drawn.crash is None) == (trace.crash is None):
            trace = replace(trace, flow=drawn.flow, calls=drawn.calls)
    # Where each named layer is in the code, once, so that no writer reads a source file.
    return Outcome(spec, (trace,), tuple(located(finding, trace) for finding in findings))


def verify(spec: Spec, trace: Trace, findings: list[Finding], rootdir: Path,
           options: Options = Options()) -> list[Finding]:
    """The findings with the fixes that held when applied to the model and run again."""
    # Again where it ran (meta, or the CPU it fell back to), on the edited model only.
    again = replace(options, default_device=trace.device, fixes=False, summary=False, fields=False,
                    count=False, draw=False, settle=None)
    built = options.factory or probe.resolve_model(spec, rootdir)

    def rerun(edited: Spec, edited_factory: Callable[..., Any]) -> tuple[Trace, list[Finding]]:
        outcome = run_spec(edited, rootdir, replace(again, factory=edited_factory))
        return outcome.trace, list(outcome.findings)

    return repair(spec, trace, findings, built, rerun, rootdir)
