"""What a model is made of: one Layer record per module (kind, hyperparameters, parameter
counts), made when first asked for, after the forward pass.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Callable, Iterator, Mapping

import torch
from torch import nn

from ..trace import Layer, LayerKind

__all__ = ["Frame", "Layers", "Made", "Position", "Scope", "Sites", "named_modules", "spatial_dims", "tensors_in"]

# Where a module was made: the user's frames from the innermost (the constructor call)
# outwards, each (file, line, (line, end line, column, end column) of the expression
# running there, or None where Python does not say).
Position = tuple[int, int, int, int]
Frame = tuple[str, int, "Position | None"]
# The names bound to plain values (ints, bools, tuples of ints) in the innermost frame, where
# the constructor was called: `stride`, `out_ch`, for a fix in the code's own terms.
Scope = tuple[tuple[str, Any], ...]
Made = tuple[tuple[Frame, ...], Scope]
Sites = dict[int, Made]  # id(module) -> the frames of the code that built it, and its names


# Parameter's metaclass makes isinstance(p, UninitializedParameter) slow on every
# parameter; the mixin it is built from is a plain class.
_UNINITIALIZED: type = nn.parameter.UninitializedTensorMixin  # type: ignore[attr-defined]


def _numel(parameter: torch.Tensor) -> int:
    if isinstance(parameter, _UNINITIALIZED):
        return 0  # a lazy module the forward pass never reached
    return parameter.numel()


class Layers(Mapping[str, Layer]):
    """Every module of the model by qualified name, each record made when first asked for.

    A passing spec looks at a few layers, a failing one or a rule at all of them;
    making every record up front was a tenth of a ResNet-50 item on meta. The
    records are read after the forward pass (lazy modules have their sizes by then),
    from the module's own `_parameters` and `_modules`: the public generators cost
    more than the rest together.
    """

    def __init__(self, model: nn.Module, locate: Callable[[], dict[str, Made]] | None = None) -> None:
        self._modules = named_modules(model)
        # Where each layer was made, by name: found when a failure first asks (a build
        # under the recorder), so that a passing item never pays for it.
        self._locate = locate
        self._sites: dict[str, Made] | None = None
        self._first: dict[int, str] | None = None
        self._made: dict[str, Layer] = {}
        # The parameters under each module, gathered bottom-up once per subtree; as
        # sets, so that a parameter shared inside a subtree (or a submodule shared by
        # two parents) counts once.
        self._under: dict[int, set[int]] = {}
        self._sizes: dict[int, int] = {}
        self._steps: dict[str, Layer] = {}  # functional steps of one pass, as layers

    def with_steps(self, steps: Mapping[str, tuple[Any, tuple[Frame, ...]]]) -> Layers:
        """These layers and the functional steps of one pass (record.Run.functional), each a
        layer of its kind with no parameters, made where it is called."""
        if not steps:
            return self
        found = copy.copy(self)
        found._steps = {name: Layer(name=name, type_name=step.op, type_path=step.path,
                                    kind=step.kind, hparams=step.hparams, params=0, own=(), leaf=True,
                                    locate=functools.partial(lambda frames: (frames, ()), frames), call=step.written)
                        for name, (step, frames) in steps.items()}
        return found

    def __getitem__(self, name: str) -> Layer:
        if name in self._steps:
            return self._steps[name]
        layer = self._made.get(name)
        if layer is None:
            module = self._modules[name]
            cls = type(module)
            kind = kind_of(module)
            layer = self._made[name] = Layer(
                name=name,
                type_name=cls.__name__,
                type_path=f"{cls.__module__}.{cls.__qualname__}",
                kind=kind,
                hparams=_hparams(module, kind),
                params=sum(self._sizes[i] for i in self._gather(module)),
                own=tuple((n, _shape_of(p)) for n, p in module._parameters.items() if p is not None),
                leaf=not any(child is not None for child in module._modules.values()),
                locate=functools.partial(self._site, name),
                shared=tuple((n, owner) for n, p in module._parameters.items() if p is not None
                             for owner in [self._owners().get(id(p))]
                             if owner is not None and owner != _qualified(name, n)),
            )
        return layer

    def _owners(self) -> dict[int, str]:
        """Each parameter's first name in module order (`emb.weight`): where a tensor shared
        by several layers (tied weights) is counted."""
        if self._first is None:
            self._first = {}
            for prefix, module in self._modules.items():
                for n, p in module._parameters.items():
                    if p is not None:
                        self._first.setdefault(id(p), _qualified(prefix, n))
        return self._first

    def __iter__(self) -> Iterator[str]:
        yield from self._modules
        yield from self._steps

    def _site(self, name: str) -> Made:
        if self._sites is None:
            self._sites = self._locate() if self._locate is not None else {}
        return self._sites.get(name, ((), ()))

    def weighted_leaves(self) -> frozenset[str]:
        """The leaf modules that hold parameters, without making their records."""
        return frozenset(name for name, module in self._modules.items()
                         if module._parameters and not any(c is not None for c in module._modules.values())
                         and any(p is not None for p in module._parameters.values()))

    def param_counts(self) -> tuple[int, int, int, int, int]:
        """(all, trainable) parameters of the model, a tensor shared between layers once;
        the bytes its parameters and its buffers hold (at each tensor's own dtype), and
        the size of one element of its first floating parameter (4 without one)."""
        total = trainable = param_bytes = buffer_bytes = 0
        element = 0
        seen: set[int] = set()
        for module in self._modules.values():
            for parameter in module._parameters.values():
                if parameter is not None and id(parameter) not in seen:
                    seen.add(id(parameter))
                    count = _numel(parameter)
                    total += count
                    trainable += count if parameter.requires_grad else 0
                    size = parameter.element_size()
                    param_bytes += count * size
                    if not element and parameter.is_floating_point():
                        element = size
            for buffer in module._buffers.values():
                if buffer is not None and id(buffer) not in seen:
                    seen.add(id(buffer))
                    buffer_bytes += buffer.numel() * buffer.element_size()
        return total, trainable, param_bytes, buffer_bytes, element or 4

    def packed_params(self) -> int:
        """The weights and biases quantized layers hold packed, outside their parameters
        (torch.ao.nn.quantized's Linear and Conv): `params` does not count them."""
        total = 0
        for module in self._modules.values():
            cls = type(module)  # the class's attributes: Module.__getattr__ on a miss costs an exception
            if callable(getattr(cls, "_weight_bias", None)) and callable(getattr(cls, "weight", None)):
                total += sum(t.numel() for t in module._weight_bias() if t is not None)  # type: ignore[operator]
        return total

    def __len__(self) -> int:
        return len(self._modules) + len(self._steps)

    def __contains__(self, name: object) -> bool:
        return name in self._modules or name in self._steps

    def _gather(self, module: nn.Module) -> set[int]:
        if id(module) not in self._under:
            ids = set()
            for parameter in module._parameters.values():
                if parameter is not None:
                    ids.add(id(parameter))
                    self._sizes[id(parameter)] = _numel(parameter)
            for child in module._modules.values():
                if child is not None:
                    ids |= self._gather(child)
            self._under[id(module)] = ids
        return self._under[id(module)]


def _qualified(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _shape_of(parameter: torch.Tensor) -> tuple[int, ...]:
    if isinstance(parameter, _UNINITIALIZED):
        return ()
    return tuple(parameter.shape)


_POOL_TYPES = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
               nn.modules.pooling._LPPoolNd)


_ADAPTIVE_TYPES = (nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)


_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


def kind_of(module: nn.Module) -> LayerKind:
    """The layer kind of a module: conv, conv_transpose, pool, adaptive_pool, linear, norm,
    flatten or other."""
    cls = type(module)
    if cls not in _KINDS:
        _KINDS[cls] = _kind_of(module)
    return _KINDS[cls]


_KINDS: dict[type, LayerKind] = {}  # by class: isinstance down a list costs on every module


def _kind_of(module: nn.Module) -> LayerKind:
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        return "conv_transpose"
    if isinstance(module, nn.modules.conv._ConvNd):
        return "conv"
    if isinstance(module, _POOL_TYPES):
        return "pool"
    if isinstance(module, _ADAPTIVE_TYPES):
        return "adaptive_pool"
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, _NORM_TYPES):
        return "norm"
    if isinstance(module, nn.Flatten):
        return "flatten"
    return "other"


def spatial_dims(module: nn.Module) -> int:
    """How many spatial dimensions a layer works on: 2 for a Conv2d or MaxPool2d."""
    for cls in type(module).__mro__:
        if cls.__module__.startswith("torch.nn") and cls.__name__[-2:] in ("1d", "2d", "3d"):
            return int(cls.__name__[-2])
    kernel = getattr(module, "kernel_size", 1)
    return len(kernel) if isinstance(kernel, (tuple, list)) else 1


def _per_dim(value: Any, dims: int) -> Any:
    if isinstance(value, str):
        return value  # padding="same" / "valid"
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value)
    return (int(value),) * dims


