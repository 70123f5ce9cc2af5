"""One recorded forward pass: every module call in order, with the shapes that went in and
came out, and where the pass raised, if it did.

Each module's `forward` is wrapped on the instance for the pass and put back after;
nothing of the model is changed beyond it.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import sys
import textwrap
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import nn

from ..trace import FORWARD, Call, CallRef, Clash, Compute, Crash, FlowRecord, Joined, Reshape, ShapeTree
from .frames import OWN_DIR, TORCH_DIR, first_line, user_frame_of, user_place_of
from .functional import FunctionalStep, step_of, watching
from .layers import Frame, Position, Scope, Sites, kind_of, named_modules

__all__ = ["Run", "batch_of", "definition_sites", "plain", "run_recorded"]

_STACK = 8  # frames kept: a value passed down through helpers rarely travels further


@contextmanager
def definition_sites() -> Iterator[Sites]:
    """While the model is built: where each module was made, the line a user edits to
    change it (`self.fc1 = nn.Linear(16 * 6 * 6, 120)`, one element of an
    `nn.Sequential(...)`, the line of a helper that makes blocks), and the user's frames
    around it (the helper's caller, and its caller), where a value may come from.

    nn.Module.__init__ runs once for every module made; from there the first frame
    outside torch that is not the module's own __init__ (a user's block calling
    super().__init__()) is the line that made it. A few microseconds a module.
    """
    sites: Sites = {}
    real = nn.Module.__init__

    def init(module: nn.Module, *args: Any, **kwargs: Any) -> None:
        real(module, *args, **kwargs)
        own = _init_codes(type(module))  # the module's own __init__ chain, in the user's code
        frame = sys._getframe(1)
        stack: list[Frame] = []
        scope: Scope = ()
        while frame is not None:
            code = frame.f_code
            if code.co_filename.startswith(OWN_DIR):
                break  # cnncheck itself, building the model the spec names
            if (stack or code not in own) and not code.co_filename.startswith((TORCH_DIR, "<")):
                if not stack:
                    scope = _scope(frame)
                stack.append((code.co_filename, frame.f_lineno, _position(frame)))
                if len(stack) == _STACK:
                    break
            frame = frame.f_back  # type: ignore[assignment]
        if stack:
            sites[id(module)] = (tuple(stack), scope)

    nn.Module.__init__ = init  # type: ignore[method-assign, assignment]
    try:
        yield sites
    finally:
        nn.Module.__init__ = real  # type: ignore[method-assign]


def _scope(frame: Any) -> Scope:
    """The frame's names that hold plain values (an int, a bool, a tuple of ints), with
    those values: what a fix may write in place of a literal (`stride=stride`)."""
    return tuple((name, value) for name, value in frame.f_locals.items()
                 if name != "self" and not name.startswith("_") and (
                     type(value) in (int, bool) or type(value) is tuple and 0 < len(value) <= 3
                     and all(type(v) is int for v in value)))


def _position(frame: Any) -> Position | None:
    """The span of the expression a frame is running (Python 3.11 and later)."""
    positions = getattr(frame.f_code, "co_positions", None)
    if positions is None or frame.f_lasti < 0:
        return None
    for index, position in enumerate(positions()):
        if index == frame.f_lasti // 2:
            return position if None not in position else None
    return None


@dataclass
class Run:
    calls: tuple[Call, ...]
    output: ShapeTree | None
    crash: Crash | None
    clash: Clash | None = None
    reshapes: tuple[Reshape, ...] = ()
    joined: Joined | None = None  # where the op that raised took a cat's output: its operands
    flow: FlowRecord | None = None
    compute: Compute | None = None
    # Functional pools the model's code called (functional.py), by the step's name: what it
    # is, and the user's frames at the call (the line to edit).
    functional: dict[str, tuple[FunctionalStep, tuple[Frame, ...]]] = field(default_factory=dict)


def batch_of(inputs: list[Any]) -> int | None:
    """The batch size: the first dimension of the first argument, where that is a tensor."""
    first = inputs[0] if inputs else None
    return first.shape[0] if isinstance(first, torch.Tensor) and first.dim() else None


# Complex on purpose: the recorder's closures share the pass's state; split, they would pass it around.
def run_recorded(model: nn.Module, inputs: list[Any], tagging: bool = False,  # noqa: C901
                 fields: bool = False, count: bool = False, keywords: dict[str, Any] | None = None) -> Run:
    """The recorded pass; `tagging` runs it under Provenance, which says where each tensor
    came from (and costs on every operation: for a pass that must explain a clash);
    `fields` under Flow, which follows each layer's receptive field and inputs; `count`
    under MacCounter, which counts the multiply-accumulates of every op, by layer."""
    modules = named_modules(model)
    names = {id(module): name for name, module in modules.items()}
    # One list per call, in the order the calls began: Call's fields, filled in as it ends.
    records: list[list[Any]] = []
    open_calls: list[list[Any]] = []  # calls that have begun and not ended, innermost last
    counts: dict[str, int] = {}
    provenance = flow = None

    def current() -> CallRef:
        return CallRef(open_calls[-1][0], open_calls[-1][1]) if open_calls else FORWARD

    if tagging:
        from .provenance import Provenance

        batch = batch_of(inputs)
        provenance = Provenance(batch, current)
    if fields:
        from .flow import Flow

        flow = Flow(inputs, lambda: str(current()))
    counter = None
    if count:
        from .counting import MacCounter

        counter = MacCounter(lambda: open_calls[-1][0] if open_calls else "")
    numbers: dict[int, int] = {}  # id(record) -> its index, for Flow

    def begin(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        if len(args) == 1 and not kwargs:  # most calls: one tensor in
            shapes: tuple[ShapeTree, ...] = (_shapes(args[0]),)
        else:  # keyword arguments count as inputs after the positional ones (self.attn(query=x))
            shapes = tuple([_shapes(a) for a in args] + [
                _shapes(v) for v in kwargs.values() if isinstance(v, torch.Tensor)])
        index = counts.get(name, 0)
        counts[name] = index + 1
        record = [name, index, len(open_calls), shapes, None, False]
        if flow is not None:
            numbers[id(record)] = len(records)
            flow.begin(len(records), args, kwargs)
        records.append(record)
        open_calls.append(record)
        return record

    def end(record: list[Any], output: Any, args: tuple[Any, ...], module: nn.Module) -> None:
        if flow is not None:
            flow.end(numbers[id(record)], str(CallRef(record[0], record[1])), module, args, output)
        if provenance is not None:  # a layer's output is the layer's, whatever made it inside
            provenance.made_by(CallRef(record[0], record[1]), args, output)
        # Pop to this call: a child whose exception the parent caught stays
        # open (unfinished) without confusing the rest.
        while open_calls:
            if open_calls.pop() is record:
                record[4] = _shapes(output)
                record[5] = True
                break

    def recording(module: nn.Module, real: Callable[..., Any]) -> Callable[..., Any]:
        name = names[id(module)]

        def forward(*args: Any, **kwargs: Any) -> Any:
            record = begin(name, args, kwargs)
            output = real(*args, **kwargs)
            end(record, output, args, module)
            return output
        return forward

    # For a module that refuses the wrapper: hooks, each module's begun calls a stack.
    hooked: dict[int, list[list[Any]]] = {}

    def before(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        hooked[id(module)].append(begin(names[id(module)], args, kwargs))

    def after(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        end(hooked[id(module)].pop(), output, args, module)

    # Each module's `forward` is wrapped on the instance rather than hooked: a module
    # with hooks sends every call down torch's slow hooked path, which cost more than
    # the rest of a small model's run.
    wrapped: list[tuple[nn.Module, Any]] = []
    handles = []
    try:
        for module in modules.values():
            own = vars(module).get("forward")
            try:
                _set_forward(module, recording(module, module.forward))
                wrapped.append((module, own))
            except Exception:
                hooked[id(module)] = []
                handles.append(module.register_forward_pre_hook(before, with_kwargs=True))
                handles.append(module.register_forward_hook(after))
        functional = _Steps(modules, records, open_calls, counts, flow, provenance)
        output: ShapeTree | None = None
        crash = None
        try:
            with provenance if provenance is not None else nullcontext(), \
                    flow if flow is not None else nullcontext(), \
                    counter if counter is not None else nullcontext(), watching(functional):
                output = _shapes(model(*inputs, **(keywords or {})))
        except Exception as error:
            place = user_place_of(error)
            crash = Crash(f"{type(error).__name__}: {first_line(error)}", user_frame_of(error),
                          file=place[0] if place else None, line=place[1] if place else None,
                          error=type(error).__name__,
                          close_name=_close_attribute(error, names, {record[0] for record in records}))
    finally:
        for module, own in reversed(wrapped):
            _set_forward(module, own)
        for handle in handles:
            handle.remove()
    return Run(tuple(Call(*record) for record in records), output, crash,
               provenance.clash if provenance is not None else None,
               tuple(provenance.reshapes) if provenance is not None else (),
               provenance.failed_on.joined if provenance is not None and provenance.failed_on is not None else None,
               flow.record() if flow is not None else None,
               counter.record() if counter is not None and crash is None else None, functional.steps)


class _Steps:
    """The functional steps of one pass (functional.py): each call the user's code makes of a
    watched function is a call of the step named for its site, recorded among the module
    calls as it begins; what it returns finishes it (a call that raises stays unfinished)."""

    def __init__(self, modules: dict[str, nn.Module], records: list[list[Any]], open_calls: list[list[Any]],
                 counts: dict[str, int], flow: Any, provenance: Any) -> None:
        self._modules, self._records, self._open, self._counts = modules, records, open_calls, counts
        self._flow, self._provenance = flow, provenance
        self.steps: dict[str, tuple[FunctionalStep, tuple[Frame, ...]]] = {}
        self._sites: dict[tuple[Any, ...], str] = {}  # a call site's step name

    def __call__(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[Any], None] | None:
        owner = self._open[-1][0] if self._open else ""
        module = self._modules.get(owner)
        if owner and module is not None and (type(module).__module__.startswith("torch.")
                                             or kind_of(module) != "other"):
            return None  # a layer (nn.MaxPool2d, a Conv2d subclass) calling its functional form
        step = step_of(func, args, kwargs)
        if step is None:
            return None
        frames = _user_frames(sys._getframe(1))
        if not frames:
            return None
        name = self._name(owner, step, frames)
        index = self._counts.get(name, 0)
        self._counts[name] = index + 1
        record = [name, index, len(self._open), (_shapes(args[0]),), None, False]
        flow, provenance = self._flow, self._provenance
        if flow is not None:
            flow.claim(len(self._records), args)
        self._records.append(record)

        def finish(out: Any) -> None:
            record[4], record[5] = _shapes(out), True
            if flow is not None:
                flow.claimed(out)
            if provenance is not None:  # the step made it: a clash names the step
                provenance.made_by(CallRef(name, index), args, out, step=True)
        return finish

    def _name(self, owner: str, step: FunctionalStep, frames: tuple[Frame, ...]) -> str:
        """`max_pool2d`, `layer1.0.avg_pool2d`; `max_pool2d_2` for a second site in the same
        forward, in the order the pass meets them."""
        key = (owner, step.op, frames[0])
        name = self._sites.get(key)
        if name is None:
            base = f"{owner}.{step.op}" if owner else step.op
            name = base if base not in self.steps and base not in self._modules else \
                next(f"{base}_{n}" for n in range(2, 10**6) if f"{base}_{n}" not in self.steps)
            self._sites[key] = name
            self.steps[name] = (step, frames)
        return name


def _user_frames(frame: Any) -> tuple[Frame, ...]:
    """The user's frames from `frame` outwards (file, line, span of the expression running):
    where a functional call is written, and the calls around it."""
    stack: list[Frame] = []
    while frame is not None and len(stack) < _STACK:
        path = frame.f_code.co_filename
        if path.startswith(OWN_DIR):
            if stack:
                break  # the recorder that runs the model: the user's frames are behind
        elif not path.startswith((TORCH_DIR, "<")):
            stack.append((path, frame.f_lineno, _position(frame)))
        frame = frame.f_back
    return tuple(stack)


def _init_codes(cls: type) -> frozenset[Any]:
    """The code of every __init__ a module of `cls` runs through: the frames of its own
    construction, not the line that made it."""
    codes = _INIT_CODES.get(cls)
    if codes is None:
        codes = _INIT_CODES[cls] = frozenset(
            klass.__dict__["__init__"].__code__ for klass in cls.__mro__
            if "__init__" in klass.__dict__ and hasattr(klass.__dict__["__init__"], "__code__"))
    return codes


_INIT_CODES: dict[type, frozenset[Any]] = {}


def _set_forward(module: nn.Module, forward: Any) -> None:
    """Put `forward` on the instance (None: take ours off again)."""
    if plain(type(module)):
        if forward is not None:
            module.__dict__["forward"] = forward
        else:
            module.__dict__.pop("forward", None)
    elif forward is not None:
        module.forward = forward
    else:
        del module.forward


def _shapes(value: Any, depth: int = 0) -> ShapeTree:
    if isinstance(value, torch.Tensor):
        return tuple(value.shape)
    if depth < 8 and isinstance(value, (tuple, list)):
        return [_shapes(item, depth + 1) for item in value]
    if depth < 8 and isinstance(value, dict):
        return {str(key): _shapes(item, depth + 1) for key, item in value.items()}
    return type(value).__name__


def plain(cls: type) -> bool:
    """Whether `cls` leaves setting attributes, `train`, `training` and `forward` to nn.Module.

    Then `module.forward = f` and `module.training = b` end in the instance's
    __dict__, and we write there: Module.__setattr__'s checks cost more than a small
    layer's run. Any other class (its own __setattr__ or train(), a property) gets
    its own methods called.
    """
    plain = _PLAIN.get(cls)
    if plain is None:
        plain = _PLAIN[cls] = (
            cls.__setattr__ is nn.Module.__setattr__ and cls.__delattr__ is nn.Module.__delattr__  # type: ignore[comparison-overlap]
            and cls.train is nn.Module.train  # type: ignore[attr-defined]
            and not any(hasattr(type(inspect.getattr_static(cls, name, None)), "__set__")
                        for name in ("forward", "training")))
    return plain


_PLAIN: dict[type, bool] = {}


def _close_attribute(error: Exception, names: dict[int, str], called: set[str]) -> str | None:
    """For a module attribute that does not exist (`self.fc_out`), the layer likely meant,
    by its qualified name: of the module's own layers, the closest name, else the one layer
    that its forward never names and the pass has not called (`fc2`, made and never used).
    None where neither is plain."""
    owner, missing = getattr(error, "obj", None), getattr(error, "name", None)
    if not isinstance(error, AttributeError) or not isinstance(owner, nn.Module) or not isinstance(missing, str):
        return None
    children = [name for name, _ in owner.named_children()]
    prefix = f"{names[id(owner)]}." if names.get(id(owner)) else ""
    close = difflib.get_close_matches(missing, children, n=1)
    written = _self_attributes(type(owner).forward)
    unused = [name for name in children if prefix + name not in called and name not in written]
    found = close[0] if close else unused[0] if len(unused) == 1 else None
    return prefix + found if found is not None else None


def _self_attributes(function: Callable[..., Any]) -> set[str]:
    """The `self.<name>`s a method's source reads; empty where its source can't be had."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return set()
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id == "self"}
