"""The arithmetic behind a finding, in the form people do it by hand.

* conv/pool output size: `H: (14 - 5 + 2*0) / 1 + 1 = 10`, with the layer's own
  F, S, P (and dilation where not 1), saying how a fraction was rounded;
* flatten: `[1, 16, 5, 5] -> 16*5*5 = 400`;
* parameters: `6 * (5*5*3 + 1) = 456`;
* a crashed forward pass: the layer it died in and the shape that reached it.

Pure functions over the Trace: everything is explained from recorded shapes
and hyperparameters, never from torch's error text (which differs by device).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Sequence

from ..arithmetic import Arithmetic, Counted, Flattened, Received, Resized, Step, counted_as, product_text
from ..resize import resizes
from ..trace import Call, Joined, Layer, Trace, format_shapes
from ..window import Window, windows

RESIZING = ("resize", "pad", "shuffle")  # the kinds of step that resize a map without a window

__all__ = [
    "BATCH_NORM_RANKS", "Cause", "ChannelsLast", "channels_last", "channels_maker",
    "counted", "crash_brief", "crash_cause", "crash_kind", "crash_lines", "crash_reason", "crash_steps",
    "describe", "division_steps", "failing_call", "flatten_lines", "flatten_source", "flattened",
    "joined_parts", "layer_windows", "one", "params_breakdown", "product_text", "size_arithmetic", "size_steps",
    "spatial_names", "step_lines", "takes_joined", "takes_ranks", "unbatched", "which_call", "window_steps",
]


def listed(names: Sequence[str], most: int | None = None) -> str:
    """`conv1, conv2 and fc1`; past `most` names, the rest counted: `... and 3 more`."""
    shown = list(names) if most is None or len(names) <= most else [*names[:most], f"{len(names) - most} more"]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" and {shown[-1]}"


def spatial_names(dims: int) -> tuple[str, ...]:
    return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(dims, tuple(f"d{i}" for i in range(dims)))


def one(value: Any) -> str:
    """An argument as people write it: `3` for (3, 3), `'same'` for padding='same'."""
    if isinstance(value, tuple) and len(set(value)) == 1:
        return str(value[0])
    return repr(value) if isinstance(value, str) else str(value)


def describe(layer: Layer) -> str:
    """`conv2 = Conv2d(6, 16, kernel_size=5, stride=1, padding=0)`, for the reader's eye."""
    h = layer.hparams
    if layer.kind in ("conv", "conv_transpose"):
        # a functional conv is given its weight, whose shape says the channels and the kernel
        first = [f"weight {list(h['weight'])}"] if "weight" in h else [
            str(h["in_channels"]), str(h["out_channels"]), f"kernel_size={one(h['kernel_size'])}"]
        args = [*first, f"stride={one(h['stride'])}", f"padding={one(h['padding'])!s}"]
        if any(d != 1 for d in h["dilation"]):
            args.append(f"dilation={one(h['dilation'])}")
        if h["groups"] != 1:
            args.append(f"groups={h['groups']}")
    elif layer.kind == "pool":
        args = [f"kernel_size={one(h['kernel_size'])}", f"stride={one(h['stride'])}",
                f"padding={one(h['padding'])}"]
        if any(d != 1 for d in h["dilation"]):
            args.append(f"dilation={one(h['dilation'])}")
        if h["ceil_mode"]:
            args.append("ceil_mode=True")
    elif layer.kind == "linear":
        args = [f"in_features={h['in_features']}", f"out_features={h['out_features']}"]
    else:  # what the call was given, as written: `F.interpolate(scale_factor=2, mode='nearest')`
        args = [f"{key}={value!r}" for key, value in h.items() if value is not None and key not in ("dims", "weight")]
    return f"{layer.name} = {written_as(layer)}({', '.join(args)})"


def written_as(layer: Layer) -> str:
    """How the code names what made the layer: `Conv2d`, or `F.max_pool2d` for a functional step."""
    return layer.call or layer.type_name


# -- conv and pool output sizes -----------------------------------------------------


def _spatial(layer: Layer, shape: Any) -> tuple[int, ...] | None:
    dims = layer.hparams.get("dims", 0)
    if not isinstance(shape, tuple) or len(shape) < dims + 1:
        return None
    return shape[-dims:]


