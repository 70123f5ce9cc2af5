"""Sets of input sizes, as a spec writes them and as cnncheck prints them.

One small grammar serves `sweep` (the sizes to try), `expect.accepts` (the sizes
that must run) and `cnncheck sizes` (the sizes that do):

    32              one size
    32..35          every size from 32 to 35
    32..            every size from 32 up (only where a searched range bounds it)
    32..512 step 32 32, 64, ..., 512 (also `32.. step 32`)
    [16, 32..35]    a list of the above: their union

Pure: no torch, no YAML.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable

__all__ = ["Run", "SizeSet", "SizeSetError", "describe", "label", "parse_sizes", "pattern", "tied_columns"]

_RUN = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)?\s*(?:step\s+(\d+))?\s*$")


class SizeSetError(ValueError):
    """Text that is not a set of sizes; the message completes "... is not a set of sizes: "."""


@dataclass(frozen=True)
class Run:
    """start, start + step, ... up to stop (inclusive; None: no end of its own)."""

    start: int
    stop: int | None
    step: int = 1

    def __contains__(self, size: object) -> bool:
        return (isinstance(size, int) and size >= self.start
                and (self.stop is None or size <= self.stop)
                and (size - self.start) % self.step == 0)

    def __str__(self) -> str:
        if self.stop == self.start:
            return str(self.start)
        text = f"{self.start}..{'' if self.stop is None else self.stop}"
        return text if self.step == 1 else f"{text} step {self.step}"


@dataclass(frozen=True)
class SizeSet:
    runs: tuple[Run, ...]

    @property
    def bounded(self) -> bool:
        return all(run.stop is not None for run in self.runs)

    def __contains__(self, size: object) -> bool:
        return any(size in run for run in self.runs)

    def values(self) -> list[int]:
        """Every size, in order; only for a bounded set."""
        found: set[int] = set()
        for run in self.runs:
            assert run.stop is not None, "an open-ended set has no list of values"
            found.update(range(run.start, run.stop + 1, run.step))
        return sorted(found)

    def __str__(self) -> str:
        if len(self.runs) == 1:
            return str(self.runs[0])
        return "[" + ", ".join(str(run) for run in self.runs) + "]"


def parse_sizes(value: Any) -> SizeSet:
    """A SizeSet from what YAML gave: an int, a range text, or a list of those."""
    items = value if isinstance(value, list) else [value]
    runs = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise SizeSetError(f"{_show(item)} is neither a size nor a range such as 32..35")
        if isinstance(item, int):
            if item < 1:
                raise SizeSetError(f"{item} is not a positive size")
            runs.append(Run(item, item))
            continue
        if item.strip().isdigit():
            number = int(item)
            if number < 1:
                raise SizeSetError(f"{number} is not a positive size")
            runs.append(Run(number, number))
            continue
        match = _RUN.match(item)
        if not match:
            raise SizeSetError(f"{item!r} is not a size or a range such as 32..35, 32.. or "
                               "32..512 step 32")
        start, stop, step = int(match[1]), match[2], int(match[3] or 1)
        run = Run(start, None if stop is None else int(stop), step)
        if start < 1 or step < 1:
            raise SizeSetError(f"{item!r} must start at 1 or more and step by 1 or more")
        if run.stop is not None and run.stop < start:
            raise SizeSetError(f"{item!r} ends before it starts")
        runs.append(run)
    return SizeSet(tuple(runs))


def _show(value: Any) -> str:
    return "an empty value" if value is None else f"{type(value).__name__} {value!r}"


def label(bindings: Iterable[tuple[str, int]]) -> str:
    """`H=96, W=96`: the values a sweep's names take at one size."""
    return ", ".join(f"{name}={value}" for name, value in bindings)


def describe(sizes: Iterable[int]) -> str:
    """The shortest text of the grammar for exactly these sizes: `32..35`, `32..512 step 32`,
    `[8, 16..20]`; `none` for no size."""
    ordered = sorted(set(sizes))
    if not ordered:
        return "none"
    if len(ordered) > 2:
        steps = {b - a for a, b in zip(ordered, ordered[1:])}
        if len(steps) == 1:
            return str(Run(ordered[0], ordered[-1], steps.pop()))
    runs, start = [], ordered[0]
    for before, after in zip(ordered, ordered[1:] + [None]):
        if after != before + 1:
            runs.append(Run(start, before))
            start = after if after is not None else start
    return str(runs[0]) if len(runs) == 1 else "[" + ", ".join(map(str, runs)) + "]"


def pattern(sizes: Iterable[int]) -> str | None:
    """`multiples of 32` where every size is one and there are at least three: the
    divisibility a stride-32 network demands, said the way people say it."""
    ordered = sorted(set(sizes))
    if len(ordered) < 3:
        return None
    divisor = math.gcd(*ordered)
    steps = {b - a for a, b in zip(ordered, ordered[1:])}
    if divisor > 1 and steps == {divisor}:
        return f"multiples of {divisor}"
    return None


def tied_columns(sizes: list[tuple[tuple[str, int], ...]]) -> list[tuple[str, list[int]]]:
    """Each swept name's values across `sizes`, names that always agree (W: H) as one: `H=W`."""
    if not sizes:
        return []
    columns: dict[tuple[int, ...], list[str]] = {}
    for index, (name, _) in enumerate(sizes[0]):
        columns.setdefault(tuple(size[index][1] for size in sizes), []).append(name)
    return [("=".join(names), list(values)) for values, names in columns.items()]
