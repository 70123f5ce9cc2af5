"""Which layer call set a wrong number (a size, a channel or feature count), and the
candidate changes of its arguments that would set the wanted one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..arithmetic import Resized, Step
from ..explain import candidates, causes, clashes
from ..findings import Candidate, Fix, Hint
from ..spec.model import Number, Shape, ShapeMap, ShapeNode, Shapes, ShapeSeq
from ..trace import Call, Layer, Trace, format_shapes


@dataclass(frozen=True)
class Setter:
    """The layer call that set one wrong dimension of an output, and how to change it."""

    layer: Layer
    cause: str
    hints: tuple[Hint, ...]
    changes: tuple[Candidate, ...] = ()
    steps: tuple[Step | Resized, ...] = ()  # the window (or resize) arithmetic that gave the spatial sizes it set


def output_setters(output: Shapes, trace: Trace, kwargs: dict[str, Any],
                    produced: Any = None) -> list[Setter]:
    """For each wrong dimension of the model's output, the layer that produced that number:
    a classifier head's out_features, a conv's out_channels or output size."""
    pairs: list[tuple[Shape, Any]] = []

    def leaves(node: ShapeNode | None, actual: Any) -> None:
        if isinstance(node, Shape):
            pairs.append((node, actual))
        elif isinstance(node, ShapeSeq) and isinstance(actual, list) and len(actual) == len(node.items):
            for item, one in zip(node.items, actual):
                leaves(item, one)
        elif isinstance(node, ShapeMap) and isinstance(actual, dict):
            for key, item in node.items:
                leaves(item, actual.get(key))

    leaves(output.root, trace.output if produced is None else produced)
    # Each wrong dimension's setter; a layer that set several is fixed for all at once, and
    # a layer whose output reaches several outputs (a backbone before a dict of heads) is
    # named once, not once per output.
    groups: dict[tuple[str, int], tuple[Call, dict[int, int]]] = {}
    for shape, actual in pairs:
        if shape.matches(actual) or not isinstance(actual, tuple) or len(actual) != len(shape.dims):
            continue
        for axis, (dim, value) in enumerate(zip(shape.dims, actual)):
            if dim is None or dim.value == value or axis == 0:
                continue  # the batch is the input's; dimension 0 is explained elsewhere
            call = _setter_call(trace, actual, axis)
            if call is not None:
                groups.setdefault((call.name, call.index), (call, {}))[1].setdefault(axis, dim.value)
    return [_setter(trace, call, wanted) for call, wanted in groups.values()]


def _setter_call(trace: Trace, produced: tuple[int, ...], axis: int) -> Call | None:
    """The last layer call, going back from the one that produced `produced`, that changed
    dimension `axis` to its value: through activations and other layers that keep it."""
    leaves = [call for call in trace.calls if call.finished and call.name
              and trace.layers[call.name].leaf and isinstance(call.output, tuple)]
    ends = [i for i, call in enumerate(leaves) if call.output == produced]
    if not ends:
        return None
    value = produced[axis]
    for call in reversed(leaves[:ends[-1] + 1]):
        out, received = call.output, call.input
        assert isinstance(out, tuple)
        if len(out) != len(produced) or out[axis] != value:
            return None  # the trail went cold: a reshape we did not see
        kind = trace.layers[call.name].kind
        sets_count = (kind in ("conv", "conv_transpose") and axis == 1) or (
            kind == "linear" and axis == len(out) - 1)  # out_channels, out_features: always its own
        if sets_count or not isinstance(received, tuple) or len(received) != len(out) \
                or received[axis] != value:
            return call
    return None


def _setter(trace: Trace, call: Call, wanted: dict[int, int]) -> Setter:
    """What set these dimensions of `call`'s output, and the fix that makes them `wanted`."""
    layer = trace.layers[call.name]
    out = call.output
    assert isinstance(out, tuple)

    def named(axis: int) -> str:
        if axis >= 2:
            return causes.spatial_names(len(out) - 2)[axis - 2]
        return "features" if layer.kind == "linear" else "channels"

    said = ", ".join(f"{named(axis)} {out[axis]} (dimension {axis})" for axis in wanted)
    verb = "come" if len(wanted) > 1 else "comes"
    cause = f"{said} {verb} from {causes.describe(layer)}{causes.which_call(call, trace)}"
    expected = tuple(wanted.get(i, v) for i, v in enumerate(out))
    hints, changes = layer_fix_lines(layer, call, Shape(tuple(Number(v, str(v)) for v in expected), 0))
    if layer.kind == "conv_transpose" and any(axis >= 2 for axis in wanted):
        together = _upsampling(trace, call)
        if len(together) > 1:  # each transposed conv short of its stride: all of them, first
            changes = [together, *changes]
    if not hints and not changes:
        hints = [Hint.none(f"{layer.name} ({layer.type_name}) has no argument cnncheck can solve for "
                           f"{', '.join(str(v) for v in wanted.values())}: change what it is made with, or the spec")]
    spatial = {named(axis) for axis in wanted if axis >= 2}
    steps = tuple(step for step in causes.size_steps(layer, call) if step.axis in spatial)
    return Setter(layer, cause, tuple(hints), tuple(changes), steps)


