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
from typing import Any, Iterable

from ..trace import Call, Held, Trace, Training

__all__ = ["KEYS", "activation_bytes", "activation_bytes_of", "figures", "held_text", "peak_text", "parts_text",
           "readable", "training_figure", "what"]

KEYS = ("params", "buffers", "activations")


def activation_bytes(trace: Trace) -> int:
    return sum(activation_bytes_of(call, trace) for call in trace.calls
               if call.finished and call.name in trace.weighted)


def activation_bytes_of(call: Call, trace: Trace) -> int:
    """One call's output, and its gradient, in bytes."""
    return 2 * _elements(call.output) * trace.element_bytes


def training_figure(training: Training, key: str) -> int:
    """`training`: the step's peak; `training.<part>`: that part's bytes at the peak."""
    return training.peak if key == "training" else training.part(key.partition(".")[2])  # type: ignore[arg-type]


MODEL_ITSELF = "the model's own forward"  # the "layer" of ops outside every module call
_PART_NAMES = {"optimizer_state": "optimizer state"}


def parts_text(parts: Iterable[tuple[str, int]]) -> str:
    """`params 44.6 MiB, gradients 40.8 MiB, ...`: the peak's parts, largest first."""
    return ", ".join(f"{_PART_NAMES.get(part, part)} {readable(size)}"
                     for part, size in sorted(parts, key=lambda item: -item[1]))


def peak_text(peak: int, phase: str, layer: str | None) -> str:
    """`216.4 MiB in backward at layer1.0.conv1`."""
    where = f" at {layer}" if layer else ""
    return f"{readable(peak)} in {phase}{where}"


def held_text(held: Held) -> str:
    """`layer3.0.conv1 holds 4 tensors of [32, 256, 14, 14] = 24.5 MiB each in float32`."""
    shape = "[" + ", ".join(map(str, held.shape)) + "]"
    what = f"{held.count} tensors of {shape} = {readable(held.each)} each" if held.count > 1 else \
        f"a tensor of {shape} = {readable(held.each)}"
    return f"{held.layer or MODEL_ITSELF} holds {what} in {held.dtype}"


def what(key: str) -> str:
    """What a figure counts, for the failure text."""
    if key.startswith("training"):
        part = key.partition(".")[2]
        return ("the peak of the bytes live during one training step (forward, loss, backward, the "
                "optimizer's step)" if not part else
                f"the bytes of {_PART_NAMES.get(part, part)} live at the training step's peak")
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
