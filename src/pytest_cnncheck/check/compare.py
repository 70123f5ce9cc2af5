"""Spec x Trace -> findings: every mismatch and broken rule, each with its explanation.

Pure comparisons: no torch, no I/O. Only what the spec gives is checked, and
every mismatch is reported, not only the first.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import replace
from typing import Any

from ..arithmetic import Counted
from ..explain import candidates, causes, clashes, rejections
from ..findings import Candidate, Finding, Hint
from ..spec.model import (
    Bound,
    LayerSpec,
    Number,
    Shape,
    ShapeMap,
    ShapeNode,
    Shapes,
    ShapeSeq,
    Spec,
    node_matches,
    node_text,
)
from ..spec.sizes import describe as describe_sizes
from ..spec.sizes import label, tied_columns
from ..spec.validate import did_you_mean
from ..trace import Call, Layer, Trace, format_shapes, shapes_json
from .budgets import counted_text, memory_findings, mult_adds_findings, over_budget, param_carriers, params_findings
from .edits import flow_shapes, is_shape_tree, number_edits, shape_edits, value_edits
from .receptive import layer_field, receptive_field_rule
from .rules import exact_division_rule, pooling_rule
from .setters import batch_lines, layer_fix_lines, output_setters, setter_of


def check(spec: Spec, trace: Trace) -> list[Finding]:
    findings: list[Finding] = []
    if trace.crash is not None:
        findings.append(_crash(spec, trace))
    if spec.output is not None and trace.crash is None:
        if not spec.output.matches(trace.output):
            setters = output_setters(spec.output, trace, spec.kwargs)
            batch, batch_fix, batch_layers = batch_lines(spec.output, trace)
            findings.append(Finding("expect.output", spec.output.line,
                                    layers=tuple(dict.fromkeys([s.layer.name for s in setters]
                                                               + list(batch_layers))),
                                    hints=tuple([hint for s in setters for hint in s.hints] + batch_fix),
                                    changes=tuple(c for s in setters for c in s.changes),
                                    expected=_expected(spec.output),
                                    actual=format_shapes(trace.output),
                                    expected_value=spec.output.as_json(),
                                    actual_value=shapes_json(trace.output),
                                    details=tuple(_dimension_lines("output", spec.output, trace.output)
                                                  + [s.cause for s in setters] + batch),
                                    steps=tuple(step for s in setters for step in s.steps),
                                    edits=shape_edits(spec.output, trace.output)))
    if spec.params is not None:
        findings.extend(params_findings(spec, trace))
    if spec.mult_adds is not None and trace.crash is None:
        findings.extend(mult_adds_findings(spec, trace))
    if spec.memory and trace.crash is None:
        findings.extend(memory_findings(spec, trace))
    for layer_spec in spec.layers:
        findings.extend(_layer(layer_spec, trace))
    for flatten in spec.flatten:
        findings.extend(_flatten(flatten.name, flatten.features, flatten.line, trace))
    if spec.pooling is not None:
        findings.extend(pooling_rule(spec, trace))
    if spec.exact_division:
        findings.extend(exact_division_rule(spec, trace))
    if spec.receptive_field is not None and trace.crash is None:
        findings.extend(receptive_field_rule(spec.receptive_field, trace))
    return _folded(findings, trace, agreeing(spec, findings))


def agreeing(spec: Spec, findings: list[Finding]) -> tuple[str, ...]:
    """The facts the spec states that the model agrees with: what weighs a lone mismatch
    towards the spec's side (`output`, `params`, `conv1`, `flatten fc1`)."""
    facts = ([("expect.output", "output")] if spec.output is not None else []) + \
        ([("expect.params", "params")] if spec.params is not None else []) + \
        [(f"expect.layers.{layer.name}", layer.name) for layer in spec.layers] + \
        [(f"expect.flatten.{flatten.name}", f"flatten {flatten.name}") for flatten in spec.flatten]
    keys = {finding.key for finding in findings}
    return tuple(label for key, label in facts
                 if key not in keys and not any(found.startswith(key + ".") for found in keys))


def _folded(findings: list[Finding], trace: Trace, agrees: tuple[str, ...] = ()) -> list[Finding]:
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
            out.append(replace(finding, follows=why, hints=()))
        else:
            out.append(finding if finding.hints or finding.changes else
                       replace(finding, hints=_no_fix(finding, trace, agrees)))
    return sorted(out, key=lambda f: f.follows is not None)  # root causes first, order kept


def _no_fix(finding: Finding, trace: Trace, agrees: tuple[str, ...] = ()) -> tuple[Hint, ...]:
    """For a finding no fix was computed for: the value to write where the model may be
    right (and the update can write it), else why no fix applies. Every finding says one
    or the other; the checks leave the plain "write the actual value" to this. Where the
    model ran and agrees with the spec's other facts, one line says so: the weight on the
    spec's side."""
    weighed = (f"the model agrees with the spec's {causes.listed(agrees, most=6)}: this value is the likelier "
               "mistake",) if agrees and trace.crash is None else ()
    if finding.updatable and finding.actual is not None:
        return (Hint.if_right(f"write {finding.actual} (`pytest --cnncheck-update` writes it)", lines=weighed),)
    if finding.inherited is not None and finding.actual is not None:
        return (Hint.if_right(f"write {finding.actual} where the anchor it is inherited from states it "
                              "(every spec that shares it changes too)"),)
    close = trace.crash.close_name if trace.crash is not None else None
    if finding.key == "forward" and close is not None and close in trace.layers:
        attribute = close.rpartition(".")[2]
        return (Hint.suggest(f"did you mean `self.{attribute}`? {causes.describe(trace.layers[close])} "
                             "is a layer of that module", layer=close),)
    if finding.key == "forward":
        return (Hint.none("no fix cnncheck can check: the error comes from the model's own code at the line "
                          "above, not from sizes that a layer's arguments or two tensors' shapes explain"),)
    if finding.actual is not None:
        return (Hint.if_right(f"write {finding.actual}"),)
    return (Hint.none("no fix cnncheck can compute for this: the sentence above says what to change"),)


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


def _crash(spec: Spec, trace: Trace) -> Finding:
    assert trace.crash is not None
    call = causes.failing_call(trace)
    details = causes.crash_lines(trace)
    if trace.crash.where:
        details.append(f"at {trace.crash.where}")
    explained = causes.crash_cause(trace) is not None
    clash = clashes.explain_clash(trace) if not explained else None
    if clash is not None:
        details = [*clash.lines, f"torch{' on meta' if trace.device == 'meta' else ''} said: "
                                 f"{trace.crash.exception}"]
        return Finding("forward", spec.input_line, details=tuple(details), layers=clash.layers,
                       message=f"The forward pass on input {spec.input_text} failed"
                               f"{' in ' if trace.clash is not None and trace.clash.layer else ': '}"
                               f"{clash.brief}",
                       hints=clash.hints, changes=clash.changes, steps=clash.steps)
    if explained and call is not None:
        # Lead with the cause in the model's terms; torch's own sentence (on meta, words
        # no user has seen) comes last, for the record.
        where, why = causes.crash_brief(trace)
        message = f"The forward pass on input {spec.input_text} failed in {why}"
        details.append(f"torch{' on meta' if trace.device == 'meta' else ''} said: {trace.crash.exception}")
    else:
        message = f"The forward pass on input {spec.input_text} raised {trace.crash.exception}"
    found, hints = candidates.crash_fix(trace)
    changes: list[Candidate] = [(one,) for one in found]
    indices = _index_dtype(spec, trace, call)
    if indices is not None:
        hints = [indices]
    layers: tuple[str, ...] = (call.name,) if call is not None and call.name else ()
    cause = causes.crash_reason(trace)
    mistake = _input_mistake(spec.input_sizes[0], trace) if len(spec.input_sizes) == 1 else None
    if mistake is not None:
        # The spec's input, not a layer: a change of the layer would only fit the mistake.
        line, hints, named = mistake
        details.insert(len(causes.crash_lines(trace)), line)
        changes, layers = [], tuple(dict.fromkeys((*layers, *named)))
    elif cause is not None and cause.what in ("in_channels", "num_features"):
        # Or the layer that made the channels: out_channels that fit what comes next.
        producer = setter_of(trace, cause.received, 1, cause.wanted)
        if producer is not None and producer.changes:
            changes.extend(producer.changes)
            layers += (producer.layer.name,)
    return Finding("forward", spec.input_line, message=message, details=tuple(details),
                   layers=layers, hints=tuple(hints), changes=tuple(changes), steps=causes.crash_steps(trace))


def _input_mistake(given: tuple[int, ...], trace: Trace) -> tuple[str, list[Hint], tuple[str, ...]] | None:
    """A crash whose cause is the spec's input as given, where the shapes say so: channels
    last, or no batch dimension. The line that says it, the hints (the spec's input as it
    would run, where the probe ran the whole model at it), and the layers it names."""
    layout = causes.channels_last(trace, given)
    if layout is not None:
        layer, dims = layout.layer, layout.layer.hparams["dims"]
        takes = "[N, C, L]" if dims == 1 else f"[N, C, {', '.join(causes.spatial_names(dims))}]"
        line = (f"{format_shapes(given)} has its {given[-1]} channels last, as images and sequences often "
                f"come; {layer.type_name} takes them first, {takes}: {format_shapes(layout.first)}")
        permute = Hint.suggest(f"for data that comes channels last, permute it before {layer.name}: "
                               f"x = x.permute({', '.join(map(str, layout.order))})")
        if layout.first not in trace.fitting_inputs:
            return line, [permute], ()
        return line, [Hint.spec(f"input_size: {format_shapes(layout.first)}, channels first (the model was run "
                                "at it, and runs through)"), replace(permute, alternative=True)], ()
    first = causes.unbatched(trace, given)
    if first is None or (1, *given) not in trace.fitting_inputs:
        return None
    kind = trace.layers[first.name].type_name
    line = (f"{first.name} ({kind}) took {format_shapes(given)} as one sample without a batch dimension, "
            f"as a {kind} may, and gave {format_shapes(first.output)}: the layers after it take its channels "
            "for the batch")
    return line, [Hint.spec(f"input_size: {format_shapes((1, *given))}, with a batch dimension (the model "
                            "was run at it, and runs through)")], (first.name,)


_INDEXED = ("Embedding", "EmbeddingBag")


def _index_dtype(spec: Spec, trace: Trace, call: Call | None) -> Hint | None:
    """For an Embedding that was given a float input, the spec's side: its input is
    token ids, so the spec's `dtype` is wrong, not the model."""
    layer = trace.layers.get(call.name) if call is not None and call.name else None
    if layer is None or layer.type_name not in _INDEXED:
        return None
    floats = [i for i, dtype in enumerate(spec.dtypes) if dtype.startswith(("float", "bfloat", "half", "double"))]
    if not floats:
        return None
    return Hint.spec(f"dtype: int64. {layer.name} ({layer.type_name}) takes token ids, integers, "
                     f"and the dummy input is {spec.dtypes[floats[0]]}; the inputs are zeros, a valid id")


def _unknown_layer(name: str, key: str, line: int, trace: Trace) -> Finding:
    names = [n for n in trace.layers if n]
    hint = did_you_mean(name, names, n=3)
    close = difflib.get_close_matches(name, names, n=1)
    fix = Hint.spec(f"write {close[0]}" if close else
                    f"write one of {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}")
    return Finding(key, line, message=f"The model has no layer named {name!r}.{hint} "
                                      "Names are those of model.named_modules().", hints=(fix,))


