"""The torch operations the pipeline tells apart, by name, and how their arguments bind.

The torch-function modes (provenance: where a tensor came from; flow: receptive fields;
fastmeta: shapes by formula) and the explanations of a clash all ask what an operation
is and what it was given. They ask here: one table of names, one binder, so that
`torch.cat(xs, 1)`, `torch.cat(xs, dim=1)` and `torch.cat(tensors=xs, dim=1)` read alike
everywhere. Plain data: no torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ELEMENTWISE", "JOIN", "MATMUL", "MIXING", "REDUCING", "RESHAPE", "WINDOWED", "Unbound", "base",
           "bind", "name_of"]

# Combine tensors whose shapes must agree, element by element (broadcasting).
ELEMENTWISE = frozenset({"add", "__add__", "__radd__", "__iadd__", "sub", "__sub__", "__rsub__", "mul", "__mul__",
                         "__rmul__", "__imul__", "div", "__truediv__", "__rtruediv__", "add_", "mul_", "sub_",
                         "where", "maximum", "minimum"})
# Join tensors along a dimension: every other dimension must agree.
JOIN = frozenset({"cat", "concat", "concatenate", "stack", "hstack", "vstack"})
# Contract an inner dimension, which must agree.
MATMUL = frozenset({"matmul", "__matmul__", "mm", "bmm", "linear", "einsum"})
# Read every position of their input into each output: a receptive field becomes the whole input.
MIXING = frozenset({"matmul", "mm", "bmm", "baddbmm", "addmm", "einsum", "scaled_dot_product_attention",
                    "multi_head_attention_forward", "fft_fft2", "fft_rfft2"})
# Reduce over the dimensions they are given.
REDUCING = frozenset({"mean", "sum", "amax", "amin", "max", "min", "std", "var", "norm", "logsumexp", "prod",
                      "softmax", "log_softmax", "cumsum", "argmax", "argmin", "median", "nanmean", "std_mean",
                      "var_mean"})
# Change the shape, keeping the elements.
RESHAPE = frozenset({"view", "reshape", "flatten", "view_as", "reshape_as", "unflatten"})
# Slide a window: their output size is window.py's formula.
WINDOWED = frozenset({"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                      "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
                      "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices"})

# Each function's parameters in order, by its base name (`conv` for conv1d/2d/3d), as
# torch.nn.functional and torch declare them.
SIGNATURES: dict[str, tuple[str, ...]] = {
    "conv": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "conv_transpose": ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"),
    "max_pool": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    "max_pool_with_indices": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                              "return_indices"),
    "avg_pool": ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                 "divisor_override"),
    "lp_pool": ("input", "norm_type", "kernel_size", "stride", "ceil_mode"),
    "adaptive_avg_pool": ("input", "output_size"), "adaptive_max_pool": ("input", "output_size", "return_indices"),
    "interpolate": ("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor",
                    "antialias"),
    "pad": ("input", "pad", "mode", "value"),
    "pixel_shuffle": ("input", "upscale_factor"), "pixel_unshuffle": ("input", "downscale_factor"),
    "unfold": ("input", "kernel_size", "dilation", "padding", "stride"),
    "cat": ("tensors", "dim"), "concat": ("tensors", "dim"), "concatenate": ("tensors", "dim"),
    "stack": ("tensors", "dim"), "hstack": ("tensors",), "vstack": ("tensors",),
    "batch_norm": ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"),
    "layer_norm": ("input", "normalized_shape", "weight", "bias", "eps"),
    "group_norm": ("input", "num_groups", "weight", "bias", "eps"),
    "mean": ("input", "dim", "keepdim"), "sum": ("input", "dim", "keepdim"), "amax": ("input", "dim", "keepdim"),
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "conv": {"stride": 1, "padding": 0, "dilation": 1, "groups": 1},
    "conv_transpose": {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "dilation": 1},
    "max_pool": {"padding": 0, "dilation": 1, "ceil_mode": False},
    "max_pool_with_indices": {"padding": 0, "dilation": 1, "ceil_mode": False},
    "avg_pool": {"padding": 0, "ceil_mode": False},
    "lp_pool": {"ceil_mode": False},
    "interpolate": {"mode": "nearest"},
    "pad": {"mode": "constant"},
    "unfold": {"dilation": 1, "padding": 0, "stride": 1},
    "cat": {"dim": 0}, "concat": {"dim": 0}, "concatenate": {"dim": 0}, "stack": {"dim": 0},
}


class Unbound(Exception):
    """The call gives arguments its signature would not take: read it as torch would, or not at all."""


def name_of(func: Any) -> str:
    """An operation's name as torch gives it: `conv2d`, `__add__`, `cat`."""
    return getattr(func, "__name__", str(func))


def base(name: str) -> str:
    """The family of a numbered function: `conv2d` -> `conv`, `max_pool2d_with_indices` ->
    `max_pool_with_indices`; others are their own."""
    for suffix in ("1d", "2d", "3d"):
        if name.endswith(suffix):
            return name[:-2]
        if name.endswith(f"{suffix}_with_indices"):
            return name[: -len(f"{suffix}_with_indices")] + "_with_indices"
    return name


def bind(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by parameter name, defaults filled in (a None given for a
    parameter that has a default reads as the default, as torch reads it). Unbound where
    the call gives more positions than the signature has, an unknown keyword, or one twice."""
    names = SIGNATURES.get(base(name))
    if names is None or len(args) > len(names) or set(kwargs) - set(names) \
            or set(kwargs) & set(names[:len(args)]):
        raise Unbound(name)
    given = dict(zip(names, args)) | kwargs
    for key, value in DEFAULTS.get(base(name), {}).items():
        if given.get(key) is None:
            given[key] = value
    return given