def layer_windows(layer: Layer) -> tuple[Window, ...] | None:
    """The layer's window per spatial axis (window.py); None where it has none, or keeps
    the size (padding='same')."""
    if layer.kind not in ("conv", "conv_transpose", "pool"):
        return None
    return windows(layer.hparams, transposed=layer.kind == "conv_transpose")


def window_steps(layer: Layer, call: Call) -> tuple[Step, ...]:
    """This call's window arithmetic as data: one Step per spatial axis."""
    found = layer_windows(layer)
    sizes = _spatial(layer, call.input)
    if found is None or sizes is None:
        return ()
    return tuple(Step(layer.name, call.index, name, size, window)
                 for name, size, window in zip(spatial_names(layer.hparams["dims"]), sizes, found))


def resize_steps(layer: Layer, call: Call) -> tuple[Resized, ...]:
    """This call's resizing (interpolate, pad, pixel shuffle) as data: one per spatial axis."""
    sizes = _spatial(layer, call.input)
    found = resizes(layer.kind, layer.hparams, len(sizes)) if sizes else None
    if found is None or sizes is None:
        return ()
    return tuple(Resized(layer.name, call.index, name, size, resize)
                 for name, size, resize in zip(spatial_names(len(sizes)), sizes, found))


def size_steps(layer: Layer, call: Call) -> tuple[Step | Resized, ...]:
    """How this call's spatial sizes came out, as data: a window or a resize per axis."""
    return resize_steps(layer, call) if layer.kind in RESIZING else window_steps(layer, call)


def step_lines(steps: Iterable[Step | Resized]) -> list[str]:
    """`H: (32 - 5 + 2*0) / 1 + 1 = 28`: the steps as the explanations write them."""
    return [step.text() for step in steps]


def size_arithmetic(layer: Layer, call: Call) -> list[str]:
    """One line per spatial dimension: how this call's output size came out."""
    sizes = _spatial(layer, call.input)
    if layer.kind in RESIZING:
        return step_lines(resize_steps(layer, call))
    if layer.kind not in ("conv", "conv_transpose", "pool") or sizes is None:
        return []
    if layer.hparams.get("padding") == "same":
        return [f"{name}: padding='same' keeps {size}" for name, size in zip(spatial_names(len(sizes)), sizes)]
    return step_lines(window_steps(layer, call))


def division_steps(layer: Layer, call: Call) -> tuple[Step, ...]:
    """For rules.exact_division: each axis where (W - F + 2P) / S leaves a remainder."""
    if layer.kind == "conv_transpose" or layer.hparams.get("padding") == "valid":
        return ()
    return tuple(step for step in window_steps(layer, call)
                 if step.window.numerator(step.size) >= 0 and step.window.remainder(step.size))


# -- flatten --------------------------------------------------------------------------


def flatten_source(trace: Trace, call: Call) -> tuple[int, ...] | None:
    """The higher-rank shape that was flattened into `call`'s input, where one was.

    Flattening happens in torch.flatten, view or nn.Flatten, not always in a module we
    can hook; so we follow the tensor back through the layer calls that finished before
    this one. A layer whose output is what reached `call` either flattened it (its input
    has rank 3 or more and the same number of features: nn.Flatten), kept its shape (an
    activation, a dropout, a norm: follow on through it), or made it (a Linear, even one
    of as many features in as out: nothing was flattened). Otherwise the last tensor of rank 3
    or more, with the same batch size,
    whose features multiply out to what reached this layer is the one flattened.
    """
    received = call.input
    if not isinstance(received, tuple) or len(received) < 1:
        return None
    features = received[-1]

    def flattened_into(shape: Any) -> bool:
        return (isinstance(shape, tuple) and len(shape) >= 3 and shape[0] == received[0]
                and math.prod(shape[1:]) == features)

    position = trace.calls.index(call)
    for earlier in reversed(trace.calls[:position]):
        if not earlier.finished:
            continue
        layer = trace.layers.get(earlier.name)
        if earlier.output == received and layer is not None and layer.leaf:
            if flattened_into(earlier.input):
                return earlier.input  # type: ignore[return-value]
            if earlier.input != received or layer.kind not in ("norm", "other"):
                return None  # this layer made the tensor: no flatten on the way
            continue  # it kept the shape: the tensor came through it
        for candidate in (earlier.output, earlier.input):
            if flattened_into(candidate):
                return candidate  # type: ignore[return-value]
    return None