# Complex on purpose: one branch per key a layer's expectations hold (params, type, input, output, calls).
def _layer(layer_spec: LayerSpec, trace: Trace) -> list[Finding]:  # noqa: C901
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
                                    layers=mark, hints=(Hint.if_right(f"write type: {layer.type_name}"),),
                                    edits=value_edits((layer_spec.type_span, layer.type_name))))
    if layer_spec.params is not None:
        number, line = layer_spec.params
        if isinstance(number, Bound):
            if not number.holds(layer.params):
                findings.append(over_budget(f"{key}.params", line, number, layer.params,
                                             param_carriers(trace, layer.name), "parameters"))
        elif number.value != layer.params:
            if layer.params == sum(math.prod(shape) for _, shape in layer.own):
                counts: tuple[Counted, ...] = (causes.counted(layer),)
                details = [f"{layer.name}: {counts[0].text()}"]
            else:
                rows, counts = causes.params_breakdown(trace, layer.name)
                details = ["made up of:"] + [f"  {row}" for row in rows]
            findings.append(Finding(f"{key}.params", line, expected=counted_text(number),
                                    actual=f"{layer.params:,}", expected_value=number.value,
                                    actual_value=layer.params, details=tuple(details), layers=mark, steps=counts,
                                    changes=tuple((found,) for found in candidates.params_fixes(layer, number.value)),
                                    edits=number_edits(number, layer.params)))
    for which, stated in (("receptive_field", layer_spec.receptive_field),
                          ("effective_stride", layer_spec.effective_stride)):
        if stated is not None and trace.flow is not None:
            findings.extend(layer_field(f"{key}.{which}", stated, layer, trace))
    wants_shapes = layer_spec.output or layer_spec.input or layer_spec.calls
    if not wants_shapes:
        return findings
    calls = trace.calls_of(layer.name)
    if not calls:
        if trace.crash is None:
            findings.append(Finding(key, layer_spec.line, message=f"{layer.name} ({layer.type_name}) "
                                    "was never called in the forward pass, so it has no shapes.",
                                    layers=mark, hints=(Hint.suggest(
                                        f"call {layer.name} in forward, or state only its params and type (or "
                                        "remove it)"),)))
        return findings  # after a crash: not reached, and the crash is already reported
    if layer_spec.calls is not None:
        if len(layer_spec.calls) != len(calls):
            findings.append(Finding(f"{key}.calls", layer_spec.calls_line,
                                    expected=f"{len(layer_spec.calls)} call(s)",
                                    expected_value=len(layer_spec.calls), actual_value=len(calls),
                                    actual=f"{len(calls)} call(s): "
                                           + ", ".join(format_shapes(c.output) for c in calls),
                                    layers=mark, hints=(_calls_fix(calls),)))
        for call_spec, call in zip(layer_spec.calls, calls):
            findings.extend(_shapes_of_call(call_spec.key, call_spec.output, call_spec.input,
                                            layer, call, trace))
        return findings
    if len(calls) > 1:
        outputs = ", ".join(format_shapes(c.output) for c in calls)
        findings.append(Finding(key, layer_spec.line, message=(
            f"{layer.name} is called {len(calls)} times (outputs {outputs}): list one entry per "
            "call under `calls`."), layers=mark, hints=(_calls_fix(calls),)))
        return findings
    findings.extend(_shapes_of_call(key, layer_spec.output, layer_spec.input, layer, calls[0], trace))
    return findings


def _calls_fix(calls: list[Call]) -> Hint:
    """`fix: calls: [{output: [1, 6, 14, 14]}, {output: [1, 16, 5, 5]}]`: one entry per call."""
    entries = ", ".join(f"{{output: {flow_shapes(c.output)}}}" if c.finished and is_shape_tree(c.output)
                        else "{}" for c in calls)
    return Hint.if_right(f"calls: [{entries}]")


