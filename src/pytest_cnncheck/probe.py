"""Spec -> Trace: build the model on its device, run one recorded forward pass
(or, for `expect.accepts`, one pass per input size through the model built once).

The stages have a module each: resolve.py finds the model, record.py records the
pass, layers.py describes what the model is made of; this module places the model,
decides the device (meta, falling back to the CPU) and keeps the process as it was.
The plugin imports these only when a spec item runs, so a pytest session without
specs never pays for torch.

Why our own recording rather than torchinfo's: when the forward pass
raises, torchinfo returns nothing (we need the shape that reached the failing
Linear), it counts tied weights twice, keeps models alive in a module-level
cache and resets submodules' train/eval flags. torchinfo still renders the
summary table users know, and counts mult-adds, after a successful pass.
"""

from __future__ import annotations

import gc
import math
import os
import re
import warnings
import weakref
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import nn

from .explain import causes
from .explain.clashes import input_candidates, is_shape_clash
from .run.fastmeta import formula_shapes, made_on_cpu, meta_build, model_onto_meta
from .run.frames import first_line, raised, user_frame_of
from .run.layers import Layers, Made, named_modules
from .run.record import Run, batch_of, definition_sites, plain, run_recorded
from .run.resolve import check_kwargs, resolve_model
from .run.selection import Selecting, needs_data
from .run.training import training_step
from .spec.model import Spec, SpecError, TensorInput, TrainSpec
from .trace import Selection, Trace

__all__ = ["DeviceUnavailable", "probe", "resolve_model", "scan"]

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
        where = user_frame_of(self.error) if self.error is not None else None
        code = where.split(": ", 1)[1] if where and ": " in where else ""
        used = [key for key in spec.kwargs if re.search(rf"\b{re.escape(key)}\b", code)]
        grouped = _grouped_conv(self.error) if self.error is not None else None
        if grouped is not None:
            return SpecError.at(spec.model_line, f"`model`: {spec.model} could not be built: a layer "
                                                 f"made at {where}: {grouped}")
        if not used or self.error is None:
            return SpecError.at(spec.model_line, f"`model`: {self.sentence}.")
        key = used[0]
        return SpecError.at(spec.kwargs_lines.get(key, spec.kwargs_line or spec.model_line), (
            f"`kwargs.{key}`: {spec.model} could not be built with {key}={spec.kwargs[key]!r}: "
            f"{where} raised {type(self.error).__name__}: {first_line(self.error)}. "
            f"Is {spec.kwargs[key]!r} the kind of value {key} takes?"))


def probe(spec: Spec, rootdir: Path, *, summary: bool = False, fields: bool = False,
          count: bool = False, default_device: str = "meta",
          max_input_bytes: int | None = None, factory: Callable[..., Any] | None = None,
          varying: bool = False) -> Trace:
    """Build `spec`'s model and run its dummy input once; the record of what happened.

    `default_device` is where a spec that names no device runs ("meta": there,
    falling back to the CPU). `max_input_bytes` bounds the dummy input on a real
    device: a spec asking for more fails before anything is allocated. `factory`, where
    given, builds the model instead of what `spec.model` names (the Python API). `fields`
    (or a spec that states a receptive field) runs the pass under Flow: receptive fields
    and which layer fed which, for `-vv`, `init --receptive-field` and diagrams. `count`
    (or a spec that states mult_adds) counts the pass's multiply-accumulates (counting.py).
    `varying`, where data-dependent ops ran on meta, runs the pass once more with them
    selecting everything: init writes `_` for the sizes that change (trace.selection).
    """
    fields = fields or spec.wants_fields
    count = count or spec.mult_adds is not None
    factory = factory or resolve_model(spec, rootdir)
    check_kwargs(spec, factory)
    device = _device(spec, default_device)
    if device != "meta" or spec.device == "meta":  # forced: no fallback to try
        _check_input_budget(spec, device, max_input_bytes)
        return _probe_or_fail(spec, factory, device, summary=summary, fields=fields, count=count,
                              varying=varying)

    # Keyed by the class or function itself (two specs may write one path for
    # different files) and weakly, so that a model's module can still be freed.
    try:
        failures = _META_INCAPABLE.setdefault(factory, {})
    except TypeError:  # a callable that takes no weak reference: don't remember
        failures = {}
    # Everything that decides whether meta fails: one spec's wrong input must not send
    # another spec of the same model to the CPU, quoting the other's error.
    key = repr((sorted(spec.kwargs.items()), spec.input_sizes, spec.dtypes, spec.mode, spec.arguments,
                sorted(spec.forward_kwargs.items())))
    fallback = failures.get(key)
    if fallback is None:
        try:
            trace = _probe_on(spec, factory, "meta", summary=summary, fields=fields, count=count,
                              varying=varying)
        except _BuildFailed as failure:
            # What a user can do: nothing to mend where the build reads values on purpose (a
            # quantized model calibrates on data), but say where it runs without the meta try.
            fallback = (f"building the model on meta failed ({failure.sentence}); a model that reads "
                        "values while it is built runs on the CPU, and `device: cpu` in its spec "
                        "runs it there without trying meta first")
        else:
            if not _cpu_may_run(trace):
                return trace
            fallback = _forward_failed(trace)
        failures[key] = fallback
    _check_input_budget(spec, "cpu", max_input_bytes, fallback)
    return replace(_probe_or_fail(spec, factory, "cpu", summary=summary, fields=fields, count=count),
                   fallback=fallback)


