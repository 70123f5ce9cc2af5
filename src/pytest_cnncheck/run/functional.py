"""Functional calls in `forward` as steps of the pass: `F.max_pool2d(x, 2)` is a pooling
layer to the checks, as `nn.MaxPool2d(2)` is, and `F.conv2d(x, self.w, stride=2)` a conv.

The steps recorded: the windowed calls (`F.conv*`, `F.conv_transpose*`, the pools, the
adaptive pools), the resizing ones (`F.interpolate`, `F.pad`, `F.pixel_shuffle`,
`F.pixel_unshuffle`, `F.unfold`) and the reshapes that flatten a map into features for a
Linear (`torch.flatten(x, 1)`, `x.flatten(1)`, `x.view(x.size(0), -1)`, `x.view(-1, k)`:
a tensor of rank 3 or more made [N, features], its first dimension kept or left to torch).

A step is named for where it is called: the op's name in the model's own forward
(`max_pool2d`), prefixed by the module whose forward calls it (`layer1.0.avg_pool2d`); a
second call site of the same op in the same forward is `max_pool2d_2`, and so on in the
order the pass first meets them, so the names stay put when unrelated lines move. A call
site run several times (a loop) is one step called several times, like a module. A layer
calling its own functional form (nn.Conv2d's forward calling F.conv2d, a Conv2d subclass
padding its input first) is that layer, not a step.

On meta the device mode already sees every torch call (fastmeta.py): it hands these ops
to `watching`'s callback, at the cost of one set lookup for the other ops. Elsewhere (the
CPU) the functions and tensor methods themselves are wrapped for the pass.
"""

from __future__ import annotations

import functools
import math
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F
from torch.overrides import _get_current_function_mode_stack

from .. import ops
from ..trace import LayerKind
from .frames import TORCH_DIR
from .layers import conv_hparams, pool_hparams

__all__ = ["WATCHED", "FunctionalStep", "step_of", "watching"]

_POOLS = ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
          "lp_pool1d", "lp_pool2d", "lp_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
          "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d")
_CONVS = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
_RESIZES = ("interpolate", "pad", "pixel_shuffle", "pixel_unshuffle", "unfold")

# Each watched function: where it lives (wrapped there off meta), its name, how the code
# writes its call, and the path a spec's `type:` may name.
_HOMES = ((F, "F.", "torch.nn.functional."), (torch, "torch.", "torch."), (torch.Tensor, ".", "torch.Tensor."))
_FUNCTIONS: list[tuple[Any, str, str, str]] = [
    (home, name, written + name, path + name) for (home, written, path), names in zip(_HOMES, (
        (*_POOLS, *_CONVS, *_RESIZES), ("flatten", "reshape"), ("flatten", "view", "reshape")))
    for name in names if hasattr(home, name)]
WATCHED: dict[Any, tuple[str, str, str]] = {getattr(home, name): (name, written, path)
                                            for home, name, written, path in _FUNCTIONS}

# Called as a watched op begins (func, args, kwargs); what it returns, called with the op's
# output, finishes the step (an op that raises never finishes it).
Callback = Callable[[Any, tuple[Any, ...], dict[str, Any]], "Callable[[Any], None] | None"]
_WATCH: list[Callback | None] = [None]  # read by fastmeta's device mode on every watched op


@dataclass(frozen=True)
class FunctionalStep:
    """What a functional call is to the checks: its op, how the code writes it, the layer
    kind it acts as, and its arguments as that kind's layer keeps them (window.py reads
    them alike)."""

    op: str  # "max_pool2d"
    written: str  # "F.max_pool2d", "torch.flatten", ".view"
    path: str  # "torch.nn.functional.max_pool2d", "torch.Tensor.view"
    kind: LayerKind
    hparams: dict[str, Any]


