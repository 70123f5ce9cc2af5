"""Trace -> the text of a spec that states what the model does today (`cnncheck init`).

Written by hand rather than by yaml.dump, so that it reads like a spec a person
wrote: shapes in flow style, one layer a line, in forward order.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from fractions import Fraction
from typing import Any

from ..check import macs, memory
from ..check.edits import flow_shapes, is_shape_tree
from ..explain import causes
from ..fields import Axis, Whole
from ..spec.model import COUNT_SUFFIXES, DEFAULT_POOLING, Spec, argument_text
from ..spec.source import yaml_key
from ..trace import Call, Trace, widest

__all__ = ["LAYER_CHOICES", "run_lines", "spec_text"]

LAYER_CHOICES = ("leaf", "all", "none")


def _flow(value: Any) -> str:
    """A small mapping or list in YAML flow style (JSON is YAML)."""
    return json.dumps(value, separators=(", ", ": "))


def spec_text(spec: Spec, trace: Trace, *, layers: str = "leaf", rules: bool = False,
              header: tuple[str, ...] = (), budget: Fraction | None = None, fields: bool = False) -> str:
    """The spec's text; with `budget` (0.1 for 10% headroom), the counts as bounds above
    today's values rather than the values themselves; with `fields` (a trace recorded under
    Flow), each layer's receptive field and effective stride."""
    trace = _marked(trace)
    out = [f"# {line}" if line else "#" for line in header]
    out.extend(run_lines(spec))
    out.append("  expect:")
    if is_shape_tree(trace.output):
        out.append(f"    output: {flow_shapes(trace.output)}")
    training = trace.training.peak if trace.training is not None and trace.training.error is None else None
    # A peak is a budget, never a snapshot: 10% above today's unless --budget says.
    peak = f"training: {{max: {headroom(training, budget or TRAINING_HEADROOM, _BINARY)}}}" if training else ""
    if budget is None:
        out.append(f"    params: {{total: {trace.params_total}, trainable: {trace.params_trainable}}}")
        if peak:
            out.append(f"    memory: {{{peak}}}")
    else:
        # No "# 62,006 today" beside a bound: the update never rewrites a bound, so such a
        # comment would go stale on the first change; `-v` prints today's figures.
        counted = macs.mult_adds(trace)
        activations = memory.activation_bytes(trace)
        out.append(f"    params: {{max: {headroom(trace.params_total, budget, COUNT_SUFFIXES)}}}")
        out.append(f"    mult_adds: {{max: {headroom(counted, budget, COUNT_SUFFIXES)}}}")
        out.append(f"    memory: {{activations: {{max: {headroom(activations, budget, _BINARY)}}}"
                   + (f", {peak}" if peak else "") + "}")
    out.extend(_layer_lines(trace, layers, fields))
    out.extend(_flatten_lines(trace))
    if rules:
        out.extend(_rule_lines(trace, fields))
    return "\n".join(out) + "\n"


def run_lines(spec: Spec) -> list[str]:
    """The lines that say what to build and run, with no expectation: a spec whose only
    check is that the forward pass runs (what `cnncheck fix` needs to mend a crash)."""
    out = [f"{yaml_key(spec.name)}:"]
    out.append(f"  model: {yaml_key(spec.model)}")
    if spec.kwargs:
        out.append(f"  kwargs: {_flow(spec.kwargs)}")
    if spec.arguments != ():  # none: forward's tensors are all keyword arguments
        out.append(f"  input_size: {spec.input_text}")
    if spec.forward_kwargs:
        out.append(f"  forward_kwargs: {argument_text(spec.forward_kwargs)}")
    if spec.arguments is None and any(dtype != "float32" for dtype in spec.dtypes):
        dtypes = spec.dtypes
        out.append(f"  dtype: {dtypes[0] if len(set(dtypes)) == 1 else '[' + ', '.join(dtypes) + ']'}")
    if spec.device is not None:
        out.append(f"  device: {spec.device}")
    if spec.mode != "eval":
        out.append(f"  mode: {spec.mode}")
    if spec.train is not None:
        out.append(f"  train: {{optimizer: {spec.train.optimizer}}}")
    return out


def _marked(trace: Trace) -> Trace:
    """The trace with each size that depends on values as None (written `_`): where the
    data-dependent ops ran on meta, a size that changes when they select everything rather
    than nothing; where that pass stopped before it, a 0 (what selecting nothing gave)."""
    selection = trace.selection
    if selection is None or selection.calls is None:
        return trace
    other = {(call.name, call.index): call for call in selection.calls if call.finished}
    calls = tuple(replace(call, output=_varying(call.output, *_reached(other.get((call.name, call.index)))))
                  for call in trace.calls)
    return replace(trace, calls=calls, output=_varying(trace.output, selection.output, selection.finished))


def _reached(call: Call | None) -> tuple[Any, bool]:
    return (call.output, True) if call is not None else (None, False)


def _varying(mine: Any, theirs: Any, reached: bool) -> Any:
    if isinstance(mine, tuple):
        if reached and isinstance(theirs, tuple) and len(theirs) == len(mine):
            return tuple(d if d == t else None for d, t in zip(mine, theirs))
        return tuple(None if d == 0 else d for d in mine)
    same = reached and type(theirs) is type(mine) and len(theirs) == len(mine)
    if isinstance(mine, list):
        return [_varying(m, theirs[i] if same else None, same) for i, m in enumerate(mine)]
    if isinstance(mine, dict):
        return {key: _varying(m, theirs.get(key) if same else None, same and key in theirs)
                for key, m in mine.items()}
    return mine