def _forward_failed(trace: Trace) -> str:
    """Why a pass left meta: torch's words, and the line that ran, so that a reader can tell
    whether it is theirs or a library's (`at .../masking_utils.py:120: if padding_mask.all():`)."""
    crash = trace.crash
    assert crash is not None
    return f"the forward pass failed on meta ({crash.exception})" + (f" at {crash.where}" if crash.where else "")


def _grouped_conv(error: BaseException) -> str | None:
    """A conv whose channels don't divide by its groups, read from torch's own frame (its
    message names no number): the numbers, and the nearest that work, each divided."""
    tb = error.__traceback__
    found = None
    while tb is not None:
        local = tb.tb_frame.f_locals
        if tb.tb_frame.f_code.co_name == "__init__" and {"in_channels", "out_channels", "groups"} <= set(local):
            found = local
        tb = tb.tb_next
    if found is None:
        return None
    cin, cout, groups = found["in_channels"], found["out_channels"], found["groups"]
    if not all(isinstance(v, int) and v > 0 for v in (cin, cout, groups)):
        return None
    bad = [(name, value) for name, value in (("in_channels", cin), ("out_channels", cout)) if value % groups]
    if not bad:
        return None
    if cin == cout:
        bad = [("in_channels = out_channels", cin)]
    said = " and ".join(f"{name} = {value}" for name, value in bad)
    multiples = sorted({groups * (value // groups) or groups for _, value in bad}
                       | {groups * (value // groups + 1) for _, value in bad})
    divisors = [d for d in range(1, max(cin, cout) + 1) if cin % d == 0 and cout % d == 0]
    near = sorted(divisors, key=lambda d: (abs(d - groups), d))[:2]
    assert all(m % groups == 0 for m in multiples) and all(cin % d == 0 == cout % d for d in near)
    return (f"a grouped conv splits its channels into groups={groups}, and {said} "
            f"{'does' if len(bad) == 1 else 'do'} not divide by {groups} "
            f"({', '.join(f'{value} / {groups} = {value / groups:g}' for _, value in bad)}). "
            f"fix: channels that divide, {' or '.join(map(str, multiples))}; or "
            f"groups={' or groups='.join(map(str, sorted(near)))}, which "
            f"{'divide' if len(near) > 1 else 'divides'} {cin if cin == cout else f'{cin} and {cout}'}")


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
                   summary: bool, fields: bool = False, count: bool = False, varying: bool = False) -> Trace:
    try:
        return _probe_on(spec, factory, device, summary=summary, fields=fields, count=count, varying=varying)
    except _BuildFailed as failure:
        raise failure.at(spec) from None


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


def _built(spec: Spec, factory: Callable[..., Any], device: str,
           default: str) -> tuple[nn.Module, Callable[[], dict[str, Made]]]:
    """The model, on `device`, in the spec's mode; and how to find where each of its
    modules is made, for a failure that asks."""
    made = made_on_cpu()
    with meta_build() if device == "meta" else _placed(device, default):
        model = _build(spec, factory)
    if device == "meta" and made_on_cpu() != made:
        model_onto_meta(model)
    _set_mode(model, spec.mode == "train")
    return model, lambda: _locate(spec, factory, device)


def _locate(spec: Spec, factory: Callable[..., Any], device: str) -> dict[str, Made]:
    """Where each module is made, by name: the model built once more, under the recorder
    of construction sites (record.definition_sites). Only a failure asks: recording on
    every build cost a small model's item a tenth of its time."""
    try:
        with _isolated() as default, definition_sites() as sites, \
                meta_build() if device == "meta" else _placed(device, default):
            model = _build(spec, factory)
    except Exception:  # built once already: a model that can't be built twice has no lines
        return {}
    return {name: sites[id(module)] for name, module in named_modules(model).items() if id(module) in sites}


def _set_mode(model: nn.Module, training: bool) -> None:
    """model.train(training), without Module.__setattr__ on every module where no
    class has its own `train` (which must then be the one to run, for all of them)."""
    modules = named_modules(model).values()
    if not all(plain(type(module)) for module in modules):
        model.train(training)
        return
    for module in modules:
        module.__dict__["training"] = training


def _inputs(spec: Spec, sizes: tuple[tuple[int, ...], ...], device: str,
            default: str) -> list[Any]:
    """The positional arguments of forward: tensors of zeros, or the spec's argument trees."""
    with _placed(device, default):
        if spec.arguments is not None and sizes == spec.input_sizes:
            return [_made(argument) for argument in spec.arguments]
        return [torch.zeros(size, dtype=getattr(torch, dtype)) for size, dtype in zip(sizes, spec.dtypes)]


def _keywords(spec: Spec, device: str, default: str) -> dict[str, Any]:
    """The keyword arguments of forward, made as `_inputs` makes the positional ones."""
    if not spec.forward_kwargs:
        return {}
    with _placed(device, default):
        return {key: _made(value) for key, value in spec.forward_kwargs.items()}


def _made(tree: Any) -> Any:
    if isinstance(tree, TensorInput):
        return torch.zeros(tree.size, dtype=getattr(torch, tree.dtype))
    if isinstance(tree, list):
        return [_made(item) for item in tree]
    if isinstance(tree, dict):
        return {key: _made(item) for key, item in tree.items()}
    return tree


def _run_on(model: nn.Module, inputs: list[Any], device: str, tagging: bool = False,
            fields: bool = False, count: bool = False, selecting: bool | None = None,
            keywords: dict[str, Any] | None = None) -> Run:
    """One recorded pass; with `tagging`, one that also says where each tensor came from;
    with `fields`, one that follows receptive fields and which layer fed which; with
    `count`, one that counts multiply-accumulates; with `selecting` (on meta), one whose
    data-dependent ops select everything (True) or nothing (False)."""
    # The tagging pass repeats a pass that already said what the model warns about; it
    # would say it again, attributed to our mode's frame.
    with formula_shapes(model) if device == "meta" else nullcontext(), \
            Selecting(selecting) if selecting is not None else nullcontext(), \
            warnings.catch_warnings() if tagging or selecting else nullcontext():
        if tagging or selecting:
            warnings.simplefilter("ignore")
        return run_recorded(model, inputs, tagging=tagging, fields=fields, count=count, keywords=keywords)


def _selecting(run: Run, device: str) -> bool:
    """Whether a pass failed on meta only because an op's output size needs values."""
    return device == "meta" and run.crash is not None and needs_data(run.crash.exception)


def _cpu_may_run(trace: Trace) -> bool:
    """The one fallback policy: whether a pass that failed on meta may run on the CPU. Not
    where it ran, nor where it failed for a reason the shapes explain (a layer's arguments, or
    tensors whose shapes can't go together) or in the model's own Python (a misspelt name):
    the CPU would fail the same way, so there is nothing to fall back for."""
    return trace.crash is not None and not trace.crash.in_python and causes.crash_cause(trace) is None \
        and not is_shape_clash(trace.clash)


def _with_provenance(trace: Trace, model: nn.Module, inputs: list[Any], keywords: dict[str, Any]) -> Trace:
    """Where a pass must be explained beyond the layers' own arguments (a crash they don't
    explain, an output whose first dimension is not the batch), the same pass again on the
    same model and device, tagging where each tensor came from: the layers behind a clash,
    the view that changed the batch. Failing items only: a passing one never pays for it."""
    batch = batch_of(inputs)
    output = trace.output
    changed_batch = isinstance(output, tuple) and bool(output) and batch is not None and output[0] != batch
    unexplained = trace.crash is not None and causes.crash_cause(trace) is None
    # A Linear or conv given the wrong width: whether a cat made it, and of what.
    widths = trace.crash is not None and not unexplained and causes.takes_joined(trace)
    if not (unexplained or changed_batch or widths):
        return trace
    tagged = _run_on(model, inputs, trace.device, tagging=True, keywords=keywords,
                     selecting=False if trace.selection is not None else None)
    if (tagged.crash is None) != (trace.crash is None):
        return trace  # not the same pass after all: nothing it says can be trusted
    if not (unexplained or changed_batch):
        return replace(trace, joined=tagged.joined)
    return replace(trace, clash=tagged.clash, reshapes=tagged.reshapes, joined=tagged.joined)


def _trace(spec: Spec, device: str, run: Run, layers: Layers, **more: Any) -> Trace:
    total, trainable, param_bytes, buffer_bytes, element = layers.param_counts()
    return Trace(model=spec.model, device=device, layers=layers, calls=run.calls,
                 output=run.output, params_total=total, params_trainable=trainable,
                 packed_params=layers.packed_params(),
                 param_bytes=param_bytes, buffer_bytes=buffer_bytes, element_bytes=element,
                 weighted=layers.weighted_leaves(),
                 crash=run.crash, clash=run.clash, reshapes=run.reshapes, flow=run.flow,
                 compute=run.compute, **more)


def _probe_on(spec: Spec, factory: Callable[..., Any], device: str, *, summary: bool,
              fields: bool = False, count: bool = False, varying: bool = False) -> Trace:
    with _isolated() as default:
        model, sites = _built(spec, factory, device, default)
        inputs = _inputs(spec, spec.input_sizes, device, default)
        keywords = _keywords(spec, device, default)
        run = _run_on(model, inputs, device, fields=fields, count=count, keywords=keywords)
        selection = None
        if _selecting(run, device):
            chosen = _run_on(model, inputs, device, fields=fields, count=count, selecting=False, keywords=keywords)
            if chosen.crash is None or chosen.crash.exception != run.crash.exception:  # type: ignore[union-attr]
                run, selection = chosen, Selection()
            if selection is not None and varying:  # init writes `_` for sizes that change with the selection
                every = _run_on(model, inputs, device, selecting=True, keywords=keywords)
                selection = Selection(every.calls, every.output, every.crash is None)
        table: str | None = None
        torchinfo_count: int | None = None
        notes: tuple[str, ...] = ()
        if summary and run.crash is None:
            with Selecting(False) if selection is not None else nullcontext():
                table, torchinfo_count, notes = _torchinfo(model, inputs, keywords, device, spec.mode)
        trace = _with_provenance(_trace(spec, device, run, Layers(model, sites).with_steps(run.functional),
                                        summary=table,
                                        summary_mult_adds=torchinfo_count, notes=notes,
                                        selection=selection), model, inputs, keywords)
        if len(spec.input_sizes) == 1 and spec.arguments is None:
            trace = replace(trace, fitting_inputs=_fitting(spec, model, trace, device, default))
        if (spec.train is not None or summary and device == "meta") and trace.crash is None \
                and trace.selection is None:
            # Last: the step leaves the model's tensors fake where it ran under autocast. On a
            # real device it takes the memory it measures: only where the spec asks.
            trace = replace(trace, training=training_step(model, inputs, keywords, spec.train or TrainSpec(),
                                                          spec.mode == "train"))
        return trace


def _fitting(spec: Spec, model: nn.Module, trace: Trace, device: str, default: str,
             wanted: int = 2) -> tuple[tuple[int, ...], ...]:
    """For a clash at a cat: input sizes near the spec's that the whole model runs at; for
    an input that reached a conv channels last: the same input, channels first; for one
    a conv took without a batch dimension: the same with a batch of 1. The
    candidates come from the arithmetic; each is checked by running the model, on this
    device (on meta, milliseconds), for a failing item only."""
    found: list[tuple[int, ...]] = []
    given = spec.input_sizes[0]
    layout = causes.channels_last(trace, given)
    candidates = [layout.first] if layout is not None else \
        [(1, *given)] if causes.unbatched(trace, given) is not None else input_candidates(trace)
    for size in candidates:
        if size == spec.input_sizes[0]:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = _run_on(model, _inputs(spec, (size,), device, default), device,
                          selecting=False if trace.selection is not None else None,
                          keywords=_keywords(spec, device, default))
        if run.crash is None:
            found.append(size)
            if len(found) == wanted:
                break
    return tuple(found)


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
    check_kwargs(spec, factory)
    device = _device(spec, default_device)
    for one in sizes if device != "meta" else ():
        _check_input_budget(replace(spec, input_sizes=one), device, max_input_bytes)
    traces = _scan_on(spec, factory, device, sizes)
    if spec.device is None and device == "meta":
        again = [i for i, trace in enumerate(traces) if _cpu_may_run(trace)]
        if again:
            because = _forward_failed(traces[again[0]])
            for i in again:
                _check_input_budget(replace(spec, input_sizes=sizes[i]), "cpu", max_input_bytes, because)
            for i, trace in zip(again, _scan_on(spec, factory, "cpu", [sizes[i] for i in again])):
                traces[i] = replace(trace, fallback=because)
    return traces


def _scan_on(spec: Spec, factory: Callable[..., Any], device: str,
             sizes: list[tuple[tuple[int, ...], ...]]) -> list[Trace]:
    try:
        with _isolated() as default:
            model, sites = _built(spec, factory, device, default)
            runs = [_run_on(model, _inputs(spec, one, device, default), device, fields=spec.wants_fields,
                            keywords=_keywords(spec, device, default))
                    for one in sizes]
            layers = Layers(model, sites)
            return [_trace(spec, device, run, layers.with_steps(run.functional)) for run in runs]
    except _BuildFailed as failure:
        raise failure.at(spec) from None


def _build(spec: Spec, factory: Callable[..., Any]) -> nn.Module:
    try:
        model = factory(**spec.kwargs)
    except Exception as error:
        raise _BuildFailed(raised(f"building {spec.model}", error), error) from None
    if not isinstance(model, nn.Module):
        raise SpecError.at(spec.model_line, f"`model`: {spec.model} returned {type(model).__name__}, "
                                            "not an nn.Module.")
    return model


# -- torchinfo: the table users know, and mult-adds ---------------------------------


def _plain_units(table: str) -> str:
    """`Total mult-adds (M): 43.39`, as torchinfo prints it where its enum formats as its
    value: on Python 3.11 and later an Enum mixed with str formats as `Units.MEGABYTES`."""
    import re

    from torchinfo.enums import Units

    return re.sub(r"\(Units\.(\w+)\)",
                  lambda m: f"({Units[m.group(1)].value})" if m.group(1) in Units.__members__
                  else m.group(0), table)


def _torchinfo(model: nn.Module, inputs: list[Any], keywords: dict[str, Any], device: str,
               mode: str) -> tuple[str | None, int | None, tuple[str, ...]]:
    try:
        import torchinfo
    except ImportError as error:
        return None, None, (f"torchinfo could not be imported: {error}",)
    try:
        stats = torchinfo.summary(model, input_data=list(inputs), device=device, verbose=0,
                                  mode=mode, depth=4, **keywords)
        return _plain_units(str(stats)), int(stats.total_mult_adds), ()
    except Exception as error:
        return None, None, (f"torchinfo could not summarise the model: {type(error).__name__}: "
                            f"{first_line(error)}",)
    finally:
        # torchinfo keeps each model's forward pass alive in a module-level cache.
        torchinfo.torchinfo.clear_cached_forward_pass()
