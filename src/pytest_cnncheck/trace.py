"""What one dummy forward pass did: the records the probe writes and the checks read.

Plain frozen data, no torch: a shape is a tuple of ints; a module's output
that is a tuple or list of tensors is a list of shapes, a dict a dict of them,
and anything else the name of its type (`"NoneType"`, `"int"`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Union

from .fields import Entry, Unknown, Whole

__all__ = [
    "widest", "FORWARD", "Call", "CallRef", "Clash", "Compute", "Crash", "FlowRecord", "Held", "Joined", "Layer",
    "Operand", "Part", "Phase", "LayerKind", "Reshape", "ShapeTree", "Step", "Trace", "Training",
    "format_shapes", "shapes_from_json", "shapes_json",
]

ShapeTree = Union[tuple[int, ...], list[Any], dict[str, Any], str]

# What a layer is to the checks: a module's kind by its class (run/layers.py), a functional
# step's by its call (run/functional.py). `resize`, `pad`, `shuffle` and `unfold` are steps only.
LayerKind = Literal["conv", "conv_transpose", "pool", "adaptive_pool", "linear", "norm", "flatten", "resize", "pad",
                    "shuffle", "unfold", "other"]


@dataclass(frozen=True)
class Layer:
    """The facts about one module of `named_modules()`, or one functional step of the pass."""

    name: str  # qualified name; "" is the model itself
    type_name: str  # "Conv2d"
    type_path: str  # "torch.nn.modules.conv.Conv2d"
    kind: LayerKind
    hparams: dict[str, Any]
    params: int  # every parameter under this module, shared ones once
    own: tuple[tuple[str, tuple[int, ...]], ...]  # its direct parameters: (name, shape)
    leaf: bool
    # Where the code that made it is, asked for when a finding names the layer: the user's
    # frames from the constructor call outwards, each (file, line, span of the expression),
    # and the plain values the names held where the constructor was called.
    locate: Callable[[], tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]] | None = field(
        default=None, compare=False, repr=False)
    # Its direct parameters that are another layer's tensor (tied weights): (name, the
    # name it is counted under first, `emb.weight`).
    shared: tuple[tuple[str, str], ...] = ()
    # How the code writes a functional step's call (`F.max_pool2d`, `torch.flatten`,
    # `.view`); "" for a module.
    call: str = ""

    @property
    def defined(self) -> tuple[str, int] | None:
        """(file, line) of the code that made this layer: the line to edit."""
        made = self.made
        return (made[0][0], made[0][1]) if made else None

    @property
    def made(self) -> tuple[Any, ...]:
        """The user's frames that made this layer, innermost first: (file, line, span)."""
        return self.locate()[0] if self.locate is not None else ()

    @property
    def scope(self) -> dict[str, Any]:
        """The names bound to plain values (ints, bools, tuples of ints) where the constructor
        was called, with their values then: `{"in_ch": 64, "stride": 2}`."""
        return dict(self.locate()[1]) if self.locate is not None else {}


@dataclass
class Call:
    """One call of one module, in the order the calls began.

    Not frozen like the rest, though nothing changes it: a forward pass makes one
    per module call, and a frozen dataclass costs four times as much to make.
    """

    name: str
    index: int  # this module's n-th call, from 0
    depth: int  # how many module calls enclose it
    inputs: tuple[ShapeTree, ...]  # one per positional argument
    output: ShapeTree | None
    finished: bool  # False where the forward pass raised inside it

    @property
    def input(self) -> ShapeTree | None:
        """The first positional argument: what a layer's `input` usually means."""
        return self.inputs[0] if self.inputs else None

    @property
    def input_tree(self) -> ShapeTree | None:
        return self.inputs[0] if len(self.inputs) == 1 else list(self.inputs)


@dataclass(frozen=True)
class CallRef:
    """One call of a layer or a functional step: `pool (call 2)` as people read it. The
    empty name is the model's own forward, outside every layer (false, and written "")."""

    name: str
    index: int = 0  # from 0

    def __str__(self) -> str:
        return self.name + (f" (call {self.index + 1})" if self.index else "")

    def __bool__(self) -> bool:
        return bool(self.name)


FORWARD = CallRef("")  # outside every layer


@dataclass(frozen=True)
class Step:
    """One operation of the forward pass that made a tensor: what ran, in which layer call,
    on what; `before` made its first input."""

    op: str  # "conv2d", "max_pool2d", "add"
    layer: CallRef  # the layer call it ran in: `layer1.0.conv1`, `pool (call 2)`; FORWARD outside layers
    input: tuple[int, ...]  # the shape of its first tensor input
    output: tuple[int, ...]
    before: Step | None = None
    joined: Joined | None = None  # for a cat: the size each operand gave along its dimension, and its maker


@dataclass(frozen=True)
class Joined:
    """What a crashing layer received, where a cat made it: each operand's size along the
    joined dimension, and the layer call that made the operand."""

    dim: int
    parts: tuple[tuple[int, CallRef], ...]  # ((128, cnn.3), (32, meta.1))