def step_of(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> FunctionalStep | None:
    """The step a call of `func` with these arguments is; None where they can't be read, or
    where the call is not a step (a reshape that does not flatten a map into features)."""
    op, written, path = WATCHED[func]
    if not args or not isinstance(args[0], torch.Tensor):
        return None
    try:
        if op in ("flatten", "view", "reshape"):
            found = _flattening(op, args, kwargs)
        else:
            bound = ops.bind(op, args, kwargs)
            found = _windowed(op, bound) if op in _POOLS or op in _CONVS else _resizing(op, bound)
    except (ops.Unbound, KeyError, TypeError, ValueError, IndexError):
        return None
    return None if found is None else FunctionalStep(op, written, path, *found)


def _windowed(op: str, bound: dict[str, Any]) -> tuple[LayerKind, dict[str, Any]]:
    if op.startswith("adaptive_"):
        return "adaptive_pool", {"output_size": bound.get("output_size")}
    dims = int(op[-2])
    if op in _CONVS:  # the channels and the kernel are the weight's
        weight = tuple(bound["weight"].shape)
        groups = int(bound["groups"])
        transposed = op.startswith("conv_transpose")
        channels = (weight[0], weight[1] * groups) if transposed else (weight[1] * groups, weight[0])
        found = conv_hparams(*channels, weight[2:], bound["stride"], bound["padding"], bound["dilation"], groups,
                             bound.get("bias") is not None, dims, bound["output_padding"] if transposed else None)
        return ("conv_transpose" if transposed else "conv"), found | {"weight": weight}
    return "pool", pool_hparams(bound["kernel_size"], bound.get("stride"), bound.get("padding", 0),
                                bound.get("dilation", 1), bound.get("ceil_mode", False), dims)


def _resizing(op: str, bound: dict[str, Any]) -> tuple[LayerKind, dict[str, Any]] | None:
    if op == "interpolate":
        return "resize", {"size": bound.get("size"), "scale_factor": bound.get("scale_factor"),
                          "mode": bound["mode"], "dims": bound["input"].dim() - 2}
    if op == "pad":
        return "pad", {"pad": tuple(int(p) for p in bound["pad"]), "mode": bound.get("mode") or "constant",
                       "dims": min(bound["input"].dim() - 2, (len(bound["pad"]) + 1) // 2)}
    if op == "unfold":
        window = pool_hparams(bound["kernel_size"], bound["stride"], bound["padding"], bound["dilation"], False, 2)
        return "unfold", {key: value for key, value in window.items() if key != "ceil_mode"}  # it has none
    key = "upscale_factor" if op == "pixel_shuffle" else "downscale_factor"
    return "shuffle", {key: int(bound[key]), "dims": 2}


def _flattening(op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[LayerKind, dict[str, Any]] | None:
    """A reshape of a map (rank 3 or more) into [N, features]: the flatten before a Linear."""
    rank = args[0].dim()
    if rank < 3:
        return None
    if op == "flatten":
        start = kwargs.get("start_dim", args[1] if len(args) > 1 else 0)
        end = kwargs.get("end_dim", args[2] if len(args) > 2 else -1)
        if start % rank != 1 or end % rank != rank - 1:
            return None
    else:
        shape = kwargs.get("shape", kwargs.get("size", args[1:]))
        if len(shape) == 1 and isinstance(shape[0], (tuple, list, torch.Size)):
            shape = shape[0]
        if len(shape) != 2 or not all(isinstance(n, int) for n in shape) or shape[0] not in (-1, args[0].shape[0]) \
                or -1 not in shape and math.prod(shape) != args[0].numel():
            return None  # not [N, features] (nor view(-1, k), which may mix samples: the checks say so)
    return "flatten", {"start_dim": 1, "end_dim": -1}


def _watched(func: Any) -> Callable[..., Any]:
    """Off meta: `func` that hands each call to the callback after it ran. A mode would see
    every op of the pass; wrapping the few functions costs the others nothing."""

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        # torch's function dispatching to a mode calls itself by name (once only), and
        # torch's own code calling these (F.upsample calling F.interpolate) is no step
        if _INSIDE[0] or sys._getframe(1).f_code.co_filename.startswith(TORCH_DIR):
            return func(*args, **kwargs)
        callback = _WATCH[0]
        finish = callback(func, args, kwargs) if callback is not None else None
        _INSIDE[0] = True
        try:
            out = func(*args, **kwargs)
        finally:
            _INSIDE[0] = False
        if finish is not None:
            finish(out)
        return out
    return call


_INSIDE = [False]


_WRAPPERS = [(home, name, getattr(home, name), _watched(getattr(home, name))) for home, name, _, _ in _FUNCTIONS]


@contextmanager
def watching(callback: Callback) -> Iterator[None]:
    """Within this block, each watched op the model calls is handed to `callback` as it
    begins, and its output to what that returned, after it ran. On meta the device mode
    hands them over; elsewhere the functions and tensor methods are wrapped for the block,
    so a model that imported one by name (`from torch.nn.functional import max_pool2d`) is
    seen on meta only."""
    before = _WATCH[0]
    _WATCH[0] = callback
    wrapped: list[tuple[Any, str, Any]] = []
    try:
        if not any(getattr(mode, "watches_functional", False)
                   for mode in _get_current_function_mode_stack()):  # type: ignore[no-untyped-call]
            for home, name, func, wrapper in _WRAPPERS:
                if getattr(home, name) is func:
                    wrapped.append((home, name, vars(home).get(name)))
                    setattr(home, name, wrapper)
        yield
    finally:
        for home, name, own in reversed(wrapped):
            if own is None:
                delattr(home, name)  # a tensor method torch.Tensor inherits: inherited again
            else:
                setattr(home, name, own)
        _WATCH[0] = before
