"""A sliding window along one spatial axis: the one place the output-size formula lives.

A conv, a pool or a transposed conv maps an input size W to an output size with its
kernel F, stride S, padding P, dilation D (and ceil_mode, output_padding):

    out = (W - F' + 2P) / S + 1, rounded down (up with ceil_mode), F' = D*(F - 1) + 1
    out = (W - 1)*S - 2P + D*(F - 1) + output_padding + 1    (transposed)

`Window` gives that size (`out`), the arithmetic a person would write for it (`steps`),
what is left over (`remainder`) and the values of one argument that give a wanted size
(`solve`). Everything that needs the formula (the fast meta path, the explanations, the
fixes) asks a Window. Plain integers: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

__all__ = ["Window", "windows"]


@dataclass(frozen=True)
class Window:
    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    ceil_mode: bool = False
    transposed: bool = False
    output_padding: int = 0

    @property
    def span(self) -> int:
        """The window's real extent once dilated: F' = D*(F - 1) + 1."""
        return self.dilation * (self.kernel - 1) + 1

    def numerator(self, size: int) -> int:
        """W - F' + 2P: what the stride divides (negative: the window does not fit)."""
        return size - self.span + 2 * self.padding

    def remainder(self, size: int) -> int:
        """What (W - F' + 2P) / S leaves over: 0 where the windows tile the input exactly."""
        return self.numerator(size) % self.stride

    def unread(self, size: int) -> int:
        """The input positions at the end that no window reads: what the remainder leaves
        beyond the right padding (a 3x3 conv with stride 2 and padding 1 on 32 leaves a
        remainder of 1, which is padding: it reads all 32)."""
        if self.transposed or self.ceil_mode:
            return 0
        return max(0, self.remainder(size) - self.padding)

    def fits(self, size: int) -> bool:
        return self.out(size) is not None

    def out(self, size: int) -> int | None:
        """The output size for an input of `size`, as torch computes it; None where the
        window does not fit (or a transposed conv would give nothing)."""
        s = self.stride
        if self.transposed:
            result = (size - 1) * s - 2 * self.padding + self.dilation * (self.kernel - 1) \
                + self.output_padding + 1
            return result if result > 0 else None
        # torch's pooling_output_shape: floor division, or ceiling with ceil_mode, and no
        # last window that would start in the right padding.
        numerator = self.numerator(size) + (s - 1 if self.ceil_mode else 0)
        out = numerator // s + 1
        if self.ceil_mode and (out - 1) * s >= size + self.padding:
            out -= 1
        return out if out > 0 and (numerator >= 0 or self.ceil_mode) else None

    def steps(self, size: int) -> str:
        """`(32 - 5 + 2*0) / 1 + 1 = 28`: the arithmetic for an input of `size`, as a person
        writes it, with the rounding and the dilation said where they matter."""
        s, p, d, f = self.stride, self.padding, self.dilation, self.kernel
        if self.transposed:
            return f"({size} - 1)*{s} - 2*{p} + {d}*({f} - 1) + {self.output_padding} + 1 = {self.out(size)}"
        span, numerator = self.span, self.numerator(size)
        text = f"({size} - {span} + 2*{p}) / {s} + 1"
        note = f" (F = {d}*({f}-1) + 1 = {span} with dilation {d})" if d != 1 else ""
        if self.out(size) is None:
            return (f"{text} < 1: the window F={span} is larger than the padded input "
                    f"{size} + 2*{p} = {size + 2 * p}{note}")
        if numerator % s == 0:
            return f"{text} = {numerator // s + 1}{note}"
        exact, down, got = numerator / s + 1, numerator // s + 1, self.out(size)
        if not self.ceil_mode:
            return f"{text} = {exact:g}, rounded down to {down}{note}"
        if got != down + 1:  # torch drops a last window that would start in the right padding
            return (f"{text} = {exact:g}, rounded up (ceil_mode=True) to {down + 1}, less the last window "
                    f"that would start in the padding: {got}{note}")
        return f"{text} = {exact:g}, rounded up to {got} (ceil_mode=True){note}"

    def solve(self, size: int, wanted: int, argument: str, values: Iterable[int]) -> list[int]:
        """The values of `argument` (kernel, stride, padding, output_padding, ...) among
        `values` with which an input of `size` comes out `wanted`, nearest the current first."""
        current = getattr(self, argument)
        changed: dict[str, Any] = {argument: 0}
        found = []
        for value in values:
            changed[argument] = value
            if replace(self, **changed).out(size) == wanted:
                found.append(value)
        return sorted(found, key=lambda v: (abs(v - current), v))


# The layer arguments (torch's names) that a Window's fields come from.
_ARGUMENTS = {"kernel_size": "kernel", "stride": "stride", "padding": "padding", "dilation": "dilation",
              "output_padding": "output_padding", "ceil_mode": "ceil_mode"}


def windows(hparams: dict[str, Any], transposed: bool = False) -> tuple[Window, ...] | None:
    """One Window per spatial axis from a layer's arguments as torch keeps them (tuples per
    axis, `padding` possibly 'valid'); None for padding='same', which keeps the size."""
    if hparams.get("padding") == "same":
        return None
    dims = len(_per_axis(hparams["kernel_size"], 1))
    args = {field: _per_axis(0 if key == "padding" and hparams[key] == "valid" else hparams[key], dims)
            for key, field in _ARGUMENTS.items() if key in hparams and key != "ceil_mode"}
    ceil = bool(hparams.get("ceil_mode", False))
    return tuple(Window(**{field: int(values[axis]) for field, values in args.items()},
                        ceil_mode=ceil, transposed=transposed) for axis in range(dims))


def _per_axis(value: Any, dims: int) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims
