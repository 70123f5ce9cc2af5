"""The arithmetic behind a finding, as data: each step holds its numbers, and `text`
writes it as a person does it by hand. Each formula is written here once (the
output-size formula itself lives in window.py):

* `Step`: a conv's or pool's window along one axis, `H: (14 - 5 + 2*0) / 1 + 1 = 10`;
* `Resized`: an interpolate, a pad or a pixel shuffle along one axis, `H: 8 * 2 = 16`;
* `Flattened`: the tensor flattened into a Linear, `flattened: [1, 16, 5, 5] -> 16*5*5 = 400`;
* `Counted`: a layer's parameters, `6 * (5*5*3 + 1) = 456`;
* `Received`: what reached a layer against the argument that takes it,
  `400 features, but in_features is 576`;
* `Operands`: two tensors an operation could not take together (a residual sum, a
  cat), `dimension 1 is 128 against 64`.

The explanations (explain/) make them from the Trace; a finding carries them in `steps`,
and the JSON report gives their numbers. Plain integers: no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Union

from .resize import Resize
from .trace import format_shapes
from .window import Window

__all__ = ["Arithmetic", "Counted", "Flattened", "Operands", "Received", "Resized", "Step", "counted_as",
           "product_text"]


def counted_as(argument: str) -> str:
    """What an argument counts: `in_features` and an RNN's `input_size` count features,
    `in_channels` and `num_features` channels."""
    return "features" if argument in ("in_features", "input_size") else "channels"


def product_text(shape: tuple[int, ...], start: int = 1) -> str:
    """`16*5*5 = 400` for the dimensions of `shape` from `start` on."""
    dims = shape[start:]
    total = math.prod(dims)
    return f"{'*'.join(str(d) for d in dims)} = {total}" if len(dims) > 1 else str(total)


@dataclass(frozen=True)
class Step:
    """A layer's window along one spatial axis, run on the size that reached it."""

    layer: str  # the layer's qualified name
    call: int  # which call of it, from 0
    axis: str  # H, W, D or L
    size: int  # the size that reached it along that axis
    window: Window

    @property
    def output(self) -> int | None:
        """What came out; None where the window does not fit."""
        return self.window.out(self.size)

    def text(self) -> str:
        return f"{self.axis}: {self.window.steps(self.size)}"


@dataclass(frozen=True)
class Resized:
    """A step that resized a map along one spatial axis (interpolate, pad, pixel shuffle),
    run on the size that reached it."""

    layer: str
    call: int
    axis: str
    size: int
    resize: Resize

    @property
    def output(self) -> int | None:
        return self.resize.out(self.size)

    def text(self) -> str:
        return f"{self.axis}: {self.resize.steps(self.size)}"


@dataclass(frozen=True)
class Flattened:
    """The tensor that was flattened into a Linear's input: its shape, batch first, and the
    features a sample that it multiplies out to."""

    layer: str  # the layer that received it
    call: int
    shape: tuple[int, ...]

    @property
    def features(self) -> int:
        return math.prod(self.shape[1:])

    def text(self) -> str:
        return f"flattened: {format_shapes(self.shape)} -> {product_text(self.shape)}"


@dataclass(frozen=True)
class Received:
    """What reached a layer along one dimension, against the argument that says what it
    takes: the cause of most crashes (`in_features`, `input_size`, `in_channels`,
    `num_features`)."""

    layer: str
    call: int
    shape: tuple[int, ...]  # what reached it
    argument: str  # in_features, input_size (an RNN's), in_channels or num_features
    got: int  # the features or channels that arrived
    wanted: int  # the argument's value

    def text(self) -> str:
        return f"{self.got} {counted_as(self.argument)}, but {self.argument} is {self.wanted}"


@dataclass(frozen=True)
class Operands:
    """The tensors that an elementwise operation (`out + x`) or a join (`torch.cat`) could
    not take together: their shapes, and the dimensions where they differ."""

    op: str  # add, sub, mul, div, cat, stack, ...
    layer: str  # the layer call it ran in; "" for the model's own forward
    shapes: tuple[tuple[int, ...], ...]
    dim: int | None = None  # the dimension a join is along: the one that may differ

    @property
    def differ(self) -> tuple[int, ...]:
        """The dimensions where the first two differ (a join's own dimension aside)."""
        a, b = self.shapes[0], self.shapes[1]
        if len(a) != len(b):
            return ()
        skip = self.dim % len(a) if self.dim is not None and a else None
        return tuple(i for i, (x, y) in enumerate(zip(a, b)) if x != y and i != skip)

    def text(self) -> str:
        """`dimension 1 is 128 against 64, dimension 2 is 16 against 32`."""
        a, b = self.shapes[0], self.shapes[1]
        if len(a) != len(b):
            return f"{len(a)} dimensions against {len(b)}"
        return ", ".join(f"dimension {i} is {a[i]} against {b[i]}" for i in self.differ)


