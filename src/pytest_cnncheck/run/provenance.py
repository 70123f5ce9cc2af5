"""Where each tensor of a forward pass came from: the operations and layer calls that made
it, so that a clash between two tensors (`out + x`, `torch.cat([up, skip])`, `x @ w`,
`x.view(...)`) can name the layer behind each operand and the first place where the two
paths' sizes parted.

A torch-function mode sees every torch operation; each output tensor is tagged with a
Step (the operation, the layer call it ran in, its input and output shapes, and the
step that made its first tensor input). Tagging costs on every operation, so the
probe runs this pass only after a plain pass has shown something it must explain: a
crash outside what the layers' own arguments explain, or a batch that changed size.
It runs on the device the plain pass ran on: meta explains a clash as well as the CPU.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch.overrides import TorchFunctionMode

from .. import ops
from ..trace import FORWARD, CallRef, Clash, Joined, Operand, Reshape, Step
from .frames import user_line_now

__all__ = ["Provenance"]

# Operations that combine tensors whose shapes must agree (a clash), or change a shape.
_WATCHED = ops.ELEMENTWISE | ops.JOIN | ops.MATMUL | ops.RESHAPE
_TAG = "_cnncheck_step"
_DEPTH = 64  # steps kept on an operand's path: enough to reach where two paths parted


class Provenance(TorchFunctionMode):
    """Tags every tensor an operation makes; keeps the first clash and every reshape
    that changed the batch dimension."""

    def __init__(self, batch: int | None, current: Callable[[], CallRef]) -> None:
        super().__init__()
        self.batch = batch
        self.current = current  # the layer call the pass is in: `layer2.0 (call 2)`, or FORWARD
        self.clash: Clash | None = None
        self.reshapes: list[Reshape] = []
        self.failed_on: Step | None = None  # what made the first input of the op that raised

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        name = ops.name_of(func)
        tensors = [a for a in _flat(args) if isinstance(a, torch.Tensor)]
        try:
            out = func(*args, **kwargs)
        except Exception:
            if self.failed_on is None and tensors:
                self.failed_on = _tag(tensors[0])
            if self.clash is None and name in _WATCHED:
                self.clash = Clash(
                    op=name.strip("_"), where=user_line_now(), layer=self.current(),
                    operands=tuple(_operand(t) for t in tensors[:4]),
                    dim=_join_dim(name, args, kwargs),
                    target=_target(args[1:]) if name in ops.RESHAPE else ())
            raise
        if name in ops.RESHAPE and tensors and isinstance(out, torch.Tensor) and out.dim() >= 1:
            before, after = tuple(tensors[0].shape), tuple(out.shape)
            if before and after[0] != before[0] and before[0] == self.batch:
                self.reshapes.append(Reshape(op=name, where=user_line_now(), layer=self.current(),
                                             input=before, output=after))
        step_in = _tag(tensors[0]) if tensors else None
        joined = _joined(name, args, kwargs, tensors)
        for tensor in _flat(out if isinstance(out, (tuple, list)) else (out,)):
            if isinstance(tensor, torch.Tensor) and not hasattr(tensor, _TAG):
                _set_tag(tensor, Step(op=name.strip("_"), layer=self.current(),
                                      input=tuple(tensors[0].shape) if tensors else (),
                                      output=tuple(tensor.shape), before=step_in, joined=joined))
        return out

    def made_by(self, layer: CallRef, args: tuple[Any, ...], output: Any, step: bool = False) -> None:
        """A layer call ended: its output tensors are its, made from its first input (also
        where formulas on meta made them without an operation this mode could see). A
        functional step's output is its own even where this mode saw the op make it."""
        inputs = [a for a in _flat(args) if isinstance(a, torch.Tensor)]
        before = _tag(inputs[0]) if inputs else None
        for tensor in _flat(output if isinstance(output, (tuple, list)) else (output,)):
            if isinstance(tensor, torch.Tensor) and (step or _tag(tensor) is None):
                _set_tag(tensor, Step(op=layer.name.rsplit(".", 1)[-1], layer=layer,
                                      input=tuple(inputs[0].shape) if inputs else (),
                                      output=tuple(tensor.shape), before=before))


def _set_tag(tensor: torch.Tensor, step: Step) -> None:
    try:
        setattr(tensor, _TAG, step)
    except (AttributeError, RuntimeError):  # a tensor that takes no attribute
        pass


def _flat(values: Any) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        if isinstance(value, (tuple, list)):
            flat.extend(_flat(value))
        else:
            flat.append(value)
    return flat


def _tag(tensor: torch.Tensor) -> Step | None:
    return getattr(tensor, _TAG, None)


def _operand(tensor: torch.Tensor) -> Operand:
    path: list[Step] = []
    step = _tag(tensor)
    while step is not None and len(path) < _DEPTH:
        path.append(step)
        step = step.before
    return Operand(shape=tuple(tensor.shape), path=tuple(path))


def _target(args: tuple[Any, ...]) -> tuple[int, ...]:
    """The sizes a view or reshape asked for: `view(-1, 400)` and `view((-1, 400))` alike."""
    sizes = _flat(args)
    return tuple(int(s) for s in sizes) if sizes and all(isinstance(s, int) for s in sizes) else ()


def _joined(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], tensors: list[torch.Tensor]) -> Joined | None:
    """For a cat: each operand's size along the joined dimension and the layer call that
    made it (the innermost that tagged it)."""
    if name not in ("cat", "concat", "concatenate") or len(tensors) < 2:
        return None
    dim = _join_dim(name, args, kwargs)
    if dim is None or any(t.dim() == 0 for t in tensors):
        return None
    parts = []
    for tensor in tensors:
        step = _tag(tensor)
        parts.append((int(tensor.shape[dim]), step.layer if step is not None else FORWARD))
    return Joined(dim % tensors[0].dim(), tuple(parts))


def _join_dim(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int | None:
    if name not in ops.JOIN:
        return None
    try:
        dim = ops.bind(name, args, kwargs).get("dim", 0)
    except ops.Unbound:
        return None
    return dim if isinstance(dim, int) else None
