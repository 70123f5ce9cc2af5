"""Receptive fields: how much of the input one feature sees, per spatial dimension.

The recurrences are those of Araujo, Norris and Sim, "Computing Receptive Fields of
Convolutional Neural Networks" (Distill, 2019). For a layer with kernel F (dilated:
`d*(F - 1) + 1`), stride S and left padding P, on a feature with field r, effective
stride j and field start u (the input coordinate of the left edge of feature 0's field):

    r' = r + (F - 1) * j        j' = j * S        u' = u - P * j

Where branches merge (an add, a concatenation along channels), the field is the union of
the branches' fields: the leftmost start and the rightmost end of feature 0's fields.
Branches whose effective strides differ see fields that change from one position to the
next; that field is not one number, and is reported as unknown.

Pure: no torch. A field belongs to one tensor dimension: an `Axis`, `WHOLE` (every
position of the input reaches every feature: global pooling, a Linear on a flatten,
attention), `Unknown` (an operation whose geometry we don't follow), or None (a
dimension that is not spatial: the batch, the channels).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Union

__all__ = ["Axis", "Came", "Entry", "Unknown", "WHOLE", "Whole", "arithmetic", "describe",
           "merge", "number", "plain", "strided", "transposed", "widen"]


@dataclass(frozen=True)
class Came:
    """The step that made an axis: a layer's window (kernel, stride, padding), or a merge."""

    layer: str  # the layer call ("features.0", "pool (call 2)"), or the operation
    kernel: int  # dilated extent d*(F - 1) + 1; for a merge, 0
    stride: Fraction
    padding: Fraction
    before: Axis
    note: str = ""  # "transposed", "union of 2 branches", "upsampled (bilinear)"


@dataclass(frozen=True)
class Axis:
    size: Fraction  # r: input positions one feature sees
    stride: Fraction  # j: input positions between neighbouring features
    start: Fraction  # u: input coordinate of the left edge of feature 0's field
    came: Came | None = None

    @property
    def centre(self) -> Fraction:
        return self.start + (self.size - 1) / 2


@dataclass(frozen=True)
class Whole:
    """Every feature sees the whole input along this dimension; `why`: the operation that
    mixed every position ("se.pool (call 3): `mean` over a spatial dimension")."""

    why: str = ""


WHOLE = Whole()


@dataclass(frozen=True)
class Unknown:
    why: str


Entry = Union[Axis, Whole, Unknown, None]

INPUT = Axis(Fraction(1), Fraction(1), Fraction(0))


def strided(axis: Entry, kernel: int, stride: int, padding: int | Fraction, dilation: int = 1,
            layer: str = "") -> Entry:
    """After a conv or pooling window of `kernel` taps (dilated by `dilation`)."""
    if not isinstance(axis, Axis):
        return axis
    extent = dilation * (kernel - 1) + 1
    if extent == 1 and stride == 1 and padding == 0:
        return axis
    return Axis(axis.size + (extent - 1) * axis.stride, axis.stride * stride,
                axis.start - Fraction(padding) * axis.stride,
                Came(layer, extent, Fraction(stride), Fraction(padding), axis))


