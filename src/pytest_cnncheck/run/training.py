"""One training step, for its memory: forward in train mode, a scalar loss, backward and the
optimizer's step, in steady state (the optimizer's state made by an earlier step, the
gradients set to None before this one, as `zero_grad` does by default).

Every tensor the step makes is followed from its creation to its release, by its storage
(views share one; a storage is freed when its last tensor is, autograd's saved tensors
included), as the allocator sees them: a device mode sees each op's outputs, and a weak
reference to each storage sees it go. On meta nothing is allocated. An autocast precision
runs under FakeTensorMode with tensors that say they are on the CPU, where autocast acts.

What a storage is, is decided when it is made: made in the forward pass, an activation;
in backward or the optimizer's step, a temporary, until it becomes a parameter's gradient.
"""

from __future__ import annotations

import warnings
import weakref
from contextlib import ExitStack, nullcontext
from dataclasses import replace
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves, tree_map

from ..spec.model import TrainSpec
from ..trace import PARTS, Held, Part, Phase, StepFailure, Training

__all__ = ["training_step"]

HELD = 3  # the largest activations the record keeps


class _Storage:
    """One storage the step holds: what it is, how large, who made it, and when."""

    __slots__ = ("part", "size", "layer", "shape", "dtype", "born", "died", "ref")

    def __init__(self, part: Part, size: int, layer: str, shape: tuple[int, ...], dtype: str, born: int) -> None:
        self.part, self.size, self.layer, self.shape, self.dtype = part, size, layer, shape, dtype
        self.born, self.died = born, -1
        self.ref: Any = None  # the weak reference that sees the storage go


# The CPU's backward kernels that hold a buffer the size of their input's gradient while they
# run (measured with torch's memory profiler: each allocates it beside grad_input).
_SCRATCH = frozenset({torch.ops.aten.native_batch_norm_backward.default,
                      torch.ops.aten.convolution_backward.default})


