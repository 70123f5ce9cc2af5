"""The flow of one forward pass: which layer call's output went into which, and how much
of the input each output sees (its receptive field, by the rules in `fields.py`).

A torch-function mode sees every operation the model's code runs; each tensor it makes is
tagged with its field, one entry per dimension, and the layer calls that produced what it
was made from. Layer calls whose output no operation tagged (shapes by formula on meta)
get the field their kind and arguments give. The pass is the recorded pass itself, run
under this mode only where a spec asks for fields or a picture: no second forward pass.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .. import ops
from ..fields import Axis, Came, Entry, Unknown, Whole, merge, strided, transposed
from ..trace import FlowRecord
from .layers import spatial_dims, tensors_in

__all__ = ["Flow"]

_TAG = "_cnncheck_flow"

Field = tuple[Entry, ...]  # one entry per dimension of a tensor


_POOLS = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd, nn.modules.pooling._LPPoolNd)


class Flow(TorchFunctionMode):
    def __init__(self, inputs: list[torch.Tensor], current: Callable[[], str]) -> None:
        super().__init__()
        self.current = current  # the layer call the pass is in, for the arithmetic's lines
        self.spatial = max((t.dim() - 2 for t in inputs if isinstance(t, torch.Tensor)), default=0)
        for position, tensor in enumerate(inputs):  # the k-th argument is node -1 - k
            if isinstance(tensor, torch.Tensor):
                _set(tensor, tuple(None if i < 2 else Axis(Fraction(1), Fraction(1), Fraction(0))
                                   for i in range(tensor.dim())), frozenset({-1 - position}))
        self.fields: list[tuple[Entry, ...] | None] = []
        self.sources: list[frozenset[int]] = []
        self.made: list[frozenset[int]] = []
        self._pending: tuple[int, Any] | None = None  # a functional step whose output is not followed yet

    def record(self) -> FlowRecord:
        return FlowRecord(tuple(self.fields), tuple(self.sources), self.spatial, tuple(self.made))

    # -- layer calls --------------------------------------------------------------------

    def begin(self, index: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        with torch._C.DisableTorchFunction():  # our own look at tensors is no operation to follow
            self._begin(index, args, kwargs)

    def _begin(self, index: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        nodes: frozenset[int] = frozenset()
        for tensor in tensors_in((args, tuple(kwargs.values()))):
            tag = _tag(tensor)
            if tag is not None:
                nodes |= tag[1]
        self.fields.append(None)
        self.sources.append(nodes)
        self.made.append(frozenset())

    def claim(self, index: int, args: tuple[Any, ...]) -> None:
        """A functional step recorded as call `index`, beginning: fed by what fed its input."""
        with torch._C.DisableTorchFunction():
            self._begin(index, args, {})
            self._pending = (index, None)

    def claimed(self, output: Any) -> None:
        """The step has run: the maker of its output, once this mode has followed the op (now,
        or when the op returns here)."""
        if self._pending is not None:
            self._pending = (self._pending[0], output)
            with torch._C.DisableTorchFunction():
                self._settle(output)

    def _settle(self, out: Any) -> None:
        pending = self._pending
        if pending is None or out is not pending[1] or not isinstance(out, torch.Tensor) or _tag(out) is None:
            return
        index, tag = pending[0], _tag(out)
        assert tag is not None
        self.made[index] = tag[1] - {index}
        _set(out, tag[0], frozenset({index}))
        self.fields[index] = _spatial_of(_field_of(out))
        self._pending = None

    def end(self, index: int, name: str, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        try:
            with torch._C.DisableTorchFunction():
                self._end(index, name, module, args, output)
        except Exception:  # following fields must never break the model's own pass
            self.fields[index] = None

    def _end(self, index: int, name: str, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        inputs = [t for t in tensors_in(args) if _tag(t) is not None]
        outputs = tensors_in(output)
        # The calls inside that made its output: a picture that doesn't draw this call
        # draws those.
        self.made[index] = frozenset(n for t in outputs for n in (_tag(t) or ((), frozenset()))[1]) - {index}
        for tensor in outputs:
            tag = _tag(tensor)
            if tag is None and inputs:
                # Made without an operation we saw (a formula on meta): the layer's own
                # arithmetic, by the same rules as its operation's.
                field = _module_field(module, name, inputs[0], tensor) or _generic(name, inputs, tensor)
            elif tag is None:
                continue
            else:
                field = tag[0]
            _set(tensor, field, frozenset({index}))
        if outputs and _tag(outputs[0]) is not None:
            self.fields[index] = _spatial_of(_field_of(outputs[0]))

    # -- operations ---------------------------------------------------------------------

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        try:
            self._follow(func, args, kwargs, out)
            if self._pending is not None:
                self._settle(out)
        except Exception:  # following fields must never break the model's own pass
            pass
        return out

    def _follow(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        outputs = tensors_in(out)
        if not outputs:
            return  # x.dim(), x.shape, x.size(1): nothing made
        inputs = [t for t in tensors_in((args, tuple(kwargs.values()))) if _tag(t) is not None]
        if not inputs:
            return  # made from constants only (weights, a fresh tensor): no field
        nodes: frozenset[int] = frozenset()
        for tensor in inputs:
            nodes |= _tag(tensor)[1]  # type: ignore[index]
        name = ops.name_of(func).strip("_")
        layer = self.current() or name
        for tensor in outputs:  # in place too (`x += y`, `relu_`): the tag is renewed
            try:
                field = _op_field(name, args, kwargs, inputs, tensor, layer)
            except Exception:  # arguments read otherwise than we expect: not followed
                field = _generic(layer, inputs, tensor) if tensor.dim() != inputs[0].dim() else tuple(
                    None if e is None else Unknown(f"`{name}` at {layer}")
                    for e in _field_of(inputs[0]))
            _set(tensor, field, nodes)


def _module_field(module: nn.Module, name: str, x: torch.Tensor, out: torch.Tensor) -> Field | None:
    """A layer's field by its kind and arguments, through the same rules as its operation."""
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        return _field(x, out, name, len(module.kernel_size), lambda e, i: transposed(
            e, module.kernel_size[i], module.stride[i], int(module.padding[i]), module.dilation[i], name))
    if isinstance(module, nn.modules.conv._ConvNd):
        return _conv_like(x, out, name, len(module.kernel_size), module.kernel_size, module.stride,
                          module.padding, module.dilation)
    if isinstance(module, _POOLS):  # MaxPool, AvgPool, LPPool (which has no padding or dilation)
        return _conv_like(x, out, name, spatial_dims(module), module.kernel_size,
                          module.stride or module.kernel_size, getattr(module, "padding", 0),
                          getattr(module, "dilation", 1))
    if isinstance(module, (nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)):
        return _adaptive(x, out, name)
    return None