def flattened(trace: Trace, call: Call) -> Flattened | None:
    """The flatten before `call`, as data, where the flattened shape was found."""
    source = flatten_source(trace, call)
    return None if source is None else Flattened(call.name, call.index, source)


def flatten_lines(call: Call, found: Flattened | None) -> list[str]:
    if found is None:
        return [f"{call.name} receives {format_shapes(call.input)} (no flattened shape of that "
                "size was found among the earlier layers' outputs)"]
    return [found.text()]


# -- parameters -----------------------------------------------------------------------


def counted(layer: Layer) -> Counted:
    """A layer's parameters as data, with its formula where the formula adds up to what
    the layer really holds (a custom layer of the same kind may hold more)."""
    own = sum(math.prod(shape) for _, shape in layer.own)
    terms = _terms(layer)
    fits = (terms is not None and not layer.shared
            and Counted.fill(layer.kind, terms) == own == layer.params)
    return Counted(layer.name, layer.params, tuple(layer.own), tuple(layer.shared),
                   layer.kind if fits else None, tuple(terms.items()) if fits and terms else ())


def _terms(layer: Layer) -> dict[str, Any] | None:
    """The arguments that fill the layer's parameter formula; None where it has none."""
    h = layer.hparams
    if layer.kind == "conv" and h.get("padding") is not None or layer.kind == "conv_transpose":
        return {key: h[key] for key in ("out_channels", "kernel_size", "in_channels", "groups", "bias")}
    if layer.kind == "linear":
        return {key: h[key] for key in ("out_features", "in_features", "bias")}
    if layer.kind == "norm" and len(layer.own) == 2:
        return {"num_features": math.prod(layer.own[0][1])}
    return None


def params_breakdown(trace: Trace, root: str, limit: int = 25) -> tuple[list[str], tuple[Counted, ...]]:
    """The layers that make up `root`'s parameter count, each with its formula: a line
    each, and the counts as data.

    Up to `limit` parameter-holding modules are listed one by one; beyond that
    the direct children of `root` are summed, so a ResNet gives a dozen lines.
    """
    prefix = f"{root}." if root else ""
    inside = [layer for name, layer in trace.layers.items()
              if (name.startswith(prefix) or name == root) and layer.own]
    if len(inside) <= limit:
        rows = [(layer.name or "(model)", counted(layer)) for layer in inside]
    else:
        depth = root.count(".") + 1 if root else 0
        rows = [(layer.name, Counted(layer.name, layer.params)) for name, layer in trace.layers.items()
                if name.startswith(prefix) and name and name.count(".") == depth and layer.params]
        own_root = trace.layers.get(root)
        if own_root is not None and own_root.own:
            rows.append((f"{root or '(model)'} itself", counted(own_root)))
    return [f"{label}: {count.text()}" for label, count in rows], tuple(count for _, count in rows)


# -- a crashed forward pass -----------------------------------------------------------


def failing_call(trace: Trace) -> Call | None:
    """The innermost module call that began and never ended."""
    unfinished = [call for call in trace.calls if not call.finished]
    return unfinished[-1] if unfinished else None


# Why a layer could not take what reached it: the argument that disagrees (in_features,
# in_channels, num_features, an RNN's input_size), or a flatten forgotten (unflattened), a
# global pooling forgotten (unpooled), the batch flattened in (batch), a window larger than
# its input (window), a rank the layer does not take (rank), channels a pixel shuffle can't
# take (shuffle).
CauseKind = Literal["in_features", "unflattened", "unpooled", "batch", "input_size", "in_channels", "window",
                    "num_features", "rank", "shuffle"]