def _shapes_of_call(key: str, output: Shapes | None, input: Shapes | None, layer: Layer,
                    call: Call, trace: Trace) -> list[Finding]:
    findings = []
    mark: tuple[str, ...] = (layer.name,)
    if input is not None:
        actual = call.input_tree if input.many else call.input
        if not input.matches(actual):
            details = _dimension_lines(f"{layer.name}.input", input, actual)
            flat = causes.flattened(trace, call) if layer.kind == "linear" else None
            details += causes.flatten_lines(call, flat) if layer.kind == "linear" else []
            # What reaches a layer is set by the layers before it: name the one that set it.
            setters = [setter for axis, (dim, value) in enumerate(zip(input.root.dims, actual))
                       if axis and dim is not None and dim.value != value
                       for setter in [setter_of(trace, actual, axis, dim.value)] if setter is not None
                       ] if isinstance(input.root, Shape) and isinstance(actual, tuple) and \
                len(actual) == len(input.root.dims) else []
            details += [setter.cause for setter in setters]
            hints = [hint for setter in setters for hint in setter.hints]
            findings.append(Finding(f"{key}.input", input.line, expected=_expected(input),
                                    actual=format_shapes(actual), expected_value=input.as_json(),
                                    actual_value=shapes_json(actual), details=tuple(details),
                                    layers=mark + tuple(s.layer.name for s in setters), hints=tuple(hints),
                                    changes=tuple(c for s in setters for c in s.changes),
                                    steps=((flat,) if flat else ()) + tuple(step for s in setters for step in s.steps),
                                    edits=shape_edits(input, actual)))
    if output is not None:
        if not call.finished:
            findings.append(Finding(f"{key}.output", output.line, expected=_expected(output),
                                    expected_value=output.as_json(),
                                    message=f"{layer.name} raised before it produced an output.", layers=mark))
        elif not output.matches(call.output):
            details = _dimension_lines(f"{layer.name}.output", output, call.output)
            arithmetic = causes.size_arithmetic(layer, call)
            steps = causes.size_steps(layer, call)
            if arithmetic:
                details.append(f"{causes.describe(layer)}{causes.which_call(call, trace)} on input "
                               f"{format_shapes(call.input)}:")
                details.extend(f"  {line}" for line in arithmetic)
            hints, changes = layer_fix_lines(layer, call, output.root) if isinstance(output.root, Shape) \
                else ([], [])
            if not hints and not changes and not layer.leaf and isinstance(output.root, Shape):
                # A block: the layer inside it that set the wrong numbers, and its fix.
                inner = output_setters(Shapes(output.root, output.line), trace, {}, call.output)
                details += [setter.cause for setter in inner]
                hints = [hint for setter in inner for hint in setter.hints]
                changes = [c for setter in inner for c in setter.changes]
                steps += tuple(step for setter in inner for step in setter.steps)
                mark = mark + tuple(setter.layer.name for setter in inner)
            findings.append(Finding(f"{key}.output", output.line, expected=_expected(output),
                                    actual=format_shapes(call.output),
                                    expected_value=output.as_json(),
                                    actual_value=shapes_json(call.output), details=tuple(details),
                                    layers=mark, edits=shape_edits(output, call.output), hints=tuple(hints),
                                    changes=tuple(changes), steps=steps))
    return findings


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
        lines, hints, named = clashes.batch_lines(mixed[0], trace)
        return [Finding(key, line, message=(
            f"{name} receives {actual:,} features a row, as stated, but its rows are not samples."),
            details=tuple(lines), layers=tuple(dict.fromkeys((name, *named))), hints=tuple(hints))]
    if actual == features.value:
        return []
    flat = causes.flattened(trace, calls[0])
    details = causes.flatten_lines(calls[0], flat)
    if layer.hparams["in_features"] != actual:
        details.append(f"and {name} has in_features={layer.hparams['in_features']}")
    written = "*".join(str(d) for d in flat.shape[1:]) if flat is not None and len(flat.shape) > 2 else str(actual)
    flatten_fix = (Hint.if_right(f"write {name}: {written} (= {actual:,})"),
                   Hint.none(f"for {features.value:,} features the layers before {name} would have to give "
                             "a shape that multiplies out to it: `cnncheck sizes` names the input sizes that run"))
    return [Finding(key, line, expected=counted_text(features), expected_value=features.value,
                    actual_value=actual if isinstance(actual, int) else shapes_json(received),
                    actual=f"{actual:,}" if isinstance(actual, int) else format_shapes(received),
                    details=tuple(details), layers=(name,), hints=flatten_fix, steps=(flat,) if flat else (),
                    edits=number_edits(features, actual) if isinstance(actual, int) else None)]


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
        shown = "; ".join(label(b) for b in surprise[:6])  # `H=8, W=16; H=8, W=32`
        more = f" and {len(surprise) - 6} more" if len(surprise) > 6 else ""
        details.append(f"runs, though expect.accepts leaves it out: {shown}{more}")
    if refused:
        details.append("fails, though expect.accepts includes it:")
        details.extend(f"  {line}" for line in rejections.rejections(points, scan.expected))
    tried = ", ".join(f"{names} in {describe_sizes(values)}"
                      for names, values in tied_columns([b for b, _ in scan.points]))
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
                    hints=(Hint.if_right(f"accepts: {{{actual.replace(';', ',')}}}"),
                           Hint.none("else each failing size above says what breaks there")))]


def first_against(spec: Spec, traces: list[Trace]) -> tuple[Spec, Trace]:
    """The first size of a scan that went against `expect.accepts`, as the spec at that
    size and its trace: the layer table a scan's failure shows is of this one."""
    assert spec.scan is not None
    for (bindings, sizes), trace in zip(spec.scan.points, traces):
        if (trace.crash is None) != spec.scan.expected(bindings):
            return replace(spec, bindings=bindings, input_sizes=sizes), trace
    return spec, traces[0]


# -- receptive fields -------------------------------------------------------------------


