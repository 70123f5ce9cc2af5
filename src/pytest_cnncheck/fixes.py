"""Checked fixes: what to change so that a number comes out as the spec expects.

Each fix is found by solving the layer's own arithmetic for one of its arguments
(padding, stride, kernel, ceil_mode, output_padding, out_channels, ...) and is only
offered after the same formula, run forward with the new value, gives the expected
number; the arithmetic printed with it is that run. Candidates come smallest change
first: padding before ceil_mode and output_padding, before stride, before the kernel.

Pure functions over Layer records and recorded shapes: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .explain import fraction_line, transposed_line
from .trace import Call, Layer

__all__ = ["Fix", "channel_fix", "constructor", "out_size", "size_fixes", "size_line"]

# How far a search for a new argument looks: far enough for every usual fix, short
# enough that a fix found is a change a person would make.
_SEARCH = 8


@dataclass(frozen=True)
class Fix:
    change: str  # "padding=1"
    code: str  # "nn.Conv2d(16, 32, kernel_size=3, padding=1)"
    arithmetic: tuple[str, ...]  # the formula run with the change, one line per dimension


def out_size(layer: Layer, size: int, axis: int, **change: Any) -> int | None:
    """The output size along spatial `axis` for an input of `size`, as torch computes it,
    with the layer's arguments (or those in `change`); None where the window doesn't fit."""
    h = {**layer.hparams, **change}
    f, s, d = _at(h["kernel_size"], axis), _at(h["stride"], axis), _at(h["dilation"], axis)
    p = 0 if h["padding"] == "valid" else _at(h["padding"], axis)
    if layer.kind == "conv_transpose":
        result = (size - 1) * s - 2 * p + d * (f - 1) + _at(h["output_padding"], axis) + 1
        return result if result > 0 else None
    numerator = size + 2 * p - (d * (f - 1) + 1)
    if numerator < 0:
        return None
    if not h.get("ceil_mode"):
        return numerator // s + 1
    up = -(-numerator // s) + 1
    return up - 1 if (up - 1) * s >= size + p else up  # torch drops a window starting in the padding


def size_line(layer: Layer, size: int, axis: int, name: str, **change: Any) -> str:
    """`H: (48 - 3 + 2*1) / 1 + 1 = 48`: the formula with these arguments, for one dimension,
    in the words of the explanations (explain.py)."""
    h = {**layer.hparams, **change}
    f, s, d = _at(h["kernel_size"], axis), _at(h["stride"], axis), _at(h["dilation"], axis)
    p = 0 if h["padding"] == "valid" else _at(h["padding"], axis)
    if layer.kind == "conv_transpose":
        return f"{name}: {transposed_line(size, f, s, p, d, _at(h['output_padding'], axis))}"
    return f"{name}: {fraction_line(size, f, s, p, d, bool(h.get('ceil_mode')))}"


def _at(value: Any, axis: int) -> int:
    return int(value[axis]) if isinstance(value, tuple) else int(value)


def size_fixes(layer: Layer, call: Call, wanted: dict[int, int], names: tuple[str, ...],
               limit: int = 3) -> list[Fix]:
    """Changes of one argument of `layer` that make this call's output `wanted` along the
    spatial axes it names ({axis: size}), every other axis staying as it is."""
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
            for axis in range(dims):
                fits = [v for v in values if _allowed(layer, argument, v, axis) and out_size(
                    layer, sizes[axis], axis, **{argument: _set(current, axis, v)}) == target[axis]]
                if not fits:
                    break
                was = current[axis]
                chosen.append(min(fits, key=lambda v: abs(v - was)))
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
            fixes.append(Fix(f"{argument}={shown}", constructor(layer, change), lines))
        if len(fixes) >= limit:
            break
    return fixes


def _set(current: tuple[int, ...], axis: int, value: int) -> tuple[int, ...]:
    return tuple(value if i == axis else v for i, v in enumerate(current))


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
    return Fix(f"{argument}={wanted}", constructor(layer, {argument: wanted}), ())


def constructor(layer: Layer, change: dict[str, Any]) -> str:
    """`nn.Conv2d(16, 32, kernel_size=3, padding=1)`: the layer's constructor call with
    `change`, arguments at torch's defaults left out."""
    h = {**layer.hparams, **change}

    def one(value: Any) -> str:
        if isinstance(value, tuple) and len(set(value)) == 1:
            return str(value[0])
        return repr(value) if isinstance(value, str) else str(value)

    name = f"nn.{layer.type_name}" if layer.type_path.startswith("torch.nn.") else layer.type_name
    if layer.kind in ("conv", "conv_transpose"):
        args = [str(h["in_channels"]), str(h["out_channels"]), f"kernel_size={one(h['kernel_size'])}"]
        defaults = {"stride": 1, "padding": 0, "dilation": 1}
        if layer.kind == "conv_transpose":
            defaults["output_padding"] = 0
        args += [f"{key}={one(h[key])}" for key, default in defaults.items()
                 if one(h[key]) != str(default) or key in change]
        if h["groups"] != 1:
            args.append(f"groups={h['groups']}")
        if not h["bias"]:
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
