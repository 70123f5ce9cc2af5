"""Functional pooling in `forward` as steps of the pass: `F.max_pool2d(x, 2)` is a pooling
layer to the checks, as `nn.MaxPool2d(2)` is.

A step is named for where it is called: the op's name in the model's own forward
(`max_pool2d`), prefixed by the module whose forward calls it (`layer1.0.avg_pool2d`); a
second call site of the same op in the same forward is `max_pool2d_2`, and so on in the
order the pass first meets them, so the names stay put when unrelated lines move. A call
site run several times (a loop) is one step called several times, like a module.

On meta the device mode already sees every torch call (fastmeta.py): it hands these ops
to `watching`'s callback, at no cost for the other ops. Elsewhere (the CPU) the functions
themselves are wrapped for the pass.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch.nn.functional as F
from torch.overrides import _get_current_function_mode_stack

from .. import ops

__all__ = ["WATCHED", "FunctionalStep", "step_of", "watching"]

_NAMES = ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
          "lp_pool1d", "lp_pool2d", "lp_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
          "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d")
WATCHED: dict[Any, str] = {getattr(F, name): name for name in _NAMES if hasattr(F, name)}

# Called as a watched op begins (func, args, kwargs); what it returns, called with the op's
# output, finishes the step (an op that raises never finishes it).
Callback = Callable[[Any, tuple[Any, ...], dict[str, Any]], "Callable[[Any], None] | None"]
_WATCH: list[Callback | None] = [None]  # read by fastmeta's device mode on every watched op


@dataclass(frozen=True)
class FunctionalStep:
    """What a functional call is to the checks: its op, the layer kind it acts as, and its
    arguments as that kind's layer keeps them (window.py reads them alike)."""

    op: str  # "max_pool2d"
    kind: str  # "pool", "adaptive_pool"
    hparams: dict[str, Any]


def _per_axis(value: Any, dims: int) -> tuple[int, ...]:
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),) * dims


def step_of(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> FunctionalStep | None:
    """The step a call of `name` with these arguments is; None where they can't be read."""
    dims = int(name[-2])
    if name.startswith("adaptive_"):
        size = kwargs.get("output_size", args[1] if len(args) > 1 else None)
        return FunctionalStep(name, "adaptive_pool", {"output_size": size})
    try:
        bound = ops.bind(name, args, kwargs)
        kernel = _per_axis(bound["kernel_size"], dims)
        stride = bound.get("stride")
        return FunctionalStep(name, "pool", {
            "kernel_size": kernel,
            "stride": kernel if stride in (None, (), []) else _per_axis(stride, dims),
            "padding": _per_axis(bound.get("padding", 0), dims),
            "dilation": _per_axis(bound.get("dilation", 1), dims),
            "ceil_mode": bool(bound.get("ceil_mode", False)), "dims": dims})
    except (ops.Unbound, KeyError, TypeError, ValueError):
        return None


def _watched(func: Any) -> Callable[..., Any]:
    """Off meta: `func` that hands each call to the callback after it ran. A mode would see
    every op of the pass; wrapping the few functions costs the others nothing."""

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        if _INSIDE[0]:  # torch's function dispatching to a mode calls itself by name: once only
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


_WRAPPERS = [(name, func, _watched(func)) for func, name in WATCHED.items()]


@contextmanager
def watching(callback: Callback) -> Iterator[None]:
    """Within this block, each watched op the model calls is handed to `callback` as it
    begins, and its output to what that returned, after it ran. On meta the device mode hands them over; elsewhere
    `torch.nn.functional`'s functions are wrapped for the block, so a model that imported
    one by name (`from torch.nn.functional import max_pool2d`) is seen on meta only."""
    before = _WATCH[0]
    _WATCH[0] = callback
    wrapped: list[tuple[str, Any]] = []
    try:
        if not any(getattr(mode, "watches_functional", False)
                   for mode in _get_current_function_mode_stack()):  # type: ignore[no-untyped-call]
            for name, func, wrapper in _WRAPPERS:
                if getattr(F, name) is func:
                    wrapped.append((name, func))
                    setattr(F, name, wrapper)
        yield
    finally:
        for name, func in wrapped:
            setattr(F, name, func)
        _WATCH[0] = before
