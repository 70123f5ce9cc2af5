"""The Spec records: what one spec states, every value with the line it was written on,
and the vocabulary of the format (its keys, dtypes, devices, suffixes).

Made by validate.py from the YAML that parse.py reads. No torch.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from .sizes import SizeSet, label
from .source import Span

__all__ = [
    "Bound", "CallSpec", "Count", "Dim", "FieldSpec", "FileSpecs", "FlattenSpec", "LayerSpec", "Number", "ParamsSpec",
    "Scan", "Shape", "ShapeMap", "ShapeNode", "ShapeSeq", "Shapes", "Spec", "SpecError", "TrainSpec",
    "DEFAULT_POOLING",
]

# The pooling habits of the contract: F=2,S=2 or F=3,S=2 (larger windows destroy too much).
DEFAULT_POOLING: tuple[tuple[int, int], ...] = ((2, 2), (3, 2))

DTYPES = (
    "float32", "float", "float64", "double", "float16", "half", "bfloat16",
    "int64", "long", "int32", "int", "int16", "short", "int8", "uint8", "bool",
    "complex64", "complex128",
)
DEVICES = ("meta", "cpu", "cuda")
MODES = ("eval", "train")

SPEC_KEYS = ("model", "kwargs", "input_size", "forward_kwargs", "sweep", "dtype", "device", "mode", "train",
             "expect", "rules")
EXPECT_KEYS = ("output", "params", "mult_adds", "memory", "layers", "flatten", "accepts")
MEMORY_KEYS = ("params", "buffers", "activations", "training")
# `expect.memory.training`: the peak's bound (min, max) and a bound for each of its parts.
TRAINING_PARTS = ("params", "buffers", "gradients", "optimizer_state", "activations", "temporaries", "inputs")
TRAIN_KEYS = ("optimizer", "precision", "loss", "set_to_none")
Optimizer = Literal["sgd", "sgd-momentum", "adam", "adamw"]
OPTIMIZERS: tuple[Optimizer, ...] = ("sgd", "sgd-momentum", "adam", "adamw")
Precision = Literal["float32", "bfloat16", "float16"]
PRECISIONS: tuple[Precision, ...] = ("float32", "bfloat16", "float16")
PARAMS_KEYS = ("total", "trainable")
LAYER_KEYS = ("output", "input", "params", "type", "calls", "receptive_field", "effective_stride")
CALL_KEYS = ("output", "input")
RULE_KEYS = ("pooling", "exact_division", "receptive_field")

# A sweep makes one item a combination; beyond this many it is a typo, not a plan.
MAX_COMBINATIONS = 10_000

Bindings = tuple[tuple[str, int], ...]  # a sweep's names and their values: (("H", 96),)


class SpecError(ValueError):
    """One or more mistakes in a spec, each a (line, sentence) pair (line 0: given in Python)."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems

    @classmethod
    def at(cls, line: int, message: str) -> SpecError:
        return cls([(line, message)])


@dataclass(frozen=True)
class Number:
    """An integer the spec wrote, as a number or as an expression."""

    value: int
    text: str
    span: Span | None = field(default=None, compare=False, repr=False)  # where it is written
    names: Bindings = field(default=(), compare=False)  # the sweep's names the text uses

    def __str__(self) -> str:
        if self.text == str(self.value):
            return self.text
        where = f" ({label(self.names)})" if self.names else ""
        return f"{self.text} = {self.value}{where}"


@dataclass(frozen=True)
class Bound:
    """A count stated as a budget: `{max: 5M}`, `{min: 1M}`, or both. A bound is intent,
    not a snapshot: `--cnncheck-update` never rewrites it."""

    low: Number | None
    high: Number | None

    @property
    def value(self) -> None:  # no exact value: never equal to a count
        return None

    def holds(self, count: int) -> bool:
        return (self.low is None or count >= self.low.value) and (self.high is None or count <= self.high.value)

    def __str__(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"at least {_magnitude_text(self.low)}")
        if self.high is not None:
            parts.append(f"at most {_magnitude_text(self.high)}")
        return " and ".join(parts)


def _magnitude_text(number: Number) -> str:
    return number.text if number.text == str(number.value) else f"{number.text} = {number.value:,}"


Count = Union[Number, Bound]

# Readable magnitudes, exact: `25.6M` is 25,600,000. Counts take decimal suffixes; byte
# sizes binary ones (GiB, and G as memory sizes are read: a "12G" card holds 12 GiB) and
# decimal ones (GB).
COUNT_SUFFIXES = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BYTE_SUFFIXES = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
                 "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40,
                 "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
MAGNITUDE = re.compile(r"^\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$")


Dim = Union[Number, None]  # None is the wildcard `_`


