"""Shapes by formula for common leaf modules on the meta device.

Many of torch's meta kernels run in Python: on a 2-core runner a BatchNorm call on
meta tensors costs milliseconds where the formula costs microseconds. For a leaf
module whose output shape is a known function of its input shape and
hyperparameters, we compute that shape and hand back an empty meta tensor instead
of running the kernel. Everything else runs for real.

Only modules whose class does not override torch's own `forward` are replaced (a
subclass such as a "same"-padding conv may compute another shape), and wherever an
input is not what the formula assumes (another rank, channel count or dtype, a
window larger than its input, BatchNorm training on one value per channel) the
real forward runs, so that errors come out as they would on the CPU. A test checks
that every call's shapes match a CPU run on every example and benchmark model.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .. import ops
from ..window import Window
from . import counting
from .functional import _WATCH, WATCHED
from .layers import tensors_in

try:  # torch's `with torch.device(...)` mode: private, so only where it is as we know it
    from torch.utils._device import DeviceContext
except ImportError:  # pragma: no cover - a torch that moved it: meta without the formulas
    DeviceContext = None  # type: ignore[misc,assignment]

__all__ = ["formula_shapes", "made_on_cpu", "meta_build", "model_onto_meta"]

Forward = Callable[..., Any]
aten = torch.ops.aten


class _Unsure(Exception):
    """The input is not what the formula assumes: run the real forward."""


def _empty(like: torch.Tensor, shape: Any, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A meta tensor of `shape`, made without a round through the torch-function modes, nor,
    while MACs are counted, through the counter's dispatch mode (it would only be told of
    an allocation: most of what counting costs a formula layer)."""
    with torch._C.DisableTorchFunction():
        if _NO_DISPATCH_MODES is not None and counting.counting():
            with torch._C._ExcludeDispatchKeyGuard(_NO_DISPATCH_MODES):
                return torch.empty(shape, dtype=dtype or like.dtype, device="meta")
        return torch.empty(shape, dtype=dtype or like.dtype, device="meta")


_NO_DISPATCH_MODES: Any
try:  # the dispatch keys that send an op to the Python dispatch modes: private, so guarded
    _NO_DISPATCH_MODES = (torch._C.DispatchKeySet(torch._C.DispatchKey.Python)
                          | torch._C.DispatchKeySet(torch._C.DispatchKey.PythonTLSSnapshot))
except AttributeError:  # pragma: no cover - a torch without them: the counter sees them, slower
    _NO_DISPATCH_MODES = None