def _upsampling(trace: Trace, last: Call) -> Candidate:
    """The `output_padding` that makes each transposed conv up to `last` give exactly its
    input times its stride, for those that give less now: the usual decoder's intent."""
    found: dict[str, Fix] = {}
    for call in trace.calls[:trace.calls.index(last) + 1]:
        layer = trace.layers.get(call.name)
        if layer is None or layer.kind != "conv_transpose" or call.name in found or not call.finished:
            continue
        received, produced, dims = call.input, call.output, layer.hparams["dims"]
        if not isinstance(received, tuple) or not isinstance(produced, tuple):
            continue
        strides = layer.hparams["stride"]
        wanted = {axis: received[-dims + axis] * strides[axis] for axis in range(dims)}
        if all(produced[-dims + axis] == size for axis, size in wanted.items()):
            continue
        fix = next((f for f in candidates.size_fixes(layer, call, wanted, causes.spatial_names(dims), limit=8)
                    if [argument for argument, _ in f.args] == ["output_padding"]), None)
        if fix is not None:
            found[call.name] = fix
    return tuple(found.values())


def setter_of(trace: Trace, produced: tuple[int, ...], axis: int, wanted: int) -> Setter | None:
    """The layer that set dimension `axis` of `produced`, with the fix that makes it `wanted`."""
    call = _setter_call(trace, produced, axis)
    return _setter(trace, call, {axis: wanted}) if call is not None else None


def batch_lines(output: Shapes, trace: Trace) -> tuple[list[str], list[Hint], tuple[str, ...]]:
    """Where the output's first dimension is wrong: the view that stopped it being the batch."""
    if not isinstance(output.root, Shape) or not isinstance(trace.output, tuple) or not trace.reshapes:
        return [], [], ()
    first = output.root.dims[0] if output.root.dims else None
    if first is None or first.value == trace.output[0]:
        return [], [], ()
    return clashes.batch_lines(trace.reshapes[0], trace)


def layer_fix_lines(layer: Layer, call: Call, expected: Shape) -> tuple[list[Hint], list[Candidate]]:
    """What to change in `layer` so that this call gives `expected`: the arguments that set
    the wrong dimensions, each checked with the layer's own arithmetic (candidates for
    repair/verify.py); and a sentence where no argument does."""
    actual = call.output
    if not isinstance(actual, tuple) or len(actual) != len(expected.dims):
        return [], []
    wrong = [i for i, (dim, value) in enumerate(zip(expected.dims, actual))
             if dim is not None and dim.value != value]
    lines: list[Hint] = []
    changes: list[Candidate] = []
    channel = len(actual) - 1 if layer.kind == "linear" else 1
    if channel in wrong and layer.kind in ("linear", "conv", "conv_transpose"):
        dim = expected.dims[channel]
        assert dim is not None
        fix = candidates.channel_fix(layer, dim.value)
        if fix is not None:
            changes.append((fix,))
        wrong.remove(channel)
    dims = layer.hparams.get("dims", 0)
    spatial = {i - (len(actual) - dims): expected.dims[i].value for i in wrong  # type: ignore[union-attr]
               if layer.kind in ("conv", "conv_transpose", "pool") and i >= len(actual) - dims}
    if spatial:
        found = candidates.size_fixes(layer, call, spatial, causes.spatial_names(dims))
        if found:
            # With a channel fix as well, both are needed: each size fix joins it.
            changes = [(*changes[0], fix) for fix in found] if changes else [(fix,) for fix in found]
        else:
            lines.append(Hint.none(
                f"no change of one argument of {layer.name} gives "
                f"{', '.join(f'{causes.spatial_names(dims)[a]}={v}' for a, v in spatial.items())} "
                f"from input {format_shapes(call.input)}: the layers before it set what reaches it"))
    return lines, changes
