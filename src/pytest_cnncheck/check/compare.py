"""Spec x Trace -> findings: every mismatch and broken rule, each with its explanation.

Pure comparisons: no torch, no I/O. Only what the spec gives is checked, and
every mismatch is reported, not only the first.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, replace
from typing import Any

from .. import fields
from ..explain import candidates, causes, clashes
from ..findings import Candidate, Edit, Finding, Fix, Step
from ..spec.model import (
    Bound,
    FieldSpec,
    LayerSpec,
    Number,
    Shape,
    ShapeMap,
    ShapeNode,
    Shapes,
    ShapeSeq,
    Spec,
    did_you_mean,
    node_matches,
    node_text,
)
from ..spec.sizes import describe as describe_sizes
from ..spec.sizes import label
from ..spec.source import Span, yaml_key
from ..trace import Call, Layer, Trace, format_shapes, shapes_json, widest
from . import macs, memory

__all__ = ["check", "check_scan", "first_against"]

def _edits(*pairs: tuple[Span | None, str]) -> tuple[Edit, ...] | None:
    spans = [(span, new) for span, new in pairs if span is not None]
    return tuple(Edit(span, new) for span, new in spans) if len(spans) == len(pairs) else None


def _number_edits(number: Number, actual: int) -> tuple[Edit, ...] | None:
    return _edits((number.span, str(actual)))


def _shape_edits(shapes: Shapes, actual: Any) -> tuple[Edit, ...] | None:
    """Rewrite only the dimensions that are wrong, so expressions that hold stay as written."""
    return _node_edits(shapes.root, actual, shapes.span)


def _node_edits(node: ShapeNode | None, actual: Any, span: Span | None) -> tuple[Edit, ...] | None:
    if node is None:  # `_`: anything goes
        return ()
    if isinstance(node, Shape):
        return _one_shape_edits(node, actual)
    if isinstance(node, ShapeSeq) and isinstance(actual, list) and len(actual) == len(node.items):
        pairs = list(zip(node.items, actual))
    elif isinstance(node, ShapeMap) and isinstance(actual, dict) and \
            list(actual) == [key for key, _ in node.items]:
        pairs = [(item, actual[key]) for key, item in node.items]
    else:
        return _whole_shape_edit(node.span or span, actual)
    edits: list[Edit] = []
    for item, one in pairs:
        found = _node_edits(item, one, None)
        if found is None:
            return None
        edits.extend(found)
    return tuple(edits)


def _one_shape_edits(shape: Shape, actual: Any) -> tuple[Edit, ...] | None:
    if isinstance(actual, tuple) and len(actual) == len(shape.dims):
        return _edits(*[(dim.span, str(value)) for dim, value in zip(shape.dims, actual)
                        if dim is not None and dim.value != value])
    return _whole_shape_edit(shape.span, actual)


def _whole_shape_edit(span: Span | None, actual: Any) -> tuple[Edit, ...] | None:
    return _edits((span, flow_shapes(actual))) if span is not None and is_shape_tree(actual) else None


def is_shape_tree(tree: Any) -> bool:
    """Whether a spec can state `tree` as it is: shapes, and lists and dicts of them."""
    if isinstance(tree, tuple):
        return bool(tree)
    if isinstance(tree, list):
        return bool(tree) and all(map(is_shape_tree, tree))
    if isinstance(tree, dict):
        return bool(tree) and all(map(is_shape_tree, tree.values()))
    return False


def flow_shapes(tree: Any) -> str:
    """A shape tree as YAML flow text: `[[1, 5, 20], [[1, 1, 20], [1, 1, 20]]]`, `{out: [1, 10]}`."""
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{yaml_key(key)}: {flow_shapes(item)}" for key, item in tree.items()) + "}"
    if isinstance(tree, list):
        return "[" + ", ".join(flow_shapes(item) for item in tree) + "]"
    return format_shapes(tree)


def check(spec: Spec, trace: Trace) -> list[Finding]:
    findings: list[Finding] = []
    if trace.crash is not None:
        findings.append(_crash(spec, trace))
    if spec.output is not None and trace.crash is None:
        if not spec.output.matches(trace.output):
            setters = _output_setters(spec.output, trace, spec.kwargs)
            batch, batch_fix, batch_layers = _batch_lines(spec.output, trace)
            findings.append(Finding("expect.output", spec.output.line,
                                    layers=tuple(dict.fromkeys([s.layer.name for s in setters]
                                                               + list(batch_layers))),
                                    fix=tuple([line for s in setters for line in s.fix] + batch_fix),
                                    changes=tuple(c for s in setters for c in s.changes),
                                    expected=_expected(spec.output),
                                    actual=format_shapes(trace.output),
                                    expected_value=spec.output.as_json(),
                                    actual_value=shapes_json(trace.output),
                                    details=tuple(_dimension_lines("output", spec.output, trace.output)
                                                  + [s.cause for s in setters] + batch),
                                    steps=tuple(step for s in setters for step in s.steps),
                                    edits=_shape_edits(spec.output, trace.output)))
    if spec.params is not None:
        findings.extend(_params(spec, trace))
    if spec.mult_adds is not None and trace.crash is None:
        findings.extend(_mult_adds(spec, trace))
    if spec.memory and trace.crash is None:
        findings.extend(_memory(spec, trace))
    for layer_spec in spec.layers:
        findings.extend(_layer(layer_spec, trace))
    for flatten in spec.flatten:
        findings.extend(_flatten(flatten.name, flatten.features, flatten.line, trace))
    if spec.pooling is not None:
        findings.extend(_pooling_rule(spec, trace))
    if spec.exact_division:
        findings.extend(_exact_division_rule(spec, trace))
    if spec.receptive_field is not None and trace.crash is None:
        findings.extend(_receptive_field_rule(spec.receptive_field, trace))
    return _folded(findings, trace)


def _folded(findings: list[Finding], trace: Trace) -> list[Finding]:
    """Root causes first; a finding that only follows from one says so and from which.

    After a crash: a layer that raised before its output, or was not reached for a later
    call, follows from it; so does a parameter count that the crash's fix puts right.
    `params.trainable` that differs exactly as `params.total` does, with nothing frozen,
    follows from the total.
    """
    crash = next((f for f in findings if f.key == "forward"), None)
    cause = causes.crash_reason(trace)
    delta = _fix_delta(cause) if cause is not None else None
    out = []
    for finding in findings:
        why = None
        if crash is not None and finding is not crash:
            if finding.key.endswith(".output") and finding.actual is None or \
                    finding.key.endswith(".calls"):
                why = f"follows from the crash at line {crash.line}: the layer did not get to run"
            elif cause is not None and delta is not None and finding.expected_value is not None \
                    and isinstance(finding.actual_value, int) and finding.key.endswith(
                        ("expect.params", ".total", ".trainable", f"layers.{cause.layer.name}.params")) \
                    and finding.actual_value + delta == finding.expected_value:
                why = (f"follows from the crash at line {crash.line}: its fix changes "
                       f"{cause.layer.name}'s parameters by {delta:+,}, which makes this "
                       f"{finding.expected_value:,} as expected")
        if finding.key == "expect.params.trainable" and why is None and \
                trace.params_total == trace.params_trainable:
            total = next((f for f in findings if f.key == "expect.params.total"), None)
            if total is not None and total.expected_value == finding.expected_value:
                why = f"the same count as params.total at line {total.line}: no parameter is frozen"
        if why:
            out.append(replace(finding, follows=why, fix=()))
        else:
            out.append(finding if finding.fix or finding.changes else replace(finding, fix=_no_fix(finding, trace)))
    return sorted(out, key=lambda f: f.follows is not None)  # root causes first, order kept


def _no_fix(finding: Finding, trace: Trace) -> tuple[str, ...]:
    """For a finding no fix was computed for: the value to write where the model may be
    right (and the update can write it), else why no fix applies. Every finding says one
    or the other; the checks leave the plain "write the actual value" to this."""
    if finding.updatable and finding.actual is not None:
        return (f"fix, if the model is right: write {finding.actual} (`pytest --cnncheck-update` "
                "writes it)",)
    if finding.inherited is not None and finding.actual is not None:
        return (f"fix, if the model is right: write {finding.actual} where the anchor it is "
                "inherited from states it (every spec that shares it changes too)",)
    if finding.key == "forward":
        return ("no fix cnncheck can check: the error comes from the model's own code at the line "
                "above, not from sizes that a layer's arguments or two tensors' shapes explain",)
    if finding.actual is not None:
        return (f"fix, if the model is right: write {finding.actual}",)
    return ("no fix cnncheck can compute for this: the sentence above says what to change",)


def _fix_delta(cause: causes.Cause) -> int | None:
    """How many parameters the crash's fix adds to its layer (negative: removes)."""
    h, change = cause.layer.hparams, cause.got - cause.wanted
    if cause.what == "in_features":
        return int(h["out_features"] * change)
    if cause.what == "in_channels":
        return int(h["out_channels"] * math.prod(h["kernel_size"]) * change // h["groups"])
    if cause.what == "num_features":
        return 2 * change if h.get("affine") else 0
    return None


def _expected(shapes: Shapes) -> str:
    written, values = str(shapes), shapes.values()
    return written if written == values else f"{written} = {values}"


def _dimension_lines(label: str, shapes: Shapes, actual: Any) -> list[str]:
    """`down4.output[2]: expected H//16 = 6 (H=96), actual 5`: each wrong dimension that
    a sweep's names wrote, with the names' values, so the size that broke is plain."""
    lines: list[str] = []

    def visit(where: str, node: ShapeNode | None, one: Any) -> None:
        if isinstance(node, Shape):
            if isinstance(one, tuple) and len(one) == len(node.dims):
                lines.extend(f"{where}[{i}]: expected {dim}, actual {value}"
                             for i, (dim, value) in enumerate(zip(node.dims, one))
                             if dim is not None and dim.names and dim.value != value)
        elif isinstance(node, ShapeSeq) and isinstance(one, list) and len(one) == len(node.items):
            for i, (item, value) in enumerate(zip(node.items, one)):
                visit(f"{where}[{i}]", item, value)
        elif isinstance(node, ShapeMap) and isinstance(one, dict):
            for key, item in node.items:
                if key in one:
                    visit(f"{where}.{key}", item, one[key])

    visit(label, shapes.root, actual)
    if not isinstance(shapes.root, Shape):  # a tree: say where it first parts from the model's
        found = _first_difference(label, shapes.root, actual)
        if found is not None:
            lines.insert(0, f"first difference: {found}")
    return lines


def _first_difference(where: str, node: ShapeNode | None, actual: Any) -> str | None:
    """`output.flow[3]: [1, 2, 224, 224] expected, actual [1, 2, 112, 112]`: the first place,
    depth first in the spec's order, where a stated tree and the model's differ."""
    if node is None or node_matches(node, actual):
        return None
    if isinstance(node, ShapeSeq) and isinstance(actual, list):
        if len(actual) != len(node.items):
            return f"{where}: {len(node.items)} elements expected, actual {len(actual)}"
        return next((found for i, (item, one) in enumerate(zip(node.items, actual))
                     if (found := _first_difference(f"{where}[{i}]", item, one)) is not None), None)
    if isinstance(node, ShapeMap) and isinstance(actual, dict):
        keys = [key for key, _ in node.items]
        if list(actual) != keys:
            return (f"{where}: keys {', '.join(map(str, keys))} expected, actual "
                    f"{', '.join(map(str, actual)) or 'none'}")
        return next((found for key, item in node.items
                     if (found := _first_difference(f"{where}.{key}", item, actual[key])) is not None), None)
    return f"{where}: {node_text(node, values=True)} expected, actual {format_shapes(actual)}"


def _counted(number: Number) -> str:
    return f"{number.text} = {number.value:,}" if number.text != str(number.value) else f"{number.value:,}"


def _crash(spec: Spec, trace: Trace) -> Finding:
    assert trace.crash is not None
    call = causes.failing_call(trace)
    details = causes.crash_lines(trace)
    if trace.crash.where:
        details.append(f"at {trace.crash.where}")
    sizes = list(spec.input_sizes) if len(spec.input_sizes) > 1 else spec.input_sizes[0]
    explained = causes.crash_cause(trace) is not None
    clash = clashes.explain_clash(trace) if not explained else None
    if clash is not None:
        details = [*clash.lines, f"torch{' on meta' if trace.device == 'meta' else ''} said: "
                                 f"{trace.crash.exception}"]
        return Finding("forward", spec.input_line, details=tuple(details), layers=clash.layers,
                       message=f"The forward pass on input {format_shapes(sizes)} failed in {clash.brief}",
                       fix=clash.fix, changes=clash.changes)
    if explained and call is not None:
        # Lead with the cause in the model's terms; torch's own sentence (on meta, words
        # no user has seen) comes last, for the record.
        where, why = causes.crash_brief(trace)
        message = f"The forward pass on input {format_shapes(sizes)} failed in {why}"
        details.append(f"torch{' on meta' if trace.device == 'meta' else ''} said: {trace.crash.exception}")
    else:
        message = f"The forward pass on input {format_shapes(sizes)} raised {trace.crash.exception}"
    found, fix = candidates.crash_fix(trace)
    changes: list[Candidate] = [(one,) for one in found]
    indices = _index_dtype(spec, trace, call)
    if indices is not None:
        fix = [indices]
    layers: tuple[str, ...] = (call.name,) if call is not None and call.name else ()
    cause = causes.crash_reason(trace)
    if cause is not None and cause.what in ("in_channels", "num_features"):
        # Or the layer that made the channels: out_channels that fit what comes next.
        producer = _setter_of(trace, cause.received, 1, cause.wanted)
        if producer is not None and producer.changes:
            changes.extend(producer.changes)
            layers += (producer.layer.name,)
    # A window too large for what reached it: that axis's arithmetic, as data.
    steps = tuple(step for step in causes.window_steps(cause.layer, cause.call) if step.axis == cause.axis) \
        if cause is not None and cause.what == "window" else ()
    return Finding("forward", spec.input_line, message=message, details=tuple(details),
                   layers=layers, fix=tuple(fix), changes=tuple(changes), steps=steps)


_INDEXED = ("Embedding", "EmbeddingBag")


def _index_dtype(spec: Spec, trace: Trace, call: Call | None) -> str | None:
    """For an Embedding that was given a float input, the spec's side: its input is
    token ids, so the spec's `dtype` is wrong, not the model."""
    layer = trace.layers.get(call.name) if call is not None and call.name else None
    if layer is None or layer.type_name not in _INDEXED:
        return None
    floats = [i for i, dtype in enumerate(spec.dtypes) if dtype.startswith(("float", "bfloat", "half", "double"))]
    if not floats:
        return None
    return (f"in the spec: dtype: int64. {layer.name} ({layer.type_name}) takes token ids, integers, "
            f"and the dummy input is {spec.dtypes[floats[0]]}; the inputs are zeros, a valid id")


def _params(spec: Spec, trace: Trace) -> list[Finding]:
    assert spec.params is not None
    findings = []
    key = "expect.params" if spec.params.bare else "expect.params.total"
    for name, wanted, actual in (
        (key, spec.params.total, trace.params_total),
        ("expect.params.trainable", spec.params.trainable, trace.params_trainable),
    ):
        if wanted is None or wanted[0].value == actual:
            continue
        number, line = wanted
        if isinstance(number, Bound):
            if not number.holds(actual):
                findings.append(_over_budget(name, line, number, actual, _param_carriers(trace, ""),
                                             "parameters"))
            continue
        difference, changes, named = candidates.params_difference(trace, number.value, actual)
        fix: list[str] = []
        details = difference + ["made up of:"] + [f"  {row}" for row in causes.params_breakdown(trace, "")]
        if name.endswith("trainable") and trace.params_total != trace.params_trainable:
            frozen = trace.params_total - trace.params_trainable
            details.insert(0, f"{frozen:,} of {trace.params_total:,} parameters have requires_grad=False")
            if number.value == trace.params_total:
                fix = [f"fix: the spec counts the frozen ones too: trainable is {actual:,}, or set "
                       "requires_grad=True where the model freezes them"]
        findings.append(Finding(name, line, expected=_counted(number), actual=f"{actual:,}",
                                expected_value=number.value, actual_value=actual,
                                details=tuple(details), layers=named, fix=tuple(fix),
                                changes=tuple(changes), edits=_number_edits(number, actual)))
    return findings


MODEL_ITSELF = "the model's own forward"  # the "layer" of ops outside every module call


def _over_budget(key: str, line: int, bound: Bound, actual: int, carriers: list[tuple[str, int]],
                 what: str) -> Finding:
    """A count outside its bound: by how much, and the five layers that carry the most."""
    if bound.high is not None and actual > bound.high.value:
        over = actual - bound.high.value
        said = (f"{over:,} {what} over the bound: {actual:,} is {over / bound.high.value:.1%} above "
                f"{bound.high.value:,}" if bound.high.value else f"{over:,} {what} over the bound of 0")
    else:
        assert bound.low is not None
        under = bound.low.value - actual
        said = f"{under:,} {what} under the bound: {actual:,} is {under / bound.low.value:.1%} below {bound.low.value:,}"
    top = [(name, count) for name, count in carriers if count][:5]
    details = [said]
    if top:
        details.append("the layers that carry the most:")
        details += [f"  {name or MODEL_ITSELF}: {count:,} ({count / actual:.1%})" for name, count in top]
    return Finding(key, line, expected=str(bound), actual=f"{actual:,}",
                   expected_value={"min": bound.low.value if bound.low else None,
                                   "max": bound.high.value if bound.high else None},
                   actual_value=actual, details=tuple(details), layers=tuple(name for name, _ in top if name),
                   fix=("fix: make the layers above smaller, or move the bound if the growth is "
                        "intended (a bound is intent: `--cnncheck-update` leaves it alone)",))


def _param_carriers(trace: Trace, root: str) -> list[tuple[str, int]]:
    """Layers under `root` by the parameters they hold themselves, most first (a shared
    tensor counts where it is first)."""
    prefix = f"{root}." if root else ""
    found = []
    for name in trace.layers:
        if name and (name.startswith(prefix) or name == root):
            layer = trace.layers[name]
            shared = dict(layer.shared)
            own = sum(math.prod(shape) for n, shape in layer.own if n not in shared)
            if own:
                found.append((name, own))
    return sorted(found, key=lambda item: -item[1])


def _memory(spec: Spec, trace: Trace) -> list[Finding]:
    """`expect.memory`: bytes, measured on meta without allocating (memory.py)."""
    figures = memory.figures(trace)
    findings = []
    for key, stated, line in spec.memory:
        actual = figures[key]
        name = f"expect.memory.{key}"
        if isinstance(stated, Bound):
            if not stated.holds(actual):
                carriers = (_param_carriers(trace, "") if key == "params" else
                            _activation_carriers(trace) if key == "activations" else [])
                scale = trace.element_bytes if key == "params" else 1
                findings.append(_over_budget(name, line, stated, actual,
                                             [(n, c * scale) for n, c in carriers], "bytes"))
        elif stated.value != actual:
            findings.append(Finding(name, line, expected=_counted(stated),
                                    actual=f"{actual:,} ({memory.readable(actual)})",
                                    expected_value=stated.value, actual_value=actual,
                                    details=(memory.what(key),),
                                    fix=(f"fix, if the model is right: write {actual:,} "
                                         "(`pytest --cnncheck-update` writes it)",),
                                    edits=_number_edits(stated, actual)))
    return findings


def _activation_carriers(trace: Trace) -> list[tuple[str, int]]:
    found: dict[str, int] = {}
    for call in trace.calls:
        if call.finished and call.name in trace.weighted:
            found[call.name] = found.get(call.name, 0) + memory.activation_bytes_of(call, trace)
    return sorted(found.items(), key=lambda item: -item[1])


def _mult_adds(spec: Spec, trace: Trace) -> list[Finding]:
    """Every multiply-accumulate of the recorded pass (counting.py): no second pass."""
    assert spec.mult_adds is not None and trace.compute is not None
    number, line = spec.mult_adds
    counted = trace.compute.mult_adds
    what = (f"counted: every multiply-accumulate of the forward pass, for the batch as given "
            f"({macs.coverage(trace.compute.uncounted)})")
    partial = () if trace.compute.complete else (
        "the count is partial: the ops named above ran and were not counted, so the model "
        "does more than this",)
    if isinstance(number, Bound):
        carriers = sorted(macs.layer_mult_adds(trace).items(), key=lambda item: -item[1])
        if number.holds(counted):
            return []
        finding = _over_budget("expect.mult_adds", line, number, counted, carriers, "mult-adds")
        return [replace(finding, details=(what, *finding.details, *partial))]
    if counted == number.value:
        return []
    return [Finding("expect.mult_adds", line, expected=_counted(number),
                    actual=f"{counted:,}", expected_value=number.value,
                    actual_value=counted, details=(what, *partial),
                    edits=_number_edits(number, counted))]


def _unknown_layer(name: str, key: str, line: int, trace: Trace) -> Finding:
    names = [n for n in trace.layers if n]
    hint = did_you_mean(name, names, n=3)
    close = difflib.get_close_matches(name, names, n=1)
    fix = (f"fix: write {close[0]}" if close else
           f"fix: write one of {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}")
    return Finding(key, line, message=f"The model has no layer named {name!r}.{hint} "
                                      "Names are those of model.named_modules().", fix=(fix,))


def _layer(layer_spec: LayerSpec, trace: Trace) -> list[Finding]:
    layer = trace.layers.get(layer_spec.name)
    if layer is None:
        return [_unknown_layer(layer_spec.name, layer_spec.key, layer_spec.line, trace)]
    findings = []
    key, mark = layer_spec.key, (layer.name,)
    if layer_spec.type is not None:
        wanted, line = layer_spec.type
        if wanted not in (layer.type_name, layer.type_path):
            findings.append(Finding(f"{key}.type", line, expected=wanted, actual=layer.type_name,
                                    expected_value=wanted, actual_value=layer.type_name,
                                    layers=mark, fix=(f"fix, if the model is right: write type: "
                                                      f"{layer.type_name}",),
                                    edits=_edits((layer_spec.type_span, layer.type_name))))
    if layer_spec.params is not None:
        number, line = layer_spec.params
        if isinstance(number, Bound):
            if not number.holds(layer.params):
                findings.append(_over_budget(f"{key}.params", line, number, layer.params,
                                             _param_carriers(trace, layer.name), "parameters"))
        elif number.value != layer.params:
            if layer.params == sum(math.prod(shape) for _, shape in layer.own):
                details = [f"{layer.name}: {causes.params_formula(layer)}"]
            else:
                details = ["made up of:"] + [f"  {row}" for row in causes.params_breakdown(trace, layer.name)]
            findings.append(Finding(f"{key}.params", line, expected=_counted(number),
                                    actual=f"{layer.params:,}", expected_value=number.value,
                                    actual_value=layer.params, details=tuple(details), layers=mark,
                                    changes=tuple((found,) for found in candidates.params_fixes(layer, number.value)),
                                    edits=_number_edits(number, layer.params)))
    for which, stated in (("receptive_field", layer_spec.receptive_field),
                          ("effective_stride", layer_spec.effective_stride)):
        if stated is not None and trace.flow is not None:
            findings.extend(_layer_field(f"{key}.{which}", stated, layer, trace))
    wants_shapes = layer_spec.output or layer_spec.input or layer_spec.calls
    if not wants_shapes:
        return findings
    calls = trace.calls_of(layer.name)
    if not calls:
        if trace.crash is None:
            findings.append(Finding(key, layer_spec.line, message=f"{layer.name} ({layer.type_name}) "
                                    "was never called in the forward pass, so it has no shapes.",
                                    layers=mark, fix=(f"fix: call {layer.name} in forward, or state only "
                                                      "its params and type (or remove it)",)))
        return findings  # after a crash: not reached, and the crash is already reported
    if layer_spec.calls is not None:
        if len(layer_spec.calls) != len(calls):
            findings.append(Finding(f"{key}.calls", layer_spec.calls_line,
                                    expected=f"{len(layer_spec.calls)} call(s)",
                                    expected_value=len(layer_spec.calls), actual_value=len(calls),
                                    actual=f"{len(calls)} call(s): "
                                           + ", ".join(format_shapes(c.output) for c in calls),
                                    layers=mark, fix=(_calls_fix(calls),)))
        for call_spec, call in zip(layer_spec.calls, calls):
            findings.extend(_shapes_of_call(call_spec.key, call_spec.output, call_spec.input,
                                            layer, call, trace))
        return findings
    if len(calls) > 1:
        outputs = ", ".join(format_shapes(c.output) for c in calls)
        findings.append(Finding(key, layer_spec.line, message=(
            f"{layer.name} is called {len(calls)} times (outputs {outputs}): list one entry per "
            "call under `calls`."), layers=mark, fix=(_calls_fix(calls),)))
        return findings
    findings.extend(_shapes_of_call(key, layer_spec.output, layer_spec.input, layer, calls[0], trace))
    return findings


def _calls_fix(calls: list[Call]) -> str:
    """`fix: calls: [{output: [1, 6, 14, 14]}, {output: [1, 16, 5, 5]}]`: one entry per call."""
    entries = ", ".join(f"{{output: {flow_shapes(c.output)}}}" if c.finished and is_shape_tree(c.output)
                        else "{}" for c in calls)
    return f"fix, if the model is right: calls: [{entries}]"


def _shapes_of_call(key: str, output: Shapes | None, input: Shapes | None, layer: Layer,
                    call: Call, trace: Trace) -> list[Finding]:
    findings = []
    mark: tuple[str, ...] = (layer.name,)
    if input is not None:
        actual = call.input_tree if input.many else call.input
        if not input.matches(actual):
            details = _dimension_lines(f"{layer.name}.input", input, actual)
            details += causes.flatten_lines(trace, call) if layer.kind == "linear" else []
            # What reaches a layer is set by the layers before it: name the one that set it.
            setters = [setter for axis, (dim, value) in enumerate(zip(input.root.dims, actual))
                       if axis and dim is not None and dim.value != value
                       for setter in [_setter_of(trace, actual, axis, dim.value)] if setter is not None
                       ] if isinstance(input.root, Shape) and isinstance(actual, tuple) and \
                len(actual) == len(input.root.dims) else []
            details += [setter.cause for setter in setters]
            fix = [line for setter in setters for line in setter.fix]
            findings.append(Finding(f"{key}.input", input.line, expected=_expected(input),
                                    actual=format_shapes(actual), expected_value=input.as_json(),
                                    actual_value=shapes_json(actual), details=tuple(details),
                                    layers=mark + tuple(s.layer.name for s in setters), fix=tuple(fix),
                                    changes=tuple(c for s in setters for c in s.changes),
                                    steps=tuple(step for s in setters for step in s.steps),
                                    edits=_shape_edits(input, actual)))
    if output is not None:
        if not call.finished:
            findings.append(Finding(f"{key}.output", output.line, expected=_expected(output),
                                    expected_value=output.as_json(), message=f"{layer.name} raised before it produced an output.",
                                    layers=mark))
        elif not output.matches(call.output):
            details = _dimension_lines(f"{layer.name}.output", output, call.output)
            arithmetic = causes.size_arithmetic(layer, call)
            steps = causes.window_steps(layer, call)
            if arithmetic:
                details.append(f"{causes.describe(layer)}{causes.which_call(call, trace)} on input "
                               f"{format_shapes(call.input)}:")
                details.extend(f"  {line}" for line in arithmetic)
            fix, changes = _layer_fix_lines(layer, call, output.root) if isinstance(output.root, Shape) \
                else ([], [])
            if not fix and not changes and not layer.leaf and isinstance(output.root, Shape):
                # A block: the layer inside it that set the wrong numbers, and its fix.
                inner = _output_setters(Shapes(output.root, output.line), trace, {}, call.output)
                details += [setter.cause for setter in inner]
                fix = [line for setter in inner for line in setter.fix]
                changes = [c for setter in inner for c in setter.changes]
                steps += tuple(step for setter in inner for step in setter.steps)
                mark = mark + tuple(setter.layer.name for setter in inner)
            findings.append(Finding(f"{key}.output", output.line, expected=_expected(output),
                                    actual=format_shapes(call.output),
                                    expected_value=output.as_json(),
                                    actual_value=shapes_json(call.output), details=tuple(details),
                                    layers=mark, edits=_shape_edits(output, call.output), fix=tuple(fix),
                                    changes=tuple(changes), steps=steps))
    return findings


@dataclass(frozen=True)
class _Setter:
    """The layer call that set one wrong dimension of an output, and how to change it."""

    layer: Layer
    cause: str
    fix: tuple[str, ...]
    changes: tuple[Candidate, ...] = ()
    steps: tuple[Step, ...] = ()  # the window arithmetic that gave the spatial sizes it set


def _output_setters(output: Shapes, trace: Trace, kwargs: dict[str, Any],
                    produced: Any = None) -> list[_Setter]:
    """For each wrong dimension of the model's output, the layer that produced that number:
    a classifier head's out_features, a conv's out_channels or output size."""
    pairs: list[tuple[Shape, Any]] = []

    def leaves(node: ShapeNode | None, actual: Any) -> None:
        if isinstance(node, Shape):
            pairs.append((node, actual))
        elif isinstance(node, ShapeSeq) and isinstance(actual, list) and len(actual) == len(node.items):
            for item, one in zip(node.items, actual):
                leaves(item, one)
        elif isinstance(node, ShapeMap) and isinstance(actual, dict):
            for key, item in node.items:
                leaves(item, actual.get(key))

    leaves(output.root, trace.output if produced is None else produced)
    setters = []
    for shape, actual in pairs:
        if shape.matches(actual) or not isinstance(actual, tuple) or len(actual) != len(shape.dims):
            continue
        # Each wrong dimension's setter; a layer that set several is fixed for all at once.
        groups: dict[tuple[str, int], tuple[Call, dict[int, int]]] = {}
        for axis, (dim, value) in enumerate(zip(shape.dims, actual)):
            if dim is None or dim.value == value or axis == 0:
                continue  # the batch is the input's; dimension 0 is explained elsewhere
            call = _setter_call(trace, actual, axis)
            if call is not None:
                groups.setdefault((call.name, call.index), (call, {}))[1][axis] = dim.value
        for call, wanted in groups.values():
            setters.append(_setter(trace, call, wanted))
    return setters


def _setter_call(trace: Trace, produced: tuple[int, ...], axis: int) -> Call | None:
    """The last layer call, going back from the one that produced `produced`, that changed
    dimension `axis` to its value: through activations and other layers that keep it."""
    leaves = [call for call in trace.calls if call.finished and call.name
              and trace.layers[call.name].leaf and isinstance(call.output, tuple)]
    ends = [i for i, call in enumerate(leaves) if call.output == produced]
    if not ends:
        return None
    value = produced[axis]
    for call in reversed(leaves[:ends[-1] + 1]):
        out, received = call.output, call.input
        assert isinstance(out, tuple)
        if len(out) != len(produced) or out[axis] != value:
            return None  # the trail went cold: a reshape we did not see
        kind = trace.layers[call.name].kind
        sets_count = (kind in ("conv", "conv_transpose") and axis == 1) or (
            kind == "linear" and axis == len(out) - 1)  # out_channels, out_features: always its own
        if sets_count or not isinstance(received, tuple) or len(received) != len(out) \
                or received[axis] != value:
            return call
    return None


def _setter(trace: Trace, call: Call, wanted: dict[int, int]) -> _Setter:
    """What set these dimensions of `call`'s output, and the fix that makes them `wanted`."""
    layer = trace.layers[call.name]
    out = call.output
    assert isinstance(out, tuple)

    def named(axis: int) -> str:
        if axis >= 2:
            return causes.spatial_names(len(out) - 2)[axis - 2]
        return "features" if layer.kind == "linear" else "channels"

    said = ", ".join(f"{named(axis)} {out[axis]} (dimension {axis})" for axis in wanted)
    verb = "come" if len(wanted) > 1 else "comes"
    cause = f"{said} {verb} from {causes.describe(layer)}{causes.which_call(call, trace)}"
    expected = tuple(wanted.get(i, v) for i, v in enumerate(out))
    fix, changes = _layer_fix_lines(layer, call, Shape(tuple(Number(v, str(v)) for v in expected), 0))
    if layer.kind == "conv_transpose" and any(axis >= 2 for axis in wanted):
        together = _upsampling(trace, call)
        if len(together) > 1:  # each transposed conv short of its stride: all of them, first
            changes = [together, *changes]
    if not fix and not changes:
        fix = [f"{layer.name} ({layer.type_name}) has no argument cnncheck can solve for "
               f"{', '.join(str(v) for v in wanted.values())}: change what it is made with, or the spec"]
    spatial = {named(axis) for axis in wanted if axis >= 2}
    steps = tuple(step for step in causes.window_steps(layer, call) if step.axis in spatial)
    return _Setter(layer, cause, tuple(fix), tuple(changes), steps)


def _upsampling(trace: Trace, last: Call) -> Candidate:
    """The `output_padding` that makes each transposed conv up to `last` give exactly its
    input times its stride, for those that give less now: the usual decoder's intent."""
    found: dict[str, Fix] = {}
    for call in trace.calls[:trace.calls.index(last) + 1]:
        layer = trace.layers.get(call.name)
        if layer is None or layer.kind != "conv_transpose" or call.name in found or not call.finished:
            continue
        received, produced, dims = call.input, call.output, layer.hparams["dims"]
        if not isinstance(received, tuple) or not isinstance(produced, tuple):
            continue
        strides = layer.hparams["stride"]
        wanted = {axis: received[-dims + axis] * strides[axis] for axis in range(dims)}
        if all(produced[-dims + axis] == size for axis, size in wanted.items()):
            continue
        fix = next((f for f in candidates.size_fixes(layer, call, wanted, causes.spatial_names(dims), limit=8)
                    if f.change.startswith("output_padding=")), None)
        if fix is not None:
            found[call.name] = fix
    return tuple(found.values())


def _setter_of(trace: Trace, produced: tuple[int, ...], axis: int, wanted: int) -> _Setter | None:
    """The layer that set dimension `axis` of `produced`, with the fix that makes it `wanted`."""
    call = _setter_call(trace, produced, axis)
    return _setter(trace, call, {axis: wanted}) if call is not None else None


def _batch_lines(output: Shapes, trace: Trace) -> tuple[list[str], list[str], tuple[str, ...]]:
    """Where the output's first dimension is wrong: the view that stopped it being the batch."""
    if not isinstance(output.root, Shape) or not isinstance(trace.output, tuple) or not trace.reshapes:
        return [], [], ()
    first = output.root.dims[0] if output.root.dims else None
    if first is None or first.value == trace.output[0]:
        return [], [], ()
    return clashes.batch_lines(trace.reshapes[0], trace)


def _layer_fix_lines(layer: Layer, call: Call, expected: Shape) -> tuple[list[str], list[Candidate]]:
    """What to change in `layer` so that this call gives `expected`: the arguments that set
    the wrong dimensions, each checked with the layer's own arithmetic (candidates for
    repair/verify.py); and a sentence where no argument does."""
    actual = call.output
    if not isinstance(actual, tuple) or len(actual) != len(expected.dims):
        return [], []
    wrong = [i for i, (dim, value) in enumerate(zip(expected.dims, actual))
             if dim is not None and dim.value != value]
    lines: list[str] = []
    changes: list[Candidate] = []
    channel = len(actual) - 1 if layer.kind == "linear" else 1
    if channel in wrong and layer.kind in ("linear", "conv", "conv_transpose"):
        dim = expected.dims[channel]
        assert dim is not None
        fix = candidates.channel_fix(layer, dim.value)
        if fix is not None:
            changes.append((fix,))
        wrong.remove(channel)
    dims = layer.hparams.get("dims", 0)
    spatial = {i - (len(actual) - dims): expected.dims[i].value for i in wrong  # type: ignore[union-attr]
               if layer.kind in ("conv", "conv_transpose", "pool") and i >= len(actual) - dims}
    if spatial:
        found = candidates.size_fixes(layer, call, spatial, causes.spatial_names(dims))
        if found:
            # With a channel fix as well, both are needed: each size fix joins it.
            changes = [(*changes[0], fix) for fix in found] if changes else [(fix,) for fix in found]
        else:
            lines.append(f"no change of one argument of {layer.name} gives "
                         f"{', '.join(f'{causes.spatial_names(dims)[a]}={v}' for a, v in spatial.items())} "
                         f"from input {format_shapes(call.input)}: the layers before it set what reaches it")
    return lines, changes


def _flatten(name: str, features: Number, line: int, trace: Trace) -> list[Finding]:
    key = f"expect.flatten.{name}"
    layer = trace.layers.get(name)
    if layer is None:
        return [_unknown_layer(name, key, line, trace)]
    if layer.kind != "linear":
        return [Finding(key, line, message=f"{name} is a {layer.type_name}, not a Linear: "
                                           "expect.flatten names the Linear layers that receive "
                                           "a flattened tensor.", layers=(name,))]
    calls = trace.calls_of(name)
    if not calls:
        if trace.crash is not None:
            return []
        return [Finding(key, line, message=f"{name} was never called in the forward pass.",
                        layers=(name,))]
    received = calls[0].input
    actual = received[-1] if isinstance(received, tuple) and received else None
    mixed = [r for r in trace.reshapes if r.output == received]
    if actual == features.value and mixed:
        lines, fix, named = clashes.batch_lines(mixed[0], trace)
        return [Finding(key, line, message=(
            f"{name} receives {actual:,} features a row, as stated, but its rows are not samples."),
            details=tuple(lines), layers=tuple(dict.fromkeys((name, *named))), fix=tuple(fix))]
    if actual == features.value:
        return []
    details = causes.flatten_lines(trace, calls[0])
    if layer.hparams["in_features"] != actual:
        details.append(f"and {name} has in_features={layer.hparams['in_features']}")
    source = causes.flatten_source(trace, calls[0])
    written = "*".join(str(d) for d in source[1:]) if source is not None and len(source) > 2 else str(actual)
    flatten_fix = (f"fix, if the model is right: write {name}: {written} (= {actual:,})",
                   f"for {features.value:,} features the layers before {name} would have to give a shape "
           "that multiplies out to it: `cnncheck sizes` names the input sizes that run")
    return [Finding(key, line, expected=_counted(features), expected_value=features.value,
                    actual_value=actual if isinstance(actual, int) else shapes_json(received),
                    actual=f"{actual:,}" if isinstance(actual, int) else format_shapes(received),
                    details=tuple(details), layers=(name,), fix=flatten_fix,
                    edits=_number_edits(features, actual) if isinstance(actual, int) else None)]


def _pooling_rule(spec: Spec, trace: Trace) -> list[Finding]:
    assert spec.pooling is not None
    allowed = set(spec.pooling)
    allowed_text = ", ".join(f"F={f},S={s}" for f, s in spec.pooling)
    findings = []
    for layer in trace.layers.values():
        if layer.kind != "pool":
            continue
        h = layer.hparams
        pairs = list(zip(h["kernel_size"], h["stride"]))
        bad = [(name, f, s) for name, (f, s) in zip(causes.spatial_names(h["dims"]), pairs)
               if (f, s) not in allowed]
        if bad:
            where = ", ".join(f"{name}: F={f}, S={s}" for name, f, s in bad)
            found, fix = candidates.pooling_fix(layer, trace.calls_of(layer.name), spec.pooling)
            findings.append(Finding("rules.pooling", spec.pooling_line, message=(
                f"{causes.describe(layer)} pools with {where}; allowed: {allowed_text} "
                "(larger windows discard too much)."), layers=(layer.name,), fix=tuple(fix),
                changes=tuple((one,) for one in found)))
    return findings


def _exact_division_rule(spec: Spec, trace: Trace) -> list[Finding]:
    findings = []
    for call in trace.calls:
        layer = trace.layers.get(call.name)
        if layer is None or layer.kind not in ("conv", "pool"):
            continue
        remainders = causes.division_steps(layer, call)
        if remainders:
            which = f" (call {call.index + 1})" if len(trace.calls_of(call.name)) > 1 else ""
            found, notes = candidates.division_fix(layer, call, causes.spatial_names(layer.hparams["dims"]))
            findings.append(Finding("rules.exact_division", spec.exact_division_line, message=(
                f"{causes.describe(layer)}{which} on input {format_shapes(call.input)} does not "
                "divide exactly: (W - F + 2P) / S leaves a remainder, so border pixels are dropped "
                "or padded unevenly."), details=tuple(causes.step_lines(remainders)), steps=remainders, layers=(layer.name,),
                fix=tuple(notes) if found or notes else (
                    f"no padding or kernel of {layer.name} divides exactly here: the input that "
                    "reaches it would have to change",), changes=tuple((one,) for one in found)))
    return findings


def check_scan(spec: Spec, traces: list[Trace]) -> list[Finding]:
    """`expect.accepts`: the sizes of the sweep that ran, against the sizes the spec says run."""
    scan = spec.scan
    assert scan is not None and len(traces) == len(scan.points)
    points = [(bindings, trace) for (bindings, _), trace in zip(scan.points, traces)]
    ran = [bindings for bindings, trace in points if trace.crash is None]
    surprise = [b for b in ran if not scan.expected(b)]
    refused = [(b, t) for b, t in points if t.crash is not None and scan.expected(b)]
    if not surprise and not refused:
        return []
    details = []
    if surprise:
        shown = ", ".join(label(b) for b in surprise[:6])
        more = f" and {len(surprise) - 6} more" if len(surprise) > 6 else ""
        details.append(f"runs, though expect.accepts leaves it out: {shown}{more}")
    if refused:
        details.append("fails, though expect.accepts includes it:")
        details.extend(f"  {line}" for line in causes.rejections(points, scan.expected))
    tried = ", ".join(f"{names} in {describe_sizes(values)}"
                      for names, values in causes.tied_columns([b for b, _ in scan.points]))
    details.append(f"tried {len(points)} size(s): {tried}")
    actual = "; ".join(f"{name}: {describe_sizes(dict(b)[name] for b in ran)}"
                       for name, _ in scan.accepts)
    broken = {call.name for _, trace in refused[:1]
              for call in [causes.failing_call(trace)] if call is not None and call.name}
    return [Finding("expect.accepts", scan.line,
                    expected="; ".join(f"{name}: {sizes}" for name, sizes in scan.accepts),
                    expected_value={name: str(sizes) for name, sizes in scan.accepts},
                    actual_value=[dict(b) for b in ran],
                    actual=actual, details=tuple(details), layers=tuple(broken),
                    fix=(f"fix, if the model is right: accepts: {{{actual.replace(';', ',')}}}",
                         "else each failing size above says what breaks there"))]


def first_against(spec: Spec, traces: list[Trace]) -> tuple[Spec, Trace]:
    """The first size of a scan that went against `expect.accepts`, as the spec at that
    size and its trace: the layer table a scan's failure shows is of this one."""
    assert spec.scan is not None
    for (bindings, sizes), trace in zip(spec.scan.points, traces):
        if (trace.crash is None) != spec.scan.expected(bindings):
            return replace(spec, bindings=bindings, input_sizes=sizes), trace
    return spec, traces[0]


# -- receptive fields -------------------------------------------------------------------


def _field_findings(key: str, stated: FieldSpec, entries: tuple[fields.Entry, ...], stride: bool,
                    who: str) -> tuple[str, Any, Any] | None:
    """None where `entries` (one feature's field, or its effective stride) is as stated;
    else (the sentence, the expected and the actual values as a machine reads them)."""
    unknown = next((e for e in entries if isinstance(e, fields.Unknown)), None)
    if unknown is not None:
        return (f"{who}'s receptive field can't be followed: {unknown.why}.", str(stated), None)
    actual: Any = _field_value(entries, stride)
    if not entries:
        return (f"{who}'s output has no spatial dimensions to have a receptive field.", str(stated), None)
    if stated.whole:
        return None if actual == "whole" else ("", "whole", actual)
    counts = stated.per_dim(len(entries))
    if len(counts) != len(entries):
        return (f"`{key}` gives {len(counts)} numbers for {len(entries)} spatial dimension(s).",
                [getattr(c, "value", None) for c in counts], actual)
    ok = True
    for count, entry in zip(counts, entries):
        if isinstance(entry, fields.Whole):
            ok &= isinstance(count, Bound) and count.high is None
        elif isinstance(entry, fields.Axis):
            value = entry.stride if stride else entry.size
            ok &= count.holds(value) if isinstance(count, Bound) else count.value == value  # type: ignore[arg-type]
    expected = [c.value if isinstance(c, Number) else str(c) for c in counts]
    return None if ok else ("", expected if len(expected) > 1 else expected[0], actual)


def _field_value(entries: tuple[fields.Entry, ...], stride: bool) -> Any:
    """As JSON reads it: `whole`, a number (every dimension the same) or one per dimension."""
    if entries and all(isinstance(e, fields.Whole) for e in entries):
        return "whole"
    values = [fields.plain(e.stride if stride else e.size) if isinstance(e, fields.Axis) else "whole"
              for e in entries]
    return values[0] if len(set(map(str, values))) == 1 else values


def _field_lines(name: str, entries: tuple[fields.Entry, ...]) -> list[str]:
    """What one feature of `name` sees, and the arithmetic of the path that set it, layer by
    layer (once for dimensions that share it)."""
    lines = []
    axes = [(dim, e) for dim, e in zip(causes.spatial_names(len(entries)), entries) if isinstance(e, fields.Axis)]
    for dim, entry in axes:
        if entry.came is not None:
            same = [d for d, e in axes if fields.arithmetic(e) == fields.arithmetic(entry)]
            if same[0] != dim:
                continue
            start = entry.start
            where = f"{fields.number(-start)} into the padding" if start < 0 else f"at {fields.number(start)}"
            lines.append(f"{' and '.join(same)}: one feature of {name} sees {fields.number(entry.size)} input "
                         f"positions, features {fields.number(entry.stride)} apart (the first one's field "
                         f"starts {where}):")
            lines.extend(f"  {line}" for line in fields.arithmetic(entry))
    wholes = [(dim, e) for dim, e in zip(causes.spatial_names(len(entries)), entries)
              if isinstance(e, fields.Whole)]
    for why in dict.fromkeys(e.why for _, e in wholes):
        # A field whole in every dimension it has (a flattened one has only one) needs no names.
        dims = "" if len(wholes) == len(entries) and len({e.why for _, e in wholes}) == 1 else \
            " and ".join(dim for dim, e in wholes if e.why == why) + ": "
        lines.append(f"{dims}{name} sees the whole input, from where every position was mixed: "
                     f"{why or 'an operation over all of them'}")
    return lines


def _layer_field(key: str, stated: FieldSpec, layer: Layer, trace: Trace) -> list[Finding]:
    assert trace.flow is not None
    stride = key.endswith("effective_stride")
    for index, call in enumerate(trace.calls):
        if call.name != layer.name or not call.finished:
            continue
        entries = trace.flow.fields[index] or ()
        who = (layer.name or "the model") + causes.which_call(call, trace)
        found = _field_findings(key, stated, entries, stride, who)
        if found is None:
            continue
        message, expected, actual = found
        exact = not stated.whole and all(isinstance(c, Number) for c in stated.counts)
        text = _field_text(actual)
        fix: tuple[str, ...] = ()
        if actual is not None and exact:
            fix = (f"fix, if the model is right: write {key.rsplit('.', 1)[-1]}: {text}",)
        elif actual is not None and not stride:
            fix = tuple(_widen_fixes(entries, stated)) + ("or: move the bound",)
        return [Finding(key, stated.line, message=message or None,
                        expected=None if message else str(stated), actual=None if message else text,
                        expected_value=expected, actual_value=actual,
                        details=tuple(_field_lines(who, entries)), layers=(layer.name,), fix=fix,
                        edits=_edits((stated.span, text)) if exact and actual is not None and not message else None)]
    return []


def _widen_fixes(entries: tuple[fields.Entry, ...], stated: FieldSpec) -> list[str]:
    """For a field below what is stated: the convs that widen it enough, counted again."""
    if stated.whole:
        return []
    fix: list[tuple[str, list[str]]] = []
    counts = stated.per_dim(len(entries))
    for dim, entry, count in zip(causes.spatial_names(len(entries)), entries, counts):
        want = count.value if isinstance(count, Number) else count.low.value if count.low else None
        if isinstance(entry, fields.Axis) and want is not None and entry.size < want:
            fix.append((dim, fields.widen(entry, int(want))))
    if len(fix) > 1 and all(lines == fix[0][1] for _, lines in fix):
        fix = [(" and ".join(causes.spatial_names(len(entries))), fix[0][1])]
    return [f"suggestion ({dim}): {line}" if not line.startswith("or: ") else line
            for dim, lines in fix for line in lines]


def _field_text(actual: Any) -> str:
    if isinstance(actual, list):
        return "[" + ", ".join(_field_text(a) for a in actual) + "]"
    return str(actual)


def _receptive_field_rule(stated: FieldSpec, trace: Trace) -> list[Finding]:
    """The widest features (the layer output with more than one position whose field is
    largest) see at least what the rule states."""
    found = widest(trace)
    if found is None:
        return [Finding("rules.receptive_field", stated.line, message=(
            "No layer output has both spatial positions and a field that can be followed, so the "
            "rule has nothing to check."), fix=("fix: remove the rule, or state the field of one layer",))]
    call, entries = found
    name = (call.name + causes.which_call(call, trace)) if call.name else "the model"
    wanted: list[Any] = ["whole"] * len(entries)
    if stated.whole:
        ok = all(isinstance(e, fields.Whole) for e in entries)
    else:
        wanted = [c.value if isinstance(c, Number) else (c.low.value if c.low else 0)
                  for c in stated.per_dim(len(entries))]
        if len(wanted) != len(entries):
            return [Finding("rules.receptive_field", stated.line, message=(
                f"`rules.receptive_field` gives {len(wanted)} numbers for {len(entries)} spatial "
                "dimension(s)."))]
        ok = all(isinstance(e, fields.Whole) or isinstance(e, fields.Axis) and e.size >= w
                 for e, w in zip(entries, wanted))
    if ok:
        return []
    actual = _field_value(entries, False)
    fix = _widen_fixes(entries, stated)
    if stated.whole:
        fix.append("fix: a global pooling (AdaptiveAvgPool2d(1)) or attention makes every feature see the "
                   "whole input")
    return [Finding("rules.receptive_field", stated.line, message=(
        f"The widest features, {name}'s output {format_shapes(call.output)}, see "
        f"{fields.describe(entries)} of the input, below the {stated if stated.whole else 'x'.join(map(str, wanted))} "
        "the rule asks for."),
        expected_value=wanted if not stated.whole else "whole", actual_value=actual,
        details=tuple(_field_lines(name, entries)), layers=(call.name,) if call.name else (), fix=tuple(fix))]
