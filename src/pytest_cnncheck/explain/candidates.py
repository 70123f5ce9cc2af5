"""Checked fixes: what to change so that a number comes out as the spec expects.

Each fix is found by solving the layer's own arithmetic for one of its arguments
(padding, stride, kernel, ceil_mode, output_padding, out_channels, ...) and is only
offered after the same formula, run forward with the new value, gives the expected
number; the arithmetic printed with it is that run. Candidates come smallest change
first: padding before ceil_mode and output_padding, before stride, before the kernel.

Pure functions over Layer records and recorded shapes: no torch.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Iterable

from ..arithmetic import Counted, Flattened, product_text
from ..findings import Fix, Hint
from ..resize import resizes
from ..trace import Call, Layer, LayerKind, Trace, format_shapes
from ..window import Window, windows
from .causes import (
    BATCH_NORM_RANKS,
    RESIZING,
    Cause,
    channels_maker,
    crash_reason,
    describe,
    flatten_source,
    joined_parts,
    one,
    spatial_names,
    takes_ranks,
)

__all__ = ["channel_fix", "constructor", "layer_params", "out_size", "params_difference",
           "params_fixes", "size_fixes", "size_line", "crash_fix"]

# How far a search for a new argument looks: far enough for every usual fix, short
# enough that a fix found is a change a person would make.
_SEARCH = 8


def _window(layer: Layer, axis: int, change: dict[str, Any]) -> Window:
    h = {**layer.hparams, **change}
    found = windows({**h, "padding": 0 if h["padding"] in ("same", "valid") else h["padding"]},
                    transposed=layer.kind == "conv_transpose")
    assert found is not None
    return found[axis]


def out_size(layer: Layer, size: int, axis: int, **change: Any) -> int | None:
    """The output size along spatial `axis` for an input of `size`, as torch computes it,
    with the layer's arguments (or those in `change`); None where the window doesn't fit."""
    return _window(layer, axis, change).out(size)


def size_line(layer: Layer, size: int, axis: int, name: str, **change: Any) -> str:
    """`H: (48 - 3 + 2*1) / 1 + 1 = 48`: the formula with these arguments, for one dimension,
    in the words of the explanations (causes.py)."""
    return f"{name}: {_window(layer, axis, change).steps(size)}"


def _at(value: Any, axis: int) -> int:
    return int(value[axis]) if isinstance(value, tuple) else int(value)


def size_fixes(layer: Layer, call: Call, wanted: dict[int, int], names: tuple[str, ...],
               limit: int = 3) -> list[Fix]:
    """Changes of one argument of `layer` that make this call's output `wanted` along the
    spatial axes it names ({axis: size}), every other axis staying as it is."""
    if layer.kind in RESIZING:
        found = _resize_fix(layer, call, wanted, names)
        return [found] if found is not None else []
    if layer.kind not in ("conv", "conv_transpose", "pool") or layer.hparams.get("padding") == "same":
        return []
    dims = layer.hparams["dims"]
    received, produced = call.input, call.output
    if not isinstance(received, tuple) or len(received) < dims + 1:
        return []
    sizes = received[-dims:]
    now = produced[-dims:] if isinstance(produced, tuple) and len(produced) >= dims else None
    target = [wanted.get(axis, now[axis] if now else -1) for axis in range(dims)]
    h = {**layer.hparams, "padding": (0,) * dims if layer.hparams["padding"] == "valid"
         else layer.hparams["padding"]}
    fixes: list[Fix] = []
    for argument, values in _candidates(layer):
        if argument == "ceil_mode":
            change: dict[str, Any] = {"ceil_mode": not h.get("ceil_mode", False)}
            shown: Any = change["ceil_mode"]
        else:
            current = h[argument]
            chosen = []
            field = "kernel" if argument == "kernel_size" else argument  # the Window's name for it
            for axis in range(dims):
                fits = [v for v in _window(layer, axis, {}).solve(sizes[axis], target[axis], field, values)
                        if _allowed(layer, argument, v, axis)]
                if not fits:
                    break
                chosen.append(fits[0])
            else:
                if tuple(chosen) == current:
                    continue
                change = {argument: tuple(chosen)}
                shown = chosen[0] if len(set(chosen)) == 1 else tuple(chosen)
            if len(chosen) != dims:
                continue
        # The check: the same formula, run forward with the change, gives what is wanted.
        if all(out_size(layer, sizes[axis], axis, **change) == target[axis] for axis in range(dims)):
            lines = tuple(size_line(layer, sizes[axis], axis, names[axis], **change) for axis in range(dims))
            fixes.append(Fix(f"{argument}={shown}", constructor(layer, change), lines, layer.name,
                             tuple(change.items())))
        if len(fixes) >= limit:
            break
    return fixes


def _resize_fix(layer: Layer, call: Call, wanted: dict[int, int], names: tuple[str, ...]) -> Fix | None:
    """An interpolate's scale_factor (or size) or a pad's amounts that make this call's
    output `wanted` on the axes it names, solved with resize.py's formula and checked with it."""
    dims = layer.hparams.get("dims", 0)
    received, produced = call.input, call.output
    found = resizes(layer.kind, layer.hparams, dims)
    if found is None or not isinstance(received, tuple) or not isinstance(produced, tuple) \
            or len(received) < dims + 1 or len(produced) < dims + 1:
        return None
    sizes, now = received[-dims:], produced[-dims:]
    target = [wanted.get(axis, now[axis]) for axis in range(dims)]
    solved = [resize if resize.out(size) == goal else resize.solve(size, goal)
              for resize, size, goal in zip(found, sizes, target)]
    if any(r is None or r.out(size) != goal for r, size, goal in zip(solved, sizes, target)):
        return None
    new = [r for r in solved if r is not None]
    value: Any
    if layer.kind == "pad":
        pad = list(layer.hparams["pad"])
        for k, r in zip(reversed(range(dims)), new):
            pad[2 * k + 1: 2 * k + 2] = [r.after] if 2 * k + 1 < len(pad) else []
        argument, shown = "pad", str(tuple(pad))
        value = tuple(pad)
    elif all(r.how == "scale" for r in new):
        scales = tuple(int(r.scale) if r.scale.is_integer() else r.scale for r in new)
        value = scales[0] if len(set(scales)) == 1 else scales
        argument, shown = "scale_factor", str(value)
    elif all(r.how == "size" for r in new):
        argument, value = "size", tuple(r.size for r in new)
        shown = str(value)
    else:
        return None
    if layer.hparams.get(argument) == value:
        return None
    lines = tuple(f"{name}: {r.steps(size)}" for name, r, size in zip(names, new, sizes))
    return Fix(f"{argument}={shown}", f"{layer.call}(x, {argument}={shown})", lines, layer.name, ((argument, value),))


