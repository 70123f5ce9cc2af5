"""YAML text -> :class:`Spec`: parsed, validated, every value with its source line.

No torch here: collection reads and validates every spec file cheaply, and a
spec error becomes one failed item (:class:`SpecError`) instead of stopping
the session.
"""

from __future__ import annotations

import difflib
import itertools
import keyword
import math
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Union

from .expr import ExpressionError, evaluate, names_in
from .sizes import SizeSet, SizeSetError, label, parse_sizes
from .source import LineMap, Span, YamlError, closing, load

__all__ = [
    "Bound", "CallSpec", "Count", "Dim", "FieldSpec", "FileSpecs", "FlattenSpec", "LayerSpec", "Number", "ParamsSpec",
    "Scan", "Shape", "ShapeMap", "ShapeNode", "ShapeSeq", "Shapes", "Spec", "SpecError", "items_of", "parse_file", "parse_text",
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

SPEC_KEYS = ("model", "kwargs", "input_size", "sweep", "dtype", "device", "mode", "expect", "rules")
EXPECT_KEYS = ("output", "params", "mult_adds", "memory", "layers", "flatten", "accepts")
MEMORY_KEYS = ("params", "buffers", "activations")
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
# sizes binary ones (GiB) and decimal ones (GB).
COUNT_SUFFIXES = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BYTE_SUFFIXES = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
                 "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_MAGNITUDE = re.compile(r"^\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$")


Dim = Union[Number, None]  # None is the wildcard `_`


@dataclass(frozen=True)
class Shape:
    dims: tuple[Dim, ...]
    line: int
    span: Span | None = field(default=None, compare=False, repr=False)

    def matches(self, actual: Any) -> bool:
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
    device: str | None = None  # None: meta, falling back to the CPU
    device_line: int = 0
    mode: str = "eval"
    output: Shapes | None = None
    params: ParamsSpec | None = None
    mult_adds: tuple[Count, int] | None = None
    memory: tuple[tuple[str, Count, int], ...] = ()  # (params|buffers|activations, bytes, line)
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


# A spec file states an architecture in kilobytes (one line a layer). PyYAML's safe
# loader reads about 25,000 tokens a second here, so a larger file is a mistake or
# an attack that would stall every pytest run: it is refused unread.
MAX_FILE_BYTES = 2**20


def parse_file(path: Path) -> FileSpecs:
    """Read and validate every spec of one file; never raises for bad content."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return FileSpecs(path, (), (), SpecError.at(1, (
                f"This file is {size / 2**20:,.1f} MiB; spec files over "
                f"{MAX_FILE_BYTES // 2**20} MiB are not read (one holds a few kilobytes).")))
        raw = path.read_bytes()
    except OSError as error:
        return FileSpecs(path, (), (), SpecError.at(1, f"This file cannot be read: {error.strerror}."))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return FileSpecs(path, (), (), SpecError.at(
            line, f"is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start})"))
    return parse_text(path, text)


def parse_text(path: Path, text: str) -> FileSpecs:
    """Validate every spec of `text`, read from `path` (the base of relative model paths)."""
    lines = tuple(text.splitlines())
    try:
        data, duplicates = load(text)
    except YamlError as error:
        if error.opened is not None:
            # The line to edit is the one that opened the bracket, not the one where the
            # parser noticed: say both.
            start, char, found = error.opened
            return FileSpecs(path, lines, (), SpecError([
                (start, f"This file is not valid YAML: the `{char}` opened on line {start} is never "
                        f"closed: a `{closing(char)}` is missing."),
                (error.line, f"...so the parser gave up on line {error.line}: {found}.")]), text)
        return FileSpecs(path, lines, (), SpecError.at(error.line, f"This file {error.message}."), text)
    if data is None:
        return FileSpecs(path, lines, (), SpecError.at(
            1, "This file holds no specs: a spec file maps spec names to specs."), text)
    if not isinstance(data, LineMap):
        return FileSpecs(path, lines, (), SpecError.at(
            getattr(data, "line", 1),
            "The top level of a spec file must be a mapping of spec names to specs, "
            f"not {_kind(data)}."), text)
    starts = sorted(data.key_lines.values())
    if duplicates and duplicates[0].line in starts or any(d.line < starts[0] for d in duplicates):
        first = next(d for d in duplicates if d.line in starts or d.line < starts[0])
        return FileSpecs(path, lines, (), SpecError.at(first.line, first.message), text)
    entries = []
    for name, body in data.items():
        # Keys starting with "." are templates to share through anchors, not specs.
        if isinstance(name, str) and name.startswith("."):
            continue
        line = data.key_line(name)
        following = [start for start in starts if start > line]
        end = following[0] if following else len(lines) + 1
        twice = [(d.line, d.message) for d in duplicates if line <= d.line < end]
        for item_name, entry in items_of(path, str(name), line, body, data.value_line(name)):
            if twice:
                entry = SpecError(sorted((entry.problems if isinstance(entry, SpecError) else [])
                                         + twice))
            entries.append((item_name, line, entry))
    return FileSpecs(path, lines, tuple(entries), text=text)


def _validated(path: Path, name: str, line: int, body: Any, value_line: int,
               names: dict[str, int] | None = None) -> Spec | SpecError:
    try:
        return _Validator(path, name, line, names).spec(body, value_line)
    except SpecError as error:
        return error


def items_of(path: Path, name: str, line: int, body: Any,
           value_line: int) -> list[tuple[str, Spec | SpecError]]:
    """The items one spec makes: itself, or with a `sweep`, one per combination of sizes
    (`name[B=1-H=64]`); with `expect.accepts`, one that runs them all."""
    if not isinstance(body, LineMap) or "sweep" not in body:
        return [(name, _validated(path, name, line, body, value_line))]
    try:
        combinations = _Validator(path, name, line).sweep(body)
    except SpecError as error:
        return [(name, error)]
    expect = body.get("expect")
    if isinstance(expect, LineMap) and "accepts" in expect:
        return [(name, _scan(path, name, line, body, value_line, combinations))]
    labels = [f"{name}[{'-'.join(f'{k}={v}' for k, v in combination.items())}]"
              for combination in combinations]
    labelled = [(item_name, _validated(path, item_name, line, body, value_line, combination))
                for item_name, combination in zip(labels, combinations)]
    errors = [entry for _, entry in labelled if isinstance(entry, SpecError)]
    if len(errors) == len(labelled) and all(e.problems == errors[0].problems for e in errors):
        return [(name, errors[0])]  # the same mistake at every size: one failure, not N
    return labelled


def _scan(path: Path, name: str, line: int, body: LineMap, value_line: int,
          combinations: list[dict[str, int]]) -> Spec | SpecError:
    points = []
    first: Spec | None = None
    entries = [_validated(path, name, line, body, value_line, combination) for combination in combinations]
    errors = [entry for entry in entries if isinstance(entry, SpecError)]
    if errors and len(errors) == len(entries) and all(e.problems == errors[0].problems for e in errors):
        return errors[0]  # the same mistake at every size: no size to name
    for combination, entry in zip(combinations, entries):
        if isinstance(entry, SpecError):
            at = label(combination.items())
            return SpecError([(where, f"{message} (at {at})") for where, message in entry.problems])
        first = first or entry
        points.append((tuple(combination.items()), entry.input_sizes))
    assert first is not None and first.scan is not None
    return replace(first, scan=replace(first.scan, points=tuple(points)))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "an empty value"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}" if len(value) < 40 else "a text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def did_you_mean(word: str, choices: Iterable[str], n: int = 1) -> str:
    """` Did you mean 'output'?` where a choice is close to `word`, else ``""``."""
    close = difflib.get_close_matches(str(word), list(choices), n=n)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def _device_hint(word: str) -> str | None:
    """What people type for a device, and what to write instead: ` Did you mean 'cuda'? ...`."""
    text = word.strip().lower()
    if text in DEVICES:
        return f" Did you mean {text!r}? Device names are lowercase."
    if text in ("gpu", "nvidia", "rocm", "hip", "amd") or text.startswith(("gpu:", "gpu0")):
        return (" Did you mean 'cuda'? torch calls a GPU 'cuda' (NVIDIA's, and AMD's under "
                "ROCm builds).")
    base, colon, index = text.partition(":")
    if colon and base in DEVICES:
        return (f" Did you mean {base!r}? A spec names no device index: {base} runs on the current "
                f"one; pick it with CUDA_VISIBLE_DEVICES={index or 0}." if base == "cuda" else
                f" Did you mean {base!r}? A spec names no device index.")
    if text in ("mps", "xpu", "tpu", "xla", "hpu", "npu", "vulkan", "opengl"):
        return (f" torch's {text} device is not one cnncheck runs specs on: shapes are the same on "
                "every device, so leave `device` out (meta, no memory) or write cpu.")
    if text in ("auto", "default", "any", "none"):
        return " Leave `device` out for the default: meta, falling back to the CPU where needed."
    return None


# Names of dtypes from other tools (NumPy, Lightning, mixed-precision configs) and the
# names torch gives them.
_DTYPE_ALIASES = {
    "fp32": "float32", "f32": "float32", "single": "float32", "float32_t": "float32",
    "fp16": "float16", "f16": "float16", "bf16": "bfloat16", "brain_float16": "bfloat16",
    "fp64": "float64", "f64": "float64", "i64": "int64", "i32": "int32", "i16": "int16",
    "i8": "int8", "u8": "uint8", "boolean": "bool",
}


def _dtype_hint(word: str) -> str | None:
    text = word.strip().lower().removeprefix("np.").removeprefix("numpy.")
    if text in DTYPES:
        return f" Did you mean {text!r}? dtype names are lowercase."
    if text in _DTYPE_ALIASES:
        return f" torch calls it {_DTYPE_ALIASES[text]!r}."
    if "mixed" in text or text in ("amp", "autocast", "16", "32", "64"):
        return (" `dtype` is the dummy input's dtype, not a training precision: mixed precision "
                "(autocast) keeps float32 inputs. Leave `dtype` out for float32, or write float16 "
                "or bfloat16 for half-precision inputs.")
    return None


class _Validator:
    """Turns one spec's LineMap into a Spec, collecting every problem."""

    def __init__(self, path: Path, name: str, line: int,
                 names: dict[str, int] | None = None) -> None:
        self.path = path
        self.name = name
        self.line = line
        self.names = names or {}  # the sweep combination that expressions may use
        self.problems: list[tuple[int, str]] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append((line, message))

    def spec(self, body: Any, line: int) -> Spec:
        if not isinstance(body, LineMap):
            raise SpecError.at(line, f"The spec {self.name!r} must be a mapping with at least "
                                     f"`model` and `input_size`, not {_kind(body)}.")
        self.known_keys(body, SPEC_KEYS, "spec", required=("model", "input_size"))
        fields: dict[str, Any] = {}
        model = body.get("model")
        if "model" not in body:
            self.problem(self.line, "The spec has no `model` (write `model: package.module:Class` "
                                    "or `model: path/to/file.py:Class`).")
        elif not isinstance(model, str) or not _is_model_ref(model):
            self.problem(body.value_line("model"),
                         f"`model` must be 'module.path:Attr' or 'file.py:Attr', not {_kind(model)}.")
        if "kwargs" in body:
            kwargs = body["kwargs"]
            if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
                self.problem(body.value_line("kwargs"),
                             f"`kwargs` must be a mapping of argument names to values, not {_kind(kwargs)}.")
            else:
                fields["kwargs"] = kwargs
                fields["kwargs_line"] = body.value_line("kwargs")
                if isinstance(kwargs, LineMap):
                    fields["kwargs_lines"] = {key: kwargs.key_line(key) for key in kwargs}
        input_sizes: tuple[tuple[int, ...], ...] = ()
        if "input_size" not in body:
            self.problem(self.line, "The spec has no `input_size` (the dummy input's shape, "
                                    "batch first, e.g. [1, 3, 32, 32]).")
        else:
            input_sizes = self.input_sizes(body["input_size"], body.value_line("input_size"))
        if "dtype" in body:
            dtypes = self.dtypes(body["dtype"], body.value_line("dtype"), len(input_sizes))
            if dtypes:
                fields["dtypes"] = dtypes
                fields["dtype_line"] = body.value_line("dtype")
        elif input_sizes:
            fields["dtypes"] = ("float32",) * len(input_sizes)
        if "device" in body:
            device = self.choice(body, "device", DEVICES, _device_hint)
            if device:
                fields["device"] = device
                fields["device_line"] = body.value_line("device")
        if "mode" in body:
            mode = self.choice(body, "mode", MODES)
            if mode:
                fields["mode"] = mode
        if "expect" in body:
            self.expect(body["expect"], body.value_line("expect"), fields)
        if "rules" in body:
            self.rules(body["rules"], body.value_line("rules"), fields)
        if self.problems:
            raise SpecError(sorted(self.problems))
        return Spec(
            name=self.name, path=self.path, line=self.line,
            model=str(model), model_line=body.value_line("model"),
            input_sizes=input_sizes, input_line=body.value_line("input_size"),
            bindings=tuple(self.names.items()), **fields,
        )

    def sweep(self, body: LineMap) -> list[dict[str, int]]:
        """Every combination of the sizes `sweep` lists, tied names computed; SpecError if none."""
        value, line = body["sweep"], body.value_line("sweep")
        if not isinstance(value, LineMap) or not value:
            raise SpecError.at(line, "`sweep` must map names to the sizes to try, such as "
                                     f"{{H: [64, 96, 128], W: H}}, not {_kind(value)}.")
        free: dict[str, list[int]] = {}
        ties: dict[str, str] = {}
        broken: set[str] = set()  # names whose sizes are wrong: said once, not again by their ties
        for key in value:
            key_line, item, item_line = value.key_line(key), value[key], value.value_line(key)
            if (not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key)
                    or key in ("_", "ceil")):
                self.problem(key_line, f"`sweep`: {key!r} cannot be a name; use a word such as "
                                       "H, W or B (not _ or ceil).")
            elif isinstance(item, str) and not re.search(r"\d\s*\.\.|^\s*\d+\s*$", item):
                ties[key] = item  # W: H
            else:
                try:
                    sizes = parse_sizes(item)
                except SizeSetError as error:
                    self.problem(item_line, f"`sweep.{key}`: {error}.")
                    broken.add(key)
                    continue
                if not sizes.bounded:
                    self.problem(item_line, f"`sweep.{key}`: {sizes} has no end; a sweep tries every "
                                            "size, so give the last one (32..512).")
                else:
                    free[key] = sizes.values()
        for key, text in ties.items():
            try:
                used = names_in(text)
            except ExpressionError as error:
                self.problem(value.value_line(key), f"`sweep.{key}`: {text!r} {error}.")
                continue
            strangers = [name for name in used if name not in free]
            if any(name in broken for name in used):
                continue
            if strangers and used == [text.strip()] and text.strip() not in ties:
                self.problem(value.value_line(key), (
                    f"`sweep.{key}`: {text!r} is neither sizes (64, [64, 96], 32..512 step 32) "
                    f"nor a name of the sweep to tie {key} to.{_name_hint(text.strip(), list(free))}"))
            elif strangers:
                what = "tied itself" if strangers[0] in ties else "not declared in `sweep`"
                self.problem(value.value_line(key), (
                    f"`sweep.{key}`: {text!r} uses {strangers[0]!r}, which is {what}; tie a name "
                    "to names that list sizes (W: H)."))
        count = math.prod(len(sizes) for sizes in free.values())
        if count > MAX_COMBINATIONS:
            self.problem(line, f"`sweep` makes {count:,} combinations; at most "
                               f"{MAX_COMBINATIONS:,} are checked.")
        self.unused_names(body, [*free, *ties])
        if self.problems:
            raise SpecError(sorted(self.problems))
        combinations = []
        for values in itertools.product(*free.values()):
            combination = dict(zip(free, values))
            for key, text in ties.items():
                try:
                    combination[key] = evaluate(text, combination)
                except ExpressionError as error:
                    raise SpecError.at(value.value_line(key),
                                       f"`sweep.{key}`: {text!r} {error}.") from None
            combinations.append({key: combination[key] for key in value})  # as declared
        return combinations

    def unused_names(self, body: LineMap, declared: list[str]) -> None:
        sizes = body.get("input_size")
        texts = [d for d in (sizes if isinstance(sizes, list) else [])
                 for d in (d if isinstance(d, list) else [d]) if isinstance(d, str)]
        used = set()
        for text in texts:
            try:
                used.update(names_in(text))
            except ExpressionError:
                pass  # reported where input_size is read
        for key in declared:
            if key not in used and "input_size" in body:
                self.problem(body["sweep"].key_line(key), f"`sweep` declares {key}, but `input_size` "
                                                          "does not use it: a swept name sizes the input.")

    # -- helpers for every level ------------------------------------------------

    def known_keys(self, mapping: LineMap, allowed: tuple[str, ...], where: str,
                   required: tuple[str, ...] = ()) -> None:
        # A typo of a required key that is missing is the likeliest meaning.
        missing = [key for key in required if key not in mapping]
        for key in mapping:
            if key not in allowed:
                hint = did_you_mean(str(key), missing) or did_you_mean(str(key), allowed)
                self.problem(mapping.key_line(key),
                             f"Unknown key {key!r} in {where}.{hint} "
                             f"Known keys: {', '.join(allowed)}.")

    def choice(self, body: LineMap, key: str, allowed: tuple[str, ...],
               hint_for: Callable[[str], str | None] = lambda _: None) -> str | None:
        value = body[key]
        if value not in allowed or not isinstance(value, str):
            hint = (hint_for(value) or did_you_mean(value, allowed)) if isinstance(value, str) else ""
            self.problem(body.value_line(key),
                         f"`{key}` must be one of {', '.join(allowed)}, not {_kind(value)}.{hint}")
            return None
        return value

    def mapping(self, value: Any, line: int, key: str, allowed: tuple[str, ...]) -> LineMap | None:
        if not isinstance(value, LineMap):
            self.problem(line, f"`{key}` must be a mapping, not {_kind(value)}.")
            return None
        self.known_keys(value, allowed, f"`{key}`")
        return value

    def integer(self, value: Any, line: int, key: str, minimum: int,
                span: Span | None = None, suffixes: dict[str, int] | None = None) -> Number | None:
        """An int or an arithmetic string, at least `minimum`; with `suffixes`, a magnitude
        such as `25.6M` too."""
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.problem(line, f"`{key}` must be an integer or an arithmetic expression such as "
                               f"'16*5*5', not {_kind(value)}.")
            return None
        magnitude = _MAGNITUDE.match(value) if isinstance(value, str) else None
        if isinstance(value, int):
            number = Number(value, str(value), span)
        elif magnitude is not None:
            found = self.magnitude(magnitude, value, line, key, suffixes)
            if found is None:
                return None
            number = Number(found, value.strip(), span)
        else:
            try:
                number = Number(evaluate(value, self.names), value.strip(), span,
                                tuple((name, self.names[name]) for name in names_in(value)))
            except ExpressionError as error:
                self.problem(line, f"`{key}`: the expression {value!r} {error}.")
                return None
        if number.value < minimum:
            what = "positive" if minimum == 1 else "zero or more"
            self.problem(line, f"`{key}` must be {what}, but {number} is not.")
            return None
        return number

    def magnitude(self, match: re.Match[str], text: str, line: int, key: str,
                  suffixes: dict[str, int] | None) -> int | None:
        """`25.6M` -> 25,600,000, in exact arithmetic; a suffix that is not one is a
        problem with the nearest that is."""
        digits, suffix = match.group(1).replace("_", ""), match.group(2)
        if not suffixes:
            self.problem(line, f"`{key}` must be an integer or an arithmetic expression such as "
                               f"'16*5*5', not the text {text.strip()!r}.")
            return None
        if suffix not in suffixes:
            close = [s for s in suffixes if s.lower() == suffix.lower()] or \
                difflib.get_close_matches(suffix, list(suffixes), n=1)
            hint = f" Did you mean {digits}{close[0]}?" if close else ""
            self.problem(line, f"`{key}`: {text.strip()!r} has the suffix {suffix!r}, which is not one "
                               f"cnncheck knows ({', '.join(suffixes)}).{hint}")
            return None
        value = Fraction(digits) * suffixes[suffix]
        if value.denominator != 1:
            self.problem(line, f"`{key}`: {text.strip()!r} is {float(value):,} , not a whole number.")
            return None
        return int(value)

    def count(self, value: Any, line: int, key: str, span: Span | None,
              suffixes: dict[str, int] = COUNT_SUFFIXES) -> Count | None:
        """An exact count (a number, an expression, `25.6M`), or a bound: `{max: 5M}`,
        `{min: 1M, max: 5M}`."""
        if isinstance(value, dict):
            if not value or not set(value) <= {"min", "max"}:
                self.problem(line, f"`{key}` as a mapping is a bound: {{max: 5M}}, {{min: 1M}} or "
                                   f"both, not {_kind(value)}.")
                return None
            at = value.value_line if isinstance(value, LineMap) else (lambda _: line)
            low = self.integer(value["min"], at("min"), f"{key}.min", 0, suffixes=suffixes) \
                if "min" in value else None
            high = self.integer(value["max"], at("max"), f"{key}.max", 0, suffixes=suffixes) \
                if "max" in value else None
            if ("min" in value and low is None) or ("max" in value and high is None):
                return None
            if low is not None and high is not None and low.value > high.value:
                self.problem(line, f"`{key}`: min {low} is above max {high}.")
                return None
            return Bound(low, high)
        return self.integer(value, line, key, 0, span=span, suffixes=suffixes)

    def shape(self, value: Any, line: int, key: str, span: Span | None = None) -> Shape | None:
        if not isinstance(value, list) or not value:
            self.problem(line, f"`{key}` must be a shape such as [1, 16, 5, 5], not {_kind(value)}.")
            return None
        dims: list[Dim] = []
        item_lines = getattr(value, "item_lines", [line] * len(value))
        item_spans = getattr(value, "item_spans", [None] * len(value))
        for index, (dim, dim_line, dim_span) in enumerate(zip(value, item_lines, item_spans)):
            if dim == "_":
                dims.append(None)
                continue
            number = self.integer(dim, dim_line, f"{key}[{index}]", minimum=1, span=dim_span)
            if number is None:
                return None  # one problem a shape is enough to read
            dims.append(number)
        return Shape(tuple(dims), line, span)

    def shapes(self, value: Any, line: int, key: str, span: Span | None = None) -> Shapes | None:
        """One shape, or a tree of them: a list of shapes (several inputs, a tuple output),
        nested lists (an LSTM's `[output, [h_n, c_n]]`), a mapping (a dict of outputs)."""
        node = self.node(value, line, key, span)
        return Shapes(node, line, span) if node is not None else None

    def node(self, value: Any, line: int, key: str, span: Span | None, depth: int = 0) -> ShapeNode | None:
        if depth > 8:
            self.problem(line, f"`{key}` nests deeper than the outputs cnncheck records (8 levels).")
            return None
        if isinstance(value, dict):
            items: list[tuple[str, ShapeNode | None]] = []
            for name, item in value.items():
                at = value.value_line(name) if isinstance(value, LineMap) else line
                where = value.value_spans.get(name) if isinstance(value, LineMap) else None
                if item == "_":
                    items.append((str(name), None))
                    continue
                node = self.node(item, at, f"{key}.{name}", where, depth + 1)
                if node is None:
                    return None
                items.append((str(name), node))
            if not items:
                self.problem(line, f"`{key}` is an empty mapping: state at least one output's shape.")
                return None
            return ShapeMap(tuple(items), line, span)
        structured = [isinstance(item, (list, dict)) for item in value] if isinstance(value, list) else []
        if any(structured):
            if not all(is_tree or item == "_" for is_tree, item in zip(structured, value)):
                self.problem(line, f"`{key}` mixes dimensions and shapes: write one shape "
                                   "[1, 10] or a list of shapes [[1, 10], [1, 4]] (`_` for any one).")
                return None
            item_lines = getattr(value, "item_lines", [line] * len(value))
            item_spans = getattr(value, "item_spans", [None] * len(value))
            nodes: list[ShapeNode | None] = []
            for index, (item, item_line, item_span) in enumerate(zip(value, item_lines, item_spans)):
                if item == "_":
                    nodes.append(None)
                    continue
                node = self.node(item, item_line, f"{key}[{index}]", item_span, depth + 1)
                if node is None:
                    return None
                nodes.append(node)
            return ShapeSeq(tuple(nodes), line, span)
        return self.shape(value, line, key, span)

    # -- the spec's own keys -------------------------------------------------------

    def input_sizes(self, value: Any, line: int) -> tuple[tuple[int, ...], ...]:
        if isinstance(value, dict) or isinstance(value, list) and any(
                isinstance(item, dict) or isinstance(item, list) and any(
                    isinstance(dim, (list, dict)) for dim in item) for item in value):
            self.problem(line, "`input_size` must be a shape or a list of shapes, one per input "
                               "(not nested, nor a mapping).")
            return ()
        shapes = self.shapes(value, line, "input_size")
        if shapes is None:
            return ()
        sizes = []
        for shape in shapes.shapes:
            if not isinstance(shape, Shape):
                self.problem(line, "`input_size` must be a shape or a list of shapes, one per input "
                                   "(not nested, nor a mapping).")
                return ()
            if any(d is None for d in shape.dims):
                self.problem(shape.line, "`input_size` must give every dimension; `_` is for "
                                         "expectations only.")
                return ()
            sizes.append(tuple(d.value for d in shape.dims if d is not None))
        return tuple(sizes)

    def dtypes(self, value: Any, line: int, inputs: int) -> tuple[str, ...] | None:
        names = list(value) if isinstance(value, list) else [value]
        result = []
        for name in names:
            text = name.removeprefix("torch.") if isinstance(name, str) else name
            if text not in DTYPES or not isinstance(text, str):
                hint = (_dtype_hint(text) or did_you_mean(text, DTYPES)) if isinstance(text, str) else ""
                self.problem(line, f"`dtype`: {_kind(name)} is not a dtype cnncheck knows.{hint} "
                                   f"Known: {', '.join(DTYPES)}.")
                return None
            result.append(text)
        if not isinstance(value, list):
            return tuple(result) * max(inputs, 1)
        if inputs and len(result) != inputs:
            self.problem(line, f"`dtype` lists {len(result)} dtypes for {inputs} inputs: "
                               "give one dtype for all inputs, or one per input.")
            return None
        return tuple(result)

    def expect(self, value: Any, line: int, fields: dict[str, Any]) -> None:
        expect = self.mapping(value, line, "expect", EXPECT_KEYS)
        if expect is None:
            return
        if "output" in expect:
            fields["output"] = self.shapes(expect["output"], expect.value_line("output"),
                                           "expect.output", expect.value_spans.get("output"))
        if "params" in expect:
            fields["params"] = self.params(expect["params"], expect.value_line("params"),
                                           expect.value_spans.get("params"))
        if "mult_adds" in expect:
            number = self.count(expect["mult_adds"], expect.value_line("mult_adds"),
                                "expect.mult_adds", expect.value_spans.get("mult_adds"))
            if number is not None:
                fields["mult_adds"] = (number, expect.value_line("mult_adds"))
        if "memory" in expect:
            memory = self.mapping(expect["memory"], expect.value_line("memory"), "expect.memory",
                                  MEMORY_KEYS)
            if memory is not None:
                stated = []
                for key in MEMORY_KEYS:
                    if key in memory:
                        found = self.count(memory[key], memory.value_line(key), f"expect.memory.{key}",
                                           memory.value_spans.get(key), BYTE_SUFFIXES)
                        if found is not None:
                            stated.append((key, found, memory.value_line(key)))
                fields["memory"] = tuple(stated)
        if "layers" in expect:
            fields["layers"] = self.layers(expect["layers"], expect.value_line("layers"))
        if "flatten" in expect:
            fields["flatten"] = self.flatten(expect["flatten"], expect.value_line("flatten"))
        if "accepts" in expect:
            fields["scan"] = self.accepts(expect)

    def accepts(self, expect: LineMap) -> Scan | None:
        value, line = expect["accepts"], expect.value_line("accepts")
        if not self.names:
            self.problem(line, "`expect.accepts` needs a `sweep` that gives the sizes to try, "
                               "such as sweep: {H: 16..64}.")
            return None
        others = [key for key in expect if key != "accepts"]
        if others:
            self.problem(expect.key_line(others[0]), (
                "`expect.accepts` checks which sizes run, and stands alone: state "
                f"`{others[0]}` in a spec of its own (its sweep makes an item a size)."))
        if not isinstance(value, LineMap) or not value:
            self.problem(line, "`expect.accepts` must map sweep names to the sizes that run, "
                               f"such as {{H: 32..35}}, not {_kind(value)}.")
            return None
        accepts = []
        for name in value:
            name_line = value.value_line(name)
            if name not in self.names:
                self.problem(value.key_line(name), (
                    f"`expect.accepts`: {name!r} is not a name of the sweep "
                    f"({', '.join(self.names)}).{did_you_mean(str(name), self.names)}"))
                continue
            try:
                accepts.append((str(name), parse_sizes(value[name])
                                if value[name] != [] else SizeSet(())))
            except SizeSetError as error:
                self.problem(name_line, f"`expect.accepts.{name}`: {error}.")
        return Scan((), tuple(accepts), line)

    def params(self, value: Any, line: int, span: Span | None) -> ParamsSpec | None:
        if not isinstance(value, LineMap) or value and set(value) <= {"min", "max"}:
            number = self.count(value, line, "expect.params", span)
            return ParamsSpec(line, total=(number, line), bare=True) if number else None
        self.known_keys(value, PARAMS_KEYS, "`expect.params`")
        counts: dict[str, tuple[Count, int]] = {}
        for key in PARAMS_KEYS:
            if key in value:
                number = self.count(value[key], value.value_line(key), f"expect.params.{key}",
                                    value.value_spans.get(key))
                if number is not None:
                    counts[key] = (number, value.value_line(key))
        return ParamsSpec(line, total=counts.get("total"), trainable=counts.get("trainable"))

    def layers(self, value: Any, line: int) -> tuple[LayerSpec, ...]:
        if not isinstance(value, LineMap):
            self.problem(line, "`expect.layers` must map layer names (as named_modules() gives "
                               f"them, e.g. conv1 or features.0) to expectations, not {_kind(value)}.")
            return ()
        layers = []
        for name, body in value.items():
            if not isinstance(name, (str, int)) or isinstance(name, bool):
                quote = " (quote it: YAML reads 0.10 as the number 0.1)" if isinstance(name, float) else ""
                self.problem(value.key_line(name), f"Layer names must be text such as 'features.0', "
                                                   f"not {_kind(name)}{quote}.")
                continue
            layers.append(self.layer(str(name), body, value.key_line(name), value.value_line(name)))
        return tuple(layer for layer in layers if layer is not None)

    def layer(self, name: str, value: Any, key_line: int, line: int) -> LayerSpec | None:
        key = f"expect.layers.{name}"
        body = self.mapping(value, line, key, LAYER_KEYS)
        if body is None:
            return None
        found: dict[str, Any] = {}
        for which in ("output", "input"):
            if which in body:
                found[which] = self.shapes(body[which], body.value_line(which), f"{key}.{which}",
                                           body.value_spans.get(which))
        if "params" in body:
            number = self.count(body["params"], body.value_line("params"), f"{key}.params",
                                body.value_spans.get("params"))
            found["params"] = (number, body.value_line("params")) if number else None
        if "type" in body:
            if not isinstance(body["type"], str):
                self.problem(body.value_line("type"), f"`{key}.type` must be a class name such as "
                                                      f"Conv2d, not {_kind(body['type'])}.")
            else:
                found["type"] = (body["type"], body.value_line("type"))
                found["type_span"] = body.value_spans.get("type")
        if "calls" in body:
            calls_value, calls_line = body["calls"], body.value_line("calls")
            if not isinstance(calls_value, list) or not calls_value:
                self.problem(calls_line, f"`{key}.calls` must list one entry per call, such as "
                                         f"- {{output: [1, 6, 14, 14]}}, not {_kind(calls_value)}.")
            else:
                if "output" in body or "input" in body:
                    self.problem(calls_line, f"`{key}` gives both `calls` and a single "
                                             "`output`/`input`: put them under `calls`, one per call.")
                calls = []
                item_lines = getattr(calls_value, "item_lines", [calls_line] * len(calls_value))
                for index, (call, call_line) in enumerate(zip(calls_value, item_lines)):
                    call_key = f"{key}.calls[{index}]"
                    call_body = self.mapping(call, call_line, call_key, CALL_KEYS)
                    if call_body is None:
                        continue
                    shapes = {which: self.shapes(call_body[which], call_body.value_line(which),
                                                 f"{call_key}.{which}",
                                                 call_body.value_spans.get(which))
                              for which in CALL_KEYS if which in call_body}
                    calls.append(CallSpec(call_key, call_line, **shapes))
                found["calls"] = tuple(calls)
                found["calls_line"] = calls_line
        for which in ("receptive_field", "effective_stride"):
            if which in body:
                found[which] = self.field_spec(body[which], body.value_line(which), f"{key}.{which}",
                                               bounds=which == "receptive_field",
                                               span=body.value_spans.get(which))
        return LayerSpec(name, key, key_line, **found)

    def field_spec(self, value: Any, line: int, key: str, bounds: bool,
                   span: Span | None = None) -> FieldSpec | None:
        """`212`, `[212, 212]`, `{min: 200}` (a receptive field only) or `whole`."""
        if value == "whole" and bounds:
            return FieldSpec((), line, whole=True, span=span)
        items = value if isinstance(value, list) else [value]
        counts = []
        for item in items:
            if isinstance(item, dict) and not bounds:
                self.problem(line, f"`{key}` is an exact number of input pixels such as 32, not a bound.")
                return None
            count = self.count(item, line, key, None) if bounds else self.integer(item, line, key, 1)
            if count is None:
                return None
            counts.append(count)
        if not counts or len(counts) > 3:
            what = "212, [212, 212], {min: 200} or whole" if bounds else "32 or [32, 32]"
            self.problem(line, f"`{key}` must be one number for every spatial dimension or one per "
                               f"dimension ({what}), not {_kind(value)}.")
            return None
        return FieldSpec(tuple(counts), line, span=span)

    def flatten(self, value: Any, line: int) -> tuple[FlattenSpec, ...]:
        if not isinstance(value, LineMap):
            self.problem(line, "`expect.flatten` must map Linear layer names to the features they "
                               f"receive from a flatten (fc1: 16*5*5), not {_kind(value)}.")
            return ()
        result = []
        for name, features in value.items():
            number = self.integer(features, value.value_line(name), f"expect.flatten.{name}", 1,
                                  span=value.value_spans.get(name))
            if number is not None:
                result.append(FlattenSpec(str(name), number, value.key_line(name)))
        return tuple(result)

    def rules(self, value: Any, line: int, fields: dict[str, Any]) -> None:
        rules = self.mapping(value, line, "rules", RULE_KEYS)
        if rules is None:
            return
        if "pooling" in rules:
            pooling, pooling_line = rules["pooling"], rules.value_line("pooling")
            if pooling is True:
                fields["pooling"] = DEFAULT_POOLING
            elif pooling is False:
                pass
            elif (isinstance(pooling, list) and pooling
                  and all(isinstance(pair, list) and len(pair) == 2
                          and all(type(n) is int and n > 0 for n in pair) for pair in pooling)):
                fields["pooling"] = tuple((f, s) for f, s in pooling)
            else:
                self.problem(pooling_line, "`rules.pooling` must be true, false, or a list of "
                                           "allowed [F, S] pairs such as [[2, 2], [3, 2]], "
                                           f"not {_kind(pooling)}.")
            fields["pooling_line"] = pooling_line
        if "exact_division" in rules:
            exact = rules["exact_division"]
            if not isinstance(exact, bool):
                self.problem(rules.value_line("exact_division"),
                             f"`rules.exact_division` must be true or false, not {_kind(exact)}.")
            else:
                fields["exact_division"] = exact
                fields["exact_division_line"] = rules.value_line("exact_division")
        if "receptive_field" in rules:
            wanted = rules["receptive_field"]
            if isinstance(wanted, dict):
                self.problem(rules.value_line("receptive_field"),
                             "`rules.receptive_field` is the least field the widest features must see: "
                             "a number such as 224, [224, 224], or whole; not a mapping.")
            else:
                found = self.field_spec(wanted, rules.value_line("receptive_field"), "rules.receptive_field",
                                        bounds=True)
                if found is not None:
                    fields["receptive_field"] = found


def _name_hint(word: str, names: list[str]) -> str:
    same = [name for name in names if name.lower() == word.lower()]
    return f" Did you mean {same[0]!r}?" if same else did_you_mean(word, names)


def _is_model_ref(text: str) -> bool:
    module, sep, attr = text.rpartition(":")
    return bool(sep and module.strip() and attr.strip())
