"""Write the JSON Schema of the spec format: src/pytest_cnncheck/cnncheck.schema.json and
its copy schema/cnncheck.schema.json (for editors that fetch it by URL).

The schema is written here, next to nothing else, so that every key's description
is in one place; tests/test_schema.py runs it and the plugin's own validation over
one corpus of specs and demands the same verdicts, and checks both files are this.
Run from the repository root: python scripts/write_schema.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from pytest_cnncheck.spec.model import (  # noqa: E402
    BYTE_SUFFIXES,
    COUNT_SUFFIXES,
    DEVICES,
    DTYPES,
    MODES,
    OPTIMIZERS,
    PRECISIONS,
    TRAINING_PARTS,
)

ROOT = Path(__file__).resolve().parent.parent
TARGETS = (ROOT / "src" / "pytest_cnncheck" / "cnncheck.schema.json", ROOT / "schema" / "cnncheck.schema.json")

# The expression grammar as far as a regular expression can follow it: operands (integers,
# names) joined by operators, each operand behind any number of `(`, `ceil(` or a sign and
# before any number of `)`. So `16 x 13 x 13` (no operator between operands) and `2**10`
# fail here as in the plugin; whether the parentheses pair up is the plugin's to say.
_OPERAND = r"(?:[0-9][0-9_]*|[A-Za-z_][A-Za-z0-9_]*)"
_OPEN = r"(?:(?:ceil\s*)?\(\s*|[-+]\s*)*"
_TERM = rf"{_OPEN}{_OPERAND}\s*(?:\)\s*)*"
EXPRESSION = {
    "type": "string",
    # Integers, names (a sweep's), + - * // % /, ceil(a / b) and parentheses; not `_` alone.
    "pattern": rf"^(?!\s*_\s*$)\s*{_TERM}(?:(?://|[-+*/%])\s*{_TERM})*$",
    "description": "Integer arithmetic: integers, + - * // % /, ceil(a / b), parentheses, and the "
                   "names a `sweep` declares. '16*5*5', 'H//16'.",
}
SIZE_TEXT = r"^\s*[0-9]+\s*(\.\.\s*[0-9]*\s*(step\s+[0-9]+)?)?\s*$"


def magnitude(suffixes: dict[str, int], example: str) -> dict[str, object]:
    """`25.6M`, `16GiB`: a number and one of the plugin's suffixes, exactly as it spells them."""
    return {"type": "string",
            "pattern": rf"^\s*[0-9][0-9_]*(\.[0-9]+)?\s*({'|'.join(suffixes)})\s*$",
            "description": f"A magnitude: {example} ({', '.join(suffixes)})."}


def counts(unit: str, what: str, example: str) -> dict[str, dict[str, object]]:
    """An exact value and a value-or-bound of one unit: counts (25.6M) or bytes (16GiB)."""
    return {
        f"exact_{unit}": {"description": f"A non-negative integer, an expression giving one, or a "
                                         f"magnitude: {example}.",
                          "anyOf": [{"type": "integer", "minimum": 0}, {"$ref": "#/$defs/expression"},
                                    {"$ref": f"#/$defs/{unit}_magnitude"}]},
        unit: {"description": f"{what}: exact (62006, '16*5*5', {example}), or a bound: {{max: ...}}, "
                              "{min: ...}, or both (min at most max). A bound is never rewritten by "
                              "--cnncheck-update.",
               "anyOf": [{"$ref": f"#/$defs/exact_{unit}"},
                         {"type": "object", "minProperties": 1, "additionalProperties": False,
                          "properties": {"min": {"$ref": f"#/$defs/exact_{unit}"},
                                         "max": {"$ref": f"#/$defs/exact_{unit}"}}}]},
    }