# The layer formulas: each takes the terms (the layer's arguments) and gives its count.
_FORMULAS = {
    "conv": lambda t: t["out_channels"] * (math.prod(t["kernel_size"]) * (t["in_channels"] // t["groups"])
                                           + int(t["bias"])),
    "conv_transpose": lambda t: (t["in_channels"] * (t["out_channels"] // t["groups"]) * math.prod(t["kernel_size"])
                                 + (t["out_channels"] if t["bias"] else 0)),
    "linear": lambda t: t["out_features"] * (t["in_features"] + int(t["bias"])),
    "norm": lambda t: 2 * t["num_features"],
}


@dataclass(frozen=True)
class Counted:
    """A layer's parameters: the tensors it holds itself, and where its own formula adds
    up to them (`formula`), the arguments that fill it (`terms`)."""

    layer: str  # "" for the model itself
    total: int  # what it holds, its children's parameters included
    tensors: tuple[tuple[str, tuple[int, ...]], ...] = ()  # its own: ("weight", (6, 3, 5, 5))
    shared: tuple[tuple[str, str], ...] = ()  # own tensors tied to another layer's: (name, that layer)
    formula: str | None = None  # conv, conv_transpose, linear or norm
    terms: tuple[tuple[str, Any], ...] = ()  # (("out_channels", 6), ("kernel_size", (5, 5)), ...)

    @staticmethod
    def fill(formula: str, terms: dict[str, Any]) -> int:
        """What `formula` counts with these terms."""
        return int(_FORMULAS[formula](terms))

    @property
    def counted(self) -> int:
        """The parameters counted here: its own, less those tied to another layer's."""
        tied = dict(self.shared)
        return sum(math.prod(shape) for name, shape in self.tensors if name not in tied)

    def text(self) -> str:
        """`6 * (5*5*3 + 1) = 456`; the sum of its tensors' sizes where no formula fits."""
        if self.shared:  # a tied tensor is counted once, where it is first: say so, and skip it here
            tied = dict(self.shared)
            parts = [f"{name} {format_shapes(shape)}" for name, shape in self.tensors if name not in tied]
            ties = ", ".join(f"{name} is {owner}, counted there" for name, owner in self.shared)
            return f"{' + '.join(parts) or 'nothing of its own'} = {self.counted:,} ({ties})"
        if self.formula is not None:
            return f"{_written(self.formula, dict(self.terms))} = {self.counted:,}"
        if not self.tensors:
            return f"{self.total:,}"
        parts = [f"{name} {format_shapes(shape)}" for name, shape in self.tensors]
        return f"{' + '.join(parts)} = {self.counted:,}"


def _written(formula: str, t: dict[str, Any]) -> str:
    """A formula with its numbers in, as a person writes it: `6 * (5*5*3 + 1)`."""
    if formula == "norm":
        return f"2 * {t['num_features']}"
    if formula == "linear":
        return f"{t['out_features']} * ({t['in_features']} + 1)" if t["bias"] \
            else f"{t['out_features']} * {t['in_features']}"
    kernel = "*".join(str(k) for k in t["kernel_size"])
    if formula == "conv_transpose":
        text = f"{t['in_channels']} * {t['out_channels'] // t['groups']} * {kernel}"
        return text + f" + {t['out_channels']}" if t["bias"] else text
    per_filter = t["in_channels"] // t["groups"]
    inner = f"{kernel}*{per_filter}"
    text = f"{t['out_channels']} * ({inner} + 1)" if t["bias"] else f"{t['out_channels']} * {inner}"
    if t["groups"] != 1:
        text += f" (groups={t['groups']}: {per_filter} input channels per filter)"
    return text


Arithmetic = Union[Step, Resized, Flattened, Received, Counted, Operands]
