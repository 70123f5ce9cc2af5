"""Where the layers a finding names are in the user's code, resolved once after the checks
(the runner calls `located`), so that the writers render places and read no source: the
line that made each layer (the line to edit; for a functional step, where it is called) and
the call of the block or helper that made it.
"""

from __future__ import annotations

import linecache
from dataclasses import replace

from ..findings import CodeLine, Finding, Place
from ..trace import Layer, Trace

__all__ = ["caller", "code_line", "located"]


def located(finding: Finding, trace: Trace) -> Finding:
    """The finding with the place of each layer it or one of its hints names."""
    names = dict.fromkeys([*finding.layers, *(hint.layer for hint in finding.hints if hint.layer)])
    places = []
    for name in names:
        layer = trace.layers.get(name)
        if layer is None or layer.defined is None:
            places.append(Place(name, None))
            continue
        call = caller(layer, trace)
        places.append(Place(name, code_line(*layer.defined), code_line(*call) if call else None, bool(layer.call)))
    return replace(finding, places=tuple(places))


def caller(layer: Layer, trace: Trace) -> tuple[str, int] | None:
    """(file, line) of the call of the block or helper that made the layer, where the values
    its arguments are named for are written; None for a layer the model makes itself (the
    line that made the whole model, a factory's `return Net()`, is no such call)."""
    made = layer.made
    if len(made) < 2:
        return None
    model = trace.layers.get("")
    if model is not None and (made[1][0], made[1][1]) in {(f[0], f[1]) for f in model.made}:
        return None
    return made[1][0], made[1][1]


def code_line(path: str, line: int) -> CodeLine:
    # A line in an argument list ends in a comma: not part of the code a sentence quotes.
    return CodeLine(path, line, linecache.getline(path, line).strip().removesuffix(","))
