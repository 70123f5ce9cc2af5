"""Multiply-adds of one forward pass, from the recorded shapes: no second pass.

torchinfo's count, computed the way torchinfo computes it (tests hold the two equal on
the example and benchmark models): for each call of a leaf layer, each of its
parameters times what that parameter is applied to. A conv's `weight` and `bias` run
once per output position, `N * H_out * W_out` (a kernel's channels are in the weight
already); every other layer's once per sample, `N`; a recurrent layer's inner weights
(`weight_ih_l0`, ...) once per sample and time step. Pure: no torch.
"""

from __future__ import annotations

import math
from typing import Any

from .trace import Trace

__all__ = ["layer_mult_adds", "mult_adds"]


def layer_mult_adds(trace: Trace) -> dict[str, int]:
    """Multiply-adds by layer, over all of its calls; only layers that hold parameters."""
    counts: dict[str, int] = {}
    for call in trace.calls:
        if not call.finished or not call.name:
            continue
        layer = trace.layers[call.name]
        if not layer.leaf or not layer.own:
            continue
        out = _first_shape(call.output)
        if out is None:
            continue
        total = 0
        for name, shape in layer.own:
            size = math.prod(shape)
            if name in ("weight", "bias"):
                if "Conv" in layer.type_name:
                    total += size * math.prod(out[:1] + out[2:])
                else:
                    total += out[0] * size if out else 0
            elif "weight" in name or "bias" in name:
                total += math.prod(out[:2]) * size
        counts[call.name] = counts.get(call.name, 0) + total
    return counts


def mult_adds(trace: Trace) -> int:
    return sum(layer_mult_adds(trace).values())


def _first_shape(tree: Any) -> tuple[int, ...] | None:
    """The shape torchinfo reads a call's output size from: the first tensor's."""
    if isinstance(tree, tuple):
        return tree
    if isinstance(tree, list):
        for item in tree:
            found = _first_shape(item)
            if found is not None:
                return found
    if isinstance(tree, dict):
        for item in tree.values():
            found = _first_shape(item)
            if found is not None:
                return found
    return None