def _tensor(args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
    if kwargs or len(args) != 1 or not isinstance(args[0], torch.Tensor) or not args[0].is_meta:
        raise _Unsure
    return args[0]


def _window_size(size: int, f: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    out = Window(f, s, p, d, ceil_mode).out(size)
    if out is None:
        raise _Unsure
    return out


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _spatial_input(module: nn.Module, x: torch.Tensor, dims: int, channels: int | None) -> None:
    if x.dim() not in (dims + 1, dims + 2):
        raise _Unsure
    if channels is not None and x.shape[-dims - 1] != channels:
        raise _Unsure


def _conv(module: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    dims = len(module.kernel_size)
    _spatial_input(module, x, dims, module.in_channels)
    if x.dtype != module.weight.dtype or not module.weight.is_meta:
        raise _Unsure
    shape = tuple(x.shape)
    if module.padding == "same":
        spatial = shape[-dims:]
    else:
        padding = (0,) * dims if module.padding == "valid" else _tuple(module.padding, dims)
        spatial = tuple(
            _window_size(size, f, s, p, d, False)
            for size, f, s, p, d in zip(shape[-dims:], module.kernel_size, module.stride,
                                        padding, module.dilation))
    out_shape = (*shape[:-dims - 1], module.out_channels, *spatial)
    if counting.counting():  # the convolution that did not run, batched as aten's would be
        batched = (1,) * (dims + 2 - len(shape))
        weight = (module.out_channels, module.in_channels // module.groups, *module.kernel_size)
        counting.note(counting.macs_on_shapes(aten.convolution, (*batched, *shape), weight, None,
                                              module.stride, module.padding, module.dilation, False,
                                              out_shape=(*batched, *out_shape)))
    return _empty(x, out_shape)


def _pool(dims: int) -> Callable[[Any, torch.Tensor], torch.Tensor]:
    def pool(module: Any, x: torch.Tensor) -> torch.Tensor:
        if getattr(module, "return_indices", False):
            raise _Unsure
        _spatial_input(module, x, dims, None)
        kernel = _tuple(module.kernel_size, dims)
        stride = _tuple(module.stride if module.stride else module.kernel_size, dims)
        padding = _tuple(getattr(module, "padding", 0), dims)
        dilation = _tuple(getattr(module, "dilation", 1), dims)
        if any(2 * p > f for p, f in zip(padding, kernel)):
            raise _Unsure  # torch refuses padding over half the window
        spatial = tuple(_window_size(size, f, s, p, d, module.ceil_mode)
                        for size, f, s, p, d in zip(x.shape[-dims:], kernel, stride, padding, dilation))
        return _empty(x, (*x.shape[:-dims], *spatial))
    return pool


def _adaptive(dims: int) -> Callable[[Any, torch.Tensor], torch.Tensor]:
    def adaptive(module: Any, x: torch.Tensor) -> torch.Tensor:
        if getattr(module, "return_indices", False):
            raise _Unsure
        _spatial_input(module, x, dims, None)
        sizes = _tuple(module.output_size, dims)
        spatial = tuple(size if want is None else want for size, want in zip(x.shape[-dims:], sizes))
        if any(size == 0 for size in x.shape[-dims:]):
            raise _Unsure
        return _empty(x, (*x.shape[:-dims], *spatial))
    return adaptive


def _batch_norm(module: Any, x: torch.Tensor) -> torch.Tensor:
    try:
        module._check_input_dim(x)  # the rank each BatchNorm class accepts
    except ValueError:
        raise _Unsure from None
    if x.shape[1] != module.num_features or not x.is_floating_point():
        raise _Unsure
    if module.training and math.prod(x.shape) // module.num_features <= 1:
        raise _Unsure  # torch raises "Expected more than 1 value per channel when training"
    return _empty(x, x.shape)


def _layer_norm(module: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    shape = tuple(module.normalized_shape)
    if tuple(x.shape[-len(shape):]) != shape or not x.is_floating_point():
        raise _Unsure
    return _empty(x, x.shape)


def _group_norm(module: nn.GroupNorm, x: torch.Tensor) -> torch.Tensor:
    if x.dim() < 2 or x.shape[1] != module.num_channels or not x.is_floating_point():
        raise _Unsure
    return _empty(x, x.shape)


def _elementwise(module: Any, x: torch.Tensor) -> torch.Tensor:
    if not x.is_floating_point():
        raise _Unsure
    if getattr(module, "inplace", False) or isinstance(module, nn.Identity):
        return x  # an in-place activation, like Identity, returns its input
    return _empty(x, x.shape)


def _linear(module: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    if x.dim() < 1 or x.shape[-1] != module.in_features or x.dtype != module.weight.dtype \
            or not module.weight.is_meta:
        raise _Unsure
    if counting.counting():  # the matrix product that did not run: every row of x by weight^T
        counting.note(counting.macs_on_shapes(aten.mm, (math.prod(x.shape[:-1]), module.in_features),
                                              (module.in_features, module.out_features)))
    return _empty(x, (*x.shape[:-1], module.out_features))


_FORMULAS: dict[Forward, Callable[..., torch.Tensor]] = {
    nn.Conv1d.forward: _conv, nn.Conv2d.forward: _conv, nn.Conv3d.forward: _conv,
    nn.Linear.forward: _linear,
    nn.LayerNorm.forward: _layer_norm, nn.GroupNorm.forward: _group_norm,
}
for _dims in (1, 2, 3):
    for _name in ("MaxPool", "AvgPool"):
        _FORMULAS[getattr(nn, f"{_name}{_dims}d").forward] = _pool(_dims)
    for _name in ("AdaptiveAvgPool", "AdaptiveMaxPool"):
        _FORMULAS[getattr(nn, f"{_name}{_dims}d").forward] = _adaptive(_dims)
    _FORMULAS[getattr(nn, f"BatchNorm{_dims}d").forward] = _batch_norm
for _cls in (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish,
             nn.Hardsigmoid, nn.ELU, nn.Mish, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
             nn.Dropout3d, nn.AlphaDropout):
    _FORMULAS[_cls.forward] = _elementwise


def _recurrent(module: Any, x: torch.Tensor) -> Any:
    """nn.RNN, nn.LSTM, nn.GRU on one input and no initial state: (output, h_n), an LSTM's
    (output, (h_n, c_n)). torch's meta LSTM runs every time step in Python: seconds for
    what the CPU does in a fraction of one."""
    if x.dim() not in (2, 3) or x.shape[-1] != module.input_size or not module.weight_ih_l0.is_meta \
            or x.dtype != module.weight_ih_l0.dtype:
        raise _Unsure
    directions = 2 if module.bidirectional else 1
    projected = getattr(module, "proj_size", 0) or module.hidden_size
    layers = directions * module.num_layers
    if x.dim() == 2:  # unbatched: (L, H_in)
        output = _empty(x, (x.shape[0], directions * projected))
        state: tuple[int, ...] = (layers, projected)
        cell: tuple[int, ...] = (layers, module.hidden_size)
    else:
        batch = x.shape[0] if module.batch_first else x.shape[1]
        steps = x.shape[1] if module.batch_first else x.shape[0]
        output = _empty(x, (batch, steps, directions * projected) if module.batch_first
                        else (steps, batch, directions * projected))
        state = (layers, batch, projected)
        cell = (layers, batch, module.hidden_size)
    if counting.counting():
        counting.note(counting.recurrent_macs(module, math.prod(x.shape[:-1])))
    if isinstance(module, nn.LSTM):
        return output, (_empty(x, state), _empty(x, cell))
    return output, _empty(x, state)


for _rnn in (nn.RNN, nn.LSTM, nn.GRU):
    _FORMULAS[_rnn.forward] = _recurrent


def _fast(module: nn.Module, formula: Callable[..., torch.Tensor], real: Forward) -> Forward:
    def forward(*args: Any, **kwargs: Any) -> Any:
        try:
            return formula(module, _tensor(args, kwargs))
        except _Unsure:
            return real(module, *args, **kwargs)
    return forward


# -- functions: the residual add, functional activations, cat --------------------------

_BINARY = {torch.add, torch.sub, torch.mul, torch.Tensor.add, torch.Tensor.sub, torch.Tensor.mul,
           torch.Tensor.__add__, torch.Tensor.__radd__, torch.Tensor.__sub__, torch.Tensor.__rsub__,
           torch.Tensor.__mul__, torch.Tensor.__rmul__}
_IN_PLACE = {torch.Tensor.add_, torch.Tensor.sub_, torch.Tensor.mul_, torch.Tensor.__iadd__,
             torch.Tensor.__isub__, torch.Tensor.__imul__}
_UNARY = {F.relu, torch.relu, torch.Tensor.relu, F.relu6, F.gelu, F.silu, F.hardswish, F.leaky_relu,
          F.elu, F.mish, torch.sigmoid, torch.Tensor.sigmoid, torch.tanh, torch.Tensor.tanh,
          F.dropout, F.hardsigmoid, F.hardtanh}
# Normalisations called as functions (timm's BatchNormAct2d, a channels-first LayerNorm):
# torch's meta path for them is a Python decomposition, most of a small mobile model's time.
_NORMS = {F.batch_norm, F.layer_norm, F.group_norm}
# Reductions over dimensions (a squeeze-and-excitation block's x.mean((2, 3), keepdim=True)).
_REDUCTIONS = {torch.mean, torch.Tensor.mean, torch.sum, torch.Tensor.sum, torch.amax, torch.Tensor.amax}
_UNARY_IN_PLACE = {torch.relu_, torch.Tensor.relu_, F.relu_}


def _operands(args: tuple[Any, ...]) -> tuple[torch.Tensor, Any]:
    if len(args) != 2:
        raise _Unsure
    a, b = args
    for value in (a, b):
        if isinstance(value, torch.Tensor):
            if not value.is_meta or not value.is_floating_point():
                raise _Unsure
        elif not isinstance(value, (int, float)) or isinstance(value, bool):
            raise _Unsure
    tensor = a if isinstance(a, torch.Tensor) else b
    return tensor, torch.result_type(a, b)


def _shape_of(value: Any) -> tuple[int, ...]:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else ()


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy's broadcasting rule (torch.broadcast_shapes imports sympy on first use)."""
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    shape = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            raise _Unsure
        shape.append(y if x == 1 else x)
    return tuple(shape)


# Complex on purpose: one branch per family of functions whose shapes come by formula.
def _function(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:  # noqa: C901
    if "out" in kwargs:
        raise _Unsure
    if func in _BINARY:
        tensor, dtype = _operands(args)
        return _empty(tensor, _broadcast(_shape_of(args[0]), _shape_of(args[1])), dtype)
    if func in _IN_PLACE:
        target, dtype = _operands(args)
        if target is not args[0] or dtype != target.dtype:
            raise _Unsure
        if _broadcast(_shape_of(args[0]), _shape_of(args[1])) != target.shape:
            raise _Unsure
        return target
    if func in _UNARY or func in _UNARY_IN_PLACE:
        x = args[0] if args else kwargs.get("input")
        if not isinstance(x, torch.Tensor) or not x.is_meta or not x.is_floating_point():
            raise _Unsure
        if func in _UNARY_IN_PLACE or kwargs.get("inplace") or (func is F.dropout and len(args) > 3 and args[3]):
            return x
        return _empty(x, x.shape)
    if func in _NORMS:
        return _norm(func, args, kwargs)
    if func in _REDUCTIONS:
        return _reduced(func, args, kwargs)
    if func is F.interpolate:
        return _interpolated(args, kwargs)
    if func is torch.cat:
        given = _bound(func, args, kwargs)
        tensors, dim = given.get("tensors"), given["dim"]
        if not isinstance(tensors, (list, tuple)) or not tensors or not isinstance(dim, int) or any(
                not isinstance(t, torch.Tensor) or not t.is_meta or t.dim() != tensors[0].dim()
                or t.dtype != tensors[0].dtype for t in tensors):
            raise _Unsure
        rank = tensors[0].dim()
        if not -rank <= dim < rank:
            raise _Unsure
        dim %= rank
        first = tensors[0].shape
        if any(t.shape[:dim] != first[:dim] or t.shape[dim + 1:] != first[dim + 1:] for t in tensors):
            raise _Unsure
        size = sum(t.shape[dim] for t in tensors)
        return _empty(tensors[0], (*first[:dim], size, *first[dim + 1:]))
    raise _Unsure


def _bound(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """A function's arguments by name (ops.bind); anything it would not bind (too many, an
    unknown or repeated keyword) runs for real."""
    try:
        return ops.bind(ops.name_of(func), args, kwargs)
    except ops.Unbound:
        raise _Unsure from None


def _reduced(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
    """`x.mean(dims, keepdim)`, `sum`, `amax` of a floating meta tensor over named dimensions
    (a dtype or an out: torch's own path)."""
    given = _bound(func, args, kwargs)
    if "input" not in given:
        raise _Unsure
    x, dim, keepdim = given["input"], given.get("dim"), given.get("keepdim", False)
    if not isinstance(x, torch.Tensor) or not x.is_meta or not x.is_floating_point() or not isinstance(keepdim, bool):
        raise _Unsure
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    rank = x.dim()
    if not dims or not all(isinstance(d, int) and not isinstance(d, bool) and -rank <= d < rank for d in dims):
        raise _Unsure
    chosen = {d % rank for d in dims}
    if len(chosen) != len(dims):
        raise _Unsure  # a dimension named twice: torch's error
    shape = [1 if i in chosen else size for i, size in enumerate(x.shape)] if keepdim else \
        [size for i, size in enumerate(x.shape) if i not in chosen]
    return _empty(x, shape)


# The modes and the spatial dimensions each takes (None: any).
_MODES = {"nearest": None, "nearest-exact": None, "area": None, "linear": 1, "bilinear": 2, "bicubic": 2,
          "trilinear": 3}


def _interpolated(args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
    """F.interpolate's output: `size`, or floor(in * scale_factor) per spatial dimension
    (torch's rule). A bilinear upsampling on meta runs a Python decomposition: most of an
    FPN decoder's time."""
    given = _bound(F.interpolate, args, kwargs)
    if "input" not in given:
        raise _Unsure
    x, size, scale = given["input"], given.get("size"), given.get("scale_factor")
    mode = given.get("mode", "nearest")
    if not isinstance(x, torch.Tensor) or not x.is_meta or not x.is_floating_point() or x.dim() < 3:
        raise _Unsure
    dims = x.dim() - 2
    if mode not in _MODES or _MODES[mode] not in (None, dims) or (size is None) == (scale is None):
        raise _Unsure
    if given.get("align_corners") is not None and mode not in ("linear", "bilinear", "bicubic", "trilinear"):
        raise _Unsure  # torch refuses align_corners for these modes
    if given.get("antialias") and mode not in ("bilinear", "bicubic"):
        raise _Unsure
    if size is not None:
        sizes = _tuple(size, dims)
        if len(sizes) != dims or not all(isinstance(n, int) and not isinstance(n, bool) for n in sizes):
            raise _Unsure
    else:
        scales = _tuple(scale, dims)
        if len(scales) != dims or not all(isinstance(f, (int, float)) and not isinstance(f, bool) for f in scales):
            raise _Unsure
        sizes = tuple(math.floor(float(n) * f) for n, f in zip(x.shape[2:], scales))
    if any(n <= 0 for n in sizes) or any(n == 0 for n in x.shape[2:]):
        raise _Unsure
    return _empty(x, (*x.shape[:2], *sizes))


def _norm(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
    """The output of a normalisation is its input's shape, where every argument fits it;
    anything else runs for real, so that its error is torch's."""
    given = _bound(func, args, kwargs)
    x = given.get("input")
    if not isinstance(x, torch.Tensor) or not x.is_meta or not x.is_floating_point() or x.dim() < 2:
        raise _Unsure
    if func is F.layer_norm:
        shape = tuple(given.get("normalized_shape") or ())
        if not shape or tuple(x.shape[-len(shape):]) != shape:
            raise _Unsure
        per = math.prod(shape)
    else:
        per = x.shape[1]
        if func is F.group_norm:
            groups = given.get("num_groups")
            if not isinstance(groups, int) or groups <= 0 or per % groups:
                raise _Unsure
        elif given.get("training") and math.prod(x.shape) // per <= 1:
            raise _Unsure  # "Expected more than 1 value per channel when training"
    for name in ("running_mean", "running_var", "weight", "bias"):
        value = given.get(name)
        if value is not None and (not isinstance(value, torch.Tensor) or not value.is_meta
                                  or value.numel() != per or value.dtype != x.dtype):
            raise _Unsure
    return _empty(x, x.shape)


# Filling a tensor with initial values: on meta there are no values to fill.
_FILLS = {torch.Tensor.uniform_, torch.Tensor.normal_, torch.Tensor.zero_, torch.Tensor.fill_,
          torch.Tensor.random_, torch.Tensor.bernoulli_, torch.Tensor.exponential_,
          torch.Tensor.log_normal_, torch.Tensor.cauchy_, torch.Tensor.geometric_,
          torch.Tensor.erfinv_, torch.Tensor.clamp_, nn.init.uniform_, nn.init.normal_,
          nn.init.constant_, nn.init.ones_, nn.init.zeros_, nn.init.trunc_normal_}
# These refuse some shapes on every device: the check runs, the fill does not.
_FAN_FILLS = {nn.init.kaiming_uniform_, nn.init.kaiming_normal_, nn.init.xavier_uniform_,
              nn.init.xavier_normal_}


def _fill(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
    tensor = args[0] if args else kwargs.get("tensor", kwargs.get("self"))
    if not isinstance(tensor, torch.Tensor) or not tensor.is_meta:
        raise _Unsure
    if func in _FAN_FILLS:
        nn.init._calculate_fan_in_and_fan_out(tensor)  # raises ValueError as the real fill would
    return tensor


_FUNCTIONS = _BINARY | _IN_PLACE | _UNARY | _UNARY_IN_PLACE | _NORMS | _REDUCTIONS | {torch.cat, F.interpolate}


# Factories whose values come from the Python numbers they are given.
_LAZY = nn.parameter.UninitializedTensorMixin  # type: ignore[attr-defined]
_DATA_FACTORIES = {torch.tensor, torch.as_tensor, torch.arange, torch.linspace, torch.logspace}
_FEW = 2**16  # elements: more than a model computes its sizes with
_WRAPPERS = {torch.as_tensor, torch.asarray}  # given a tensor, the tensor itself
# Factories given a shape: one element of them is a number drawn or kept (detection's
# training-time `int(torch.empty(1).uniform_(0, n).item())`), not a parameter.
_SHAPED_FACTORIES = {torch.empty, torch.zeros, torch.ones, torch.rand, torch.randn, torch.full}


def _scalar(func: Any, args: tuple[Any, ...]) -> bool:
    """`torch.tensor(0)`: in __init__, one Python number is a buffer's first value (BatchNorm's
    num_batches_tracked), not a number to compute with; it stays on meta, saving a CPU
    tensor and its move for every norm layer."""
    return func is torch.tensor and bool(args) and isinstance(args[0], (int, float, bool))


def _one(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    size = kwargs.get("size", args[0] if len(args) == 1 or args and not isinstance(args[1], int) else args)
    if isinstance(size, int):
        size = (size,)
    return isinstance(size, (tuple, list, torch.Size)) and all(isinstance(d, int) for d in size) \
        and math.prod(size) <= 1


def _few(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a data factory's result is small: a few numbers, not a parameter's storage."""
    try:
        if func is torch.arange:
            bounds = [float(a) for a in args[:3]]
            start, end, step = ([0.0] + bounds + [1.0])[-3:] if len(bounds) == 1 else (bounds + [1.0])[:3]
            return step != 0 and math.ceil((end - start) / step) <= _FEW
        if func in (torch.linspace, torch.logspace):
            steps = args[2] if len(args) > 2 else kwargs.get("steps")
            return isinstance(steps, int) and steps <= _FEW
    except (TypeError, ValueError, RuntimeError):  # RuntimeError: a bound that is a meta tensor
        return False
    return True  # tensor/as_tensor: the data is in Python's memory already


def _mixed(tree: Any) -> bool:
    """Meta tensors beside tensors on another device."""
    devices = {t.is_meta for t in tensors_in(tree)}
    return devices == {True, False}


def _onto_meta(tree: Any) -> Any:
    if isinstance(tree, torch.Tensor):
        return tree if tree.is_meta else torch.empty_like(tree, device="meta")
    if isinstance(tree, (list, tuple)):
        return type(tree)(_onto_meta(item) for item in tree) if type(tree) in (list, tuple) else tree
    if isinstance(tree, dict):
        return {key: _onto_meta(item) for key, item in tree.items()}
    return tree


_MADE_ON_CPU = [0]  # tensors the data factories made on the CPU, in this process


def made_on_cpu() -> int:
    """How many tensors the data factories have made on the CPU so far: a build that made
    none has nothing to move."""
    return _MADE_ON_CPU[0]


def model_onto_meta(model: nn.Module) -> None:
    """The parameters and buffers a build left on the CPU (made of data factories' values),
    moved to meta."""
    moved: dict[int, Any] = {}  # a tensor two modules share stays one tensor
    for module in model.modules():
        for store in (module._parameters, module._buffers):
            for name, tensor in store.items():
                if tensor is not None and not tensor.is_meta and \
                        not isinstance(tensor, _LAZY):  # lazy: no storage
                    if id(tensor) not in moved:
                        meta = torch.empty_like(tensor, device="meta")
                        moved[id(tensor)] = (nn.Parameter(meta, requires_grad=tensor.requires_grad)
                                             if isinstance(tensor, nn.Parameter) else meta)
                    store[name] = moved[id(tensor)]


def _on_meta(building: bool = False) -> Any:
    """`with torch.device("meta")` and the formula functions as one mode.

    Stacked, the two modes cost two Python dispatches for every torch call a model
    makes while it is built and run; most of them are factory calls that only need
    the device. One mode that does both saved a sixth of a ResNet-50 item on meta,
    and is still the DeviceContext that `torch.get_default_device()` looks for.
    Where torch has no DeviceContext where we look, plain meta: slower, same shapes.
    """
    if _META_CONTEXT is None:
        return torch.device("meta")
    context = _META_CONTEXT("meta")
    context.building = building
    return context


def _meta_context() -> Any:
    if DeviceContext is None:  # pragma: no cover
        return None

    class MetaContext(DeviceContext):
        building = False  # inside meta_build: a model's __init__
        watches_functional = True  # hands functional steps to functional.watching's callback
        stepping = False  # running a functional step's own call, once it was handed over

        def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                               kwargs: dict[str, Any] | None = None) -> Any:
            kwargs = kwargs or {}
            if func in WATCHED and _WATCH[0] is not None and not self.stepping:  # a functional step
                finish = _WATCH[0](func, args, kwargs)
                if finish is not None:
                    # the call itself, as any other (this method again, inline for the rest:
                    # a method call more on every torch call cost a ResNet-50 item 2%)
                    self.stepping = True
                    try:
                        out = self.__torch_function__(func, types, args, kwargs)
                    finally:
                        self.stepping = False
                    finish(out)
                    return out
            try:
                if func in _FUNCTIONS:
                    return _function(func, args, kwargs)
                if func in _FILLS or func in _FAN_FILLS:
                    return _fill(func, args, kwargs)
            except _Unsure:
                pass
            if func in _WRAPPERS and args and isinstance(args[0], torch.Tensor) and kwargs.get("device") is None:
                # as_tensor of a tensor is that tensor (MONAI's weight inits wrap each
                # parameter in it): no data to copy, so no CPU for it.
                dtype = kwargs.get("dtype", args[1] if len(args) > 1 else None)
                same = args[0] if dtype is None or dtype == args[0].dtype else args[0].to(dtype)
                return same.clone() if kwargs.get("copy") else same
            if kwargs.get("device") is None and (func in _DATA_FACTORIES and _few(func, args, kwargs)
                                                 and not (self.building and _scalar(func, args))
                                                 or func in _SHAPED_FACTORIES and _one(args, kwargs)):
                # Numbers a model computes with (a RegNet's widths in __init__, a pooler's
                # scale in forward) and reads back with .tolist() or float(): real, on the
                # CPU. A parameter or buffer made of them is moved to meta after the build;
                # an op that meets them with meta tensors takes them as meta (below).
                _MADE_ON_CPU[0] += 1
                return func(*args, **{**kwargs, "device": "cpu"})
            try:
                # torch's own frame makes the call (and sets the device): a warning the
                # call raises is then shown at torch's line, not ours.
                return super().__torch_function__(func, types, args, kwargs)  # type: ignore[no-untyped-call]
            except RuntimeError:
                if not _mixed((args, kwargs)):
                    raise
            # A CPU tensor the model made itself (device="cpu" written out, as SSD's anchor
            # sizes) meets one made on meta: on a GPU the model would have moved it; on
            # meta only its shape matters, so it is taken as a meta tensor of that shape.
            args, kwargs = _onto_meta((args, kwargs))
            return super().__torch_function__(func, types, args, kwargs)  # type: ignore[no-untyped-call]

    return MetaContext


_META_CONTEXT = _meta_context()


def _resets() -> list[tuple[type, str, Any]]:
    """torch's own methods that only give parameters and buffers their first values."""
    found = []
    for cls in {c for c in vars(nn).values() if isinstance(c, type) and issubclass(c, nn.Module)}:
        for klass in cls.__mro__:
            if not klass.__module__.startswith("torch.nn"):
                continue
            for name in ("reset_parameters", "reset_running_stats", "_reset_parameters"):
                method = klass.__dict__.get(name)
                if method is not None and (klass, name, method) not in found:
                    found.append((klass, name, method))
    return found


_RESETS: list[tuple[type, str, Any]] = []


def _no_values(self: nn.Module, *args: Any, **kwargs: Any) -> None:
    """On meta, first values are nothing to compute: a tensor there has no values."""


@contextmanager
def meta_build() -> Iterator[None]:
    """Building a model on meta: tensors are made on meta, torch's own reset_parameters
    (and the like) do nothing, and the fills and functions a model's own __init__ calls
    run by formula.

    Weight initialisation is half of building a ResNet on meta, and on meta it
    computes nothing; a model's own reset_parameters still runs (through the
    formula fills), and so do checks such as the fan of a kaiming fill.
    """
    if not _RESETS:
        _RESETS.extend(_resets())
    try:
        for klass, name, _ in _RESETS:
            setattr(klass, name, _no_values)
        with _on_meta(building=True):
            yield
    finally:
        for klass, name, method in _RESETS:
            setattr(klass, name, method)


@contextmanager
def formula_shapes(model: nn.Module) -> Iterator[None]:
    """Within this block, tensors are made on meta, and known leaf modules of `model`
    and known functions compute meta outputs by formula."""
    replaced = []
    try:
        for module in model.modules():
            real = type(module).forward
            formula = _FORMULAS.get(real)
            if formula is not None and "forward" not in vars(module):
                module.forward = _fast(module, formula, real)
                replaced.append(module)
        with _on_meta():
            yield
    finally:
        for module in replaced:
            del module.forward
