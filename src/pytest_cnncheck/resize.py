"""A step that resizes a map along one axis without sliding a window: the one place these
output sizes are computed and written out.

    F.interpolate(x, scale_factor=s)   out = floor(W * s)          `8 * 3 = 24`
    F.interpolate(x, size=n)           out = n                     `size 16`
    F.pad(x, (l, r, ...))              out = W + l + r             `30 + 1 + 1 = 32`
    F.pixel_shuffle(x, r)              out = W * r                 `8 * 2 = 16`
    F.pixel_unshuffle(x, r)            out = W / r                 `16 / 2 = 8`

`resizes` reads a functional step's arguments (run/functional.py keeps them as torch
takes them) into one Resize per spatial axis. Plain numbers: no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

from .trace import LayerKind

__all__ = ["Resize", "resizes"]

How = Literal["scale", "size", "pad", "shuffle", "unshuffle"]


@dataclass(frozen=True)
class Resize:
    how: How
    scale: float = 1.0  # interpolate's scale_factor; the shuffle's factor
    size: int = 0  # interpolate's size
    before: int = 0  # pad at the start of the axis
    after: int = 0  # and at its end

    def out(self, size: int) -> int | None:
        """The output size for an input of `size`, as torch computes it; None where there is none."""
        if self.how == "scale":
            result = math.floor(size * self.scale)
        elif self.how == "size":
            result = self.size
        elif self.how == "pad":
            result = size + self.before + self.after
        elif self.how == "shuffle":
            result = size * int(self.scale)
        else:
            result = size // int(self.scale) if size % int(self.scale) == 0 else 0
        return result if result > 0 else None

    def steps(self, size: int) -> str:
        """`8 * 3 = 24`: the arithmetic for an input of `size`, as a person writes it."""
        out = self.out(size)
        if self.how == "scale":
            exact = size * self.scale
            rounded = f", rounded down to {out}" if exact != out else ""
            return f"{size} * {self.scale:g} = {exact:g}{rounded}"
        if self.how == "size":
            return f"{size} -> size {self.size}"
        if self.how == "pad":
            return f"{size} + {self.before} + {self.after} = {out}"
        if self.how == "shuffle":
            return f"{size} * {int(self.scale)} = {out}"
        if out is None:
            return f"{size} / {int(self.scale)} = {size / self.scale:g}: not a whole number"
        return f"{size} / {int(self.scale)} = {out}"

    def solve(self, size: int, wanted: int) -> Resize | None:
        """The same step made to turn `size` into `wanted`: a scale a whole factor (or its
        inverse) where one does it, a size the size wanted, a pad that adds the difference at
        the end. None where none does. (A scale stays a scale and a size a size: the call
        can't take both.)"""
        if self.how == "size" and wanted > 0:
            return replace(self, size=wanted)
        if self.how == "scale" and wanted > 0 and (wanted % size == 0 or size % wanted == 0):
            found = replace(self, scale=float(wanted // size) if wanted % size == 0 else 1 / (size // wanted))
            return found if found.out(size) == wanted else None
        if self.how == "pad" and wanted - size - self.before >= 0:
            return replace(self, after=wanted - size - self.before)
        return None


def resizes(kind: LayerKind, hparams: dict[str, Any], dims: int) -> tuple[Resize, ...] | None:
    """One Resize per spatial axis (of `dims`) from a step's arguments; None where they
    can't be read (a scale per axis that is not a number, a size that is not)."""
    try:
        if kind == "resize":
            size, scale = hparams.get("size"), hparams.get("scale_factor")
            if size is not None:
                sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * dims
                return tuple(Resize("size", size=int(n)) for n in sizes)
            if scale is None:
                return None
            scales: tuple[Any, ...] = tuple(scale) if isinstance(scale, (tuple, list)) else (scale,) * dims
            return tuple(Resize("scale", scale=float(s)) for s in scales)
        if kind == "pad":
            pad = hparams["pad"]  # (last's start, last's end, the one before's start, ...)
            return tuple(Resize("pad", before=pad[2 * k] if 2 * k < len(pad) else 0,
                                after=pad[2 * k + 1] if 2 * k + 1 < len(pad) else 0)
                         for k in reversed(range(dims)))
        if kind == "shuffle":
            up = hparams.get("upscale_factor")
            return (Resize("shuffle", scale=up),) * dims if up else \
                (Resize("unshuffle", scale=hparams["downscale_factor"]),) * dims
    except (TypeError, ValueError, KeyError, IndexError):
        return None
    return None
