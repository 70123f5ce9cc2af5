"""Spec -> Trace: import and build the model, run one recorded forward pass
(or, for `expect.accepts`, one pass per input size through the model built once).

This is the only module that imports torch, and the plugin imports it only
when a spec item runs, so a pytest session without specs never pays for it.

Why our own recording rather than torchinfo's: when the forward pass
raises, torchinfo returns nothing (we need the shape that reached the failing
Linear), it counts tied weights twice, keeps models alive in a module-level
cache and resets submodules' train/eval flags. torchinfo still renders the
summary table users know, and counts mult-adds, after a successful pass.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import inspect
import math
import os
import re
import sys
import weakref
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import torch
from torch import nn

from . import explain
from .fastmeta import formula_shapes, meta_build
from .report import user_frame
from .spec import Spec, SpecError, did_you_mean
from .trace import Call, Crash, Layer, ShapeTree, Trace

__all__ = ["DeviceUnavailable", "probe", "resolve_model", "scan"]

_TORCH_DIR = str(Path(torch.__file__).parent)

# Model targets that already failed on meta in this process: go straight to the
# CPU rather than paying for the failed meta attempt again.
_META_INCAPABLE: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


class DeviceUnavailable(Exception):
    """The spec asks for a device this machine does not have (a skip, not a failure)."""


class _BuildFailed(Exception):
    def __init__(self, sentence: str, error: BaseException | None = None) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.error = error

    def at(self, spec: Spec) -> SpecError:
        """The spec error for a model that could not be built: at the `kwargs` key that the
        failing line of the model uses (a value of the wrong type or size, most often),
        else at the `model` line."""
        where = _user_frame(self.error) if self.error is not None else None
        code = where.split(": ", 1)[1] if where and ": " in where else ""
        used = [key for key in spec.kwargs if re.search(rf"\b{re.escape(key)}\b", code)]
        if not used or self.error is None:
            return SpecError.at(spec.model_line, f"`model`: {self.sentence}.")
        key = used[0]
        return SpecError.at(spec.kwargs_lines.get(key, spec.kwargs_line or spec.model_line), (
            f"`kwargs.{key}`: {spec.model} could not be built with {key}={spec.kwargs[key]!r}: "
            f"{where} raised {type(self.error).__name__}: {_first_line(self.error)}. "
            f"Is {spec.kwargs[key]!r} the kind of value {key} takes?"))


def probe(spec: Spec, rootdir: Path, *, summary: bool = False, default_device: str = "meta",
          max_input_bytes: int | None = None, factory: Callable[..., Any] | None = None) -> Trace:
    """Build `spec`'s model and run its dummy input once; the record of what happened.

    `default_device` is where a spec that names no device runs ("meta": there,
    falling back to the CPU). `max_input_bytes` bounds the dummy input on a real
    device: a spec asking for more fails before anything is allocated. `factory`, where
    given, builds the model instead of what `spec.model` names (the Python API).
    """
    factory = factory or resolve_model(spec, rootdir)
    _check_kwargs(spec, factory)
    device = _device(spec, default_device)
    if device != "meta" or spec.device == "meta":  # forced: no fallback to try
        _check_input_budget(spec, device, max_input_bytes)
        return _probe_or_fail(spec, factory, device, summary=summary)

    # Keyed by the class or function itself (two specs may write one path for
    # different files) and weakly, so that a model's module can still be freed.
    try:
        failures = _META_INCAPABLE.setdefault(factory, {})
    except TypeError:  # a callable that takes no weak reference: don't remember
        failures = {}
    key = repr(sorted(spec.kwargs.items()))
    fallback = failures.get(key)
    if fallback is None:
        try:
            trace = _probe_on(spec, factory, "meta", summary=summary)
        except _BuildFailed as failure:
            fallback = f"building the model on meta failed ({failure.sentence})"
        else:
            if trace.crash is None or explain.crash_cause(trace) is not None:
                # It ran, or it failed for a reason the shapes explain: the CPU
                # would fail the same way, so there is nothing to fall back for.
                return trace
            fallback = f"the forward pass failed on meta ({trace.crash.exception})"
        failures[key] = fallback
    _check_input_budget(spec, "cpu", max_input_bytes, fallback)
    return replace(_probe_or_fail(spec, factory, "cpu", summary=summary), fallback=fallback)


def _device(spec: Spec, default_device: str) -> str:
    """Where `spec` runs: its own device, else the default; DeviceUnavailable for CUDA
    where there is none."""
    device = spec.device or default_device
    if device == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable("the spec asks for device: cuda, and CUDA is not available here"
                                if spec.device else "cnncheck_device is cuda, and CUDA is not "
                                                    "available here")
    return device


def _check_input_budget(spec: Spec, device: str, budget: int | None, why: str = "") -> None:
    if budget is None or device == "meta":
        return
    needed = sum(math.prod(size) * getattr(torch, dtype).itemsize
                 for size, dtype in zip(spec.input_sizes, spec.dtypes))
    if needed > budget:
        because = f" (it fell back from meta because {why})" if why else ""
        raise SpecError.at(spec.input_line, (
            f"The dummy input would need {needed / 2**20:,.0f} MiB on the {device.upper()}{because}, "
            f"above the budget of {budget / 2**20:,.0f} MiB (ini option cnncheck_max_input_mb). "
            "On device: meta, the default, inputs take no memory; or raise the budget."))


def _probe_or_fail(spec: Spec, factory: Callable[..., Any], device: str, *,
                   summary: bool) -> Trace:
    try:
        return _probe_on(spec, factory, device, summary=summary)
    except _BuildFailed as failure:
        raise failure.at(spec) from None


def _model_error(spec: Spec, doing: str, error: BaseException) -> SpecError:
    """The spec error, at the `model` line, for a model that could not be imported."""
    return SpecError.at(spec.model_line, f"`model`: {_raised(doing, error)}.")


def freeze_startup_objects() -> None:
    """Once per process, after torch's import: gc.freeze() what is alive by then.

    For our own processes (pytest, the CLI), not the Python API's callers'. torch's
    import leaves some 200,000 long-lived objects; every full collection for the
    rest of the process walks them all again, and so does interpreter exit.
    Freezing moves them out of the collector's sight (refcounting still frees
    them), which is what gc.freeze() is for: 200 small specs ran 10-20% faster
    (docs/performance.md).
    """
    if not getattr(freeze_startup_objects, "done", False):
        gc.freeze()
        freeze_startup_objects.done = True  # type: ignore[attr-defined]


def share_cores(workers: int) -> None:
    """Under pytest-xdist, give each worker's torch its share of the cores.

    torch starts one thread per core in every process; with a worker per core
    they fight over the same cores (measured in docs/performance.md). An explicit
    OMP_NUM_THREADS is the user's choice and is kept.
    """
    if "OMP_NUM_THREADS" not in os.environ and not getattr(share_cores, "done", False):
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
        share_cores.done = True  # type: ignore[attr-defined]


# -- finding the model --------------------------------------------------------------


def resolve_model(spec: Spec, rootdir: Path) -> Callable[..., Any]:
    """The class or factory that `spec.model` names; SpecError at its line if it can't be had."""
    # Once per name and spec file in a process: a module is imported once anyway, and
    # finding it again (the file checks of a package) costs more than a small model's run.
    key = (spec.model, spec.path, rootdir)
    if key not in _RESOLVED:
        _RESOLVED[key] = _resolve(spec, rootdir)
    return _RESOLVED[key]


