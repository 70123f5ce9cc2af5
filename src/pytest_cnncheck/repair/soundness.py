"""Whether a fix that verified is one a reviewer would accept: its arithmetic stays sound.

A candidate verifies when its finding goes and nothing new appears. That admits changes
that pass the shapes and harm the model: a stride that floors and leaves rows unread, a
pool padded into zeros, a fix that mends one fact and pushes another further from the
spec. Each rule is checked on the edited model's trace against the trace before the
change; repair/verify.py never writes a candidate that breaks one, and shows it with the
rule it breaks. The rules, with their sentences, are documented in docs/findings.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..explain.causes import describe, layer_windows, window_steps
from ..findings import Finding
from ..trace import Call, Layer, Trace

__all__ = ["Rule", "Unsound", "unsound"]

# The soundness rules, and one of the code's own terms: a literal written over an
# expression of names (repair/sourcecode.Site.frozen), refused alike.
Rule = Literal["floors", "unread", "padding", "average-padding", "window-over-padding", "further", "frozen-literal"]


@dataclass(frozen=True)
class Unsound:
    """The first rule a candidate breaks: which, where, and the arithmetic that shows it."""

    rule: Rule
    layer: str  # the layer call it breaks at; "" for a stated value
    reason: str  # "fc: stride=5 floors: (8 - 4 + 2*0) / 5 + 1 = 1.8, rounded down to 1"


def unsound(before: Trace, after: Trace, found_before: list[Finding], found_after: list[Finding]) -> Unsound | None:
    """The rule the change from `before` to `after` breaks, where it breaks one."""
    for call in after.calls:
        layer = after.layers.get(call.name)
        if layer is None or not call.finished or layer.kind not in ("conv", "pool"):
            continue
        broken = _window(layer, call, before, after)
        if broken is not None:
            return broken
    # A crash is a root: the numbers a model that raised disagrees with may follow from its
    # fix (a head widened on purpose, its count in the spec not yet), never hold it back.
    return _further(found_before, found_after) if before.crash is None else None


def _window(layer: Layer, call: Call, before: Trace, after: Trace) -> Unsound | None:
    old = before.layers.get(layer.name)
    earlier = [c for c in before.calls_of(layer.name) if c.index == call.index and c.finished]
    changed = old is None or old.hparams != layer.hparams
    old_windows = (layer_windows(old) or ()) if old is not None else ()
    was = window_steps(old, earlier[0]) if old is not None and earlier else ()
    name = describe(layer)
    for axis, step in enumerate(window_steps(layer, call)):
        window, size = step.window, step.size
        if window.out(size) is None:
            continue
        if changed and window.stride > window.span and not _read_beside(layer, call, after):
            return Unsound("unread", layer.name, (
                f"{name}: stride {window.stride} is larger than the window {window.span}, so "
                f"{window.stride - window.span} of every {window.stride} input positions along {step.axis} "
                "are never read"))
        padded = changed and window.padding > (old_windows[axis].padding if axis < len(old_windows) else 0)
        if padded and "Avg" in layer.type_name:
            return Unsound("average-padding", layer.name, (
                f"{name}: padding={window.padding} on an average pool averages zeros into every border "
                "window: its outputs are scaled down, not only resized"))
        if padded and window.padding > window.span // 2:
            return Unsound("padding", layer.name, (
                f"{name}: padding={window.padding} is more than half the window {window.span} "
                f"({window.span // 2}): border windows read more padding than input"))
        if changed and window.span > size:
            return Unsound("window-over-padding", layer.name, (
                f"{name}: the window {window.span} is larger than the input {size} along {step.axis}: "
                "every window reads padding"))
        exact_before = axis < len(was) and not was[axis].window.unread(was[axis].size)
        if window.unread(size) and (exact_before or not was and changed) and not _read_beside(layer, call, after):
            return Unsound("floors", layer.name, (
                f"{name} on input {size} along {step.axis}: {window.steps(size)}: the last "
                f"{window.unread(size)} input position(s) are never read, where the model as written "
                "reads them all"))
    return None


def _read_beside(layer: Layer, call: Call, trace: Trace) -> bool:
    """Whether what a strided window skips is read beside it: a conv or pool of the same
    block (`layer2.conv1` beside `layer2.short.0`) that takes the same input and reads every
    position of it, as a residual block's main path does for its 1x1 projection."""
    parts = layer.name.split(".")
    blocks = {".".join(parts[:cut]) + "." for cut in (len(parts) - 2, len(parts) - 1) if cut > 0}
    for other in trace.calls:
        neighbour = trace.layers.get(other.name)
        if neighbour is None or other.name == layer.name or not other.finished or other.input != call.input \
                or neighbour.kind not in ("conv", "pool") or not any(other.name.startswith(b) for b in blocks):
            continue
        steps = window_steps(neighbour, other)
        if steps and all(step.window.stride <= step.window.span and not step.window.unread(step.size)
                         for step in steps):
            return True
    return False


def _further(found_before: list[Finding], found_after: list[Finding]) -> Unsound | None:
    """A stated value the change leaves further from the spec than it was."""
    then = {f.identity: f for f in found_before}
    for finding in found_after:
        old = then.get(finding.identity)
        if old is None:
            continue
        distance_then = _distance(old.expected_value, old.actual_value)
        distance_now = _distance(finding.expected_value, finding.actual_value)
        if distance_then is not None and distance_now is not None and distance_now > distance_then:
            return Unsound("further", "", (
                f"{finding.key} moves further from the spec: expected {finding.expected}, "
                f"{old.actual} before the change, {finding.actual} after it"))
    return None


def _distance(expected: Any, actual: Any) -> int | None:
    """How far a number or a shape is from the stated one; None where they don't compare."""
    if isinstance(expected, int) and isinstance(actual, int):
        return abs(expected - actual)
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual) and \
            all(isinstance(a, int) and (e is None or isinstance(e, int)) for e, a in zip(expected, actual)):
        return int(sum(abs(e - a) for e, a in zip(expected, actual) if e is not None))
    return None