def _candidates(layer: Layer) -> Iterable[tuple[str, list[Any]]]:
    """The arguments to try, in the order a person would change them."""
    h = layer.hparams
    biggest_kernel = max(h["kernel_size"])
    yield "padding", list(range(0, biggest_kernel * max(h["dilation"]) + _SEARCH))
    if layer.kind == "pool":
        yield "ceil_mode", [False, True]
    if layer.kind == "conv_transpose":
        yield "output_padding", list(range(0, max(*h["stride"], *h["dilation"])))
    yield "stride", list(range(1, max(h["stride"]) + _SEARCH))
    if not (layer.call and layer.kind in ("conv", "conv_transpose")):  # a functional conv's window is its weight's
        yield "kernel_size", list(range(1, biggest_kernel + _SEARCH))


def _allowed(layer: Layer, argument: str, value: Any, axis: int) -> bool:
    """What torch itself refuses: a pool's padding over half its window, an
    output_padding not below the stride or dilation."""
    h = layer.hparams
    if layer.kind == "pool":
        kernel = value if argument == "kernel_size" else _at(h["kernel_size"], axis)
        padding = value if argument == "padding" else _at(h["padding"], axis)
        return bool(padding * 2 <= kernel)
    if layer.kind == "conv_transpose":
        op = value if argument == "output_padding" else _at(h["output_padding"], axis)
        stride = value if argument == "stride" else _at(h["stride"], axis)
        return bool(op < max(stride, _at(h["dilation"], axis)))
    return True