@dataclass(frozen=True)
class Shape:
    dims: tuple[Dim, ...]
    line: int
    span: Span | None = field(default=None, compare=False, repr=False)

    def matches(self, actual: Any) -> bool:
        if not self.dims and actual == []:  # `[]`: a scalar, or an empty tuple of outputs
            return True
        return (
            isinstance(actual, tuple)
            and len(actual) == len(self.dims)
            and all(d is None or d.value == a for d, a in zip(self.dims, actual))
        )

    def __str__(self) -> str:
        return "[" + ", ".join("_" if d is None else d.text for d in self.dims) + "]"

    def values(self) -> str:
        return "[" + ", ".join("_" if d is None else str(d.value) for d in self.dims) + "]"

    def as_json(self) -> list[int | None]:
        """The sizes as a list, None for a wildcard `_`."""
        return [None if d is None else d.value for d in self.dims]


@dataclass(frozen=True)
class ShapeSeq:
    """A tuple or list of outputs, each a shape or itself a tuple, list or dict; None: any."""

    items: tuple[ShapeNode | None, ...]
    line: int
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ShapeMap:
    """A dict of outputs by key."""

    items: tuple[tuple[str, ShapeNode | None], ...]
    line: int
    span: Span | None = field(default=None, compare=False, repr=False)


ShapeNode = Union[Shape, ShapeSeq, ShapeMap]


def node_matches(node: ShapeNode | None, actual: Any) -> bool:
    """Whether what the model gave (a trace's shape tree) is what `node` states."""
    if node is None:
        return True
    if isinstance(node, Shape):
        return node.matches(actual)
    if isinstance(node, ShapeSeq):
        return (isinstance(actual, list) and len(actual) == len(node.items)
                and all(node_matches(n, a) for n, a in zip(node.items, actual)))
    return (isinstance(actual, dict) and list(actual) == [key for key, _ in node.items]
            and all(node_matches(n, actual[key]) for key, n in node.items))


def node_text(node: ShapeNode | None, values: bool = False) -> str:
    """As written (`[B, 16*5*5]`), or with the values (`[1, 400]`)."""
    if node is None:
        return "_"
    if isinstance(node, Shape):
        return node.values() if values else str(node)
    if isinstance(node, ShapeSeq):
        return "[" + ", ".join(node_text(n, values) for n in node.items) + "]"
    return "{" + ", ".join(f"{key}: {node_text(n, values)}" for key, n in node.items) + "}"


def node_json(node: ShapeNode | None) -> Any:
    if node is None:
        return None
    if isinstance(node, Shape):
        return node.as_json()
    if isinstance(node, ShapeSeq):
        return [node_json(n) for n in node.items]
    return {key: node_json(n) for key, n in node.items}


@dataclass(frozen=True)
class Shapes:
    """What a spec states for an output or input: one shape, or a tree of them (a tuple
    output, several inputs, an LSTM's `(output, (h_n, c_n))`, a dict of heads)."""

    root: ShapeNode
    line: int
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def many(self) -> bool:
        """A sequence at the top: several inputs, or a tuple output."""
        return isinstance(self.root, ShapeSeq)

    @property
    def shapes(self) -> tuple[ShapeNode | None, ...]:
        """The top level's items: the one shape, or each element of the sequence."""
        return self.root.items if isinstance(self.root, ShapeSeq) else (self.root,)

    def matches(self, actual: Any) -> bool:
        return node_matches(self.root, actual)

    def __str__(self) -> str:
        return node_text(self.root)

    def values(self) -> str:
        return node_text(self.root, values=True)

    def as_json(self) -> Any:
        return node_json(self.root)


@dataclass(frozen=True)
class CallSpec:
    key: str
    line: int
    output: Shapes | None = None
    input: Shapes | None = None


@dataclass(frozen=True)
class FieldSpec:
    """A receptive field or effective stride as stated: one count (or bound) for every
    spatial dimension, one per dimension, or `whole` (the whole input)."""

    counts: tuple[Count, ...]  # one per dimension, or one for all; () with `whole`
    line: int
    whole: bool = False
    span: Span | None = field(default=None, compare=False, repr=False)

    def per_dim(self, dims: int) -> tuple[Count, ...]:
        return self.counts * dims if len(self.counts) == 1 else self.counts

    def __str__(self) -> str:
        if self.whole:
            return "the whole input"
        return "x".join(str(c) for c in self.counts)


@dataclass(frozen=True)
class LayerSpec:
    name: str
    key: str
    line: int
    output: Shapes | None = None
    input: Shapes | None = None
    params: tuple[Count, int] | None = None  # (count or bound, line)
    type: tuple[str, int] | None = None
    type_span: Span | None = field(default=None, compare=False, repr=False)
    calls: tuple[CallSpec, ...] | None = None
    calls_line: int = 0
    receptive_field: FieldSpec | None = None
    effective_stride: FieldSpec | None = None


@dataclass(frozen=True)
class ParamsSpec:
    line: int
    total: tuple[Count, int] | None = None
    trainable: tuple[Count, int] | None = None
    bare: bool = False  # `params: 62006` (or `params: {max: 5M}`) rather than {total, trainable}


@dataclass(frozen=True)
class FlattenSpec:
    name: str
    features: Number
    line: int


