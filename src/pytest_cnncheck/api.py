"""The Python API: the checks of a YAML spec, called from a test function.

    from pytest_cnncheck import check_architecture

    def test_lenet():
        check_architecture(Net, (1, 3, 32, 32), expect={"output": [1, 10], "params": 62006})

`expect`, `rules` and `sweep` take the structure a spec file gives under those keys,
and go through the same validation, the same probe and the same checks: a mismatch
raises :class:`ArchitectureMismatch` (an AssertionError) with the explanation a spec
item shows. Inside pytest, the `cnncheck` fixture is this function with the
project's ini settings and rootdir.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TypeGuard, Union

from .spec.model import Spec, SpecError
from .spec.parse import items_of
from .spec.source import YamlError, from_python

if TYPE_CHECKING:
    from torch import nn

    from .findings import Finding
    from .runner import Outcome
    from .trace import Trace

__all__ = ["ArchitectureMismatch", "check_architecture"]

ModelArg = Union["nn.Module", Callable[..., "nn.Module"], str]
InputSize = Union[Sequence[Union[int, str]], Sequence[Sequence[Union[int, str]]]]


class ArchitectureMismatch(AssertionError):
    """The model does not do what was expected; `str()` is the whole explanation."""

    def __init__(self, text: str, findings: list[Finding], trace: Trace | None) -> None:
        super().__init__(text)
        self.findings = findings
        self.trace = trace


def check_architecture(
    model: ModelArg,
    input_size: InputSize,
    *,
    expect: Mapping[str, Any] | None = None,
    rules: Mapping[str, Any] | None = None,
    sweep: Mapping[str, Any] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    dtype: str | Sequence[str] | None = None,
    device: str | None = None,
    mode: str = "eval",
    name: str | None = None,
    rootdir: str | os.PathLike[str] | None = None,
    default_device: str = "meta",
    max_input_bytes: int | None = None,
) -> list[Trace]:
    """Build `model`, run a dummy input of `input_size` through it, check `expect` and `rules`.

    `model` is an `nn.Module` class or a function returning one (built on meta by
    default, as in a spec), an import path `"package.module:Attr"` or
    `"path/to/file.py:Attr"` (relative to `rootdir`, default the current folder), or
    a module instance, which runs where its parameters are and is left in the
    train/eval mode it had. Returns the trace of each size checked (one without a
    `sweep`); raises :class:`ArchitectureMismatch` on any mismatch, and
    :class:`SpecError` (a ValueError) where `expect`, `rules` or `sweep` are malformed.
    """
    __tracebackhide__ = True
    from .runner import Options, run_spec  # torch is imported here

    if not isinstance(model, str) and not callable(model):
        raise TypeError(f"model must be an nn.Module, a class or function that builds one, or an "
                        f"import path 'module:Attr', not {type(model).__name__}")
    root = Path(rootdir) if rootdir is not None else Path.cwd()
    instance = model if _is_module(model) else None
    body: dict[str, Any] = {"model": model if isinstance(model, str) else "python:object",
                            "input_size": [list(s) if isinstance(s, (list, tuple)) else s
                                           for s in input_size],
                            "mode": mode}
    for key, value in (("expect", expect), ("rules", rules), ("sweep", sweep), ("kwargs", kwargs),
                       ("dtype", dtype), ("device", device)):
        if value is not None:
            body[key] = value
    label = name or _name_of(model)
    try:
        entries = items_of(root / "<python>", label, 0, from_python(body), 0)
    except YamlError as error:
        raise SpecError.at(0, f"The spec {error.message}.") from None
    problems = [problem for _, entry in entries if isinstance(entry, SpecError)
                for problem in entry.problems]
    if problems:
        raise SpecError(problems)
    factory = None if isinstance(model, str) else (lambda **_: instance) if instance is not None else model
    flags = [(module, module.training) for module in instance.modules()] if instance is not None else []
    if instance is not None and device is None:
        first = next(iter(instance.parameters()), None)
        device = first.device.type if first is not None else "cpu"
    traces: list[Trace] = []
    failures: list[str] = []
    found: list[Finding] = []
    try:
        for _, spec in entries:
            assert isinstance(spec, Spec)
            spec = replace(spec, model=label if factory is not None else spec.model,
                           device=device or spec.device)
            outcome = run_spec(spec, root, Options(default_device=default_device, max_input_bytes=max_input_bytes,
                                                   factory=factory))
            traces.extend(outcome.traces)
            if outcome.findings:
                found.extend(outcome.findings)
                failures.append(_text(outcome))
    finally:
        for module, training in flags:
            module.training = training
    if failures:
        raise ArchitectureMismatch("\n\n".join(failures), found, traces[0] if traces else None)
    return traces


def _text(outcome: Outcome) -> str:
    from .report.terminal import failure_lines

    spec, trace = outcome.shown
    return "\n".join(text for text, _ in failure_lines(spec, trace, list(outcome.findings), None, ()))


def _is_module(value: object) -> TypeGuard[nn.Module]:
    from torch import nn

    return isinstance(value, nn.Module)


def _name_of(model: Any) -> str:
    if isinstance(model, str):
        return model.rpartition(":")[2]
    target = model if not _is_module(model) else type(model)
    return str(getattr(target, "__qualname__", type(target).__name__))
