"""The spec-side edits: what `--cnncheck-update` writes over a spec's text so that it states
what the model does; only the values that are wrong."""

from __future__ import annotations

from typing import Any

from ..findings import Edit
from ..spec.model import Number, Shape, ShapeMap, ShapeNode, Shapes, ShapeSeq
from ..spec.source import Span, yaml_key
from ..trace import format_shapes


def value_edits(*pairs: tuple[Span | None, str]) -> tuple[Edit, ...] | None:
    spans = [(span, new) for span, new in pairs if span is not None]
    return tuple(Edit(span, new) for span, new in spans) if len(spans) == len(pairs) else None


def number_edits(number: Number, actual: int) -> tuple[Edit, ...] | None:
    return value_edits((number.span, str(actual)))


def shape_edits(shapes: Shapes, actual: Any) -> tuple[Edit, ...] | None:
    """Rewrite only the dimensions that are wrong, so expressions that hold stay as written."""
    return _node_edits(shapes.root, actual, shapes.span)


def _node_edits(node: ShapeNode | None, actual: Any, span: Span | None) -> tuple[Edit, ...] | None:
    if node is None:  # `_`: anything goes
        return ()
    if isinstance(node, Shape):
        return _one_shape_edits(node, actual)
    if isinstance(node, ShapeSeq) and isinstance(actual, list) and len(actual) == len(node.items):
        pairs = list(zip(node.items, actual))
    elif isinstance(node, ShapeMap) and isinstance(actual, dict) and \
            list(actual) == [key for key, _ in node.items]:
        pairs = [(item, actual[key]) for key, item in node.items]
    else:
        return _whole_shape_edit(node.span or span, actual)
    edits: list[Edit] = []
    for item, one in pairs:
        found = _node_edits(item, one, None)
        if found is None:
            return None
        edits.extend(found)
    return tuple(edits)


def _one_shape_edits(shape: Shape, actual: Any) -> tuple[Edit, ...] | None:
    if isinstance(actual, tuple) and len(actual) == len(shape.dims):
        return value_edits(*[(dim.span, str(value)) for dim, value in zip(shape.dims, actual)
                        if dim is not None and dim.value != value])
    return _whole_shape_edit(shape.span, actual)


def _whole_shape_edit(span: Span | None, actual: Any) -> tuple[Edit, ...] | None:
    return value_edits((span, flow_shapes(actual))) if span is not None and is_shape_tree(actual) else None


def is_shape_tree(tree: Any) -> bool:
    """Whether a spec can state `tree` as it is: shapes (`[]` for a scalar), lists and dicts
    of them (`[]` for an empty tuple), with `_` for what is not a tensor inside them (a None,
    a number)."""
    if isinstance(tree, tuple):
        return True
    if isinstance(tree, list):  # `[_]` would read as a shape: at least one tensor, or none at all
        return all(isinstance(item, str) or is_shape_tree(item) for item in tree) and \
            (not tree or any(not isinstance(item, str) for item in tree))
    if isinstance(tree, dict):
        return bool(tree) and all(isinstance(item, str) or is_shape_tree(item) for item in tree.values())
    return False


def flow_shapes(tree: Any) -> str:
    """A shape tree as YAML flow text: `[[1, 5, 20], [[1, 1, 20], [1, 1, 20]]]`, `{out: [1, 10]}`."""
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{yaml_key(key)}: {flow_shapes(item)}" for key, item in tree.items()) + "}"
    if isinstance(tree, list):
        return "[" + ", ".join(flow_shapes(item) for item in tree) + "]"
    if isinstance(tree, str):  # not a tensor (a None, a number): any
        return "_"
    return format_shapes(tree)
