"""Multiply-accumulates as people read and compare them, from the count the pass made
(counting.py; trace.Compute). Pure: no torch.

The convention: MACs of the contractions of one forward pass (convolutions, linear layers,
matmul and its kin, einsum, attention), for the batch as given; a bias, a normalisation,
an activation or a pooling adds no MAC. FLOPs, as torch's FlopCounterMode and most
papers count them, are twice this.
"""

from __future__ import annotations

from typing import Iterable

from ..trace import Compute, Trace

__all__ = ["coverage", "described", "layer_mult_adds", "mult_adds", "readable"]


def _compute(trace: Trace) -> Compute:
    if trace.compute is None:
        raise ValueError("the pass was not counted: probe(..., count=True)")
    return trace.compute


def mult_adds(trace: Trace) -> int:
    return _compute(trace).mult_adds


def layer_mult_adds(trace: Trace) -> dict[str, int]:
    """MACs by the layer whose own forward ran them; the model's own forward's under ""."""
    return dict(_compute(trace).by_layer)


def coverage(uncounted: Iterable[tuple[str, int]]) -> str:
    """`complete`, or `partial: mylib::my_op ×4, aten::_trilinear ×1 not counted`."""
    missed = list(uncounted)
    if not missed:
        return "complete"
    return "partial: " + ", ".join(f"{name} ×{times}" for name, times in missed) + " not counted"


def readable(count: int) -> str:
    """`1.80G`, `658K`: three significant digits and a magnitude, as model cards print MACs."""
    for suffix, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= scale:
            value = count / scale
            return f"{value:.{2 if value < 10 else 1 if value < 100 else 0}f}{suffix}"
    return str(count)


def described(count: int, uncounted: Iterable[tuple[str, int]]) -> str:
    """`1.80G (complete)`: the count and what it covers, as `-v` and the reports say it."""
    return f"{readable(count)} ({coverage(uncounted)})"