@dataclass(frozen=True)
class Cause:
    """Why a layer could not take what reached it, read from the recorded shapes."""

    call: Call
    layer: Layer
    received: tuple[int, ...]
    what: CauseKind
    got: int  # features or channels that arrived; for a window, the input's size; for rank, its rank
    wanted: int  # what the layer takes; for a window, F (dilated); for rank, the batched rank; for a
    # pixel shuffle, r*r, which the channels must be a multiple of
    axis: str = ""  # a window's spatial dimension: H, W, ...
    padding: int = 0  # a window's padding on that dimension


# Complex on purpose: the order of the shape checks is the decision: rank, features, channels, window.
def crash_reason(trace: Trace) -> Cause | None:  # noqa: C901
    """The one place that decides whether the shapes explain a crash, and how."""
    if trace.crash is None:
        return None
    call = failing_call(trace)
    if call is None:
        return None
    layer = trace.layers.get(call.name)
    received = call.input
    if layer is None or not isinstance(received, tuple):
        return None
    h = layer.hparams
    ranks = takes_ranks(layer)
    if ranks and len(received) not in ranks:
        return Cause(call, layer, received, "rank", len(received), max(ranks))
    if layer.kind == "linear" and received and received[-1] != h["in_features"]:
        if len(received) == 1 and received[0] > h["in_features"] and received[0] % h["in_features"] == 0:
            return Cause(call, layer, received, "batch", received[0], h["in_features"])  # torch.flatten(x)
        if len(received) >= 3 and math.prod(received[1:]) == h["in_features"]:  # flatten(x, 1) forgotten
            return Cause(call, layer, received, "unflattened", received[-1], h["in_features"])
        if len(received) >= 3 and received[1] == h["in_features"]:  # the channels, still with their positions
            return Cause(call, layer, received, "unpooled", received[-1], h["in_features"])
        return Cause(call, layer, received, "in_features", received[-1], h["in_features"])
    if "input_size" in h and received and received[-1] != h["input_size"]:  # an RNN, LSTM or GRU
        return Cause(call, layer, received, "input_size", received[-1], h["input_size"])
    if layer.kind in ("conv", "conv_transpose") and h.get("dims"):
        channel_axis = len(received) - h["dims"] - 1
        if channel_axis >= 0 and received[channel_axis] != h["in_channels"]:
            return Cause(call, layer, received, "in_channels", received[channel_axis],
                          h["in_channels"])
    if layer.kind in ("conv", "pool"):
        sizes = _spatial(layer, received)
        for name, size, window in zip(spatial_names(h["dims"]), sizes or (), layer_windows(layer) or ()):
            if not window.fits(size):
                return Cause(call, layer, received, "window", size, window.span, name, window.padding)
    if layer.kind == "norm" and "num_features" in h and len(received) >= 2:
        if received[1] != h["num_features"]:
            return Cause(call, layer, received, "num_features", received[1], h["num_features"])
    if layer.kind == "shuffle" and "upscale_factor" in h and len(received) >= 3:
        if received[-3] % h["upscale_factor"] ** 2:
            return Cause(call, layer, received, "shuffle", received[-3], h["upscale_factor"] ** 2)
    return None


def channels_maker(trace: Trace, call: Call) -> Layer | None:
    """The conv whose output reached `call` as it is: where its channels were set."""
    for earlier in reversed(trace.calls[:trace.calls.index(call)]):
        layer = trace.layers.get(earlier.name)
        if earlier.finished and earlier.output == call.input and layer is not None and layer.leaf:
            return layer if layer.kind in ("conv", "conv_transpose") else None
    return None


def takes_ranks(layer: Layer) -> dict[int, str]:
    """The ranks of input a conv, pool or BatchNorm takes, each with what its dimensions
    are: {3: "[C, H, W]", 4: "[N, C, H, W]"} for a Conv2d; {} where we don't say."""
    if layer.kind in ("conv", "conv_transpose", "pool") and layer.hparams.get("dims"):
        names = ("N", "C", *spatial_names(layer.hparams["dims"]))
        return {len(names) - 1: _listed(names[1:]), len(names): _listed(names)}
    return BATCH_NORM_RANKS.get(layer.type_name, {}) if layer.type_path.startswith("torch.nn") else {}


def _listed(names: tuple[str, ...]) -> str:
    return f"[{', '.join(names)}]"