_RESOLVED: dict[tuple[str, Path, Path], Callable[..., Any]] = {}


def _resolve(spec: Spec, rootdir: Path) -> Callable[..., Any]:
    target, _, attr_path = spec.model.rpartition(":")
    target, attr_path = target.strip(), attr_path.strip()
    if target.endswith(".py") or "/" in target or "\\" in target:
        module = _import_file(spec, (spec.path.parent / target).resolve())
    else:
        module = _import_module(spec, target, rootdir)
    value: Any = module
    for part in attr_path.split("."):
        if not hasattr(value, part):
            names = [n for n in dir(value) if not n.startswith("_")]
            raise SpecError.at(spec.model_line, f"`model`: {target} has no attribute {attr_path!r}."
                                                f"{did_you_mean(part, names)}")
        value = getattr(value, part)
    if not callable(value):
        raise SpecError.at(spec.model_line, f"`model`: {spec.model} is an object of type "
                                            f"{type(value).__name__}, not an nn.Module class or a "
                                            "function returning one.")
    return value  # type: ignore[no-any-return]


def _import_module(spec: Spec, name: str, rootdir: Path) -> Any:
    # pytest puts `pythonpath` on sys.path itself; the rootdir we add like
    # pytest's default "prepend" import mode does for test files.
    root = str(rootdir)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name and (name == error.name or name.startswith(error.name + ".")):
            raise SpecError.at(spec.model_line, f"`model`: cannot import {name!r}: no module named "
                                                f"{error.name!r} on sys.path (which holds {root}).") from None
        raise _model_error(spec, f"importing {name!r}", error) from None
    except Exception as error:  # the user's module raised while importing
        raise _model_error(spec, f"importing {name!r}", error) from None


