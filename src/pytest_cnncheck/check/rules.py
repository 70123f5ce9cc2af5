"""The design rules: pooling windows (F=2,S=2 or F=3,S=2) and windows that divide their
input exactly. rules.receptive_field is in receptive.py."""

from __future__ import annotations

from ..explain import candidates, causes
from ..findings import Finding, Hint
from ..spec.model import Spec
from ..trace import Trace, format_shapes


def pooling_rule(spec: Spec, trace: Trace) -> list[Finding]:
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
            found, hints = candidates.pooling_fix(layer, trace.calls_of(layer.name), spec.pooling)
            findings.append(Finding("rules.pooling", spec.pooling_line, message=(
                f"{causes.describe(layer)} pools with {where}; allowed: {allowed_text} "
                "(larger windows discard too much)."), layers=(layer.name,), hints=tuple(hints),
                changes=tuple((one,) for one in found)))
    return findings


def exact_division_rule(spec: Spec, trace: Trace) -> list[Finding]:
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
                "or padded unevenly."), details=tuple(causes.step_lines(remainders)), steps=remainders,
                layers=(layer.name,),
                hints=tuple(notes) if found or notes else (Hint.none(
                    f"no padding or kernel of {layer.name} divides exactly here: the input that "
                    "reaches it would have to change"),), changes=tuple((one,) for one in found)))
    return findings