@dataclass(frozen=True)
class Scan:
    """`expect.accepts`: run every combination of the sweep, and compare the set that runs."""

    points: tuple[tuple[Bindings, tuple[tuple[int, ...], ...]], ...]  # (names, input sizes)
    accepts: tuple[tuple[str, SizeSet], ...]  # each name's accepted sizes; the rest: any
    line: int

    def expected(self, bindings: Bindings) -> bool:
        values = dict(bindings)
        return all(values[name] in sizes for name, sizes in self.accepts)


@dataclass(frozen=True)
class TensorInput:
    """A tensor of zeros the forward pass is given, inside a list or mapping argument or as a
    keyword argument."""

    size: tuple[int, ...]
    dtype: str = "float32"


def tensor_inputs(tree: Any) -> list[TensorInput]:
    """The tensors of an argument tree (TensorInput, lists, mappings, plain values), in order."""
    if isinstance(tree, TensorInput):
        return [tree]
    items = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, (list, tuple)) else ()
    return [leaf for item in items for leaf in tensor_inputs(item)]


def argument_text(tree: Any) -> str:
    """An argument tree as YAML flow text, as a spec writes it: `[[3, 320, 320]]`,
    `{boxes: {size: [0, 4]}, labels: {size: [0], dtype: int64}}`."""
    if isinstance(tree, TensorInput):
        shape = "[" + ", ".join(map(str, tree.size)) + "]"
        return shape if tree.dtype == "float32" else f"{{size: {shape}, dtype: {tree.dtype}}}"
    if isinstance(tree, (list, tuple)):
        return "[" + ", ".join(argument_text(item) for item in tree) + "]"
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{key}: {argument_text(item)}" for key, item in tree.items()) + "}"
    return json.dumps(tree)


@dataclass(frozen=True)
class TrainSpec:
    """`train:`: how the training step whose memory `expect.memory.training` bounds is run."""

    optimizer: Optimizer = "adamw"
    precision: Precision = "float32"  # bfloat16, float16: autocast, the weights kept in float32
    loss: str | None = None  # the output (a key or an index) the loss is; None: every output summed
    set_to_none: bool = True  # zero_grad's default: no gradients held before backward
    line: int = 0


@dataclass(frozen=True)
class Spec:
    name: str
    path: Path
    line: int
    model: str
    model_line: int
    input_sizes: tuple[tuple[int, ...], ...]
    input_line: int
    kwargs: dict[str, Any] = field(default_factory=dict)
    kwargs_line: int = 0
    kwargs_lines: dict[str, int] = field(default_factory=dict, compare=False)  # each key's line
    dtypes: tuple[str, ...] = ("float32",)
    dtype_line: int = 0
    # The positional arguments, where one is a list or mapping (detection models take a list
    # of images; targets in training): TensorInput leaves, lists, dicts, plain values.
    # None: each argument is one tensor of input_sizes. input_sizes and dtypes then list
    # every tensor of these, in order.
    arguments: tuple[Any, ...] | None = None
    forward_kwargs: dict[str, Any] = field(default_factory=dict)  # keyword arguments of forward
    forward_kwargs_line: int = 0
    device: str | None = None  # None: meta, falling back to the CPU
    device_line: int = 0
    mode: str = "eval"
    output: Shapes | None = None
    params: ParamsSpec | None = None
    mult_adds: tuple[Count, int] | None = None
    # (params|buffers|activations|training|training.<part>, bytes, line)
    memory: tuple[tuple[str, Count, int], ...] = ()
    train: TrainSpec | None = None  # a training step runs: for its memory
    layers: tuple[LayerSpec, ...] = ()
    flatten: tuple[FlattenSpec, ...] = ()
    pooling: tuple[tuple[int, int], ...] | None = None
    pooling_line: int = 0
    exact_division: bool = False
    exact_division_line: int = 0
    receptive_field: FieldSpec | None = None  # rules.receptive_field: what the widest features see, at least
    bindings: Bindings = ()  # the sweep combination this spec was made for
    scan: Scan | None = None  # `expect.accepts`: the sizes to try and the set expected

    @property
    def input_text(self) -> str:
        """The dummy input as a spec writes it: `[1, 3, 32, 32]`, a list of shapes, or the
        argument trees."""
        if self.arguments is not None:
            return argument_text(list(self.arguments))
        sizes = self.input_sizes
        return argument_text([TensorInput(size) for size in sizes] if len(sizes) > 1 else TensorInput(sizes[0]))

    @property
    def wants_fields(self) -> bool:
        """Whether a check reads receptive fields: then the pass runs under Flow."""
        return self.receptive_field is not None or any(
            layer.receptive_field is not None or layer.effective_stride is not None for layer in self.layers)


@dataclass(frozen=True)
class FileSpecs:
    """What one spec file holds: each spec name with its Spec or its SpecError."""

    path: Path
    lines: tuple[str, ...]
    entries: tuple[tuple[str, int, Spec | SpecError], ...]
    error: SpecError | None = None  # the whole file could not be read
    text: str = ""  # as read: spans index into it