_BINARY = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
TRAINING_HEADROOM = Fraction(1, 10)


def headroom(value: int, budget: Fraction, suffixes: dict[str, int]) -> str:
    """`68.3K`: `value` plus `budget`, rounded up to three significant digits in the
    largest unit it fills (and on to a whole count of bytes or parameters), so that it
    reads well and is never below value * (1 + budget)."""
    target = Fraction(value) * (1 + budget)
    fitting = [(size, name) for name, size in suffixes.items() if size <= target]
    if not fitting:
        return str(math.ceil(target))
    scale, unit = max(fitting)
    scaled = target / scale
    decimals = max(0, 2 - (len(str(int(scaled))) - 1))
    step = Fraction(1, 10**decimals)
    rounded = math.ceil(scaled / step) * step
    while (rounded * scale).denominator != 1:  # 56.1KiB is no whole number of bytes: 56.25 is
        rounded += step
    text = f"{float(rounded):.{decimals}f}".rstrip("0").rstrip(".") if decimals else str(int(rounded))
    if Fraction(text) != rounded:  # more digits than the three the rounding kept
        text = str(float(rounded))
    assert Fraction(text) * scale >= target and (Fraction(text) * scale).denominator == 1
    return f"{text}{unit}"


def _field_values(trace: Trace, index: int) -> tuple[str, str | None] | None:
    """A call's receptive field and effective stride as a spec writes them (`212`, `[7, 5]`,
    `whole`; the stride None where it is a fraction, after an upsampling); None where the
    field is not whole numbers (unknown, or a fraction)."""
    entries = trace.flow.fields[index] if trace.flow is not None and index < len(trace.flow.fields) else None
    if not entries:
        return None
    if all(isinstance(e, Whole) for e in entries):
        return "whole", None
    if not all(isinstance(e, Axis) and e.size.denominator == 1 for e in entries):
        return None
    axes = [e for e in entries if isinstance(e, Axis)]
    stride = _one_or_list([int(a.stride) for a in axes]) if all(a.stride.denominator == 1 for a in axes) else None
    return _one_or_list([int(a.size) for a in axes]), stride


def _field_items(trace: Trace, index: int) -> str:
    """`, receptive_field: 212, effective_stride: 32` for a layer's line, or ""."""
    values = _field_values(trace, index)
    if values is None:
        return ""
    field, stride = values
    return f", receptive_field: {field}" + (f", effective_stride: {stride}" if stride else "")


def _one_or_list(values: list[int]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "[" + ", ".join(map(str, values)) + "]"


def _layer_lines(trace: Trace, which: str, fields: bool = False) -> list[str]:
    if which == "none":
        return []
    lines = []
    in_forward_order = dict.fromkeys(call.name for call in trace.calls)
    for name in in_forward_order:
        layer = trace.layers[name]
        if not name or (which == "leaf" and not layer.leaf):
            continue
        calls = trace.calls_of(name)
        outputs = [c.output for c in calls if c.finished and is_shape_tree(c.output)]
        if not calls or len(outputs) != len(calls):
            continue  # never called, or an output that is no shape: nothing to state
        params = f", params: {layer.params}" if layer.params else ""
        if len(calls) == 1:
            seen = _field_items(trace, trace.calls.index(calls[0])) if fields else ""
            lines.append(f"      {yaml_key(name)}: {{output: {flow_shapes(outputs[0])}{params}{seen}}}")
            continue
        lines.append(f"      {yaml_key(name)}:")
        if layer.params:
            lines.append(f"        params: {layer.params}")
        lines.append("        calls:")
        lines.extend(f"          - {{output: {flow_shapes(output)}}}" for output in outputs)
    return ["    layers:", *lines] if lines else []


def _flatten_lines(trace: Trace) -> list[str]:
    lines = []
    for name, layer in trace.layers.items():
        calls = trace.calls_of(name)
        if layer.kind != "linear" or not calls or not isinstance(calls[0].input, tuple):
            continue
        source = causes.flatten_source(trace, calls[0])
        if source is not None:
            lines.append(f"      {yaml_key(name)}: {'*'.join(str(d) for d in source[1:])}")
    return ["    flatten:", *lines] if lines else []


def _rule_lines(trace: Trace, fields: bool = False) -> list[str]:
    pairs = sorted({pair for layer in trace.layers.values() if layer.kind == "pool"
                    for pair in zip(layer.hparams["kernel_size"], layer.hparams["stride"])})
    if set(pairs) <= set(DEFAULT_POOLING):
        pooling = "true"
    else:
        pooling = "[" + ", ".join(f"[{f}, {s}]" for f, s in pairs) + "]   # the windows in use today"
    lines = ["  rules:", f"    pooling: {pooling}"]
    uneven = [call.name for call in trace.calls if call.name in trace.layers
              and causes.division_steps(trace.layers[call.name], call)]
    if uneven:
        lines.append(f"    # exact_division does not hold today: {', '.join(dict.fromkeys(uneven))}")
    else:
        lines.append("    exact_division: true")
    found = widest(trace) if fields else None
    if found is not None:
        call, _ = found
        values = _field_values(trace, trace.calls.index(call))
        if values is not None:
            lines.append(f"    receptive_field: {values[0]}   # what {call.name or 'the model'} sees today")
    return lines