class _Live(TorchDispatchMode):
    """The bytes live at each moment, by part, and the moment they peak."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.storages: dict[int, _Storage] = {}  # by the storage's address, while it lives
        self.gone: list[_Storage] = []
        self.totals: dict[Part, int] = dict.fromkeys(PARTS, 0)
        self.total = 0
        self.clock = 0
        self.phase: Phase = "forward"
        self.layer: str | None = None
        self.peak = 0
        self.at: tuple[int, dict[Part, int], Phase, str | None] = (0, dict(self.totals), "forward", None)
        self.owners: dict[int, str] = {}  # a parameter's storage: its layer (for the optimizer's loop)

    def hold(self, tensor: torch.Tensor, part: Part) -> None:
        storage = tensor.untyped_storage()
        key = storage._cdata
        if key in self.storages:
            return
        size = storage.nbytes()
        self.clock += 1
        held = self.storages[key] = _Storage(part, size, self.layer or "", tuple(tensor.shape),
                                             str(tensor.dtype).removeprefix("torch."), self.clock)
        held.ref = weakref.ref(storage, lambda _, key=key: self.release(key))  # type: ignore[misc]
        self.totals[part] += size
        self.total += size
        self.reached()

    def reached(self, scratch: int = 0) -> None:
        """Records the moment as the peak where the live bytes, with a kernel's `scratch`
        buffer (held while it runs, freed before it returns), are the most yet."""
        if self.total + scratch > self.peak:
            self.peak = self.total + scratch
            totals = dict(self.totals)
            totals["temporaries"] += scratch
            self.at = (self.clock, totals, self.phase, self.layer)

    def release(self, key: int) -> None:
        held = self.storages.pop(key, None)
        if held is None:
            return
        self.clock += 1
        held.died = self.clock
        self.gone.append(held)
        self.totals[held.part] -= held.size
        self.total -= held.size

    def become(self, tensor: torch.Tensor, part: Part) -> None:
        """A storage the step made is now `part` (a temporary that became a gradient)."""
        held = self.storages.get(tensor.untyped_storage()._cdata)
        if held is None:
            self.hold(tensor, part)
        elif held.part != part:
            self.totals[held.part] -= held.size
            self.totals[part] += held.size
            held.part = part

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if self.phase == "optimizer" and args and isinstance(args[0], torch.Tensor):
            self.layer = self.owners.get(args[0].untyped_storage()._cdata, self.layer)
        out = func(*args, **(kwargs or {}))
        part: Part = "activations" if self.phase == "forward" else "temporaries"
        for leaf in tree_leaves(out):
            if isinstance(leaf, torch.Tensor):
                self.hold(leaf, part)
        if func in _SCRATCH and isinstance(out[0], torch.Tensor):
            self.reached(scratch=out[0].untyped_storage().nbytes())
        return out

    def held(self) -> tuple[Held, ...]:
        """The activations live at the peak, grouped by the layer and shape that made them,
        the largest first."""
        moment = self.at[0]
        groups: dict[tuple[str, tuple[int, ...], str], list[int]] = {}
        for one in [*self.storages.values(), *self.gone]:
            if one.part == "activations" and one.born <= moment and (one.died < 0 or one.died > moment):
                groups.setdefault((one.layer, one.shape, one.dtype), []).append(one.size)
        found = [Held(layer, shape, dtype, len(sizes), max(sizes)) for (layer, shape, dtype), sizes in groups.items()]
        return tuple(sorted(found, key=lambda held: -held.bytes)[:HELD])


class _AsOnTheCpu(TorchFunctionMode):
    """On meta, attention as the CPU runs it: torch picks its fused kernel there, which keeps
    the log-sum-exp for backward, where meta's choice (the math path) keeps the whole
    attention matrix."""

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is F.scaled_dot_product_attention and _fused_on_cpu(*args, **kwargs):
            query, key, value = args[:3]
            return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
                query, key, value, kwargs.get("dropout_p", 0.0), kwargs.get("is_causal", False),
                attn_mask=kwargs.get("attn_mask"), scale=kwargs.get("scale"))[0]
        return func(*args, **kwargs)


def _fused_on_cpu(query: Any, key: Any, value: Any, attn_mask: Any = None, dropout_p: float = 0.0,
                  is_causal: bool = False, scale: Any = None, enable_gqa: bool = False) -> bool:
    """Whether the CPU would run this attention fused: asked of torch with CPU tensors of the
    same ranks, dtypes and head sizes, one position long."""
    tensors = (query, key, value)
    if enable_gqa or not all(isinstance(t, torch.Tensor) and t.device.type == "meta" and t.dim() == 4
                             for t in tensors) or query.shape[:2] != key.shape[:2]:
        return False
    if attn_mask is not None:
        return False
    small = [torch.empty((*t.shape[:2], 1, t.shape[3]), dtype=t.dtype, requires_grad=t.requires_grad)
             for t in tensors]
    choose: Any = torch._fused_sdp_choice  # its stub knows fewer arguments than it takes
    choice = choose(*small, None, dropout_p, is_causal, scale=scale)
    return bool(choice == SDPBackend.FLASH_ATTENTION.value)


_OPTIMIZERS: dict[str, Callable[[list[nn.Parameter]], torch.optim.Optimizer]] = {
    "sgd": lambda params: torch.optim.SGD(params, lr=0.01),
    "sgd-momentum": lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9),
    "adam": lambda params: torch.optim.Adam(params),
    "adamw": lambda params: torch.optim.AdamW(params),
}


class _LossNotFound(ValueError):
    """train.loss names an output forward did not return."""


def _loss(output: Any, name: str | None) -> torch.Tensor:
    """The scalar backward starts from: the named output, or every output summed."""
    if name is not None:
        if isinstance(output, dict) or hasattr(output, "keys"):
            if name not in output:
                raise _LossNotFound(f"train.loss names the output {name!r}, and forward returned the keys "
                                 f"{', '.join(map(str, output.keys()))}")
            output = output[name]
        elif isinstance(output, (list, tuple)) and name.lstrip("-").isdigit():
            output = output[int(name)]
        else:
            raise _LossNotFound(f"train.loss names the output {name!r}, and forward returned no dict to look it up in")
    leaves = [leaf for leaf in tree_leaves(output) if isinstance(leaf, torch.Tensor) and leaf.requires_grad]
    if not leaves:
        raise ValueError("no output of forward carries a gradient (every parameter frozen, or the outputs "
                         "made without them)")
    total = leaves[0].sum()
    for leaf in leaves[1:]:
        total = total + leaf.sum()
    return total


def _layer_hooks(model: nn.Module, live: _Live) -> list[Any]:
    """Hooks that tell `live` which layer is at work: in forward the innermost module
    running; in backward the innermost module whose outputs' gradients are being taken."""
    stack: list[str | None] = []
    claimed: set[int] = set()

    def before(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any) -> None:
            stack.append(live.layer)
            live.layer = name
        return hook

    def after(name: str) -> Callable[..., None]:
        def into_backward(grads: Any) -> None:
            live.layer = name

        def hook(module: nn.Module, args: Any, output: Any) -> None:
            live.layer = stack.pop() if stack else None
            for leaf in tree_leaves(output):
                node = getattr(leaf, "grad_fn", None)
                if node is not None and id(node) not in claimed:  # the innermost module claims it
                    claimed.add(id(node))
                    node.register_prehook(into_backward)
        return hook

    handles = []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_pre_hook(before(name)))
            handles.append(module.register_forward_hook(after(name)))
    return handles