def transposed(axis: Entry, kernel: int, stride: int, padding: int, dilation: int = 1,
               layer: str = "") -> Entry:
    """After a transposed conv: output o takes input i where o = i*S - P + t*d, so it sees at
    most `(d*(F - 1)) // S + 1` neighbouring inputs (the largest field of any output is
    reported), and its features lie 1/S of an input step apart."""
    if not isinstance(axis, Axis):
        return axis
    taps = (dilation * (kernel - 1)) // stride + 1
    first = -((dilation * (kernel - 1) - padding) // stride)  # ceil((P - d*(F - 1)) / S)
    return Axis(axis.size + (taps - 1) * axis.stride, axis.stride / stride,
                axis.start + first * axis.stride,
                Came(layer, taps, Fraction(1, stride), Fraction(-first), axis, note="transposed"))


def merge(entries: list[Entry], layer: str = "") -> Entry:
    """The field of a feature made from several branches' features at the same position."""
    whole = next((e for e in entries if isinstance(e, Whole)), None)
    if whole is not None:
        return whole
    unknown = next((e for e in entries if isinstance(e, Unknown)), None)
    if unknown is not None:
        return unknown
    axes = [e for e in entries if isinstance(e, Axis)]
    if not axes:
        return None
    if len(axes) == 1 or all(a == axes[0] for a in axes[1:]):
        return axes[0]
    strides = {a.stride for a in axes}
    if len(strides) > 1:
        return Unknown(f"branches with effective strides {', '.join(number(s) for s in sorted(strides))} "
                       f"merge at {layer or 'one operation'}: the field changes from one position to the next")
    start = min(a.start for a in axes)
    end = max(a.start + a.size for a in axes)
    widest = max(axes, key=lambda a: (a.size, -a.start))
    if start == widest.start and end == widest.start + widest.size:
        return widest  # one branch's field holds the others': that path sets it
    return Axis(end - start, axes[0].stride, start,
                Came(layer, 0, Fraction(1), Fraction(0), widest, note=f"union of {len(axes)} branches"))


def plain(value: Fraction | int) -> int | float:
    """A field's number as JSON carries it: an int, or a float after an upsampling."""
    value = Fraction(value)
    return int(value) if value.denominator == 1 else float(value)


def number(value: Fraction | int) -> str:
    value = Fraction(value)
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def describe(entries: tuple[Entry, ...]) -> str:
    """`35x35`, `whole input`, `unknown (...)`: a feature's field over the spatial dims."""
    if not entries:
        return "no spatial dimensions"
    if all(isinstance(e, Whole) for e in entries):
        return "the whole input"
    parts = []
    for entry in entries:
        if isinstance(entry, Axis):
            parts.append(number(entry.size))
        elif isinstance(entry, Whole):
            parts.append("whole")
        else:
            parts.append("?")
    return "x".join(parts)


def arithmetic(axis: Axis) -> list[str]:
    """The layer-by-layer arithmetic that set `axis`, from the input: `r = r + (F - 1) * j`
    and `j = j * S` for each step that changed them."""
    steps = []
    current: Axis | None = axis
    while current is not None and current.came is not None:
        steps.append(current)
        current = current.came.before
    lines = ["input: r = 1, j = 1"]
    for step in reversed(steps):
        came = step.came
        assert came is not None
        before = came.before
        if came.note.startswith("union"):
            lines.append(f"{came.layer}: {came.note}, from {number(step.start)} to "
                         f"{number(step.start + step.size - 1)}: r = {number(step.size)}")
            continue
        if came.note == "transposed":
            lines.append(f"{came.layer} (transposed, at most {number(came.kernel)} input(s) per output, S=1/"
                         f"{number(1 / came.stride)}): r = {number(before.size)} + ({came.kernel} - 1) * "
                         f"{number(before.stride)} = {number(step.size)}, j = {number(before.stride)} / "
                         f"{number(1 / came.stride)} = {number(step.stride)}")
            continue
        note = f" {came.note}" if came.note else ""
        lines.append(f"{came.layer}{note} (F={came.kernel}, S={number(came.stride)}): "
                     f"r = {number(before.size)} + ({came.kernel} - 1) * {number(before.stride)} = "
                     f"{number(step.size)}, j = {number(before.stride)} * {number(came.stride)} = "
                     f"{number(step.stride)}")
    return lines


def widen(axis: Axis, wanted: int) -> list[str]:
    """Changes that give a field of at least `wanted`, each counted again with the recurrence
    before it is said: 3x3 convs (padding 1) after the layer of the path where features lie
    furthest apart (stride j), each adding 2*j to the field of every feature after it; or a
    2x2 stride-2 pooling there first (adding j, doubling what each conv adds after it)."""
    at, stride = "the input", Fraction(1)
    step: Axis | None = axis
    while step is not None and step.came is not None:
        if step.stride > stride and step.stride.denominator == 1:
            at, stride = step.came.layer, step.stride
        step = step.came.before
    count = int(-(-(wanted - axis.size) // (2 * stride)))
    size = _after(axis.size, stride, [3] * count)
    assert size >= wanted
    lines = [f"add {count} 3x3 conv(s) (padding 1) after {at}, where features are {number(stride)} apart: "
             f"each adds (3 - 1) * {number(stride)} = {number(2 * stride)}, so r = {number(axis.size)} + "
             f"{count} * {number(2 * stride)} = {number(size)} >= {wanted}"]
    pooled = axis.size + stride
    fewer = max(0, int(-(-(wanted - pooled) // (4 * stride))))
    if fewer + 1 < count:
        size = _after(axis.size, stride, [2] + [3] * fewer, strides=[2] + [1] * fewer)
        assert size >= wanted
        lines.append(f"a 2x2 stride-2 pooling after {at} (r = {number(axis.size)} + (2 - 1) * "
                     f"{number(stride)} = {number(pooled)}, j = {number(2 * stride)}), then {fewer} 3x3 conv(s), "
                     f"each adding {number(4 * stride)}: r = {number(pooled)} + {fewer} * {number(4 * stride)} = "
                     f"{number(size)} >= {wanted} (features then {number(2 * stride)} apart)")
    return lines


def _after(size: Fraction, stride: Fraction, kernels: list[int], strides: list[int] | None = None) -> Fraction:
    """The field after `kernels` (padding irrelevant to its size), by the recurrence."""
    axis: Entry = Axis(size, stride, Fraction(0))
    for kernel, step in zip(kernels, strides or [1] * len(kernels)):
        axis = strided(axis, kernel, step, 0)
    assert isinstance(axis, Axis)
    return axis.size