@dataclass(frozen=True)
class Operand:
    """A tensor that went into a clashing operation, and the steps that made it, newest first."""

    shape: tuple[int, ...]
    path: tuple[Step, ...]


@dataclass(frozen=True)
class Clash:
    """An operation on several tensors that raised: `out + x`, `torch.cat([up, skip], 1)`."""

    op: str  # "add", "cat", "matmul", "view"
    where: str | None  # the user's line that ran it
    layer: CallRef  # the layer call it ran in (FORWARD for the model's own forward)
    operands: tuple[Operand, ...]
    dim: int | None = None  # the dimension a cat or stack joins along
    target: tuple[int, ...] = ()  # the sizes a view or reshape asked for


@dataclass(frozen=True)
class Reshape:
    """A view or reshape that changed the batch dimension: rows of one sample mixed into
    another's, silently."""

    op: str
    where: str | None
    layer: CallRef
    input: tuple[int, ...]
    output: tuple[int, ...]


# Errors of Python code itself. Not IndexError, KeyError or AssertionError: on meta a
# data-dependent op selects nothing, and indexing or asserting on that raises them.
PYTHON_ERRORS = frozenset({"AttributeError", "NameError", "UnboundLocalError", "TypeError",
                           "ImportError", "ModuleNotFoundError"})


@dataclass(frozen=True)
class Crash:
    """The forward pass raised: the exception, and where in the user's code."""

    exception: str  # "RuntimeError: mat1 and mat2 shapes cannot be multiplied ..."
    where: str | None  # "models/net.py:25: x = x.view(-1, 400)"
    file: str | None = None  # the same line as data: "models/net.py"
    line: int | None = None  # 25
    error: str | None = None  # the exception's type: "RuntimeError"
    # For a module attribute that does not exist (`self.fc_out`), the layer likely meant,
    # by its qualified name ("head.fc2").
    close_name: str | None = None

    @property
    def in_python(self) -> bool:
        """An error of the model's Python code (a misspelt name, a wrong call), which no
        device causes: the CPU would raise it the same way."""
        return self.error in PYTHON_ERRORS and "meta" not in self.exception.lower()


@dataclass(frozen=True)
class FlowRecord:
    """Per layer call, in the order the calls began: the field of its (first) output over the
    input's spatial dimensions, and the calls whose outputs went into it (-1 - k: the model's
    k-th argument)."""

    fields: tuple[tuple[Entry, ...] | None, ...]
    sources: tuple[frozenset[int], ...]
    spatial: int  # how many spatial dimensions the input has
    made: tuple[frozenset[int], ...] = ()  # per call, the calls inside it that made its output


@dataclass(frozen=True)
class Compute:
    """The multiply-accumulates of the forward pass (counting.py): in all, by layer call
    (the innermost module call an op ran in; "" is the model's own forward), and the ops
    that may contract but have no formula, with how often each ran."""

    mult_adds: int
    by_layer: Mapping[str, int]
    uncounted: tuple[tuple[str, int], ...] = ()

    @property
    def complete(self) -> bool:
        return not self.uncounted


@dataclass(frozen=True)
class Trace:
    model: str
    device: str
    layers: Mapping[str, Layer]  # by qualified name; "" is the model itself
    calls: tuple[Call, ...]
    output: ShapeTree | None
    params_total: int
    params_trainable: int
    crash: Crash | None = None
    packed_params: int = 0  # weights quantized layers hold packed, outside the parameters
    fallback: str | None = None  # why the meta device was left for the CPU
    summary: str | None = None  # torchinfo's table
    summary_mult_adds: int | None = None  # torchinfo's own count, beside its table
    compute: Compute | None = None  # the MACs counted in the pass, where something asked
    notes: tuple[str, ...] = field(default=())
    param_bytes: int = 0  # what the parameters hold, each at its own dtype
    buffer_bytes: int = 0  # what the buffers hold (BatchNorm's running statistics, ...)
    element_bytes: int = 4  # one element of the model's floating parameters: activations' size
    weighted: frozenset[str] = frozenset()  # leaf layers that hold parameters
    clash: Clash | None = None  # where a crash was a clash between tensors (a second, tagging pass)
    reshapes: tuple[Reshape, ...] = ()  # views that changed the batch dimension
    joined: Joined | None = None  # where the crashing layer's input was a cat: its operands (tagging pass)
    fitting_inputs: tuple[tuple[int, ...], ...] = ()  # for a clash, a channels-last input: inputs that run
    flow: FlowRecord | None = None  # receptive fields and layer inputs, where a spec asked
    # On meta, ops whose output size depends on values (nonzero, masks, nms) selected nothing
    # (run/selection.py); where init asked, the same pass with everything selected.
    selection: Selection | None = None
    training: Training | None = None  # the training step's memory, where a spec or -v asked

    def calls_of(self, name: str) -> list[Call]:
        return [call for call in self.calls if call.name == name]


