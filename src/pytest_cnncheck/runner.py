"""Spec -> findings with verified fixes: the probe, the checks, and the repair search,
which runs the spec again on edited copies of the model. The pytest item, the Python
API and `cnncheck fix` all call `run_spec`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from . import probe
from .check.compare import check
from .findings import Finding
from .repair.verify import repair
from .spec.model import Spec
from .trace import Trace

__all__ = ["run_spec", "verify"]


def run_spec(spec: Spec, rootdir: Path, *, fixes: bool = True, factory: Callable[..., Any] | None = None,
             **settings: Any) -> tuple[Trace, list[Finding]]:
    """One spec's trace and findings; with `fixes`, each finding's fix verified on the model."""
    trace = probe.probe(spec, rootdir, factory=factory, **settings)
    findings = check(spec, trace)
    if fixes and findings:
        findings = verify(spec, trace, findings, rootdir, factory=factory, **settings)
    return trace, findings


def verify(spec: Spec, trace: Trace, findings: list[Finding], rootdir: Path, *,
           factory: Callable[..., Any] | None = None, **settings: Any) -> list[Finding]:
    """The findings with the fixes that held when applied to the model and run again."""
    settings = {key: value for key, value in settings.items()
                if key in ("default_device", "max_input_bytes")}
    settings["default_device"] = trace.device  # run again where it ran: meta, or the CPU it fell back to
    built = factory or probe.resolve_model(spec, rootdir)

    def rerun(edited: Spec, edited_factory: Callable[..., Any]) -> tuple[Trace, list[Finding]]:
        again = probe.probe(edited, rootdir, factory=edited_factory, **settings)
        return again, check(edited, again)

    return repair(spec, trace, findings, built, rerun)