def conv_hparams(in_channels: int, out_channels: int, kernel: Any, stride: Any, padding: Any, dilation: Any,
                 groups: int, bias: bool, dims: int, output_padding: Any = None) -> dict[str, Any]:
    """A conv's arguments as the checks read them, per axis, whether a module
    (nn.Conv2d) or a functional step (`F.conv2d(x, w, ...)`) has them."""
    found = {"in_channels": in_channels, "out_channels": out_channels, "kernel_size": _per_dim(kernel, dims),
             "stride": _per_dim(stride, dims), "padding": _per_dim(padding, dims),
             "dilation": _per_dim(dilation, dims), "groups": groups, "bias": bias, "dims": dims}
    if output_padding is not None:  # a transposed conv
        found["output_padding"] = _per_dim(output_padding, dims)
    return found


def pool_hparams(kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool, dims: int) -> dict[str, Any]:
    """A pool's arguments as the checks read them, per axis (no stride: the kernel's), whether
    a module (nn.MaxPool2d) or a functional step (`F.max_pool2d(x, 2)`) has them."""
    return {"kernel_size": _per_dim(kernel, dims),
            "stride": _per_dim(kernel if stride in (None, [], ()) else stride, dims),
            "padding": _per_dim(padding, dims), "dilation": _per_dim(dilation, dims),
            "ceil_mode": bool(ceil_mode), "dims": dims}