def _n(value: Any, n: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * n


def _field(x: torch.Tensor, out: torch.Tensor, name: str, dims: int,
           rule: Callable[[Entry, int], Entry]) -> Field:
    """Apply `rule` to each of the `dims` trailing dimensions a layer works on (batched or not)."""
    before = _field_of(x)
    if len(before) != out.dim() or len(before) < dims:
        return _whole_or_none([x], out, f"{name}: an input of another rank")
    first = len(before) - dims
    return tuple(rule(e, i - first) if i >= first else e for i, e in enumerate(before))


def _conv_like(x: torch.Tensor, out: torch.Tensor, name: str, n: int, kernel: Any, stride: Any,
               padding: Any, dilation: Any) -> Field:
    """A window of `kernel` taps over the `n` trailing dimensions (ints: the same in each)."""
    kernel, stride, dilation = _n(kernel, n), _n(stride, n), _n(dilation, n)
    if isinstance(padding, str):  # "same" pads d*(F - 1) // 2 on the left, "valid" none
        padding = tuple(d * (k - 1) // 2 if padding == "same" else 0 for k, d in zip(kernel, dilation))
    padding = _n(padding, n)
    return _field(x, out, name, n, lambda e, i: strided(e, kernel[i], stride[i], padding[i], dilation[i], name))


def _adaptive(x: torch.Tensor, out: torch.Tensor, name: str) -> Field:
    before = _field_of(x)
    if len(before) != out.dim():
        return _whole_or_none([x], out, f"{name}: an input of another rank")
    result = list(before)
    for i in range(2 if out.dim() > 2 else 1, out.dim()):
        size_in, size_out = x.shape[i], out.shape[i]
        if size_out == 1 and size_in >= 1:
            result[i] = Whole(f"{name} pools every position into one") if before[i] is not None else None
        elif size_in % size_out == 0:
            k = size_in // size_out
            result[i] = strided(before[i], k, k, 0, 1, f"{name} (adaptive: window {k})")
        elif isinstance(before[i], Axis):
            result[i] = Unknown(f"{name}: adaptive pooling from {size_in} to {size_out} has windows of "
                                "different sizes")
    return tuple(result)


# The functions whose arguments _op_field reads by name.
_BOUND = {"conv", "conv_transpose", "max_pool", "max_pool_with_indices", "avg_pool", "lp_pool", "interpolate", "pad",
          "cat", "concat", "concatenate", "stack"}


# Complex on purpose: one branch per family of ops a receptive field passes through.
def _op_field(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], inputs: list[torch.Tensor],  # noqa: C901
              out: torch.Tensor, layer: str) -> Field:
    x = inputs[0]
    family = ops.base(name)
    given = ops.bind(name, args, kwargs) if family in _BOUND else {}
    if family == "conv" and x is given["input"]:
        w = given["weight"]
        return _conv_like(x, out, layer, w.dim() - 2, tuple(w.shape[2:]), given["stride"], given["padding"],
                          given["dilation"])
    if family == "conv_transpose" and x is given["input"]:
        w = given["weight"]
        n = w.dim() - 2
        k = tuple(w.shape[2:])
        s, p, d = _n(given["stride"], n), _n(given["padding"], n), _n(given["dilation"], n)
        return _field(x, out, layer, n, lambda e, i: transposed(e, k[i], s[i], p[i], d[i], layer))
    if family in ("max_pool", "max_pool_with_indices", "avg_pool", "lp_pool") and x is given["input"]:
        kernel, stride = given["kernel_size"], given.get("stride")
        if stride is None or stride == [] or stride == ():
            stride = kernel
        return _conv_like(x, out, layer, int(name[-2]) if family != "max_pool_with_indices" else
                          int(name[-len("d_with_indices") - 1]), kernel, stride, given.get("padding", 0),
                          given.get("dilation", 1))
    if family in ("adaptive_avg_pool", "adaptive_max_pool"):
        return _adaptive(x, out, layer)
    if name in ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear"):
        mode = given.get("mode", "nearest") if name == "interpolate" else \
            kwargs.get("mode", args[3] if len(args) > 3 else "nearest")
        return _resized(x, out, layer, str(mode))
    if name == "pad" and x is given["input"]:
        pad = given["pad"]
        padded = list(_field_of(x))
        for side in range(len(pad) // 2):
            at = x.dim() - 1 - side
            if isinstance(padded[at], Axis):
                padded[at] = strided(padded[at], 1, 1, pad[2 * side], 1, f"{layer} (pad)")
        return tuple(padded)
    if name == "getitem" and x is args[0]:
        return _sliced(x, args[1], out, layer)
    if name in ("pixel_shuffle", "pixel_unshuffle"):
        factor = int(args[1] if len(args) > 1 else kwargs["upscale_factor" if name == "pixel_shuffle" else
                                                            "downscale_factor"])
        entries = _field_of(x)
        shuffled = list(entries)
        for i in range(2, len(entries)) if len(entries) == out.dim() else ():
            entry = entries[i]
            if name == "pixel_unshuffle":
                shuffled[i] = strided(entry, factor, factor, 0, 1, layer)
            elif isinstance(entry, Axis):
                shuffled[i] = Axis(entry.size, entry.stride / factor, entry.start, entry.came)
        return tuple(shuffled)
    if name in ("permute",):
        order = args[1:] if len(args) > 2 or len(args) == 2 and isinstance(args[1], int) else \
            (args[1] if len(args) > 1 else kwargs["dims"])
        return tuple(_field_of(x)[int(d)] for d in order)
    if name in ("transpose", "swapaxes", "swapdims") and x is args[0]:
        swapped = list(_field_of(x))
        one, two = int(args[1]) % len(swapped), int(args[2]) % len(swapped)
        swapped[one], swapped[two] = swapped[two], swapped[one]
        return tuple(swapped)
    if name in ("linear",):
        last = _field_of(x)
        if last and last[-1] is not None:
            return _whole_like(out, f"{layer}: a Linear over a spatial dimension", inputs)
        return last if len(last) == out.dim() else _whole_or_none(inputs, out, f"{layer}: a Linear")
    if name in ops.MIXING:
        return _whole_like(out, f"{layer}: `{name}` mixes every position", inputs)
    if name in ops.REDUCING:
        return _reduced(name, args, kwargs, x, out, layer)
    if name in ("cat", "concat", "concatenate", "stack"):
        return _joined(name, given, inputs, out, layer)
    return _generic(layer, inputs, out)


def _resized(x: torch.Tensor, out: torch.Tensor, layer: str, mode: str) -> Field:
    """interpolate: features `in/out` input steps apart; nearest takes one input, linear
    modes two neighbours, cubic four."""
    before = _field_of(x)
    if len(before) != out.dim():
        return _whole_or_none([x], out, f"{layer}: an input of another rank")
    taps = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 2, "trilinear": 2, "bicubic": 4}.get(mode)
    result = list(before)
    for i in range(2, out.dim()):
        e = before[i]
        if not isinstance(e, Axis) or x.shape[i] == out.shape[i]:
            continue
        if taps is None:
            result[i] = Unknown(f"{layer}: interpolation mode {mode!r}")
            continue
        scale = Fraction(x.shape[i], out.shape[i])
        result[i] = Axis(e.size + (taps - 1) * e.stride, e.stride * scale, e.start,
                         Came(layer, taps, scale, Fraction(0), e, note=f"resized ({mode})"))
    return tuple(result)


def _sliced(x: torch.Tensor, index: Any, out: torch.Tensor, layer: str) -> Field:
    before = _field_of(x)
    index = index if isinstance(index, tuple) else (index,)
    if any(i is Ellipsis for i in index):
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (x.dim() - len(index) + 1) + index[at + 1:]
    if not all(isinstance(i, slice) for i in index) or len(index) > x.dim():
        if out.dim() == x.dim() and all(out.shape[i] == x.shape[i] for i, e in enumerate(before) if e is not None):
            return before
        return _generic(layer, [x], out)
    result = list(before)
    for i, s in enumerate(index):
        e = before[i]
        if not isinstance(e, Axis) or s == slice(None):
            continue
        start, _, step = s.indices(x.shape[i])
        result[i] = Axis(e.size, e.stride * step, e.start + start * e.stride,
                         Came(layer, 1, Fraction(step), Fraction(-start), e, note=f"(crop from {start})"))
    return tuple(result)


def _reduced(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], x: torch.Tensor,
             out: torch.Tensor, layer: str) -> Field:
    before = _field_of(x)
    dim = kwargs.get("dim", args[1] if len(args) > 1 and not isinstance(args[1], torch.Tensor) else None)
    whole = _first_whole([x]) or Whole(f"{layer}: `{name}` over every position")
    if dim is None:
        return _whole_like(out, whole.why, [x])
    dims = {int(d) % x.dim() for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
    if not any(before[d] is not None for d in dims):  # over channels: each position its own
        kept = tuple(e for i, e in enumerate(before) if i not in dims)
        return kept if len(kept) == out.dim() else before if len(before) == out.dim() else \
            _whole_or_none([x], out, whole.why)
    if out.dim() == x.dim():
        return tuple(whole if i in dims or e is not None and out.shape[i] != x.shape[i] else e
                     for i, e in enumerate(before))
    kept = tuple(e for i, e in enumerate(before) if i not in dims)
    if len(kept) == out.dim():
        # the spatial dims left see the others whole: no single number per dimension
        return tuple(whole if e is not None else None for e in kept) if kept else _whole_like(out, whole.why)
    return _whole_like(out, whole.why)


def _joined(name: str, given: dict[str, Any], inputs: list[torch.Tensor], out: torch.Tensor,
            layer: str) -> Field:
    tensors = [t for t in given.get("tensors", ()) if isinstance(t, torch.Tensor)]
    dim = int(given["dim"])
    rank = tensors[0].dim() if tensors else out.dim()
    dim %= rank if name != "stack" else rank + 1
    fields = [_field_of(t) for t in tensors if _tag(t) is not None]
    merged: list[Entry] = []
    for i in range(rank):
        entries = [f[i] for f in fields if len(f) == rank]
        if name != "stack" and i == dim and any(isinstance(e, Axis) for e in entries):
            merged.append(Unknown(f"{layer}: concatenated along a spatial dimension"))
        else:
            merged.append(merge(entries, layer))
    if name == "stack":
        merged.insert(dim, None)
    return tuple(merged) if len(merged) == out.dim() else _whole_or_none(inputs, out, f"{layer}: `{name}`")


def _pointwise(inputs: list[torch.Tensor], out: torch.Tensor, layer: str) -> Field:
    """Each output position from the same position of every input (broadcast from the right)."""
    rank = out.dim()
    merged: list[Entry] = []
    for i in range(rank):
        entries: list[Entry] = []
        for t in inputs:
            f = _field_of(t)
            j = i - (rank - t.dim())
            if j < 0 or j >= len(f):
                continue
            e = f[j]
            if t.shape[j] == 1 and out.shape[i] != 1 and isinstance(e, Axis):
                e = Whole(f"{layer}: one value spread over every position")
            entries.append(e)
        merged.append(merge(entries, layer))
    return tuple(merged)


def _generic(layer: str, inputs: list[torch.Tensor], out: torch.Tensor) -> Field:
    """An operation we have no rule for: pointwise where the shapes say so, a reshape that
    keeps the spatial dims where it does, else whole (positions mixed) or unknown."""
    x = inputs[0]
    if all(t.dim() <= out.dim() for t in inputs) and _broadcasts(inputs, out):
        return _pointwise(inputs, out, layer)
    before = _field_of(x)
    xs, os = tuple(x.shape), tuple(out.shape)
    front = 0
    while front < min(len(xs), len(os)) and xs[front] == os[front]:
        front += 1
    back = 0
    while back < min(len(xs), len(os)) - front and xs[-1 - back] == os[-1 - back]:
        back += 1
    middle = before[front:len(before) - back]
    if not any(e is not None for e in middle):
        return before[:front] + (None,) * (len(os) - front - back) + (before[len(before) - back:] if back else ())
    if all(e is None or isinstance(e, Whole) for e in middle) or out.dim() < x.dim():
        whole = _first_whole(inputs) or Whole(
            f"{layer}: {list(x.shape)} -> {list(out.shape)}, the spatial dimensions merged")
        return before[:front] + (whole,) * (len(os) - front - back) + (before[len(before) - back:] if back else ())
    unknown = tuple(Unknown(f"{layer}: a reshape of spatial dimensions") for _ in range(len(os) - front - back))
    return before[:front] + unknown + (before[len(before) - back:] if back else ())


def _broadcasts(inputs: list[torch.Tensor], out: torch.Tensor) -> bool:
    for t in inputs:
        for a, b in zip(reversed(t.shape), reversed(out.shape)):
            if a != b and a != 1:
                return False
    return any(t.shape == out.shape for t in inputs)


def _whole_like(out: torch.Tensor, why: str, inputs: list[torch.Tensor] | None = None) -> Field:
    """Every dimension but the batch sees the whole input: for the reason an input already
    carries, else `why`."""
    whole = _first_whole(inputs or []) or Whole(why)
    return tuple(None if i == 0 else whole for i in range(out.dim())) if out.dim() > 1 else (whole,) * out.dim()


def _first_whole(inputs: list[torch.Tensor]) -> Whole | None:
    return next((e for t in inputs for e in _field_of(t) if isinstance(e, Whole)), None)


def _whole_or_none(inputs: list[torch.Tensor], out: torch.Tensor, why: str) -> Field:
    seen = any(e is not None for t in inputs for e in _field_of(t))
    return _whole_like(out, why, inputs) if seen else (None,) * out.dim()


def _spatial_of(field: Field) -> tuple[Entry, ...]:
    """The entries of the dims that carry a field; () where none does."""
    return tuple(e for e in field if e is not None)


def _field_of(tensor: torch.Tensor) -> Field:
    tag = _tag(tensor)
    return tag[0] if tag is not None else (None,) * tensor.dim()


def _tag(tensor: torch.Tensor) -> tuple[Field, frozenset[int]] | None:
    return getattr(tensor, _TAG, None)


def _set(tensor: torch.Tensor, field: Field, nodes: frozenset[int]) -> None:
    if not any(e is not None for e in field) and all(n >= 0 for n in nodes) or len(field) != tensor.dim():
        # made from the input, yet no dimension follows it: positions were mixed away
        field = _whole_like(tensor, "its positions were mixed")
    try:
        setattr(tensor, _TAG, (field, nodes))
    except (AttributeError, RuntimeError):
        pass