def _import_file(spec: Spec, path: Path) -> Any:
    if not path.is_file():
        raise SpecError.at(spec.model_line, f"`model`: the file {path} does not exist "
                                            "(a .py path is taken relative to the spec file).")
    package = _package_name(path)
    if package is not None:
        # A file inside a package is imported as part of it, so that its relative
        # imports (`from .blocks import Block`) work, as pytest's "prepend" import
        # mode does for test files: the folder above the top package goes on sys.path.
        base, dotted = package
        return _import_module(spec, dotted, Path(base))
    module_name = "cnncheck_model_" + "".join(c if c.isalnum() else "_" for c in str(path))
    if module_name in sys.modules:
        return sys.modules[module_name]
    # Sibling imports (`from blocks import Block`) work as they do for pytest's
    # own test files in "prepend" import mode.
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException as error:
        del sys.modules[module_name]
        if not isinstance(error, Exception):
            raise
        raise _model_error(spec, f"importing {path.name}", error) from None
    return module


def _package_name(path: Path) -> tuple[str, str] | None:
    """(folder to put on sys.path, dotted module name) for a file inside a package."""
    folder = path.parent
    parts = [path.stem]
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        parts.insert(0, folder.name)
        folder = folder.parent
    if len(parts) == 1 or not path.stem.isidentifier():
        return None
    return str(folder), ".".join(parts)


def _check_kwargs(spec: Spec, factory: Callable[..., Any]) -> None:
    names = tuple(spec.kwargs)
    try:
        fitted = _FITTED.get(factory)
        if fitted is None:
            fitted = _FITTED[factory] = set()
    except TypeError:  # takes no weak reference: not remembered
        fitted = set()
    if names in fitted:  # binding looks at names only, and costs a small model's layer
        return
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(**spec.kwargs)
    except TypeError as error:
        takes = ", ".join(str(p) for p in signature.parameters.values()) or "no arguments"
        line = spec.kwargs_line or spec.model_line
        raise SpecError.at(line, f"`kwargs` do not fit {spec.model}: {error} "
                                 f"(it takes: {takes}).") from None
    fitted.add(names)


# The keyword names that each factory has accepted in this process.
_FITTED: weakref.WeakKeyDictionary[Callable[..., Any], set[tuple[str, ...]]] = weakref.WeakKeyDictionary()


def _raised(doing: str, error: BaseException) -> str:
    where = _user_frame(error)
    at = f" at {where}" if where else ""
    return f"{doing} raised {type(error).__name__}: {_first_line(error)}{at}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "(no message)"


def _user_frame(error: BaseException) -> str | None:
    return user_frame(error.__traceback__, skip=(_TORCH_DIR,))


# -- one run on one device ----------------------------------------------------------


@contextmanager
def _isolated() -> Iterator[str]:
    """What a model may change process-wide, restored after: the next test must not see it.

    Yields the process's default device, which `_placed` compares against.
    """
    default_dtype = torch.get_default_dtype()
    default_device = _default_device()
    # Building a model draws its initial weights from the global RNG; the user's
    # tests that run after this item must see the RNG as it was. Only the CPU's:
    # fork_rng's look for accelerators, and seeding every device, cost more.
    rng = torch.default_generator.get_state()
    try:
        torch.default_generator.manual_seed(0)
        with torch.no_grad():
            yield default_device
    finally:
        torch.default_generator.set_state(rng)
        if torch.get_default_dtype() != default_dtype:
            torch.set_default_dtype(default_dtype)
        if _default_device() != default_device:
            # None, not "cpu": setting a device pushes a mode that slows every later op.
            torch.set_default_device(None if default_device == "cpu" else default_device)


def _default_device() -> str:
    # torch.get_default_device() searches the stack of torch-function modes, and
    # costs as much as a small layer; with no mode at all, it can only be the CPU.
    if not _function_modes():
        return "cpu"
    get = getattr(torch, "get_default_device", None)  # torch 2.3 and later
    return str(get()) if get is not None else "unknown"


