"""Ops whose output size depends on the values, on meta: an assumption in place of data.

`nonzero`, a boolean mask, `masked_select`, `unique` and torchvision's `nms` return as
many rows as the data selects, and meta has no data: torch refuses them there. A
detection model runs them on every pass (score thresholds, non-maximum suppression),
so without an answer it could only run on the CPU.

Under `Selecting(everything)`, each such op selects nothing (`everything=False`: what
zero inputs give a detector, whose scores then clear no threshold) or everything
(`everything=True`). A pass is run under the first only where it failed on meta for
want of data (`needs_data`), and `cnncheck init` runs the second beside it: a size that
differs between the two depends on the values, and is written `_`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["Selecting", "needs_data"]

aten = torch.ops.aten

# What torch and torchvision say when an op's output size needs values meta lacks.
_NEEDS_DATA = ("nonzero", "data-dependent", "dynamic output shape", "DynamicOutputShape",
               "dynamic_size", "masked_select", "unique")


def needs_data(exception: str) -> bool:
    """Whether a pass failed on meta because an op's output size depends on values."""
    return any(marker in exception for marker in _NEEDS_DATA)


def _rows(everything: bool, available: int) -> int:
    return available if everything else 0


def _long(*shape: int) -> torch.Tensor:
    return torch.empty(shape, dtype=torch.long, device="meta")


class Selecting(TorchDispatchMode):
    """Data-dependent ops on meta tensors select nothing, or everything."""

    def __init__(self, everything: bool) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.everything = everything

    def _masks_as_indices(self, indices: list[Any]) -> list[Any]:
        """A boolean mask as the long indices it selects: one per dimension it covers."""
        out: list[Any] = []
        for index in indices:
            if isinstance(index, torch.Tensor) and index.is_meta and index.dtype in (torch.bool, torch.uint8):
                rows = _rows(self.everything, index.numel())
                out.extend(_long(rows) for _ in range(max(index.dim(), 1)))
            else:
                out.append(index)
        return out

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        first = args[0] if args else None
        if not isinstance(first, torch.Tensor) or not first.is_meta:
            return func(*args, **kwargs)
        packet = func.overloadpacket
        if packet is aten.nonzero:
            return _long(_rows(self.everything, first.numel()), first.dim())
        if packet is aten.masked_select:
            shape = torch.broadcast_shapes(first.shape, args[1].shape)  # type: ignore[no-untyped-call]
            return first.new_empty((_rows(self.everything, int(torch.Size(shape).numel())),))
        if packet in (aten.index, aten._unsafe_index) and len(args) > 1:
            return func(first, self._masks_as_indices(list(args[1])), *args[2:], **kwargs)
        if packet in (aten.index_put, aten.index_put_, aten._index_put_impl_) and len(args) > 2 \
                and any(isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8) for i in args[1]):
            # The target keeps its shape, whatever a mask selects.
            return first.clone() if packet is aten.index_put else first
        if packet in (aten._unique2, aten.unique_dim, aten.unique_consecutive, aten.unique_dim_consecutive):
            # One distinct value, or two: not every element, which a loop over the classes
            # found (torchvision's per-class NMS) would then run once per element.
            rows = min(first.numel(), 2 if self.everything else 1)
            values = first.new_empty((rows,) if packet in (aten._unique2, aten.unique_consecutive)
                                     else (rows, *first.shape[1:]))
            return values, _long(*first.shape), _long(rows)
        if getattr(packet, "__name__", "") == "nms" and "torchvision" in str(packet):
            return _long(_rows(self.everything, first.shape[0]))
        return func(*args, **kwargs)
