"""The totals a spec may bound: parameters, memory and mult-adds, each finding with the
layers that carry most of it."""

from __future__ import annotations

import math
from dataclasses import replace

from ..explain import candidates, causes
from ..findings import Finding, Hint
from ..spec.model import Bound, Count, Number, Spec
from ..trace import Trace
from . import macs, memory
from .edits import number_edits


def params_findings(spec: Spec, trace: Trace) -> list[Finding]:
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
                findings.append(over_budget(name, line, number, actual, param_carriers(trace, ""),
                                             "parameters"))
            continue
        difference, changes, named = candidates.params_difference(trace, number.value, actual)
        hints: list[Hint] = []
        rows, counts = causes.params_breakdown(trace, "")
        details = difference + ["made up of:"] + [f"  {row}" for row in rows]
        if name.endswith("trainable") and trace.params_total != trace.params_trainable:
            frozen = trace.params_total - trace.params_trainable
            details.insert(0, f"{frozen:,} of {trace.params_total:,} parameters have requires_grad=False")
            if number.value == trace.params_total:
                hints = [Hint.spec(f"trainable: {actual:,} (the count stated includes the frozen ones)"),
                         Hint.suggest("set requires_grad=True where the model freezes them", alternative=True)]
        findings.append(Finding(name, line, expected=counted_text(number), actual=f"{actual:,}",
                                expected_value=number.value, actual_value=actual,
                                details=tuple(details), layers=named, hints=tuple(hints), steps=counts,
                                changes=tuple(changes), edits=number_edits(number, actual)))
    return findings


MODEL_ITSELF = memory.MODEL_ITSELF


def over_budget(key: str, line: int, bound: Bound, actual: int, carriers: list[tuple[str, int]],
                 what: str) -> Finding:
    """A count outside its bound: by how much, and the five layers that carry the most."""
    if bound.high is not None and actual > bound.high.value:
        over = actual - bound.high.value
        said = (f"{over:,} {what} over the bound: {actual:,} is {over / bound.high.value:.1%} above "
                f"{bound.high.value:,}" if bound.high.value else f"{over:,} {what} over the bound of 0")
    else:
        assert bound.low is not None
        under = bound.low.value - actual
        said = (f"{under:,} {what} under the bound: {actual:,} is {under / bound.low.value:.1%} below "
                f"{bound.low.value:,}")
    top = [(name, count) for name, count in carriers if count][:5]
    details = [said]
    if top:
        details.append("the layers that carry the most:")
        details += [f"  {name or MODEL_ITSELF}: {count:,} ({count / actual:.1%})" for name, count in top]
    return Finding(key, line, expected=str(bound), actual=f"{actual:,}",
                   expected_value={"min": bound.low.value if bound.low else None,
                                   "max": bound.high.value if bound.high else None},
                   actual_value=actual, details=tuple(details), layers=tuple(name for name, _ in top if name),
                   hints=(Hint.suggest("make the layers above smaller"),
                          Hint.spec("move the bound if the growth is intended (a bound is intent: "
                                    "`--cnncheck-update` leaves it alone)", alternative=True)))


def param_carriers(trace: Trace, root: str) -> list[tuple[str, int]]:
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


def memory_findings(spec: Spec, trace: Trace) -> list[Finding]:
    """`expect.memory`: bytes, measured on meta without allocating (memory.py)."""
    figures = memory.figures(trace)
    findings = []
    for key, stated, line in spec.memory:
        name = f"expect.memory.{key}"
        if key.startswith("training"):
            findings += _training_findings(name, key, stated, line, trace)
            continue
        actual = figures[key]
        if isinstance(stated, Bound):
            if not stated.holds(actual):
                carriers = (param_carriers(trace, "") if key == "params" else
                            _activation_carriers(trace) if key == "activations" else [])
                scale = trace.element_bytes if key == "params" else 1
                findings.append(over_budget(name, line, stated, actual,
                                             [(n, c * scale) for n, c in carriers], "bytes"))
        elif stated.value != actual:
            findings.append(Finding(name, line, expected=counted_text(stated),
                                    actual=f"{actual:,} ({memory.readable(actual)})",
                                    expected_value=stated.value, actual_value=actual,
                                    details=(memory.what(key),),
                                    hints=(Hint.if_right(f"write {actual:,} (`pytest --cnncheck-update` writes it)"),),
                                    edits=number_edits(stated, actual)))
    return findings


def _training_findings(name: str, key: str, stated: Count, line: int, trace: Trace) -> list[Finding]:
    """`expect.memory.training`: the training step's peak (run/training.py), or a part of it."""
    training = trace.training
    if training is None:  # the forward pass failed: its own finding says why
        return []
    if training.error is not None:
        hint = {"loss": Hint.spec("name an output forward returns in train.loss, or leave it out to sum them all"),
                "one-value-per-channel": Hint.suggest("a BatchNorm needs more than one value per channel in "
                                                      "training: a batch of 2 or more, or a larger input")
                }.get(training.failure or "other",
                      Hint.suggest("run one training step of the model by hand to see where it fails"))
        return [Finding(name, line, expected=str(stated), actual="no peak: the training step raised",
                        details=(f"the forward check passed, and one training step ({training.optimizer}, "
                                 f"{training.precision}) raised {training.error}",), hints=(hint,))]
    actual = memory.training_figure(training, key)
    if stated.value == actual or isinstance(stated, Bound) and stated.holds(actual):
        return []
    details = [memory.what(key), f"the peak: {memory.peak_text(training.peak, training.phase, training.layer)} "
                                 f"({training.optimizer}, {training.precision})",
               f"at the peak: {memory.parts_text(training.parts)}"]
    if training.held:
        details += ["the largest activations live then:"] + [f"  {memory.held_text(held)}" for held in training.held]
    layers = tuple(dict.fromkeys(name for name in (training.layer, *(held.layer for held in training.held)) if name))
    if isinstance(stated, Bound):
        finding = over_budget(name, line, stated, actual, [], "bytes")
        return [replace(finding, actual=f"{actual:,} ({memory.readable(actual)})",
                        details=(*finding.details, *details), layers=layers,
                        hints=(Hint.suggest("a smaller batch, activation checkpointing (torch.utils.checkpoint) "
                                            "in the layers above, or train.precision: bfloat16"),
                               *finding.hints[1:]))]
    return [Finding(name, line, expected=counted_text(stated), actual=f"{actual:,} ({memory.readable(actual)})",
                    expected_value=stated.value, actual_value=actual, details=tuple(details), layers=layers,
                    hints=(Hint.if_right(f"write {actual:,} (`pytest --cnncheck-update` writes it)"),),
                    edits=number_edits(stated, actual))]


def _activation_carriers(trace: Trace) -> list[tuple[str, int]]:
    found: dict[str, int] = {}
    for call in trace.calls:
        if call.finished and call.name in trace.weighted:
            found[call.name] = found.get(call.name, 0) + memory.activation_bytes_of(call, trace)
    return sorted(found.items(), key=lambda item: -item[1])


def mult_adds_findings(spec: Spec, trace: Trace) -> list[Finding]:
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
        finding = over_budget("expect.mult_adds", line, number, counted, carriers, "mult-adds")
        return [replace(finding, details=(what, *finding.details, *partial))]
    if counted == number.value:
        return []
    return [Finding("expect.mult_adds", line, expected=counted_text(number),
                    actual=f"{counted:,}", expected_value=number.value,
                    actual_value=counted, details=(what, *partial),
                    edits=number_edits(number, counted))]


def counted_text(number: Number) -> str:
    return f"{number.text} = {number.value:,}" if number.text != str(number.value) else f"{number.value:,}"
