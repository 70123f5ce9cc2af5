"""Trace -> a Mermaid flowchart of the shape flow, which GitHub draws in Markdown (job
summaries, pull-request comments): one box per layer call at a depth that keeps the picture
readable (a ResNet-50 as its stages), on each edge the shape the next box received, the receptive field
in each box where it is known, merges drawn as the branches that meet, and the layers a
failure names in red.

Pure: no torch. Needs a trace recorded under Flow (which layer call fed which).
"""

from __future__ import annotations

from ..fields import describe
from ..trace import Call, Trace

__all__ = ["MAX_BOXES", "mermaid"]

MAX_BOXES = 20  # beyond this a picture is read less easily than the table


# Complex on purpose: one branch per kind of node and edge the diagram draws.
def mermaid(trace: Trace, marked: frozenset[str] = frozenset(), max_boxes: int = MAX_BOXES) -> str | None:  # noqa: C901
    """The flowchart's Mermaid text; None where the pass was not recorded under Flow."""
    flow = trace.flow
    if flow is None or not trace.calls:
        return None
    calls = trace.calls
    parents = _parents(calls)
    depth = _depth(calls, parents, max_boxes)
    boxes = _boxes(calls, parents, depth)
    box_of = {i: _box_of(i, boxes, parents) for i in range(len(calls))}
    crashed = _crashed(calls) if trace.crash is not None else None

    lines = ["flowchart TD"]
    ids = {i: f"n{i}" for i in boxes}
    # One node per argument of forward: a Siamese model's two images, an image and its metadata.
    arguments = calls[0].inputs or (None,)
    inputs: dict[int, tuple[str, object]] = {
        -1 - k: ("input" if len(arguments) == 1 else f"input{k + 1}", argument) for k, argument in enumerate(arguments)}
    for node, argument in inputs.values():
        title = "input" if len(arguments) == 1 else f"input {node.removeprefix('input')}"
        lines.append(f'  {node}(["{title} {_shape(argument)}"])')
    for i in boxes:
        call = calls[i]
        layer = trace.layers.get(call.name)
        kind = layer.type_name if layer is not None else ""
        label = call.name + (f" (call {call.index + 1})" if call.index else "")
        rows = [label, kind]
        field = flow.fields[i] if i < len(flow.fields) else None
        if field and call.finished:
            seen = describe(field)
            if seen != "no spatial dimensions" and "?" not in seen:
                rows.append(f"RF {seen.removeprefix('the ')}")
        if not call.finished:
            rows.append("raised here" if i == crashed else "raised inside")
        lines.append(f'  {ids[i]}["{_text("<br/>".join(r for r in rows if r))}"]')

    def starts(source: int, seen: int = 0) -> list[tuple[str, object]]:
        """The boxes a call's output comes from: its own, or (a container drawn as its
        contents) the boxes that made its output inside."""
        if source < 0:
            return [inputs[source]] if source in inputs else []
        box = box_of.get(source)
        if box is not None:
            return [(ids[box], calls[source].output)]
        if seen > len(calls) or source >= len(flow.made):
            return []
        return [start for inner in flow.made[source] for start in starts(inner, seen + 1)]

    edges: dict[tuple[str, str], str] = {}
    for i, call in enumerate(calls):
        target = box_of[i]
        if target is None or i >= len(flow.sources):
            continue
        for source in flow.sources[i]:
            for start, shape in starts(source):
                if start != ids[target]:
                    edges.setdefault((start, ids[target]), _shape(shape))
    # An edge carries what the box's layer received where one edge brings all of it (after
    # `x.mean(-1)` the fc gets [4, 64], not the conv's [4, 64, 3]); where branches meet,
    # each brings its producer's output.
    into: dict[str, list[tuple[str, str]]] = {}
    for start, end in edges:
        into.setdefault(end, []).append((start, end))
    for i in boxes:
        received = calls[i].inputs
        if len(into.get(ids[i], ())) == 1 and len(received) == 1 and received[0] is not None:
            edges[into[ids[i]][0]] = _shape(received[0])
    if trace.crash is None:
        lines.append(f'  output(["output {_shape(trace.output)}"])')
        ends = starts(0) if box_of.get(0) is None else [(ids[box_of[0]], trace.output)]  # type: ignore[index]
        for start, shape in ends:
            # One box brings the whole output; where several do (a dict of heads), each edge
            # carries the part of the output it made.
            edges.setdefault((start, "output"), _shape(trace.output) if len(ends) == 1
                             else _part(trace.output, shape))
    for (start, end), shape in edges.items():
        lines.append(f'  {start} -->|"{_text(shape)}"| {end}')
    bad = sorted({ids[b] for i, call in enumerate(calls) if call.name in marked or i == crashed
                  for b in [box_of[i]] if b is not None})
    if bad:
        lines.append("  classDef bad fill:#fde2e1,stroke:#c62828,stroke-width:2px,color:#000")
        lines.append(f"  class {','.join(bad)} bad")
    return "\n".join(lines) + "\n"


def _parents(calls: tuple[Call, ...]) -> list[int]:
    """Each call's enclosing call (-1 for the model's own)."""
    parents, stack = [], []  # type: ignore[var-annotated]
    for i, call in enumerate(calls):
        del stack[call.depth:]
        parents.append(stack[-1] if stack else -1)
        stack.append(i)
    return parents


def _boxes(calls: tuple[Call, ...], parents: list[int], depth: int) -> list[int]:
    """The calls drawn as boxes: those at `depth`, and shallower ones with nothing inside."""
    has_children = {p for p in parents if p >= 0}
    return [i for i, call in enumerate(calls)
            if 1 <= call.depth <= depth and (call.depth == depth or i not in has_children)
            or call.depth == 0 and i not in has_children]


def _depth(calls: tuple[Call, ...], parents: list[int], max_boxes: int) -> int:
    deepest = max((call.depth for call in calls), default=0)
    chosen = 1
    for depth in range(1, deepest + 1):
        if len(_boxes(calls, parents, depth)) <= max_boxes:
            chosen = depth
        else:
            break
    return chosen


def _box_of(i: int, boxes: list[int], parents: list[int]) -> int | None:
    drawn = set(boxes)
    while i >= 0 and i not in drawn:
        i = parents[i]
    return i if i >= 0 else None


def _crashed(calls: tuple[Call, ...]) -> int | None:
    """The innermost call that raised: the last unfinished one."""
    unfinished = [i for i, call in enumerate(calls) if not call.finished]
    return max(unfinished, key=lambda i: (calls[i].depth, i)) if unfinished else None


def _shape(shape: object) -> str:
    if isinstance(shape, tuple):
        return "x".join(str(d) for d in shape) if shape else "scalar"
    if isinstance(shape, list):
        return ", ".join(_shape(s) for s in shape)
    if isinstance(shape, dict):
        return ", ".join(f"{k}: {_shape(v)}" for k, v in shape.items())
    return str(shape)


def _part(output: object, made: object) -> str:
    """The keys (or positions) of a dict (or tuple) output that hold what one box made, with
    its shape: `heatmap: 1x3x16x16`; the box's own output where none holds it as it is."""
    items = output.items() if isinstance(output, dict) else enumerate(output) if isinstance(output, list) else ()
    keys = [f"{key}: {_shape(value)}" for key, value in items if value == made]
    return ", ".join(keys) if keys else _shape(made)


def _text(text: str) -> str:
    """Text inside a quoted Mermaid label: its own quotes and markup characters as entities."""
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<br/>", "\0")
            .replace("<", "#lt;").replace(">", "#gt;").replace("\0", "<br/>"))
