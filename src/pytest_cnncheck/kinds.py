"""The kinds of finding, each with a stable id, a name and a sentence of help, as ruff's
and rustc's codes: the terminal shows the id, the JSON report carries it, SARIF's rules are
these, and docs/findings.md has a section per id. Pure: no torch.

An id never changes meaning; a new kind gets a new id.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KINDS", "Kind", "SPEC_ERROR", "kind_of"]


@dataclass(frozen=True)
class Kind:
    id: str  # CNN102
    name: str  # layer-output
    help: str  # one sentence: what the finding means

    @property
    def anchor(self) -> str:
        """The section of docs/findings.md that explains it."""
        return f"{self.id.lower()}-{self.name}"


SPEC_ERROR = Kind("CNN001", "spec-error", "The spec file could not be read as a spec, or its model "
                                          "could not be imported or built.")
CRASH = Kind("CNN100", "forward-raised", "The dummy forward pass raised: a layer received a size it "
                                         "was not made for, two tensors' shapes clash, or the model's "
                                         "own code failed.")
OUTPUT = Kind("CNN101", "output", "The model's output shape is not the one stated.")
LAYER_OUTPUT = Kind("CNN102", "layer-output", "A layer's output shape is not the one stated.")
LAYER_INPUT = Kind("CNN103", "layer-input", "A layer's input shape is not the one stated.")
LAYER_TYPE = Kind("CNN104", "layer-type", "A layer is not of the type stated.")
LAYER_CALLS = Kind("CNN105", "layer-calls", "A layer is called another number of times, or with "
                                            "other shapes, than stated.")
LAYER = Kind("CNN106", "layer", "A layer the spec names does not exist or did not run.")
PARAMS = Kind("CNN201", "params", "The model's parameter count is not the one stated, or outside "
                                  "its bound.")
LAYER_PARAMS = Kind("CNN202", "layer-params", "A layer's parameter count is not the one stated, or "
                                              "outside its bound.")
MULT_ADDS = Kind("CNN203", "mult-adds", "The forward pass's multiply-accumulates are not the number "
                                        "stated, or outside its bound.")
MEMORY = Kind("CNN204", "memory", "A memory figure (parameter, buffer or activation bytes) is not "
                                  "the one stated, or outside its bound.")
FLATTEN = Kind("CNN301", "flatten", "The features a Linear receives from a flatten are not the "
                                    "number stated.")
ACCEPTS = Kind("CNN302", "accepts", "The input sizes at which the model runs are not the set stated.")
POOLING = Kind("CNN401", "pooling-rule", "A pooling window is not one the rule allows "
                                         "(F=2,S=2 or F=3,S=2 by default).")
EXACT_DIVISION = Kind("CNN402", "exact-division-rule", "A window's (W - F + 2P) / S does not divide "
                                                       "exactly, so positions are dropped.")
FIELD = Kind("CNN403", "receptive-field", "A receptive field or effective stride is not the one "
                                          "stated, or below its bound or rule.")

KINDS = (SPEC_ERROR, CRASH, OUTPUT, LAYER_OUTPUT, LAYER_INPUT, LAYER_TYPE, LAYER_CALLS, LAYER, PARAMS,
         LAYER_PARAMS, MULT_ADDS, MEMORY, FLATTEN, ACCEPTS, POOLING, EXACT_DIVISION, FIELD)

_LAYER_SUFFIXES = ((".output", LAYER_OUTPUT), (".input", LAYER_INPUT), (".type", LAYER_TYPE),
                   (".calls", LAYER_CALLS), (".params", LAYER_PARAMS), (".receptive_field", FIELD),
                   (".effective_stride", FIELD))


def kind_of(key: str) -> Kind:
    """The kind of a finding about the spec's key `key` (`expect.layers.conv2.output`)."""
    if key == "forward":
        return CRASH
    if key == "expect.output":
        return OUTPUT
    if key.startswith("expect.layers."):  # a call's own shapes (`pool.calls[1].output`) too
        return next((kind for suffix, kind in _LAYER_SUFFIXES if key.endswith(suffix)), LAYER)
    for prefix, kind in (("expect.params", PARAMS), ("expect.mult_adds", MULT_ADDS), ("expect.memory", MEMORY),
                         ("expect.flatten", FLATTEN), ("expect.accepts", ACCEPTS), ("rules.pooling", POOLING),
                         ("rules.exact_division", EXACT_DIVISION), ("rules.receptive_field", FIELD)):
        if key.startswith(prefix):
            return kind
    return SPEC_ERROR if key == "spec" else LAYER