# What the bytes live at a moment of a training step are: the parts of its peak.
Part = Literal["params", "buffers", "gradients", "optimizer_state", "activations", "temporaries", "inputs"]
PARTS: tuple[Part, ...] = ("params", "buffers", "gradients", "optimizer_state", "activations", "temporaries",
                           "inputs")
Phase = Literal["forward", "backward", "optimizer"]
# Why a training step raised: the spec's train.loss names no output; a BatchNorm given one
# value per channel in training; anything else.
StepFailure = Literal["loss", "one-value-per-channel", "other"]


@dataclass(frozen=True)
class Held:
    """Tensors of one shape that one layer made in the forward pass and that are still live at
    the training step's peak (most are saved for backward)."""

    layer: str  # "" for the model's own forward
    shape: tuple[int, ...]
    dtype: str  # "float32"
    count: int
    each: int  # bytes of one

    @property
    def bytes(self) -> int:
        return self.count * self.each


@dataclass(frozen=True)
class Training:
    """One training step's memory (run/training.py): the peak of the bytes its tensors hold,
    what they are at that moment, and when it falls. `error` where the step raised (a
    BatchNorm given one value per channel): then nothing else is known."""

    optimizer: str
    precision: str
    peak: int = 0
    parts: tuple[tuple[Part, int], ...] = ()
    phase: Phase = "forward"
    layer: str | None = None  # the innermost layer at work at the peak; None: the optimizer's own loop
    held: tuple[Held, ...] = ()  # the largest activations live at the peak, most first
    error: str | None = None
    failure: StepFailure | None = None

    def part(self, name: Part) -> int:
        return dict(self.parts).get(name, 0)


@dataclass(frozen=True)
class Selection:
    """A pass on meta whose data-dependent ops selected nothing; `calls` and `output` are the
    same pass with everything selected, where asked (`finished`: it ran to the end)."""

    calls: tuple[Call, ...] | None = None
    output: ShapeTree | None = None
    finished: bool = False


def format_shapes(tree: Any) -> str:
    """`[1, 16, 5, 5]` for a shape, `[[1, 10], [1, 4]]` for a list of them; a dimension that
    is None (it depends on values) as `_`."""
    if isinstance(tree, tuple):
        return "[" + ", ".join("_" if d is None else str(d) for d in tree) + "]"
    if isinstance(tree, list):
        return "[" + ", ".join(format_shapes(t) for t in tree) + "]"
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{k}: {format_shapes(v)}" for k, v in tree.items()) + "}"
    if tree is None:
        return "(none)"
    if tree == "NoneType":  # an output that is None, as Python writes it
        return "None"
    return f"<{tree}, not a tensor>"


def shapes_json(tree: Any) -> Any:
    """A shape tree as JSON: shapes as lists of ints, tuples of them as lists."""
    if isinstance(tree, tuple):
        return list(tree)
    if isinstance(tree, list):
        return [shapes_json(item) for item in tree]
    if isinstance(tree, dict):
        return {key: shapes_json(item) for key, item in tree.items()}
    return tree


def shapes_from_json(tree: Any) -> Any:
    """The shape tree `shapes_json` wrote, back: a list of dimensions (ints, or None for a
    size that depends on values) is a shape; other lists, and dicts, hold shape trees."""
    if isinstance(tree, list) and all(d is None or (isinstance(d, int) and not isinstance(d, bool))
                                      for d in tree):
        return tuple(tree)
    if isinstance(tree, list):
        return [shapes_from_json(item) for item in tree]
    if isinstance(tree, dict):
        return {key: shapes_from_json(item) for key, item in tree.items()}
    return tree


def widest(trace: Trace) -> tuple[Call, tuple[Entry, ...]] | None:
    """The widest features: of the layer outputs still laid out over the input's positions
    (more than one), the one whose field is largest (of equals, the outermost layer, then
    the last to run). None where the
    pass did not follow fields or no such output has a field that can be followed."""
    flow = trace.flow
    if flow is None:
        return None
    best: tuple[tuple[tuple[float, ...], int], Call, tuple[Entry, ...]] | None = None
    for call, entries in zip(trace.calls, flow.fields):
        output = call.output
        if not entries or not call.finished or not isinstance(output, tuple) or \
                len(output) != flow.spatial + 2 or math.prod(output[2:]) <= 1:
            continue
        if any(isinstance(e, Unknown) for e in entries):
            continue
        size = tuple(float("inf") if isinstance(e, Whole) else float(e.size)  # type: ignore[union-attr]
                     for e in entries)
        # Of equals, the outermost layer (a stage, not its last ReLU; the model itself last of
        # all), then the latest.
        key = (size, -call.depth if call.depth else -10**6)
        if best is None or key >= best[0]:
            best = (key, call, entries)
    return None if best is None else (best[1], best[2])