_function_modes: Callable[[], int] = getattr(torch._C, "_len_torch_function_stack", lambda: 1)


def _placed(device: str, default: str) -> Any:
    # The default device makes factory calls in __init__ and forward land on
    # `device`; where it already is the default, the mode would only cost on every op.
    return nullcontext() if device == default else torch.device(device)


def _built(spec: Spec, factory: Callable[..., Any], device: str, default: str) -> nn.Module:
    with meta_build() if device == "meta" else _placed(device, default):
        model = _build(spec, factory)
    _set_mode(model, spec.mode == "train")
    return model


def _set_mode(model: nn.Module, training: bool) -> None:
    """model.train(training), without Module.__setattr__ on every module where no
    class has its own `train` (which must then be the one to run, for all of them)."""
    modules = _named_modules(model).values()
    if not all(_plain(type(module)) for module in modules):
        model.train(training)
        return
    for module in modules:
        module.__dict__["training"] = training


def _plain(cls: type) -> bool:
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


def _inputs(spec: Spec, sizes: tuple[tuple[int, ...], ...], device: str,
            default: str) -> list[torch.Tensor]:
    with _placed(device, default):
        return [torch.zeros(size, dtype=getattr(torch, dtype)) for size, dtype in zip(sizes, spec.dtypes)]


def _run_on(model: nn.Module, inputs: list[torch.Tensor], device: str) -> _Run:
    with formula_shapes(model) if device == "meta" else nullcontext():
        return _run_recorded(model, inputs)


def _trace(spec: Spec, device: str, run: _Run, layers: _Layers, **more: Any) -> Trace:
    total, trainable = layers.param_counts()
    return Trace(model=spec.model, device=device, layers=layers, calls=run.calls,
                 output=run.output, params_total=total, params_trainable=trainable,
                 crash=run.crash, **more)


def _probe_on(spec: Spec, factory: Callable[..., Any], device: str, *, summary: bool) -> Trace:
    with _isolated() as default:
        model = _built(spec, factory, device, default)
        inputs = _inputs(spec, spec.input_sizes, device, default)
        run = _run_on(model, inputs, device)
        table: str | None = None
        mult_adds: int | None = None
        notes: tuple[str, ...] = ()
        if summary and run.crash is None:
            table, mult_adds, notes = _torchinfo(model, inputs, device, spec.mode)
        return _trace(spec, device, run, _Layers(model),
                      summary=table, mult_adds=mult_adds, notes=notes)


# -- many sizes, one model ----------------------------------------------------------


def scan(spec: Spec, rootdir: Path, *, default_device: str = "meta",
         max_input_bytes: int | None = None,
         factory: Callable[..., Any] | None = None) -> list[Trace]:
    """One trace for each point of `spec.scan`, in order, from one model built once.

    On meta (the default) a size that fails there for a reason of meta's own
    (the model reads a value, or makes a CPU tensor) is tried again on the CPU;
    a failure of shapes is the same on every device and is kept.
    """
    assert spec.scan is not None
    sizes = [one for _, one in spec.scan.points]
    factory = factory or resolve_model(spec, rootdir)
    _check_kwargs(spec, factory)
    device = _device(spec, default_device)
    for one in sizes if device != "meta" else ():
        _check_input_budget(replace(spec, input_sizes=one), device, max_input_bytes)
    traces = _scan_on(spec, factory, device, sizes)
    if spec.device is None and device == "meta":
        again = [i for i, trace in enumerate(traces) if trace.crash is not None
                 and explain.crash_cause(trace) is None and "meta" in trace.crash.exception.lower()]
        if again:
            because = f"the forward pass failed on meta ({traces[again[0]].crash.exception})"  # type: ignore[union-attr]
            for i in again:
                _check_input_budget(replace(spec, input_sizes=sizes[i]), "cpu", max_input_bytes, because)
            for i, trace in zip(again, _scan_on(spec, factory, "cpu", [sizes[i] for i in again])):
                traces[i] = replace(trace, fallback=because)
    return traces


