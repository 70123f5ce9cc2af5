"""The input sizes that failed, for `expect.accepts` and `cnncheck sizes`: rectangles of
sizes (a range per swept name), each with a reason true of every size in it (causes.py's
crash_brief, or its crash_kind where the exact reasons would take too many lines).
"""

from __future__ import annotations

from typing import Any, Callable

from ..spec.sizes import describe as describe_sizes
from ..spec.sizes import label
from ..trace import Trace
from .causes import crash_brief, crash_kind

__all__ = ["Bindings", "rejections"]


Bindings = tuple[tuple[str, int], ...]


def rejections(points: list[tuple[Bindings, Trace]], shown: Callable[[Bindings], bool] = lambda _: True,
               limit: int = 8) -> list[str]:
    """The sizes that failed (those of them `shown` picks), each line a rectangle of sizes
    (a range per swept name) and a reason true of every size in it.

    Sizes that fail with the very same numbers are one line: `H=16..19: fc1: receives
    16*1*1 = 16, in_features 400`. Where that takes more than `limit` lines, sizes that
    fail in the same place for the same kind of reason are one line, with one size's
    numbers as the example: `H=16..31: fc1: the flattened size is not in_features 400
    (at H=16: receives 16*1*1 = 16, in_features 400)`.
    """
    failing = [(bindings, trace) for bindings, trace in points
               if trace.crash is not None and shown(bindings)]
    if not failing:
        return []
    grid = _Grid([bindings for bindings, _ in points])
    briefs = {bindings: crash_brief(trace) for bindings, trace in failing}
    exact = grid.rectangles([(b, briefs[b]) for b, _ in failing])
    if len(exact) <= limit:
        return [f"{grid.label(sizes)}: {briefs[sizes[0]][1]}" for _, sizes in exact]
    lines = []
    for kind, sizes in grid.rectangles([(b, crash_kind(t)) for b, t in failing]):
        whys = {briefs[size][1] for size in sizes}
        example = briefs[sizes[0]][1].partition(": ")[2]  # without the layer's name again
        lines.append(f"{grid.label(sizes)}: {whys.pop()}" if len(whys) == 1 else
                     f"{grid.label(sizes)}: {kind} (at {label(sizes[0])}: {example})")
    if len(lines) > limit:
        lines = lines[:limit] + [f"... and {len(lines) - limit} more lines of failing sizes"]
    return lines


class _Grid:
    """The sizes a sweep tried, as a grid: one axis per independent name (names tied to
    another, W: H, share its axis), each axis the name's values in order."""

    def __init__(self, sizes: list[Bindings]) -> None:
        self.names = [name for name, _ in sizes[0]] if sizes else []
        columns: dict[tuple[int, ...], list[int]] = {}
        for index in range(len(self.names)):
            columns.setdefault(tuple(size[index][1] for size in sizes), []).append(index)
        self.axes = [indices for indices in columns.values()
                     if len({size[indices[0]][1] for size in sizes}) > 1]
        self.fixed = [i for i in range(len(self.names)) if not any(i in axis for axis in self.axes)]
        self.order = [{value: n for n, value in enumerate(sorted({size[axis[0]][1] for size in sizes}))}
                      for axis in self.axes]

    def _at(self, size: Bindings) -> tuple[int, ...]:
        return tuple(order[size[axis[0]][1]] for axis, order in zip(self.axes, self.order))

    def rectangles(self, keyed: list[tuple[Bindings, Any]]) -> list[tuple[Any, list[Bindings]]]:
        """Group sizes of equal key into rectangles of the grid, in the order of their first size."""
        if not self.axes:
            return [(key, [size]) for size, key in keyed]
        # Runs along the last axis: same key, same place on the others, next value.
        at = {size: self._at(size) for size, _ in keyed}
        runs: list[tuple[Any, list[Bindings]]] = []
        for size, key in sorted(keyed, key=lambda pair: at[pair[0]]):
            if runs and runs[-1][0] == key and at[runs[-1][1][-1]][:-1] == at[size][:-1] \
                    and at[runs[-1][1][-1]][-1] + 1 == at[size][-1]:
                runs[-1][1].append(size)
            else:
                runs.append((key, [size]))
        if len(self.axes) == 1:
            return runs
        # Runs of equal key and extent on rows next to each other make one rectangle.
        rects: list[tuple[Any, list[Bindings]]] = []
        shape: list[tuple[Any, tuple[int, ...], int, int]] = []  # (key, other axes, first, last) per rect

        def extent(sizes: list[Bindings]) -> tuple[tuple[int, ...], int, int, int]:
            first, last = at[sizes[0]], at[sizes[-1]]
            return first[:-2], first[-2], first[-1], last[-1]

        for key, sizes in sorted(runs, key=lambda run: (extent(run[1])[0], extent(run[1])[2],
                                                         extent(run[1])[3], extent(run[1])[1])):
            outer, row, first, last = extent(sizes)
            if rects and shape[-1] == (key, outer, first, last) and \
                    at[rects[-1][1][-1]][-2] + 1 == row:
                rects[-1][1].extend(sizes)
            else:
                rects.append((key, list(sizes)))
                shape.append((key, outer, first, last))
        return sorted(rects, key=lambda rect: min(at[size] for size in rect[1]))

    def label(self, sizes: list[Bindings]) -> str:
        """`H=60..63, W=56..72`: the names and the sizes of a rectangle."""
        parts = []
        for axis in self.axes:
            names = "=".join(self.names[i] for i in axis)
            parts.append(f"{names}={describe_sizes(size[axis[0]][1] for size in sizes)}")
        parts.extend(f"{self.names[i]}={sizes[0][i][1]}" for i in self.fixed)
        return ", ".join(parts)