# The ranks each BatchNorm takes, with what its dimensions are.
BATCH_NORM_RANKS = {"BatchNorm1d": {2: "[N, C]", 3: "[N, C, L]"}, "BatchNorm2d": {4: "[N, C, H, W]"},
                    "BatchNorm3d": {5: "[N, C, D, H, W]"}}


def crash_cause(trace: Trace) -> list[str] | None:
    """Lines explaining a crash from the recorded shapes, or None where shapes don't explain it."""
    cause = crash_reason(trace)
    if cause is None:
        return None
    layer, got, wanted = cause.layer, cause.got, cause.wanted
    receives = f"{describe(layer)}{which_call(cause.call, trace)} receives {format_shapes(cause.received)}: "
    if cause.what == "window":
        return [f"{receives}{cause.axis}: input {got} + 2*{cause.padding} < F={wanted}; "
                "the window does not fit: the input is too small by here"]
    if cause.what == "unflattened":
        return [f"{receives}{got} features, but in_features is {wanted}: a Linear takes the last dimension, "
                f"and {format_shapes(cause.received)} was not flattened, which would give "
                f"{product_text(cause.received)}"]
    if cause.what == "unpooled":
        return [f"{receives}{got} features, but in_features is {wanted}: a Linear takes the last dimension, "
                f"and {wanted} are {format_shapes(cause.received)}'s channels, which still have their "
                f"{'positions' if len(cause.received) > 3 else 'steps'}: a global pooling before it is missing"]
    if cause.what == "rank":
        takes = " or ".join(f"{rank} {names}" for rank, names in takes_ranks(layer).items())
        return [f"{receives}{got} dimensions, but a {layer.type_name} takes {takes}"]
    if cause.what == "batch":
        return [f"{receives}{got} values in one dimension: {got} = {got // wanted} * {wanted}, {got // wanted} samples "
                f"of in_features {wanted} flattened into one row: a flatten from dimension 0 "
                "(`torch.flatten(x)`, `x.view(-1)`) takes the batch in too"]
    if cause.what == "shuffle":
        r = layer.hparams["upscale_factor"]
        maker = channels_maker(trace, cause.call)
        return [f"{receives}{got} channels, but a pixel shuffle by {r} takes a multiple of {r}*{r} = {wanted} "
                f"(each output channel is made of {wanted}): {got} / {wanted} = {got / wanted:g}",
                *([f"its channels come from {describe(maker)}"] if maker is not None else [])]
    steps = _steps(cause, trace)
    lines = [f"{receives}{steps[0].text()}", *(step.text() for step in steps[1:] if not isinstance(step, Step))]
    joined = joined_parts(cause, trace)
    if joined is not None:  # the operands a cat joined, each from where it was made
        lines.append(f"{got} = " + " + ".join(f"{size} from {maker or 'the input'}" for size, maker in joined.parts)
                     + ": the operands of the cat that made it")
    windows = [step for step in steps if isinstance(step, Step)]
    if windows:  # the window that set the flattened size, as the arithmetic a person would do
        maker = trace.layers[windows[0].layer]
        lines.append(f"its spatial size comes from {describe(maker)}:")
        lines.extend(f"  {step.text()}" for step in windows)
    return lines


def takes_joined(trace: Trace) -> bool:
    """Whether the crash is a layer given the wrong width (features, channels), which a cat
    may have made: the tagging pass then says of what."""
    cause = crash_reason(trace)
    return cause is not None and cause.what in ("in_features", "in_channels")


def joined_parts(cause: Cause, trace: Trace) -> Joined | None:
    """The cat behind a crashing layer's width (`cause`, crash_reason's), where the tagging
    pass saw one join along the dimension the layer reads, and its operands add up to what
    arrived."""
    joined = trace.joined
    if joined is None or cause.what not in ("in_features", "in_channels"):
        return None
    read = len(cause.received) - 1 if cause.what == "in_features" else 1
    if joined.dim != read or sum(size for size, _ in joined.parts) != cause.got:
        return None
    return joined


def crash_steps(trace: Trace) -> tuple[Arithmetic, ...]:
    """A crash's cause as data, where the shapes explain it: what reached the layer against
    its argument (and the flatten before a Linear), or the window that did not fit."""
    cause = crash_reason(trace)
    return () if cause is None else _steps(cause, trace)


