"""Clashes between tensors, explained from where each came from (Trace.clash, .reshapes).

* `out + x` whose shortcut lacks its downsample: the two operands, the layer behind
  each, the layer where the two paths parted with its arithmetic, and the projection
  that makes the shortcut match;
* `torch.cat([up, skip])` 96 against 97: where pooling floored, the input sizes for
  which both paths agree, or the crop that makes them;
* `x @ w`, `F.linear`: the inner sizes and where each came from;
* `x.view(-1, 400)` that cannot take the tensor, and a view that silently turned a
  batch of 4 into 8 rows.

Each fix is checked with the same size arithmetic before it is printed. Pure: no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import ops
from ..arithmetic import Arithmetic, Flattened, Operands, product_text
from ..findings import Fix, Hint
from ..resize import resizes
from ..trace import Call, Clash, Layer, Operand, Reshape, Step, Trace, format_shapes
from .candidates import channel_fix, constructor, out_size, size_fixes, size_line
from .causes import RESIZING, describe, size_arithmetic, size_steps, spatial_names, written_as

__all__ = ["Explained", "batch_lines", "explain_clash", "input_candidates", "is_shape_clash"]

_VERBS = {"add": "adds", "sub": "subtracts", "mul": "multiplies", "div": "divides", "cat": "joins",
          "stack": "stacks", "matmul": "multiplies", "linear": "multiplies"}


@dataclass(frozen=True)
class Explained:
    brief: str  # "layer2: `add` adds [1, 128, 16, 16] and [1, 64, 32, 32]", "`cat` joins ..."
    lines: tuple[str, ...]  # the cause: operands, where each came from, where they parted
    hints: tuple[Hint, ...]
    layers: tuple[str, ...]  # the layers the lines name (their definition lines are shown)
    # Changes of the layer where the paths parted that make it give the other's shape:
    # candidates, which repair/verify.py tries on the model before one is shown.
    changes: tuple[tuple[Fix, ...], ...] = ()
    steps: tuple[Arithmetic, ...] = ()  # the cause's arithmetic: the operands, the parting window


def is_shape_clash(clash: Clash | None) -> bool:
    """Whether the operands' shapes themselves can't go together, by our own rules (so the
    crash is the same on every device, and meta's word for it can be explained)."""
    if clash is None or not clash.operands:
        return False
    shapes = [operand.shape for operand in clash.operands]
    if clash.op in ops.JOIN:
        dim = clash.dim or 0
        if clash.op == "stack":
            return len(set(shapes)) > 1
        if len({len(s) for s in shapes}) > 1:
            return True
        rank = len(shapes[0])
        axis = dim % rank if rank else 0
        return any(a[i] != b[i] for a, b in zip(shapes, shapes[1:]) for i in range(rank) if i != axis)
    if clash.op in ("matmul", "mm", "bmm", "linear") and len(shapes) >= 2:
        a, b = shapes[0], shapes[1]
        if clash.op == "linear":  # x [..., k] with weight [n, k]
            return bool(a and b and a[-1] != b[-1])
        return bool(a and b and a[-1] != (b[-2] if len(b) >= 2 else b[0]))
    if clash.op in ("view", "reshape") and clash.target and len(shapes) == 1:
        numel, target = math.prod(shapes[0]), clash.target
        known = math.prod(s for s in target if s != -1)
        return numel % known != 0 if -1 in target else numel != known
    if len(shapes) >= 2:  # elementwise: broadcasting, right-aligned
        a, b = shapes[0], shapes[1]
        return any(x != y and x != 1 and y != 1 for x, y in zip(reversed(a), reversed(b)))
    return False


def explain_clash(trace: Trace) -> Explained | None:
    clash = trace.clash
    if not is_shape_clash(clash):
        return None
    assert clash is not None
    if clash.op in ("view", "reshape"):
        return _view(trace, clash)
    a, b = clash.operands[0], clash.operands[1]
    inside = f"{clash.layer}: " if clash.layer else ""
    verb = _VERBS.get(clash.op, clash.op)
    steps: list[Arithmetic] = []
    if clash.op in ("matmul", "mm", "bmm", "linear"):
        inner = (a.shape[-1], b.shape[-1] if clash.op == "linear" else b.shape[-2 if len(b.shape) > 1 else 0])
        brief = (f"{inside}`{clash.op}` {verb} {format_shapes(a.shape)} by {format_shapes(b.shape)}: "
                 f"the inner sizes {inner[0]} and {inner[1]} differ")
    else:
        joins = clash.op in ("cat", "concat", "concatenate", "stack")
        operands = Operands(clash.op, str(clash.layer), (a.shape, b.shape), (clash.dim or 0) if joins else None)
        steps.append(operands)
        brief = (f"{inside}`{clash.op}` {verb} {format_shapes(a.shape)} and {format_shapes(b.shape)} "
                 f"along dimension {clash.dim or 0}: {operands.text()}" if joins else
                 f"{inside}`{clash.op}` {verb} {format_shapes(a.shape)} and {format_shapes(b.shape)}: "
                 f"{operands.text()}")
    lines = [f"at {clash.where}"] if clash.where else []
    named: list[str] = []
    for operand in (a, b):
        source, origin = _source(operand, clash, trace)
        lines.append(f"{format_shapes(operand.shape)} comes from {source}")
        named += [origin] if origin else []
    parted = _parting(a, b) or _parting(b, a)
    fix: list[Hint] = []
    changes: list[tuple[Fix, ...]] = []
    if parted is not None:
        step, other = parted
        parter = trace.layers.get(step.layer.name)
        lines.append(f"the two parted at {_step_text(step, trace)} on input {format_shapes(step.input)}, "
                     f"where the other stays {format_shapes(other.shape)}:")
        lines += [f"  {line}" for line in _step_arithmetic(step, parter)]
        if parter is not None:
            steps += size_steps(parter, Call(parter.name, step.layer.index, 0, (step.input,),
                                             step.output, True))
        resized = _resized_after(step, b if other is a else a, other.shape, trace)
        for later, layer, call in resized:
            lines.append(f"then {describe(layer)} on input {format_shapes(later.input)}:")
            lines += [f"  {line}" for line in size_arithmetic(layer, call)]
            steps += size_steps(layer, call)
            named.append(layer.name)
        if parter is not None:
            named.append(parter.name)
            if not _is_input_of(other, clash, trace):
                # An identity shortcut wants a projection (a suggestion, below); a shortcut
                # with its own layers says the main path is what went wrong.
                changes = _parter_changes(step, parter, other.shape)
        resizing = _resize_changes(resized, other.shape)
        changes = resizing + changes
        if resized and not resizing and resized[-1][1].kind == "resize":
            # no whole scale gives it (an odd size floored on the way down): a size that
            # follows the other operand does, at every input
            _, layer, _ = resized[-1]
            fix.append(Hint.suggest(f"size= the other operand's `.shape[2:]` in place of {layer.name}'s "
                                    f"scale_factor: `{layer.call}(x, size=skip.shape[2:])` gives "
                                    f"{format_shapes(other.shape[2:])} here and the skip's size at every input",
                                    layer=layer.name))
    changes += _kept_size_changes(clash, a, b, trace) if parted is None else []
    if clash.op in ("add", "sub", "mul", "div") and parted is not None:
        fix += _projection(*parted)
    if clash.op in ("cat", "concat", "concatenate") and clash.dim is not None:
        fix += _join_sizes(a, b, clash.dim, trace)
    if clash.op in ("matmul", "mm", "bmm"):
        changes += _inner_fix(a, b, trace)
    if not fix and not changes:
        fix.append(Hint.none("no change cnncheck can check makes these two fit: make the two paths give "
                             "the same sizes (the lines above say where they part)"))
    return Explained(brief, tuple(lines), tuple(fix), tuple(dict.fromkeys(named)), tuple(changes),
                     tuple(steps))


def _resized_after(parting: Step, operand: Operand, wanted: tuple[int, ...],
                   trace: Trace) -> list[tuple[Step, Layer, Call]]:
    """The steps on `operand`'s path after the parting one that resized its map (an
    interpolate, a pad, a pixel shuffle), oldest first: the sizes a person follows on from
    where the paths parted."""
    found = []
    for later in reversed(operand.path[:operand.path.index(parting)] if parting in operand.path else ()):
        layer = trace.layers.get(later.layer.name)
        if layer is not None and layer.kind in RESIZING and later.input[2:] != later.output[2:] \
                and len(later.input) == len(wanted):
            found.append((later, layer, Call(layer.name, later.layer.index, 0, (later.input,), later.output,
                                             True)))
    return found


def _resize_changes(resized: list[tuple[Step, Layer, Call]], wanted: tuple[int, ...]) -> list[tuple[Fix, ...]]:
    """The last resize on the path, made to give the other operand's sizes."""
    if not resized:
        return []
    _, layer, call = resized[-1]
    dims = layer.hparams.get("dims", 0)
    spatial = {axis: wanted[-dims + axis] for axis in range(dims)}
    return [(fix,) for fix in size_fixes(layer, call, spatial, spatial_names(dims))]


def _parter_changes(step: Step, layer: Layer, wanted: tuple[int, ...]) -> list[tuple[Fix, ...]]:
    """The layer where the paths parted, changed to give the other path's shape: its
    channels, and its spatial sizes solved with its own formula (stride=1 for the second
    conv of a block that should not downsample)."""
    if layer.kind not in ("conv", "conv_transpose", "pool", *RESIZING) or len(wanted) != len(step.output) < 3:
        return []
    if len(wanted) < 3 or len(wanted) != len(step.output):
        return []
    dims = layer.hparams.get("dims", 0)
    call = Call(layer.name, 0, 0, (step.input,), step.output, True)
    channel = channel_fix(layer, wanted[1]) if wanted[1] != step.output[1] and layer.kind != "pool" else None
    spatial = {axis: wanted[-dims + axis] for axis in range(dims) if wanted[-dims + axis] != step.output[-dims + axis]}
    if not spatial:
        return [(channel,)] if channel is not None else []
    names = ("L",) if dims == 1 else ("H", "W") if dims == 2 else ("D", "H", "W")
    return [((channel, fix) if channel is not None else (fix,)) for fix in size_fixes(layer, call, spatial, names)]


def _kept_size_changes(clash: Clash, a: Operand, b: Operand, trace: Trace) -> list[tuple[Fix, ...]]:
    """Where an add or a cat meets two paths that both changed their channels and only one
    its spatial size: the first (then the last) conv or pool of the other, which kept its
    input's size, made to give that size (a shortcut's 1x1 conv that lost its
    `stride=stride`, a block's first conv its stride)."""
    changes: list[tuple[Fix, ...]] = []
    if clash.op not in ("add", "sub", "mul", "div", "cat", "concat", "concatenate", "stack"):
        return changes
    for x, y in ((a, b), (b, a)):
        if len(x.shape) != len(y.shape) or len(x.shape) < 3 or x.shape[2:] == y.shape[2:]:
            continue
        kept: list[tuple[Step, Layer]] = []  # the path's convs and pools, newest first
        shared = {id(step) for step in y.path}  # where the two paths are one: before they parted
        for step in x.path:
            layer = trace.layers.get(step.layer.name)
            if id(step) in shared:
                break
            if layer is None or len(step.input) != len(x.shape) or len(step.output) != len(x.shape) \
                    or step.input[2:] != step.output[2:]:
                break  # past the path's start, or a path that resized: not the one that kept its size
            if layer.kind in ("conv", "pool") and step.op in (*ops.WINDOWED, layer.name.rsplit(".", 1)[-1]):
                kept.append((step, layer))
        # The first of them (where a block downsamples), then the last.
        for step, layer in kept[-1:] + kept[:1] if len(kept) > 1 else kept:
            dims = layer.hparams.get("dims", 0)
            call = Call(layer.name, step.layer.index, 0, (step.input,), step.output, True)
            wanted = {axis: y.shape[-dims + axis] for axis in range(dims)}
            changes += [(fix,) for fix in size_fixes(layer, call, wanted, spatial_names(dims))]
    return changes


def _source(operand: Operand, clash: Clash, trace: Trace) -> tuple[str, str]:
    """Where a tensor came from, in words, and the layer to name (or "")."""
    if not operand.path:
        return "the model's input", ""
    step = operand.path[0]
    shortcut = f", which is {clash.layer}'s input (the shortcut)" if _is_input_of(operand, clash, trace) else ""
    if step.layer and step.layer != clash.layer:
        layer = trace.layers.get(step.layer.name)
        kind = f" ({written_as(layer)})" if layer is not None else ""
        return f"{step.layer}{kind}{shortcut}", step.layer.name
    owner = next((s for s in operand.path if s.layer and s.layer != clash.layer), None)
    if owner is not None:
        return f"{step.op} of {owner.layer}'s output{shortcut}", owner.layer.name
    return f"{step.op} in {clash.layer or 'forward'}{shortcut}", ""


def _is_input_of(operand: Operand, clash: Clash, trace: Trace) -> bool:
    if not clash.layer:
        return False
    calls = [call for call in trace.calls if not call.finished and call.name == clash.layer.name]
    return bool(calls) and calls[-1].input == operand.shape


def _parting(x: Operand, y: Operand) -> tuple[Step, Operand] | None:
    """The newest step on x's path that took a tensor of y's shape and made another: where
    the two paths' sizes parted."""
    for step in x.path:
        if step.input == y.shape and step.output != y.shape:
            return step, y
    return None


def _step_text(step: Step, trace: Trace) -> str:
    layer = trace.layers.get(step.layer.name)
    if layer is not None and layer.kind in ("conv", "conv_transpose", "pool", "linear", *RESIZING):
        return describe(layer) + (f" (call {step.layer.index + 1})" if step.layer.index else "")
    return f"{step.op} in {step.layer}" if step.layer else step.op


def _step_arithmetic(step: Step, layer: Layer | None) -> list[str]:
    lines = []
    if len(step.input) == len(step.output) >= 2 and step.input[1] != step.output[1]:
        lines.append(f"channels: {step.input[1]} -> {step.output[1]}")
    if layer is not None:
        call = Call(layer.name, 0, 0, (step.input,), step.output, True)
        lines += size_arithmetic(layer, call)
    return lines


def _projection(step: Step, shortcut: Operand) -> list[Hint]:
    """The 1x1 conv (and BatchNorm) that takes the shortcut to the other path's shape, its
    stride found and checked with the size formula."""
    src, dst = shortcut.shape, step.output
    if len(src) != len(dst) or len(src) < 3:
        return []
    dims = len(src) - 2
    conv = Layer("shortcut", f"Conv{dims}d", "torch.nn", "conv", {
        "in_channels": src[1], "out_channels": dst[1], "kernel_size": (1,) * dims, "stride": (1,) * dims,
        "padding": (0,) * dims, "dilation": (1,) * dims, "groups": 1, "bias": False, "dims": dims}, 0, (), True)
    names = ("L",) if dims == 1 else ("H", "W") if dims == 2 else ("D", "H", "W")
    for stride in range(1, 9):
        change = {"stride": (stride,) * dims}
        if all(out_size(conv, src[2 + axis], axis, **change) == dst[2 + axis] for axis in range(dims)):
            arithmetic = tuple(size_line(conv, src[2 + axis], axis, names[axis], **change) for axis in range(dims))
            stride_text = f", stride={stride}" if stride != 1 else ""
            return [Hint.suggest(f"a projection on the shortcut, as ResNet's downsample: nn.Sequential("
                                 f"nn.Conv{dims}d({src[1]}, {dst[1]}, kernel_size=1{stride_text}, bias=False), "
                                 f"nn.BatchNorm{dims}d({dst[1]})) turns {format_shapes(src)} into "
                                 f"{format_shapes(dst)}:", lines=arithmetic)]
    return []


def _inner_fix(a: Operand, b: Operand, trace: Trace) -> list[tuple[Fix, ...]]:
    """A matmul's inner sizes, each set by a Linear's out_features: that Linear made to give
    the other's size (the inner size is the Linear's out_features, checked)."""
    inner = {0: a.shape[-1], 1: b.shape[-2] if len(b.shape) > 1 else b.shape[0]}
    fix: list[tuple[Fix, ...]] = []
    for index, operand in enumerate((a, b)):
        other = inner[1 - index]
        owner = next((s for s in operand.path if s.layer), None)
        layer = trace.layers.get(owner.layer.name) if owner is not None else None
        if layer is not None and layer.kind == "linear" and layer.hparams["out_features"] == inner[index]:
            found = channel_fix(layer, other)
            if found is not None:
                fix.append((found,))
    return fix


def _simulate(steps: list[Step], size: int, axis: int, trace: Trace) -> int | None:
    """Size `size` of spatial `axis` taken through `steps` (oldest first) with each layer's
    own formula; None where a step's arithmetic is not known."""
    for step in steps:
        if len(step.input) < 3 or len(step.output) != len(step.input):
            return None
        layer = trace.layers.get(step.layer.name)
        if layer is not None and layer.kind in RESIZING:  # an interpolate, a pad: resize.py's formula
            found = resizes(layer.kind, layer.hparams, len(step.input) - 2)
            resized = found[axis].out(size) if found is not None and axis < len(found) else None
            if resized is None:
                return None
            size = resized
            continue
        # The layer's own computation: its op, or (on meta, by formula) the layer call itself.
        own = layer is not None and layer.kind in ("conv", "conv_transpose", "pool") and (
            step.op in ops.WINDOWED or step.op == layer.name.rsplit(".", 1)[-1])
        if not own and step.input[2 + axis] == step.output[2 + axis]:
            continue  # keeps the size: an activation, a norm, an elementwise op
        if not own or layer is None or layer.hparams.get("padding") == "same":
            return None
        result = out_size(layer, size, axis)
        if result is None:
            return None
        size = result
    return size


def input_candidates(trace: Trace, limit: int = 40) -> list[tuple[int, ...]]:
    """For a cat whose paths parted: model input shapes near the spec's for which both
    paths give the same size by their layers' arithmetic, nearest first. Only candidates:
    the probe runs the whole model at each and keeps those that run (Trace.fitting_inputs)."""
    clash = trace.clash
    if not is_shape_clash(clash) or clash is None or clash.op not in ("cat", "concat", "concatenate") \
            or len(clash.operands) < 2:
        return []
    a, b = clash.operands[0], clash.operands[1]
    rank = len(a.shape)
    if len(b.shape) != rank or rank < 3 or not a.path or not b.path or a.path[-1].input != b.path[-1].input:
        return []
    start = a.path[-1].input  # both paths begin at the same tensor: the model's input
    per_axis: list[list[int]] = []
    for axis in range(rank - 2):
        here = start[2 + axis]
        if a.shape[2 + axis] == b.shape[2 + axis]:
            per_axis.append([here])
            continue
        near = [size for size in sorted(range(max(1, here - 64), here + 65), key=lambda s: (abs(s - here), s))
                if (got := _simulate(list(reversed(a.path)), size, axis, trace)) is not None
                and got == _simulate(list(reversed(b.path)), size, axis, trace)]
        if not near:
            return []
        per_axis.append(near)
    # One size for all the axes that must change (square inputs stay square), nearest first.
    changing = [axis for axis in range(rank - 2) if len(per_axis[axis]) > 1 or per_axis[axis][0] != start[2 + axis]]
    shared = [size for size in per_axis[changing[0]] if all(size in per_axis[axis] for axis in changing)] \
        if changing else []
    return [start[:2] + tuple(size if axis in changing else start[2 + axis] for axis in range(rank - 2))
            for size in shared][:limit]


def _join_sizes(a: Operand, b: Operand, dim: int, trace: Trace) -> list[Hint]:
    """For a cat whose other dimensions differ: the model input sizes near this one that run,
    each run through the whole model; and the crop that makes them fit whatever the input."""
    fix: list[Hint] = []
    if trace.fitting_inputs:
        shown = " or ".join(format_shapes(size) for size in trace.fitting_inputs)
        fix.append(Hint.spec(f"an input of {shown} (the nearest that run, each run through the whole "
                             "model; `cnncheck sizes` names every size that does)"))
    smaller = a.shape if math.prod(a.shape) <= math.prod(b.shape) else b.shape
    crop = ", ".join(f":{size}" for size in smaller[2:])
    if len(smaller) > 2:
        fix.append(Hint.suggest(f"crop the larger one to {format_shapes(smaller[2:])} before this cat, "
                                f"`t[..., {crop}]` (and so at every cat whose sizes differ)", alternative=bool(fix)))
    return fix


def _view(trace: Trace, clash: Clash) -> Explained:
    shape = clash.operands[0].shape
    target = clash.target
    known = math.prod(s for s in target if s != -1)
    asked = ", ".join(map(str, target))
    brief = f"{f'{clash.layer}: ' if clash.layer else ''}`{clash.op}({asked})` cannot take {format_shapes(shape)}"
    lines = [f"at {clash.where}"] if clash.where else []
    lines.append(f"{format_shapes(shape)} holds {product_text(shape, 0)} values, which "
                 + (f"is not a multiple of {known}" if -1 in target else f"is not {known}"))
    source, layer = _source(clash.operands[0], clash, trace)
    lines.append(f"{format_shapes(shape)} comes from {source}")
    features = math.prod(shape[1:])
    fix = [Hint.suggest(f"torch.flatten(x, 1) keeps the batch: {format_shapes((shape[0], features))}, "
                        f"{product_text(shape)} features a sample; the layer after it takes in_features={features}")]
    # The Linear written for the rows the view asked for (the tutorial's 16 * 5 * 5), where
    # one is: the flatten and that Linear taking what it gives, as one candidate.
    takers = [one for one in trace.layers.values() if one.kind == "linear" and len(target) == 2
              and one.hparams["in_features"] == target[1]] if len(shape) > 2 else []
    changes: tuple[tuple[Fix, ...], ...] = ()
    if len(takers) == 1:
        taker = takers[0]
        flatten = Fix(f".flatten(1) for .{clash.op}({asked})", "x.flatten(1)",
                      (Flattened(taker.name, 0, shape).text(),), "", at_call="{}.flatten(1)", callee=clash.op,
                      whole=True)
        takes = Fix(f"in_features={features}", constructor(taker, {"in_features": features}), (), taker.name,
                    (("in_features", features),), (("in_features", " * ".join(map(str, shape[1:]))),))
        changes = ((flatten, takes),)
    return Explained(brief, tuple(lines), tuple(fix), (layer,) if layer else (), changes)


def batch_lines(reshape: Reshape, trace: Trace) -> tuple[list[str], list[Hint], tuple[str, ...]]:
    """A view that turned a batch of N into M rows: (the cause, the fix, the layers named)."""
    before, after = reshape.input, reshape.output
    rows, per = after[0], math.prod(after[1:])
    lines = [f"{reshape.op} at {reshape.where or 'forward'} turned {format_shapes(before)} into "
             f"{format_shapes(after)}: {'*'.join(map(str, before))} = {math.prod(before):,} = "
             f"{rows} rows of {per:,}, not {before[0]} samples: values of different samples share a row",
             f"dimension 0 stopped being the batch there; the layers after it see {rows} samples"]
    features = math.prod(before[1:])
    consumer = next((call for call in trace.calls if call.finished and call.input == after
                     and call.name and trace.layers[call.name].kind == "linear"), None)
    then: tuple[str, ...] = ()
    named: tuple[str, ...] = ()
    if consumer is not None:
        layer = trace.layers[consumer.name]
        bias = "" if layer.hparams["bias"] else ", bias=False"
        then = (f"then {layer.name} takes in_features={features}: "
                f"nn.Linear({'*'.join(map(str, before[1:]))}, {layer.hparams['out_features']}{bias})",)
        named = (layer.name,)
    fix = [Hint.suggest(f"torch.flatten(x, 1) (or x.view(x.size(0), -1)) keeps the batch: "
                        f"{format_shapes((before[0], features))}, {product_text(before)} features a sample",
                        lines=then)]
    return lines, fix, named
