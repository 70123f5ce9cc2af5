"""Multiply-accumulates of the recorded pass, op by op: every contraction the forward pass
runs (convolutions of every kind, linear layers, matmul, bmm, einsum, attention), counted
where it runs, in the one pass the probe records.

Every aten op of the pass goes through `MacCounter`, a dispatch mode, so a matmul written
in a model's own `forward`, an einsum, and the matrix products inside
`nn.MultiheadAttention` or `F.scaled_dot_product_attention` are counted as well as a
conv layer's. The formulas are torch's own (`torch.utils.flop_counter`, FLOPs = 2 x MACs),
so the count is FlopCounterMode's halved wherever that sees the op; added here are the
fused kernels it does not register (the CPU's flash attention, oneDNN's recurrent layer).
A leaf layer whose output fastmeta.py computes by formula runs no op; it reports its MACs
through `note` with the same formulas.

An op that may contract but has no formula (a custom op, an aten op such as
`_trilinear`) is counted by name in `uncounted`: the count then says it is partial.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from ..trace import Compute

__all__ = ["MacCounter", "counting", "macs_on_shapes", "note", "recurrent_macs"]

aten = torch.ops.aten


def _attention_flops(query: Any, key: Any, value: Any, *args: Any, out_val: Any = None,
                     **kwargs: Any) -> int:
    """Q K^T and (softmax) V, batched over heads; with grouped-query attention the key and
    value heads serve several query heads, and every query head does the work."""
    *batch, length, width = query.shape
    keys, value_width = key.shape[-2], value.shape[-1]
    return int(2 * math.prod(batch) * length * keys * (width + value_width))


def _mha_flops(query: Any, key: Any, value: Any, embed_dim: int, *args: Any, out_val: Any = None,
               **kwargs: Any) -> int:
    """nn.MultiheadAttention's fused path (inference, on the CPU): the q, k and v projections,
    the attention over all heads, and the output projection."""
    rows, keys = math.prod(query.shape[:-1]), math.prod(key.shape[:-1])
    queries, per_query = query.shape[-2], key.shape[-2]
    batch = rows // queries
    attention = batch * queries * per_query * 2 * embed_dim
    return int(2 * (embed_dim * embed_dim * (2 * rows + 2 * keys) + attention))


def _encoder_layer_flops(src: Any, embed_dim: int, *args: Any, out_val: Any = None, **kwargs: Any) -> int:
    """nn.TransformerEncoderLayer's fused path: its self-attention and its feed-forward."""
    ffn_weight_1 = args[12]  # after num_heads: the q/k/v and output weights and biases, the norms
    rows = math.prod(src.shape[:-1])
    return _mha_flops(src, src, src, embed_dim) + int(2 * 2 * rows * ffn_weight_1.numel())


def _rnn_layer_flops(input: Any, weight_ih: Any, weight_hh: Any, *args: Any, out_val: Any = None,
                     **kwargs: Any) -> int:
    """oneDNN's recurrent layer (the CPU's LSTM and GRU): both weight matrices once per
    time step and sample."""
    steps_and_batch = math.prod(input.shape[:-1])
    return int(2 * steps_and_batch * (weight_ih.numel() + weight_hh.numel()))


Formula = Callable[[tuple[Any, ...], dict[str, Any], Any], int]  # (args, kwargs, output) -> MACs


def _shape(value: Any) -> Any:
    """What torch's flop formulas take: each tensor's shape, in the same nesting."""
    if isinstance(value, torch.Tensor):
        return value.shape
    if isinstance(value, (tuple, list)):
        return type(value)(_shape(item) for item in value)
    return value


def _from_torch(packet: Any, flops: Callable[..., int]) -> Formula:
    """One of torch's flop formulas, as MACs. Most are written on shapes and wrapped to take
    tensors through a pytree walk that costs more than the formula; those are called on
    the shapes directly."""
    raw = _ON_SHAPES.get(packet)
    if raw is None:
        return lambda args, kwargs, out: flops(*args, **kwargs, out_val=out) // 2
    return lambda args, kwargs, out: raw(*_shape(args), **_shape(kwargs), out_shape=_shape(out)) // 2


def _ours(flops: Callable[..., int]) -> Formula:
    return lambda args, kwargs, out: flops(*args, **kwargs) // 2


