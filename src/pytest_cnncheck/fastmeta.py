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
from torch import nn

__all__ = ["formula_shapes"]

Forward = Callable[..., Any]


class _Unsure(Exception):
    """The input is not what the formula assumes: run the real forward."""


def _tensor(args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
    if kwargs or len(args) != 1 or not isinstance(args[0], torch.Tensor) or not args[0].is_meta:
        raise _Unsure
    return args[0]


def _window_size(size: int, f: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = d * (f - 1) + 1
    numerator = size + 2 * p - span
    if numerator < 0:
        raise _Unsure
    if ceil_mode:
        out = -(-numerator // s) + 1
        if (out - 1) * s >= size + p:  # the last window may not start in the right padding
            out -= 1
        return out
    return numerator // s + 1


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
    if module.padding == "same":
        spatial = tuple(x.shape[-dims:])
    else:
        padding = (0,) * dims if module.padding == "valid" else _tuple(module.padding, dims)
        spatial = tuple(
            _window_size(size, f, s, p, d, False)
            for size, f, s, p, d in zip(x.shape[-dims:], module.kernel_size, module.stride,
                                        padding, module.dilation))
    return x.new_empty((*x.shape[:-dims - 1], module.out_channels, *spatial))


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
        return x.new_empty((*x.shape[:-dims], *spatial))
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
        return x.new_empty((*x.shape[:-dims], *spatial))
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
    return x.new_empty(x.shape)


def _layer_norm(module: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    shape = tuple(module.normalized_shape)
    if tuple(x.shape[-len(shape):]) != shape or not x.is_floating_point():
        raise _Unsure
    return x.new_empty(x.shape)


def _group_norm(module: nn.GroupNorm, x: torch.Tensor) -> torch.Tensor:
    if x.dim() < 2 or x.shape[1] != module.num_channels or not x.is_floating_point():
        raise _Unsure
    return x.new_empty(x.shape)


def _elementwise(module: Any, x: torch.Tensor) -> torch.Tensor:
    if not x.is_floating_point():
        raise _Unsure
    if getattr(module, "inplace", False) or isinstance(module, nn.Identity):
        return x  # an in-place activation, like Identity, returns its input
    return x.new_empty(x.shape)


def _linear(module: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    if x.dim() < 1 or x.shape[-1] != module.in_features or x.dtype != module.weight.dtype \
            or not module.weight.is_meta:
        raise _Unsure
    return x.new_empty((*x.shape[:-1], module.out_features))


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


def _fast(module: nn.Module, formula: Callable[..., torch.Tensor], real: Forward) -> Forward:
    def forward(*args: Any, **kwargs: Any) -> Any:
        try:
            return formula(module, _tensor(args, kwargs))
        except _Unsure:
            return real(module, *args, **kwargs)
    return forward


@contextmanager
def formula_shapes(model: nn.Module) -> Iterator[None]:
    """Within this block, known leaf modules of `model` compute meta outputs by formula."""
    replaced = []
    try:
        for module in model.modules():
            real = type(module).forward
            formula = _FORMULAS.get(real)
            if formula is not None and "forward" not in vars(module):
                module.forward = _fast(module, formula, real)  # type: ignore[method-assign]
                replaced.append(module)
        yield
    finally:
        for module in replaced:
            del module.forward