def _steps(cause: Cause, trace: Trace) -> tuple[Arithmetic, ...]:
    call = cause.call
    if cause.what == "window":
        return tuple(step for step in window_steps(cause.layer, call) if step.axis == cause.axis)
    if cause.what in ("rank", "shuffle", "batch"):
        return ()
    argument = "in_features" if cause.what in ("unflattened", "unpooled") else cause.what
    steps: tuple[Arithmetic, ...] = (Received(call.name, call.index, cause.received, argument, cause.got,
                                               cause.wanted),)
    found = flattened(trace, call) if cause.what == "in_features" else None
    if found is None:
        return steps
    return steps + (found,) + _window_before(trace, call, found.shape)


def _window_before(trace: Trace, call: Call, shape: tuple[int, ...]) -> tuple[Step | Resized, ...]:
    """The window (or resize) arithmetic of the conv, pool or interpolate whose output was
    `shape`, the last before `call`: where the size a flatten multiplied out was set."""
    for earlier in reversed(trace.calls[:trace.calls.index(call)]):
        layer = trace.layers.get(earlier.name)
        if earlier.finished and earlier.output == shape and layer is not None \
                and layer.kind in ("conv", "pool", *RESIZING):
            return size_steps(layer, earlier)
    return ()


@dataclass(frozen=True)
class ChannelsLast:
    """The model's input reached a conv with its channels last, as images (PIL, numpy,
    `[N, H, W, C]`) and sequences (`[N, L, C]`) come, where torch's convs take them first."""

    layer: Layer
    given: tuple[int, ...]  # the input as the spec gives it: [1, 32, 32, 3]
    first: tuple[int, ...]  # the same, channels first: [1, 3, 32, 32]
    order: tuple[int, ...]  # the permutation from one to the other: (0, 3, 1, 2)


def channels_last(trace: Trace, given: tuple[int, ...]) -> ChannelsLast | None:
    """Where a conv raised on the model's input (`given`) because the channels it takes are
    that input's last dimension, not its channel dimension."""
    cause = crash_reason(trace)
    if cause is None or cause.what != "in_channels" or cause.layer.kind != "conv" or cause.received != given:
        return None
    channel = len(given) - cause.layer.hparams["dims"] - 1
    # Channels last read as channels first puts a size where the channels go, and a size is
    # more than the channels ([1, 32, 32, 3]); [1, 3, 32, 32] before a Conv2d(32, ...) is a
    # conv written for the wrong channels, not a layout.
    if given[-1] != cause.wanted or given[channel] <= cause.wanted:
        return None
    order = (*range(channel), len(given) - 1, *range(channel, len(given) - 1))
    return ChannelsLast(cause.layer, given, tuple(given[i] for i in order), order)


def unbatched(trace: Trace, given: tuple[int, ...]) -> Call | None:
    """Where a pass that failed began with a conv or pool taking the model's input as one
    sample without a batch dimension (torch lets a Conv2d take [C, H, W]): that call. The
    layers after it may take its channels for the batch, as `flatten(x, 1)` does."""
    if trace.crash is None:
        return None
    first = next((call for call in trace.calls if call.name and trace.layers[call.name].leaf), None)
    layer = trace.layers.get(first.name) if first is not None else None
    if first is None or layer is None or first.input != given or layer.kind not in ("conv", "pool") \
            or len(given) != layer.hparams.get("dims", 0) + 1:
        return None
    return first


def which_call(call: Call, trace: Trace) -> str:
    """` (call 2)` for a module called more than once: a finding names the call it is about."""
    return f" (call {call.index + 1})" if call.index or len(trace.calls_of(call.name)) > 1 else ""