def _hparams(module: nn.Module, kind: LayerKind) -> dict[str, Any]:
    if kind in ("conv", "conv_transpose"):
        conv: Any = module
        return conv_hparams(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                            conv.dilation, conv.groups, conv.bias is not None, len(conv.kernel_size),
                            conv.output_padding if kind == "conv_transpose" else None)
    if kind == "pool":
        pool: Any = module
        return pool_hparams(pool.kernel_size, pool.stride, getattr(pool, "padding", 0), getattr(pool, "dilation", 1),
                            getattr(pool, "ceil_mode", False), spatial_dims(module))
    if kind == "adaptive_pool":
        return {"output_size": getattr(module, "output_size", None)}
    if kind == "linear":
        linear: Any = module
        return {"in_features": linear.in_features, "out_features": linear.out_features,
                "bias": linear.bias is not None}
    if kind == "norm":
        norm: Any = module
        if isinstance(module, nn.LayerNorm):
            return {"normalized_shape": tuple(norm.normalized_shape),
                    "affine": norm.elementwise_affine}
        if isinstance(module, nn.GroupNorm):
            return {"num_groups": norm.num_groups, "num_channels": norm.num_channels,
                    "affine": norm.affine}
        return {"num_features": norm.num_features, "affine": norm.affine}
    if kind == "flatten":
        flatten: Any = module
        return {"start_dim": flatten.start_dim, "end_dim": flatten.end_dim}
    if isinstance(module, nn.RNNBase):  # the features a step takes, as a crash's cause reads them
        return {"input_size": module.input_size, "hidden_size": module.hidden_size,
                "batch_first": module.batch_first}
    return {}


def named_modules(model: nn.Module) -> dict[str, nn.Module]:
    """dict(model.named_modules()), without its generator per level (a third of the cost)."""
    found: dict[str, nn.Module] = {}
    seen: set[int] = set()

    def visit(module: nn.Module, prefix: str) -> None:
        seen.add(id(module))
        found[prefix] = module
        for name, child in module._modules.items():
            if child is not None and id(child) not in seen:
                visit(child, f"{prefix}.{name}" if prefix else name)

    visit(model, "")
    return found


def tensors_in(value: Any, depth: int = 0) -> list[torch.Tensor]:
    """The tensors in a value: itself, or inside its tuples, lists and dicts (6 levels deep)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if depth < 6 and isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors_in(v, depth + 1)]
    if depth < 6 and isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v, depth + 1)]
    return []