def _faked(model: nn.Module, inputs: list[Any], keywords: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """The model's tensors and the inputs as fake tensors on the CPU (inside FakeTensorMode)."""
    def fake(tensor: Any) -> Any:
        if not isinstance(tensor, torch.Tensor):
            return tensor
        made = torch.empty(tensor.shape, dtype=tensor.dtype, device="cpu")
        return made.requires_grad_(tensor.requires_grad) if made.is_floating_point() else made
    model._apply(fake)  # type: ignore[no-untyped-call]
    return tree_map(fake, inputs), tree_map(fake, keywords)


def _on_meta(params: list[nn.Parameter]) -> bool:
    return bool(params) and params[0].device.type == "meta"


def training_step(model: nn.Module, inputs: list[Any], keywords: dict[str, Any], train: TrainSpec,
                  training: bool) -> Training:
    """The memory of one steady-state training step of `model` on `inputs`; the model is left
    in the mode `training` says, its gradients None. A step that raises is a record with the
    error."""
    record = Training(train.optimizer, train.precision)
    autocast = train.precision != "float32"
    with ExitStack() as stack:
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        stack.enter_context(torch.enable_grad())
        if autocast:
            from torch._subclasses.fake_tensor import FakeTensorMode

            stack.enter_context(FakeTensorMode(allow_non_fake_inputs=True))
            inputs, keywords = _faked(model, inputs, keywords)
        try:
            return _step(model, inputs, keywords, train, record, autocast)
        except _LossNotFound as error:
            return replace(record, error=f"ValueError: {error}", failure="loss")
        except Exception as error:  # the step, not the forward check, failed: say how
            said = str(error).strip().splitlines()
            failure: StepFailure = "one-value-per-channel" if "value per channel" in str(error) else "other"
            return replace(record, error=f"{type(error).__name__}: {said[0]}" if said else type(error).__name__,
                           failure=failure)
        finally:
            model.train(training)
            for param in model.parameters():
                param.grad = None


def _step(model: nn.Module, inputs: list[Any], keywords: dict[str, Any], train: TrainSpec,
          record: Training, autocast: bool) -> Training:
    model.train()
    params = [param for param in model.parameters() if param.requires_grad]
    optimizer = _OPTIMIZERS[train.optimizer](params)
    for param in params:  # an earlier step: the optimizer's state exists
        param.grad = torch.zeros_like(param)
    optimizer.step()
    optimizer.zero_grad(set_to_none=train.set_to_none)

    live = _Live()
    names = {id(module): name for name, module in model.named_modules()}
    for module in model.modules():
        for param in module.parameters(recurse=False):
            live.hold(param, "params")
            live.owners[param.untyped_storage()._cdata] = names[id(module)]
            if param.grad is not None:
                live.hold(param.grad, "gradients")
        for buffer in module.buffers(recurse=False):
            live.hold(buffer, "buffers")
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, torch.Tensor):
                live.hold(value, "optimizer_state")
    for leaf in tree_leaves((inputs, keywords)):
        if isinstance(leaf, torch.Tensor):
            live.hold(leaf, "inputs")
    hooks = [param.register_post_accumulate_grad_hook(  # type: ignore[no-untyped-call]
        lambda param: live.become(param.grad, "gradients")) for param in params]
    hooks += _layer_hooks(model, live)
    try:
        with live, _AsOnTheCpu() if not autocast and _on_meta(params) else nullcontext():
            with torch.autocast("cpu", dtype=getattr(torch, train.precision)) if autocast else nullcontext():
                loss = _loss(model(*inputs, **keywords), train.loss)
            live.phase, live.layer = "backward", None
            loss.backward()  # type: ignore[no-untyped-call]
            del loss
            live.phase, live.layer = "optimizer", None
            optimizer.step()
    finally:
        for hook in hooks:
            hook.remove()
    _, totals, phase, layer = live.at
    return replace(record, peak=live.peak,
                    parts=tuple((part, totals[part]) for part in PARTS if totals[part]),
                    phase=phase, layer=layer, held=live.held())