def definitions() -> dict[str, object]:
    sizes_item = {"anyOf": [{"type": "integer", "minimum": 1},
                            {"type": "string", "pattern": SIZE_TEXT}]}
    return {
        "expression": EXPRESSION,
        "count_magnitude": magnitude(COUNT_SUFFIXES, "25.6M, 600M, 4.1G"),
        "bytes_magnitude": magnitude(BYTE_SUFFIXES, "16GiB, 512MiB, 1.5GB"),
        **counts("count", "A count", "25.6M"),
        **counts("bytes", "A size in bytes", "16GiB"),
        "dim": {"description": "A dimension: an integer (0 for an empty output), an expression, or `_` "
                               "for any size.",
                "anyOf": [{"type": "integer", "minimum": 0}, {"const": "_"},
                          {"$ref": "#/$defs/expression"}]},
        "shape": {"description": "A shape, batch first: [1, 16, 5, 5]; [] for a 0-dimensional tensor.",
                  "type": "array", "items": {"$ref": "#/$defs/dim"}},
        "shapes": {"description": "One shape, or a tree of them: a list (several inputs, a tuple "
                                  "output; nested for an LSTM's [output, [h_n, c_n]]) or a "
                                  "mapping (a dict output), `_` or null for any one element (a "
                                  "None among the outputs); [] for a scalar or an empty tuple.",
                   "anyOf": [{"$ref": "#/$defs/shape"},
                             {"type": "array", "minItems": 1,
                              "items": {"anyOf": [{"$ref": "#/$defs/shape_tree"}, {"const": "_"},
                                                  {"type": "null"}]},
                              "contains": {"$ref": "#/$defs/shape_tree"}},
                             {"type": "object", "minProperties": 1,
                              "additionalProperties": {"anyOf": [{"$ref": "#/$defs/shapes"},
                                                                 {"const": "_"}, {"type": "null"}]}}]},
        "shape_tree": {"description": "A shape, or a list or mapping of them.",
                       "anyOf": [{"$ref": "#/$defs/shapes"},
                                 {"type": "array", "minItems": 1,
                                  "items": {"anyOf": [{"$ref": "#/$defs/shape_tree"}, {"const": "_"},
                                                      {"type": "null"}]}}]},
        "input_dim": {"anyOf": [{"type": "integer", "minimum": 1}, {"$ref": "#/$defs/expression"}]},
        "input_shape": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/input_dim"}},
        "argument_shape": {"type": "array", "minItems": 1,
                           "items": {"anyOf": [{"type": "integer", "minimum": 0}, {"$ref": "#/$defs/expression"}]}},
        "argument": {"description": "An argument of forward: a shape (a tensor of zeros), {size: shape, "
                                    "dtype: int64}, a list or mapping of arguments, or a plain value.",
                     "anyOf": [{"$ref": "#/$defs/argument_shape"},
                               {"type": "object", "required": ["size"], "additionalProperties": False,
                                "properties": {"size": {"$ref": "#/$defs/argument_shape"},
                                               "dtype": {"$ref": "#/$defs/dtype"}}},
                               {"type": "array", "items": {"$ref": "#/$defs/argument"},
                                "contains": {"type": ["array", "object"]}},
                               {"type": "object", "not": {"required": ["size"]},
                                "additionalProperties": {"$ref": "#/$defs/argument"}},
                               {"type": ["number", "string", "boolean", "null"]}]},
        "sizes": {"description": "Sizes: 32, '32..35', '32..512 step 32', '32..' (open, for "
                                 "`accepts`), or a list of these.",
                  "anyOf": [sizes_item, {"type": "array", "items": sizes_item}]},
        "field": {"description": "A receptive field in input positions: one number for every spatial "
                                 "dimension (212), one per dimension ([212, 212]), a bound ({min: 200}), "
                                 "or whole (every position of the input).",
                  "anyOf": [{"const": "whole"}, {"$ref": "#/$defs/count"},
                            {"type": "array", "minItems": 1, "maxItems": 3, "items": {"$ref": "#/$defs/count"}}]},
        "stride": {"description": "An effective stride: input positions between neighbouring features; "
                                  "one number, or one per spatial dimension.",
                   "anyOf": [{"type": "integer", "minimum": 1}, {"$ref": "#/$defs/expression"},
                             {"type": "array", "minItems": 1, "maxItems": 3,
                              "items": {"anyOf": [{"type": "integer", "minimum": 1},
                                                  {"$ref": "#/$defs/expression"}]}}]},
        "call": {"type": "object", "additionalProperties": False, "properties": {
            "output": {"$ref": "#/$defs/shapes", "description": "This call's output shape."},
            "input": {"$ref": "#/$defs/shapes", "description": "This call's input shape."}}},
        "layer": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "output": {"$ref": "#/$defs/shapes",
                           "description": "The layer's output shape (a list of shapes for a tuple output)."},
                "input": {"$ref": "#/$defs/shapes",
                          "description": "The shape of its first input; a list of shapes compares all inputs."},
                "params": {"$ref": "#/$defs/count",
                           "description": "Every parameter under the layer, recursively."},
                "type": {"type": "string",
                         "description": "The class name (Conv2d) or its full path (torch.nn.modules.conv.Conv2d)."},
                "calls": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/call"},
                          "description": "For a layer called more than once: one entry per call, in order."},
                "receptive_field": {"$ref": "#/$defs/field",
                                    "description": "How many input positions one feature of its output "
                                                   "sees (every call of the layer)."},
                "effective_stride": {"$ref": "#/$defs/stride",
                                     "description": "Input positions between neighbouring features of its output."},
            }},
        "spec": {
            "type": "object",
            "description": "One spec: the model, its dummy input, and what must hold.",
            "required": ["model", "input_size"],
            "additionalProperties": False,
            "properties": {
                "<<": {"description": "A YAML merge key: the keys of an anchored base."},
                "model": {"type": "string", "pattern": r"^.*[^\s:].*:[^:]*[^\s:][^:]*$",
                          "description": "'module.path:Attr' or 'relative/file.py:Attr': an nn.Module "
                                         "class or a function returning one."},
                "kwargs": {"type": "object", "description": "Keyword arguments for Attr(**kwargs)."},
                "input_size": {"description": "The dummy input's shape, batch first; a list of shapes "
                                              "for several inputs; an argument may be a list or mapping "
                                              "of tensors. With a sweep, dimensions may be names.",
                               "anyOf": [{"$ref": "#/$defs/input_shape"},
                                         {"type": "array", "minItems": 1,
                                          "items": {"anyOf": [{"$ref": "#/$defs/input_shape"},
                                                              {"type": ["array", "object"],
                                                               "$ref": "#/$defs/argument"}]}}]},
                "forward_kwargs": {"type": "object", "additionalProperties": {"$ref": "#/$defs/argument"},
                                   "description": "Keyword arguments for forward: plain values or tensors."},
                "sweep": {"type": "object", "minProperties": 1,
                          "description": "Names of sizes and the sizes each takes; every combination is "
                                         "one item. A name tied to others is an expression of them (W: H).",
                          "additionalProperties": {"anyOf": [{"$ref": "#/$defs/sizes"},
                                                             {"$ref": "#/$defs/expression"}]}},
                "dtype": {"description": "The input's dtype, or one per input.",
                          "anyOf": [{"$ref": "#/$defs/dtype"},
                                    {"type": "array", "items": {"$ref": "#/$defs/dtype"}}]},
                "device": {"enum": list(DEVICES),
                           "description": "meta (default: no memory, falling back to the CPU), cpu or cuda."},
                "mode": {"enum": list(MODES), "description": "eval (default) or train."},
                "train": {"description": "How one training step is run, for expect.memory.training.",
                          "anyOf": [{"const": True}, {
                              "type": "object", "additionalProperties": False, "properties": {
                                  "optimizer": {"enum": list(OPTIMIZERS)},
                                  "precision": {"enum": list(PRECISIONS)},
                                  "loss": {"type": ["string", "integer"],
                                           "description": "The output the loss is: a dict key or an index."},
                                  "set_to_none": {"type": "boolean"}}}]},
                "expect": {"$ref": "#/$defs/expect"},
                "rules": {"$ref": "#/$defs/rules"},
            }},
        "dtype": {"enum": [*DTYPES, *(f"torch.{name}" for name in DTYPES)]},
        "expect": {
            "type": "object", "additionalProperties": False,
            "description": "What the model must do; only the keys given are checked.",
            "properties": {
                "output": {"$ref": "#/$defs/shapes",
                           "description": "The model's output shape (a list of shapes for tuple outputs)."},
                "params": {"description": "The total parameter count, or {total, trainable}.",
                           "anyOf": [{"$ref": "#/$defs/count"},
                                     {"type": "object", "additionalProperties": False, "properties": {
                                         "total": {"$ref": "#/$defs/count",
                                                   "description": "Every parameter, shared ones once."},
                                         "trainable": {"$ref": "#/$defs/count",
                                                       "description": "Parameters with requires_grad."}}}]},
                "mult_adds": {"$ref": "#/$defs/count",
                              "description": "Multiply-adds of one forward pass, as torchinfo counts them."},
                "memory": {"type": "object", "additionalProperties": False, "minProperties": 1,
                           "description": "Bytes, measured on meta: params, buffers, activations, "
                                          "training (exact, or bounds such as {max: 16GiB}).",
                           "properties": {
                               **{key: {"$ref": "#/$defs/bytes"} for key in ("params", "buffers", "activations")},
                               "training": {
                                   "description": "The peak of one training step: a size or bound, or a bound "
                                                  "with bounds on its parts ({max: 12G, activations: {max: 4G}}).",
                                   "anyOf": [{"$ref": "#/$defs/bytes"}, {
                                       "type": "object", "minProperties": 1, "additionalProperties": False,
                                       "properties": {"min": {"$ref": "#/$defs/exact_bytes"},
                                                     "max": {"$ref": "#/$defs/exact_bytes"},
                                                     **{part: {"$ref": "#/$defs/bytes"}
                                                        for part in TRAINING_PARTS}}}]}}},
                "layers": {"type": "object", "additionalProperties": {"$ref": "#/$defs/layer"},
                           "description": "Expectations per layer, keyed by the name named_modules() gives."},
                "flatten": {"type": "object",
                            "description": "Linear layer name -> the features it receives from a flatten.",
                            "additionalProperties": {"anyOf": [{"type": "integer", "minimum": 1},
                                                               {"$ref": "#/$defs/expression"}]}},
                "accepts": {"type": "object", "minProperties": 1,
                            "description": "Sweep name -> exactly the sizes at which the forward pass runs.",
                            "additionalProperties": {"$ref": "#/$defs/sizes"}},
            }},
        "rules": {
            "type": "object", "additionalProperties": False,
            "description": "Design rules every layer must follow.",
            "properties": {
                "pooling": {"description": "Allowed [F, S] pairs of fixed-window pooling; true means "
                                           "[[2, 2], [3, 2]], false turns the rule off.",
                            "anyOf": [{"type": "boolean"},
                                      {"type": "array", "minItems": 1, "items": {
                                          "type": "array", "minItems": 2, "maxItems": 2,
                                          "items": {"type": "integer", "minimum": 1}}}]},
                "exact_division": {"type": "boolean",
                                   "description": "Every conv and pooling layer's (W - F + 2P) / S "
                                                  "must divide exactly."},
                "receptive_field": {"description": "The least field the widest features (the layer output "
                                                   "with positions whose field is largest) must see: 224, "
                                                   "[224, 224], or whole.",
                                    "anyOf": [{"const": "whole"}, {"$ref": "#/$defs/exact_count"},
                                              {"type": "array", "minItems": 1, "maxItems": 3,
                                               "items": {"$ref": "#/$defs/exact_count"}}]},
            }},
    }


def schema() -> dict[str, object]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "pytest-cnncheck spec file",
        "description": "Spec name -> spec. Keys starting with '.' are templates to share "
                       "through YAML anchors, not specs.",
        "type": "object",
        "patternProperties": {r"^\.": {"description": "A template: shared through an anchor, not checked."}},
        "additionalProperties": {"$ref": "#/$defs/spec"},
        "$defs": definitions(),
    }


def text() -> str:
    return json.dumps(schema(), indent=2) + "\n"


if __name__ == "__main__":
    for target in TARGETS:
        target.write_text(text())
        print(f"wrote {target.relative_to(ROOT)}")
