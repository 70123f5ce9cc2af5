"""Memory, measured on meta without allocating: from the recorded shapes and the bytes the
model's tensors hold. Pure: no torch.

* `params`: the bytes of every parameter, once (a tied tensor once), at its own dtype;
* `buffers`: the bytes of every buffer (BatchNorm's running statistics, ...);
* `activations`: torchinfo's "forward/backward pass size": each output of a call of a
  leaf layer that holds parameters, twice (the output, and its gradient in the backward
  pass), at the size of the model's floating elements. It leaves out the outputs of
  layers without parameters (activations, pooling, dropout), what a layer makes and
  frees inside itself, the input, and the allocator's own rounding; it is the estimate
  people compare, not a peak.
"""

from __future__ import annotations

import math
from typing import Any

from ..trace import Call, Trace

__all__ = ["KEYS", "activation_bytes", "activation_bytes_of", "figures", "readable", "what"]

KEYS = ("params", "buffers", "activations")


def activation_bytes(trace: Trace) -> int:
    return sum(activation_bytes_of(call, trace) for call in trace.calls
               if call.finished and call.name in trace.weighted)


def activation_bytes_of(call: Call, trace: Trace) -> int:
    """One call's output, and its gradient, in bytes."""
    return 2 * _elements(call.output) * trace.element_bytes


def what(key: str) -> str:
    """What a figure counts, for the failure text."""
    return {"params": "the bytes of every parameter, once, at its dtype",
            "buffers": "the bytes of every buffer (running statistics and the like)",
            "activations": "each output of a layer with parameters, and its gradient (torchinfo's "
                           "forward/backward pass size)"}[key]


def _elements(tree: Any) -> int:
    if isinstance(tree, tuple):
        return math.prod(tree)
    if isinstance(tree, list):
        return sum(_elements(item) for item in tree)
    if isinstance(tree, dict):
        return sum(_elements(item) for item in tree.values())
    return 0


def figures(trace: Trace) -> dict[str, int]:
    """Each memory figure of the spec's model, in bytes."""
    return {"params": trace.param_bytes, "buffers": trace.buffer_bytes,
            "activations": activation_bytes(trace)}


def readable(size: int) -> str:
    """`1.2 MiB`: a byte count as people read it."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
