"""Receptive fields: a layer's stated field or effective stride, and rules.receptive_field
for the widest features."""

from __future__ import annotations

from typing import Any

from .. import fields
from ..explain import causes
from ..findings import Finding, Hint
from ..spec.model import Bound, FieldSpec, Number
from ..trace import Layer, Trace, format_shapes, widest
from .edits import value_edits


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


def layer_field(key: str, stated: FieldSpec, layer: Layer, trace: Trace) -> list[Finding]:
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
        hints: tuple[Hint, ...] = ()
        if actual is not None and exact:
            hints = (Hint.if_right(f"write {key.rsplit('.', 1)[-1]}: {text}"),)
        elif actual is not None and not stride:
            hints = (*_widen_fixes(entries, stated), Hint.spec("move the bound", alternative=True))
        return [Finding(key, stated.line, message=message or None,
                        expected=None if message else str(stated), actual=None if message else text,
                        expected_value=expected, actual_value=actual,
                        details=tuple(_field_lines(who, entries)), layers=(layer.name,), hints=hints,
                        edits=value_edits((stated.span, text)) if exact and actual is not None and not message
                        else None)]
    return []


def _widen_fixes(entries: tuple[fields.Entry, ...], stated: FieldSpec) -> list[Hint]:
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
    return [Hint.suggest(f"({dim}) {line}", alternative=bool(i))
            for dim, lines in fix for i, line in enumerate(lines)]


def _field_text(actual: Any) -> str:
    if isinstance(actual, list):
        return "[" + ", ".join(_field_text(a) for a in actual) + "]"
    return str(actual)


def receptive_field_rule(stated: FieldSpec, trace: Trace) -> list[Finding]:
    """The widest features (the layer output with more than one position whose field is
    largest) see at least what the rule states."""
    found = widest(trace)
    if found is None:
        return [Finding("rules.receptive_field", stated.line, message=(
            "No layer output has both spatial positions and a field that can be followed, so the "
            "rule has nothing to check."), hints=(Hint.spec("remove the rule, or state the field of one layer"),))]
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
    hints = _widen_fixes(entries, stated)
    if stated.whole:
        hints.append(Hint.suggest("a global pooling (AdaptiveAvgPool2d(1)) or attention makes every feature "
                                  "see the whole input", alternative=bool(hints)))
    return [Finding("rules.receptive_field", stated.line, message=(
        f"The widest features, {name}'s output {format_shapes(call.output)}, see "
        f"{fields.describe(entries)} of the input, below the {stated if stated.whole else 'x'.join(map(str, wanted))} "
        "the rule asks for."),
        expected_value=wanted if not stated.whole else "whole", actual_value=actual,
        details=tuple(_field_lines(name, entries)), layers=(call.name,) if call.name else (), hints=tuple(hints))]