def crash_lines(trace: Trace) -> list[str]:
    """Everything we can say about a crash: the cause where shapes explain it, else where it was."""
    assert trace.crash is not None
    cause = crash_cause(trace)
    if cause is not None:
        return cause
    call = failing_call(trace)
    lines = []
    if call is not None and call.name:
        layer = trace.layers[call.name]
        lines.append(f"it raised inside {call.name} ({layer.type_name}) with input "
                     f"{format_shapes(call.input_tree)}")
    else:
        done = [c for c in trace.calls if c.finished and c.name]
        if done:
            last = done[-1]
            shape = last.output
            tail = f" -> {product_text(shape)}" if isinstance(shape, tuple) and len(shape) > 2 else ""
            lines.append(f"it raised in the model's own forward code, after {last.name} "
                         f"(output {format_shapes(shape)}{tail})")
        else:
            lines.append("it raised before any layer ran")
    return lines


def crash_brief(trace: Trace) -> tuple[str, str]:
    """(what broke, one line why) for a crash: `pool2`, `pool2: H: input 1 < F=2`.

    For a list of sizes that fail: consecutive sizes that break in the same place
    read as one run, explained once.
    """
    assert trace.crash is not None
    call = failing_call(trace)
    layer = trace.layers.get(call.name) if call is not None and call.name else None
    if call is None or layer is None or not isinstance(call.input, tuple):
        done = [c for c in trace.calls if c.finished and c.name]
        after = (f" after {done[-1].name} (output {format_shapes(done[-1].output)})" if done
                 else " before any layer ran")
        return "", f"raised in forward code{after}: {trace.crash.exception}"
    name = f"{layer.name} (call {call.index + 1})" if call.index else layer.name
    cause = crash_reason(trace)
    if cause is None:
        return layer.name, (f"{name} ({layer.type_name}) raised on input "
                            f"{format_shapes(call.input)}: {trace.crash.exception}")
    if cause.what == "in_features":
        found = flattened(trace, call)
        got = product_text(found.shape) if found is not None else f"{cause.got} features"
        return layer.name, f"{name}: receives {got}, in_features {cause.wanted}"
    if cause.what == "window":
        padded = f" + 2*{cause.padding}" if cause.padding else ""
        return layer.name, f"{name}: {cause.axis}: input {cause.got}{padded} < F={cause.wanted}"
    if cause.what == "rank":
        return layer.name, f"{name}: receives {cause.got} dimensions, {layer.type_name} takes {cause.wanted}"
    if cause.what == "shuffle":
        return layer.name, f"{name}: receives {cause.got} channels, not a multiple of {cause.wanted}"
    if cause.what == "batch":
        return layer.name, f"{name}: receives [{cause.got}], the batch flattened in, in_features {cause.wanted}"
    if cause.what == "unflattened":
        return layer.name, f"{name}: receives {format_shapes(cause.received)} not flattened, in_features {cause.wanted}"
    if cause.what == "unpooled":
        return layer.name, f"{name}: receives {format_shapes(cause.received)} not pooled, in_features {cause.wanted}"
    return layer.name, f"{name}: receives {cause.got} {counted_as(cause.what)}, {cause.what} {cause.wanted}"


def crash_kind(trace: Trace) -> str:
    """What a crash is, in words true of every size that breaks the same way:
    `fc1: the flattened size is not in_features 400` (crash_brief gives one size's numbers)."""
    assert trace.crash is not None
    cause = crash_reason(trace)
    where, why = crash_brief(trace)
    if cause is None:
        kind = trace.crash.exception.partition(":")[0]
        if where:
            return f"{where} raised {kind}"
        done = [c for c in trace.calls if c.finished and c.name]
        return f"raised {kind} in forward code" + (f" after {done[-1].name}" if done else "")
    name = cause.layer.name
    if cause.what == "in_features":
        return f"{name}: the flattened size is not in_features {cause.wanted}"
    if cause.what == "window":
        return f"{name}: {cause.axis}: the input is smaller than the window F={cause.wanted}"
    if cause.what == "rank":
        return f"{name}: the input has {cause.got} dimensions, not {cause.wanted}"
    if cause.what == "unflattened":
        return f"{name}: the input is not flattened to in_features {cause.wanted}"
    if cause.what == "unpooled":
        return f"{name}: the input's {cause.wanted} channels are not pooled"
    if cause.what == "shuffle":
        return f"{name}: the channels are not a multiple of {cause.wanted}"
    if cause.what == "batch":
        return f"{name}: the batch is flattened in with the features"
    return f"{name}: the {counted_as(cause.what)} are not {cause.what} {cause.wanted}"