def channel_fix(layer: Layer, wanted: int) -> Fix | None:
    """`out_features=10` for a Linear, `out_channels=32` for a conv: the layer that sets a
    feature or channel count, made to set `wanted`."""
    argument = {"linear": "out_features", "conv": "out_channels", "conv_transpose": "out_channels"}.get(
        layer.kind)
    if argument is None or layer.hparams[argument] == wanted:
        return None
    if layer.kind != "linear" and wanted % layer.hparams["groups"]:
        return None  # torch refuses out_channels that groups does not divide
    return Fix(f"{argument}={wanted}", constructor(layer, {argument: wanted}), (), layer.name,
               ((argument, wanted),))


def constructor(layer: Layer, change: dict[str, Any]) -> str:
    """`nn.Conv2d(16, 32, kernel_size=3, padding=1)`: the layer's constructor call with
    `change`, arguments at torch's defaults left out."""
    h = {**layer.hparams, **change}
    if layer.call:
        name = layer.call  # F.max_pool2d: a functional step
    else:
        name = f"nn.{layer.type_name}" if layer.type_path.startswith("torch.nn.") else layer.type_name
    if layer.kind in ("conv", "conv_transpose"):
        args = ["x", "weight"] if layer.call else [str(h["in_channels"]), str(h["out_channels"]),
                                                   f"kernel_size={one(h['kernel_size'])}"]
        defaults = {"stride": 1, "padding": 0, "dilation": 1}
        if layer.kind == "conv_transpose":
            defaults["output_padding"] = 0
        args += [f"{key}={one(h[key])}" for key, default in defaults.items()
                 if one(h[key]) != str(default) or key in change]
        if h["groups"] != 1:
            args.append(f"groups={h['groups']}")
        if not h["bias"] and not layer.call:
            args.append("bias=False")
    elif layer.kind == "pool":
        args = [f"kernel_size={one(h['kernel_size'])}"]
        if one(h["stride"]) != one(h["kernel_size"]) or "stride" in change:
            args.append(f"stride={one(h['stride'])}")
        if one(h["padding"]) != "0" or "padding" in change:
            args.append(f"padding={one(h['padding'])}")
        if "dilation" in h and one(h["dilation"]) != "1":
            args.append(f"dilation={one(h['dilation'])}")
        if h.get("ceil_mode"):
            args.append("ceil_mode=True")
    elif layer.kind == "linear":
        args = [str(h["in_features"]), str(h["out_features"])] + ([] if h["bias"] else ["bias=False"])
    elif layer.kind == "norm" and "num_features" in h:
        args = [str(h["num_features"])]
    else:
        args = [f"{key}={value}" for key, value in h.items()]
    return f"{name}({', '.join(args)})"


def layer_params(kind: LayerKind, h: dict[str, Any]) -> int | None:
    """The parameters torch gives a layer of `kind` with arguments `h` (None: no formula
    here; a norm's count is not changed by any fix)."""
    return Counted.fill(kind, h) if kind in ("conv", "conv_transpose", "linear") else None