# torch's formulas written on shapes (most), unwrapped; then every formula as MACs.
_ON_SHAPES: dict[Any, Callable[..., int]] = {packet: flops.__wrapped__ for packet, flops in flop_registry.items()
                                             if hasattr(flops, "__wrapped__")}
_FORMULAS: dict[Any, Formula] = {packet: _from_torch(packet, flops) for packet, flops in flop_registry.items()}
for _name, _flops in (("_scaled_dot_product_flash_attention_for_cpu", _attention_flops),
                      ("_scaled_dot_product_fused_attention_overrideable", _attention_flops),
                      ("mkldnn_rnn_layer", _rnn_layer_flops), ("_native_multi_head_attention", _mha_flops),
                      ("_transformer_encoder_layer_fwd", _encoder_layer_flops)):
    if hasattr(aten, _name):
        _FORMULAS[getattr(aten, _name)] = _ours(_flops)

# Names of ops that contract (multiply and sum) and so have a count, when one of them has no
# formula above: said to be uncounted rather than counted as zero. Every other aten op is
# elementwise, a reduction, a copy or a view: no multiply-accumulate by this convention.
_CONTRACTING = re.compile(r"mm|mv|dot|conv|matmul|einsum|attention|linear|tensordot|bilinear|rnn|lstm|gru")
_RESAMPLING = re.compile(r"upsample|grid_sampler|interp")  # `upsample_bilinear2d`: weights, not a contraction
_COUNT_FREE_NAMESPACES = ("aten", "prims", "prim", "profiler")


class MacCounter(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Counts the multiply-accumulates of the ops run inside it, by layer call.

    `current` names the innermost layer call at each moment (record.py's); ops outside
    every layer count under the model itself, "".
    """

    def __init__(self, current: Callable[[], str]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.current = current
        self.by_layer: dict[str, int] = {}
        self.uncounted: dict[str, int] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        formula = _FORMULAS.get(packet)
        if formula is not None:
            self.add(formula(args, kwargs, out))
        elif packet not in _COUNT_FREE:
            if _contracts(func):
                name = func._schema.name
                self.uncounted[name] = self.uncounted.get(name, 0) + 1
            else:
                _COUNT_FREE.add(packet)
        return out

    def add(self, macs: int) -> None:
        if macs:
            layer = self.current()
            self.by_layer[layer] = self.by_layer.get(layer, 0) + macs

    def __enter__(self) -> MacCounter:
        _ACTIVE.append(self)
        return super().__enter__()  # type: ignore[no-untyped-call, no-any-return]

    def __exit__(self, *exc: Any) -> None:
        _ACTIVE.remove(self)
        super().__exit__(*exc)  # type: ignore[no-untyped-call]

    def record(self) -> Compute:
        return Compute(mult_adds=sum(self.by_layer.values()), by_layer=dict(self.by_layer),
                       uncounted=tuple(sorted(self.uncounted.items())))


_ACTIVE: list[MacCounter] = []
_COUNT_FREE: set[Any] = set()  # ops seen to do no multiply-accumulate: not looked at again


def _contracts(func: Any) -> bool:
    namespace, _, name = func._schema.name.partition("::")
    return namespace not in _COUNT_FREE_NAMESPACES or (
        bool(_CONTRACTING.search(name)) and not _RESAMPLING.search(name))


def counting() -> bool:
    """Whether a counter is running: formula layers only then work out their MACs."""
    return bool(_ACTIVE)


def note(macs: int) -> None:
    """A formula layer's work, which ran no op: added to the running counter."""
    if _ACTIVE:
        _ACTIVE[-1].add(macs)


def macs_on_shapes(op: Any, *shapes: Any, **kwargs: Any) -> int:
    """`op`'s MACs given the shapes it would have been called with, by the formula the
    counter uses when the op runs (torch's): one formula for both."""
    return _ON_SHAPES[op](*shapes, **kwargs) // 2


def recurrent_macs(module: Any, steps_and_batch: int) -> int:
    """An RNN, LSTM or GRU's MACs: each layer's and direction's weight matrices once per
    time step and sample (gates included); an LSTM's projection too."""
    total = 0
    for name, weight in module.named_parameters():
        if name.startswith(("weight_ih", "weight_hh", "weight_hr")):
            total += weight.numel()
    return steps_and_batch * total