def _scan_on(spec: Spec, factory: Callable[..., Any], device: str,
             sizes: list[tuple[tuple[int, ...], ...]]) -> list[Trace]:
    try:
        with _isolated() as default:
            model = _built(spec, factory, device, default)
            runs = [_run_on(model, _inputs(spec, one, device, default), device) for one in sizes]
            layers = _Layers(model)
            return [_trace(spec, device, run, layers) for run in runs]
    except _BuildFailed as failure:
        raise failure.at(spec) from None


def _build(spec: Spec, factory: Callable[..., Any]) -> nn.Module:
    try:
        model = factory(**spec.kwargs)
    except Exception as error:
        raise _BuildFailed(_raised(f"building {spec.model}", error), error) from None
    if not isinstance(model, nn.Module):
        raise SpecError.at(spec.model_line, f"`model`: {spec.model} returned {type(model).__name__}, "
                                            "not an nn.Module.")
    return model


@dataclass
class _Run:
    calls: tuple[Call, ...]
    output: ShapeTree | None
    crash: Crash | None


def _run_recorded(model: nn.Module, inputs: list[torch.Tensor]) -> _Run:
    modules = _named_modules(model)
    names = {id(module): name for name, module in modules.items()}
    # One list per call, in the order the calls began: Call's fields, filled in as it ends.
    records: list[list[Any]] = []
    open_calls: list[list[Any]] = []  # calls that have begun and not ended, innermost last
    counts: dict[str, int] = {}

    def begin(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        if len(args) == 1 and not kwargs:  # most calls: one tensor in
            shapes: tuple[ShapeTree, ...] = (_shapes(args[0]),)
        else:  # keyword arguments count as inputs after the positional ones (self.attn(query=x))
            shapes = tuple([_shapes(a) for a in args] + [
                _shapes(v) for v in kwargs.values() if isinstance(v, torch.Tensor)])
        index = counts.get(name, 0)
        counts[name] = index + 1
        record = [name, index, len(open_calls), shapes, None, False]
        records.append(record)
        open_calls.append(record)
        return record

    def end(record: list[Any], output: Any) -> None:
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
            end(record, output)
            return output
        return forward

    # For a module that refuses the wrapper: hooks, each module's begun calls a stack.
    hooked: dict[int, list[list[Any]]] = {}

    def before(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        hooked[id(module)].append(begin(names[id(module)], args, kwargs))

    def after(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        end(hooked[id(module)].pop(), output)

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
        output: ShapeTree | None = None
        crash = None
        try:
            output = _shapes(model(*inputs))
        except Exception as error:
            crash = Crash(f"{type(error).__name__}: {_first_line(error)}", _user_frame(error))
    finally:
        for module, own in reversed(wrapped):
            _set_forward(module, own)
        for handle in handles:
            handle.remove()
    return _Run(tuple(Call(*record) for record in records), output, crash)


def _named_modules(model: nn.Module) -> dict[str, nn.Module]:
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


def _set_forward(module: nn.Module, forward: Any) -> None:
    """Put `forward` on the instance (None: take ours off again)."""
    if _plain(type(module)):
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


# -- what the model is made of ------------------------------------------------------


# Parameter's metaclass makes isinstance(p, UninitializedParameter) slow on every
# parameter; the mixin it is built from is a plain class.
_UNINITIALIZED: type = nn.parameter.UninitializedTensorMixin  # type: ignore[attr-defined]


def _numel(parameter: torch.Tensor) -> int:
    if isinstance(parameter, _UNINITIALIZED):
        return 0  # a lazy module the forward pass never reached
    return parameter.numel()


class _Layers(Mapping[str, Layer]):
    """Every module of the model by qualified name, each record made when first asked for.

    A passing spec looks at a few layers, a failing one or a rule at all of them;
    making every record up front was a tenth of a ResNet-50 item on meta. The
    records are read after the forward pass (lazy modules have their sizes by then),
    from the module's own `_parameters` and `_modules`: the public generators cost
    more than the rest together.
    """

    def __init__(self, model: nn.Module) -> None:
        self._modules = _named_modules(model)
        self._made: dict[str, Layer] = {}
        # The parameters under each module, gathered bottom-up once per subtree; as
        # sets, so that a parameter shared inside a subtree (or a submodule shared by
        # two parents) counts once.
        self._under: dict[int, set[int]] = {}
        self._sizes: dict[int, int] = {}

    def __getitem__(self, name: str) -> Layer:
        layer = self._made.get(name)
        if layer is None:
            module = self._modules[name]
            cls = type(module)
            kind = _kind(module)
            layer = self._made[name] = Layer(
                name=name,
                type_name=cls.__name__,
                type_path=f"{cls.__module__}.{cls.__qualname__}",
                kind=kind,
                hparams=_hparams(module, kind),
                params=sum(self._sizes[i] for i in self._gather(module)),
                own=tuple((n, _shape_of(p)) for n, p in module._parameters.items() if p is not None),
                leaf=not any(child is not None for child in module._modules.values()),
            )
        return layer

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def param_counts(self) -> tuple[int, int]:
        """(all, trainable) parameters of the model, a tensor shared between layers once."""
        total = trainable = 0
        seen: set[int] = set()
        for module in self._modules.values():
            for parameter in module._parameters.values():
                if parameter is not None and id(parameter) not in seen:
                    seen.add(id(parameter))
                    count = _numel(parameter)
                    total += count
                    trainable += count if parameter.requires_grad else 0
        return total, trainable

    def __len__(self) -> int:
        return len(self._modules)

    def __contains__(self, name: object) -> bool:
        return name in self._modules

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


def _shape_of(parameter: torch.Tensor) -> tuple[int, ...]:
    if isinstance(parameter, _UNINITIALIZED):
        return ()
    return tuple(parameter.shape)


_POOL_TYPES = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
               nn.modules.pooling._LPPoolNd)
_ADAPTIVE_TYPES = (nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)
_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


def _kind(module: nn.Module) -> str:
    cls = type(module)
    if cls not in _KINDS:
        _KINDS[cls] = _kind_of(module)
    return _KINDS[cls]


_KINDS: dict[type, str] = {}  # by class: isinstance down a list costs on every module


def _kind_of(module: nn.Module) -> str:
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


def _spatial_dims(module: nn.Module) -> int:
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


def _hparams(module: nn.Module, kind: str) -> dict[str, Any]:
    if kind in ("conv", "conv_transpose"):
        conv: Any = module
        dims = len(conv.kernel_size)
        found = {
            "in_channels": conv.in_channels, "out_channels": conv.out_channels,
            "kernel_size": _per_dim(conv.kernel_size, dims), "stride": _per_dim(conv.stride, dims),
            "padding": _per_dim(conv.padding, dims), "dilation": _per_dim(conv.dilation, dims),
            "groups": conv.groups, "bias": conv.bias is not None, "dims": dims,
        }
        if kind == "conv_transpose":
            found["output_padding"] = _per_dim(conv.output_padding, dims)
        return found
    if kind == "pool":
        pool: Any = module
        dims = _spatial_dims(module)
        kernel = _per_dim(pool.kernel_size, dims)
        stride = pool.stride if pool.stride not in (None, [], ()) else pool.kernel_size
        return {
            "kernel_size": kernel, "stride": _per_dim(stride, dims),
            "padding": _per_dim(getattr(pool, "padding", 0), dims),
            "dilation": _per_dim(getattr(pool, "dilation", 1), dims),
            "ceil_mode": bool(getattr(pool, "ceil_mode", False)), "dims": dims,
        }
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
    return {}


# -- torchinfo: the table users know, and mult-adds ---------------------------------


def _plain_units(table: str) -> str:
    """`Total mult-adds (M): 43.39`, as torchinfo prints it where its enum formats as its
    value: on Python 3.11 and later an Enum mixed with str formats as `Units.MEGABYTES`."""
    import re

    from torchinfo.enums import Units

    return re.sub(r"\(Units\.(\w+)\)",
                  lambda m: f"({Units[m.group(1)].value})" if m.group(1) in Units.__members__
                  else m.group(0), table)


def _torchinfo(model: nn.Module, inputs: list[torch.Tensor], device: str,
               mode: str) -> tuple[str | None, int | None, tuple[str, ...]]:
    try:
        import torchinfo
    except ImportError as error:
        return None, None, (f"torchinfo could not be imported: {error}",)
    try:
        stats = torchinfo.summary(model, input_data=list(inputs), device=device, verbose=0,
                                  mode=mode, depth=4)
        return _plain_units(str(stats)), int(stats.total_mult_adds), ()
    except Exception as error:
        return None, None, (f"torchinfo could not summarise the model: {type(error).__name__}: "
                            f"{_first_line(error)}",)
    finally:
        # torchinfo keeps each model's forward pass alive in a module-level cache.
        torchinfo.torchinfo.clear_cached_forward_pass()