def params_fixes(layer: Layer, wanted: int, limit: int = 2) -> list[Fix]:
    """One argument of a conv or Linear changed so that it holds `wanted` parameters: the bias
    first, then the channel or feature counts, then a square kernel; each counted again."""
    h = layer.hparams
    now = layer_params(layer.kind, h)
    if now is None or now != layer.params or layer.shared:
        return []
    tries: list[dict[str, Any]] = [{"bias": not h["bias"]}]
    if layer.kind == "linear":
        names = ("out_features", "in_features")
    else:
        names = ("out_channels", "in_channels")
    for name in names:
        rest = layer_params(layer.kind, {**h, name: 1 * (h.get("groups", 1))})
        per = (layer_params(layer.kind, {**h, name: 2 * h.get("groups", 1)}) or 0) - (rest or 0)
        if per > 0 and rest is not None and (wanted - rest) % per == 0 and wanted > rest - per:
            tries.append({name: h.get("groups", 1) * ((wanted - rest) // per + 1)})
    if layer.kind != "linear":
        dims = h["dims"]
        tries += [{"kernel_size": (k,) * dims} for k in range(1, max(h["kernel_size"]) + _SEARCH)]
    fixes = []
    for change in tries:
        value = next(iter(change.values()))
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            continue
        count = layer_params(layer.kind, {**h, **change})
        if count == wanted and count != now:  # counted again with the change
            shown = {key: (v[0] if isinstance(v, tuple) else v) for key, v in change.items()}
            text = ", ".join(f"{key}={v}" for key, v in shown.items())
            fixes.append(Fix(text, constructor(layer, change), (f"{count:,} parameters",), layer.name,
                             tuple(change.items())))
        if len(fixes) >= limit:
            break
    return fixes


def params_difference(trace: Trace, wanted: int, actual: int
                      ) -> tuple[list[str], list[tuple[Fix, ...]], tuple[str, ...]]:
    """What the difference between a stated and a counted total is made of, where a few
    terms add up to it exactly: (the lines that say so, the fixes, the layers named).

    Tried in order: a tensor shared between layers (counted once, though it appears
    twice); the biases of convs that a normalization right after makes redundant; one
    layer's parameters; every bias; one layer's bias or weight.
    """
    difference = actual - wanted
    size = abs(difference)
    if size == 0:
        return [], [], ()
    more = "more" if difference > 0 else "fewer"
    head = f"the model has {size:,} {more} parameters than stated"
    layers = [trace.layers[name] for name in trace.layers if name]
    shared = [(layer, name, owner) for layer in layers for name, owner in layer.shared]
    shared_size = sum(math.prod(dict(layer.own)[name]) for layer, name, _ in shared)
    if shared and difference < 0 and shared_size == size:
        ties = ", ".join(f"{layer.name}.{name} is {owner}" for layer, name, owner in shared)
        return [f"{head}: {size:,} = the shared tensor(s) {ties}, which count once"], [], tuple(
            layer.name for layer, _, _ in shared)
    redundant = _biases_before_norms(trace)
    if redundant and difference > 0 and sum(b for _, b in redundant) == size:
        names = [layer.name for layer, _ in redundant]
        terms = " + ".join(str(b) for _, b in redundant)
        return ([f"{head}: {terms} = {size:,}, the biases of {', '.join(names)}, which the "
                 "normalization right after each makes redundant"],
                [tuple(Fix("bias=False", constructor(layer, {"bias": False}), (), layer.name, (("bias", False),))
                       for layer, _ in redundant)], tuple(names))
    wholes = [layer for layer in layers if layer.params == size and layer.own]
    if wholes:  # a whole layer, or one argument of another: say each that fits
        return _accounted(head, size, _argument_changes(layers, difference) + [
            (f"all of {layer.name}'s parameters ({describe(layer)})", (), layer.name) for layer in wholes])
    biases = [(layer, math.prod(shape)) for layer in layers for name, shape in layer.own if name == "bias"]
    if biases and sum(b for _, b in biases) == size:
        return [f"{head}: {size:,} = every bias ({len(biases)} layers)"], [], ()
    if len(biases) <= 12:  # a few biases left out of a count by hand: which ones add up
        for count in range(2, len(biases)):
            for group in itertools.combinations(biases, count):
                if sum(b for _, b in group) == size:
                    terms = " + ".join(f"{b:,}" for _, b in group)
                    return [f"{head}: {terms} = {size:,}, the biases of "
                            f"{', '.join(layer.name for layer, _ in group)}"], [], ()
    said = _argument_changes(layers, difference) or [
        (f"{layer.name}.{name} {format_shapes(shape)}", (), layer.name)
        for layer in layers for name, shape in layer.own if math.prod(shape) == size]
    return _accounted(head, size, said)


Accounting = tuple[str, tuple[Fix, ...], str]  # what accounts for a difference, its fix, its layer


def _argument_changes(layers: list[Layer], difference: int) -> list[Accounting]:
    """Each layer one of whose arguments, changed, accounts for the difference. The channels
    or features a layer takes are fixed by what reaches it: a change of them would not run,
    so it explains nothing."""
    said: list[Accounting] = []
    for layer in layers:
        if layer.shared or layer.kind not in ("conv", "conv_transpose", "linear"):
            continue
        for found in params_fixes(layer, layer.params - difference, limit=2):
            if not {name for name, _ in found.args} & {"in_channels", "in_features"}:
                said.append((f"the difference {found.change} makes in {layer.name} ({describe(layer)}: "
                             f"{layer.params:,} now, {found.arithmetic[0]} with it)", (found,), layer.name))
                break
    return said


def _accounted(head: str, size: int,
               said: list[Accounting]) -> tuple[list[str], list[tuple[Fix, ...]], tuple[str, ...]]:
    """One explanation where one fits; where several do, each is a guess and none is named
    as the cause; where none does, that."""
    if len(said) == 1:
        text, fixes, name = said[0]
        return [f"{head}: {size:,} = {text}"], [fixes] if fixes else [], (name,)
    if said:
        shown = "; ".join(text for text, _, _ in said[:4]) + (f"; and {len(said) - 4} more" if len(said) > 4 else "")
        return ([f"{head}; {size:,} could be any of these, and the count alone can't tell which: {shown}"],
                [fixes for _, fixes, _ in said if fixes][:3], ())
    return [f"{head}; no layer, bias, shared tensor or one argument of a layer accounts for exactly "
            f"{size:,}"], [], ()


def _biases_before_norms(trace: Trace) -> list[tuple[Layer, int]]:
    """Convs with a bias whose output goes straight into a normalization layer."""
    found: dict[str, tuple[Layer, int]] = {}
    calls = [call for call in trace.calls if call.finished and call.name]
    for before, after in zip(calls, calls[1:]):
        conv, norm = trace.layers[before.name], trace.layers[after.name]
        if conv.kind in ("conv", "conv_transpose") and conv.hparams.get("bias") and norm.kind == "norm" \
                and after.input == before.output and not conv.shared:
            found[conv.name] = (conv, conv.hparams["out_channels"])
    return list(found.values())


def pooling_fix(layer: Layer, calls: list[Call], allowed: Iterable[tuple[int, int]]) -> tuple[list[Fix], list[Hint]]:
    """A pool whose window the rule forbids, replaced by allowed ones: one pool that gives the
    same sizes, else a few in a row that do (two F=2,S=2 for one F=4,S=4), else the nearest,
    saying what then changes downstream. Each checked on every call's input."""
    dims = layer.hparams["dims"]
    names = ("H", "W") if dims == 2 else tuple(f"d{i}" for i in range(dims))
    names = ("L",) if dims == 1 else names
    inputs = [call.input[-dims:] for call in calls
              if call.finished and isinstance(call.input, tuple) and len(call.input) > dims]
    outputs = [call.output[-dims:] for call in calls
               if call.finished and isinstance(call.output, tuple) and len(call.output) > dims]
    if not inputs or len(inputs) != len(outputs):
        return [], []
    pairs = sorted(set(allowed))
    for repeat in range(1, 5):
        for f, s in pairs:
            pool = _pool_like(layer, f, s)
            chains = [_chain(pool, size, repeat) for size in inputs]
            if all(chain is not None and chain[-1] == list(out) for chain, out in zip(chains, outputs)):
                times = "" if repeat == 1 else f"{repeat} of "
                code = constructor(pool, {})
                steps = "; ".join(", ".join(f"{names[axis]}: " + " -> ".join(str(c[axis]) for c in [list(size)] + chain)
                                            for axis in range(dims))
                                  for size, chain in zip(inputs, chains)
                                  if chain is not None)
                if repeat == 1:
                    change = {key: pool.hparams[key] for key in ("kernel_size", "stride", "padding",
                                                                  "dilation", "ceil_mode")}
                    return [Fix(f"kernel_size={f}, stride={s}", code, (steps + ", the same sizes as now",),
                                layer.name, tuple(change.items()))], []
                return [], [Hint.suggest(f"{times}{code} in a row in place of {layer.name or 'the model'}: "
                                         f"{steps}, the same sizes as now", layer=layer.name or None)]
    f, s = pairs[0]
    pool = _pool_like(layer, f, s)
    chain = _chain(pool, inputs[0], 1)
    if chain is None:
        return [], []
    now = ", ".join(f"{names[axis]}: {outputs[0][axis]}" for axis in range(dims))
    then = ", ".join(f"{names[axis]}: {chain[0][axis]}" for axis in range(dims))
    return [], [Hint.suggest(f"{constructor(pool, {})} in place of {layer.name or 'the model'} gives {then} "
                             f"where it gives {now} now: the layers after it must then take the larger size",
                             layer=layer.name or None)]


def _pool_like(layer: Layer, f: int, s: int) -> Layer:
    dims = layer.hparams["dims"]
    hparams = {**layer.hparams, "kernel_size": (f,) * dims, "stride": (s,) * dims,
               "padding": (0,) * dims, "dilation": (1,) * dims, "ceil_mode": False}
    return Layer(layer.name, layer.type_name, layer.type_path, "pool", hparams, 0, (), True, call=layer.call)


def _chain(pool: Layer, sizes: tuple[int, ...], repeat: int) -> list[list[int]] | None:
    """The sizes after each of `repeat` pools in a row; None where a window doesn't fit."""
    steps, current = [], list(sizes)
    for _ in range(repeat):
        nxt = [out_size(pool, size, axis) for axis, size in enumerate(current)]
        if any(n is None for n in nxt):
            return None
        current = [int(n) for n in nxt if n is not None]
        steps.append(current)
    return steps


def division_fix(layer: Layer, call: Call, names: tuple[str, ...]) -> tuple[list[Fix], list[Hint]]:
    """A padding (or else a kernel) with which (W - F + 2P) / S divides exactly on every
    axis, smallest change first, each checked; and what the output then is."""
    h = layer.hparams
    dims = h["dims"]
    received = call.input
    if not isinstance(received, tuple) or h["padding"] in ("same", "valid"):
        return [], []
    sizes = received[-dims:]

    def divides(**change: Any) -> bool:
        argument, value = next(iter(change.items()))
        return all(_window(layer, axis, change).remainder(size) == 0
                   and _allowed(layer, argument, _at(value, axis), axis) for axis, size in enumerate(sizes))

    found: list[Fix] = []
    tries = [("padding", range(0, max(h["kernel_size"]) + _SEARCH))]
    if layer.kind == "conv" and not layer.call:  # a pool's window is the design rule's; F.conv2d's is its weight's
        tries.append(("kernel_size", range(2, max(h["kernel_size"]) + _SEARCH)))
    for argument, values in tries:
        current = h[argument][0]
        for value in sorted(values, key=lambda v: (abs(v - current), v)):
            change = {argument: (value,) * dims}
            if value != current and divides(**change):
                lines = tuple(size_line(layer, sizes[axis], axis, names[axis], **change)
                              for axis in range(dims))
                found.append(Fix(f"{argument}={value}", constructor(layer, change), lines, layer.name,
                                 tuple(change.items())))
                if len(found) == 2:
                    break
    # Or what reaches the layer: the nearest sizes on each side that divide.
    near = []
    for axis, size in enumerate(sizes):
        window = _window(layer, axis, {})
        remainder = window.remainder(size)
        if remainder:
            options = [v for v in (size - remainder, size - remainder + window.stride) if window.fits(v)]
            near.append(f"{names[axis]}: {' or '.join(map(str, options))}")
    notes = [Hint.spec(f"an input of {', '.join(near)} at {layer.name} (set by the layers before it, "
                       "or the model's input size)", alternative=True)] if near else []
    return found, notes


def _rank_hint(layer: Layer, received: tuple[int, ...]) -> Hint:
    """A BatchNorm of the other rank, where one takes what arrived (a BatchNorm2d after a
    flatten wants to be a BatchNorm1d); else what the rank says about the layers before."""
    rank = len(received)
    fitting = next((name for name, ranks in BATCH_NORM_RANKS.items() if rank in ranks), None)
    if layer.kind == "norm" and fitting is not None:
        return Hint.suggest(f"nn.{fitting}({received[1]}) takes {format_shapes(received)}, "
                            f"{received[1]} channels: change {layer.name}'s type to it", layer=layer.name)
    fewer = rank < min(takes_ranks(layer))
    return Hint.none(f"{layer.name} needs the input's layout, not another argument: "
                     + ("a flatten or view before it drops the dimensions it works on" if fewer
                        else "the tensor has more dimensions than it takes (a missing squeeze or view)"))


def _reduction_fix(cause: Cause) -> tuple[list[Fix], list[Hint]]:
    """A Linear given a tensor of rank 3 or more: the flatten that is missing where the whole
    shape is in_features, the global pooling where its channels are (in_features set to the
    last dimension would "run", on every row). Each written into the call that ran."""
    layer = cause.layer
    if cause.what == "unflattened":
        flat = (cause.received[0], math.prod(cause.received[1:]))
        flatten = Fix(f".flatten(1) on {layer.name}'s input", "x.flatten(1)",
                      (Flattened(cause.call.name, cause.call.index, cause.received).text(),), layer.name,
                      at_call="{}.flatten(1)")
        return [flatten], [Hint.suggest(f"flatten it before {layer.name}: x = torch.flatten(x, 1), which gives "
                                        f"{format_shapes(flat)}", layer=layer.name)]
    # unpooled: as ResNet's head, the mean over every position
    rank = len(cause.received)
    axes = "-1" if rank == 3 else f"({', '.join(map(str, range(2, rank)))})"
    pooled = Fix(f".mean({axes}) on {layer.name}'s input, a global average pooling", f"x.mean({axes})",
                 (), layer.name, at_call="{}.mean(" + axes + ")")
    features = math.prod(cause.received[1:])
    return [pooled], [Hint.suggest(f"pool before {layer.name}: x = x.mean({axes}), as ResNet does, which gives "
                                   f"{format_shapes(cause.received[:2])}", layer=layer.name),
                      Hint.suggest(f"flatten, with in_features={product_text(cause.received)} in {layer.name} "
                                   f"({features:,} features, so {features * layer.hparams['out_features']:,} weights)",
                                   alternative=True, layer=layer.name)]


# Complex on purpose: one branch per cause (Cause.what); a typed cause would make it one match.
def crash_fix(trace: Trace) -> tuple[list[Fix], list[Hint]]:  # noqa: C901
    """What to change for a crash the shapes explain, each checked: the number the layer
    would have to take is the number that reached it. (The candidate changes, and the
    notes that are not a change of the layer.)"""
    cause = crash_reason(trace)
    if cause is None:
        return [], []
    layer, got = cause.layer, cause.got
    h = layer.hparams
    if cause.what == "in_features":
        source = flatten_source(trace, cause.call)
        joined = joined_parts(cause, trace)
        spelled = " * ".join(str(d) for d in source[1:]) if source is not None and len(source) > 2 else \
            " + ".join(str(size) for size, _ in joined.parts) if joined is not None else str(got)
        if source is not None:
            assert math.prod(source[1:]) == got  # the product printed is the number that arrived
        arithmetic = (Flattened(cause.call.name, cause.call.index, source).text(),) \
            if source is not None and len(source) > 2 else ()
        return [Fix(f"in_features={got}", constructor(layer, {"in_features": got}), arithmetic, layer.name,
                    (("in_features", got),), (("in_features", spelled),))], []
    if cause.what == "in_channels":
        if layer.call:  # F.conv2d(x, weight): the channels it takes are the weight's, made elsewhere
            return [], [Hint.none(f"{layer.name}'s weight {list(h['weight'])} takes {cause.wanted} channels "
                                  f"(its dimension 1 times groups={h['groups']}): make the weight for {got}, or "
                                  f"give the call {cause.wanted}")]
        if got % h["groups"]:
            return [], [Hint.none(f"no in_channels fits: {got} channels do not divide by groups={h['groups']}")]
        joined = joined_parts(cause, trace)
        return [Fix(f"in_channels={got}", constructor(layer, {"in_channels": got}), (), layer.name,
                    (("in_channels", got),),
                    (("in_channels", " + ".join(str(size) for size, _ in joined.parts)),) if joined else ())], []
    if cause.what == "rank":
        return [], [_rank_hint(layer, cause.received)]
    if cause.what == "batch":  # in_features set to the whole batch's values would "run", on one row
        return [], [Hint.suggest(f"flatten from dimension 1: torch.flatten(x, 1) (or x.flatten(1)) keeps the "
                                 f"batch: [{got // cause.wanted}, {cause.wanted}]", layer=layer.name)]
    if cause.what == "shuffle":  # the conv before it made to give a multiple of r*r: the nearer, else the larger
        maker = channels_maker(trace, cause.call)
        multiples = sorted({got // cause.wanted * cause.wanted, -(-got // cause.wanted) * cause.wanted} - {0},
                           key=lambda n: (abs(n - got), -n))
        fixes = [fix for n in multiples for fix in [channel_fix(maker, n) if maker is not None else None]
                 if fix is not None]
        return fixes, [] if fixes else [Hint.none(f"make the channels that reach {layer.name} a multiple of "
                                                  f"{cause.wanted}")]
    if cause.what in ("unflattened", "unpooled"):
        return _reduction_fix(cause)
    if cause.what == "input_size":
        return [Fix(f"input_size={got}", constructor(layer, {"input_size": got}), (), layer.name,
                    (("input_size", got),))], []
    if cause.what == "num_features":
        return [Fix(f"num_features={got}", constructor(layer, {"num_features": got}), (), layer.name,
                    (("num_features", got),))], []
    # The window: the smallest padding that lets it fit on every axis, where torch allows one.
    sizes = cause.received[-h["dims"]:]
    padding, lines = [], []
    for axis, (name, size) in enumerate(zip(spatial_names(h["dims"]), sizes)):
        window = _window(layer, axis, {})
        span, now = window.span, window.padding
        needed = max(now, -(-(span - size) // 2))
        padding.append(needed)
        if needed != now:
            assert size + 2 * needed >= span
            lines.append(f"{name}: {size} + 2*{needed} = {size + 2 * needed} >= F={span}")
    limit = h["kernel_size"][0] // 2 if layer.kind == "pool" else None
    found = []
    adaptive = _adaptive_form(layer, sizes)
    if adaptive is not None:
        found.append(adaptive)
    if limit is None or max(padding) <= limit:
        found.append(Fix(f"padding={one(tuple(padding))}", constructor(layer, {"padding": tuple(padding)}),
                         tuple(lines), layer.name, (("padding", tuple(padding)),)))
    return found, [Hint.spec("a larger input: `cnncheck sizes` names the input sizes that run", alternative=True)]


def _adaptive_form(layer: Layer, sizes: tuple[int, ...]) -> Fix | None:
    """A fixed average or max pool that meets a map smaller than its window on every axis
    was written to pool the whole map at one input size (`F.avg_pool2d(out, 8)` for 32x32
    images): its adaptive form does that at every size, where a smaller window would floor
    at the size it was written for."""
    h = layer.hparams
    family = next((f for f in ("avg", "max") if layer.type_name.lower().startswith((f"{f}_pool", f"{f}pool"))), None)
    if layer.kind != "pool" or family is None or any(size >= k for size, k in zip(sizes, h["kernel_size"])) \
            or all(size == 1 for size in sizes):  # a map of one position: the adaptive pool would pool nothing
        return None
    dims = h["dims"]
    if layer.call:
        template, shown = f"{{prefix}}adaptive_{family}_pool{dims}d({{0}}, 1)", f"F.adaptive_{family}_pool{dims}d"
    else:
        name = f"Adaptive{family.capitalize()}Pool{dims}d"
        template, shown = f"{{prefix}}{name}(1)", f"nn.{name}(1)"
    return Fix(f"{shown} in place of {layer.name}'s fixed window {one(h['kernel_size'])}: one window over the "
               "whole map at every input size", shown, (), layer.name, rewrite=template)
