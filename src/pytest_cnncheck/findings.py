"""A finding, as data: what a spec expected and what the model did, why (the arithmetic),
where (the spec's line, the layers), and its fixes: candidate changes of layers'
arguments (`Fix`), and those verified on the model (`Repair`, with their source edits).

Made by the checks (check/), completed by repair/, read by every writer (report/). Plain
frozen records: nothing here computes or formats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from .arithmetic import Arithmetic
from .kinds import Kind, kind_of
from .spec.source import Span

__all__ = [
    "APPLICABILITIES", "Candidate", "CodeLine", "Edit", "EditSpan", "EditedLines", "Finding", "Fix",
    "FixApplicability", "Hint", "HintKind", "KwargEdit", "Place", "Repair", "SourceEdit", "Unsafe",
]


@dataclass(frozen=True)
class Fix:
    """A change of one layer's constructor arguments, checked with the layer's own formula;
    a candidate until repair/verify.py has applied it to the model and run the spec again."""

    change: str  # "padding=1"
    code: str  # "nn.Conv2d(16, 32, kernel_size=3, padding=1)"
    arithmetic: tuple[str, ...]  # the formula run with the change, one line per dimension
    layer: str = ""  # the layer to change
    args: tuple[tuple[str, Any], ...] = ()  # its new arguments: (("padding", (1, 1)),)
    spelled: tuple[tuple[str, str], ...] = ()  # how to write a value: (("in_features", "16 * 5 * 5"),)
    # Or, for a change of the forward code rather than of an argument, on the line that
    # ran: how to write the input of the call to `callee` there (the layer's own name where
    # empty), `{}.flatten(1)`; with `whole`, how to write the whole call from its receiver
    # (`x.view(-1, 400)` -> `x.flatten(1)`).
    at_call: str = ""
    callee: str = ""
    whole: bool = False
    # Or the whole call that made the layer, written anew: `{0}` its first argument as
    # written, `{prefix}` what qualified its name (`F.avg_pool2d(out, 8)` ->
    # `F.adaptive_avg_pool2d(out, 1)`, `nn.AvgPool2d(8)` -> `nn.AdaptiveAvgPool2d(1)`).
    rewrite: str = ""


@dataclass(frozen=True)
class SourceEdit:
    """Write `new` over `old`, which lies at `text[start:end]` of the file at `path`."""

    path: str
    line: int  # the 1-based line where `old` starts
    start: int
    end: int
    old: str
    new: str


@dataclass(frozen=True)
class KwargEdit:
    """Build the model with the spec's `kwargs[name] = value` instead."""

    name: str
    old: Any  # the value the spec gives now; where it gives none, the parameter's default
    value: Any
    given: bool = True  # whether the spec gives it now (False: the key is added)


Candidate = tuple[Fix, ...]  # changes of layers' arguments, to be tried together


@dataclass(frozen=True)
class Edit:
    """Write `new` over the spec text at `span`: how `--cnncheck-update` fixes a value."""

    span: Span
    new: str


# How sure a verified fix is, in the order of ruff's: "safe", the model is what is wrong (it
# crashed, or with the fixes the whole spec agrees), `cnncheck fix` writes it; "unsafe", the
# model ran and the spec still disagrees with it elsewhere, so the spec may be what is off:
# written only with `cnncheck fix --unsafe-fixes`. A candidate that is not sound is no
# Repair at all: a hint shows it, with the rule it breaks.
FixApplicability = Literal["safe", "unsafe"]
# Why a fix is unsafe: the spec still disagrees with the model elsewhere, with every fix; or
# the model ran, and a second layer must change too for it to run again (it agreed with itself).
Unsafe = Literal["spec-disagrees", "second-change"]


@dataclass(frozen=True)
class EditedLines:
    """An edited stretch of a file as it is and as `cnncheck fix` writes it: the diff a
    person reads (repair/sourcecode.py reads the file; writers only render this)."""

    path: str
    line: int  # the first line, 1-based
    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass(frozen=True)
class EditSpan:
    """Where a source edit lies, 1-based lines and columns, the end exclusive (SARIF's and
    the JSON report's terms)."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Repair:
    """A fix that was applied to the model and run again (repair/verify.py): the finding it is
    for went away, nothing new appeared, and the arithmetic stayed sound (soundness.py).
    `cnncheck fix` writes its edits, as its applicability allows."""

    change: str  # "padding=1 in conv1"
    edits: tuple[SourceEdit | KwargEdit, ...]
    arithmetic: tuple[str, ...] = ()  # the layer's formula with the change
    clears: tuple[str, ...] = ()  # the other findings it makes go away: they follow from this one
    applicability: FixApplicability = "safe"
    unsafe: Unsafe | None = None  # why, where it is unsafe
    lines: tuple[EditedLines, ...] = ()  # the source edits as lines before and after
    spans: tuple[EditSpan, ...] = ()  # where each source edit of `edits` lies, in their order


# What a hint asks of the reader, where cnncheck could not apply and verify a fix itself:
# `spec`: write this in the spec, the spec is what is wrong (a misspelt layer name);
# `spec-if-model-right`: write this in the spec where the model is right (the update may write it);
# `suggestion`: change the model by hand as it says, not applied to the model, not verified;
# `none`: why no fix is offered, what was tried, or what would have to change.
HintKind = Literal["spec", "spec-if-model-right", "suggestion", "none"]
APPLICABILITIES: tuple[HintKind, ...] = get_args(HintKind)


@dataclass(frozen=True)
class Hint:
    """A change cnncheck can't apply and verify itself, or why there is none: shown under
    a finding after its verified fixes (`repairs`). Writers label it by `applicability`."""

    text: str  # "write conv1", "crop the larger one to [28, 28] ...": without its label
    applicability: HintKind
    alternative: bool = False  # another way to what the hint before it does ("or: ...")
    lines: tuple[str, ...] = ()  # the code or arithmetic under it
    layer: str | None = None  # the layer whose line to edit, where the change is in one

    @property
    def on_spec(self) -> bool:
        """Whether the change it asks for is in the spec (`spec`, `spec-if-model-right`)."""
        return self.applicability in ("spec", "spec-if-model-right")

    @classmethod
    def spec(cls, text: str, **more: Any) -> Hint:
        return cls(text, "spec", **more)

    @classmethod
    def if_right(cls, text: str, **more: Any) -> Hint:
        return cls(text, "spec-if-model-right", **more)

    @classmethod
    def suggest(cls, text: str, **more: Any) -> Hint:
        return cls(text, "suggestion", **more)

    @classmethod
    def none(cls, text: str, **more: Any) -> Hint:
        return cls(text, "none", **more)


@dataclass(frozen=True)
class CodeLine:
    """A line of the user's code: its file (as the run saw it), number and text, stripped
    (a line in an argument list without its trailing comma); "" where it can't be read."""

    path: str
    line: int
    code: str


@dataclass(frozen=True)
class Place:
    """Where a layer a finding names is in the code, resolved once before any writer runs
    (explain/places.py): the line that made it (for a functional step, the line that calls
    it), and for a layer made in a block or a helper, the line that called that."""

    name: str
    made: CodeLine | None
    called_from: CodeLine | None = None
    step: bool = False  # a functional step: `made` is where it is called


@dataclass(frozen=True)
class Finding:
    key: str  # the spec's key path: expect.layers.conv2.output
    line: int  # where the spec wrote it
    message: str | None = None  # a sentence, where the finding is not expected-vs-actual
    expected: str | None = None  # as a person reads it: "16*5*5 = 400", "62,006"
    actual: str | None = None
    details: tuple[str, ...] = ()  # the cause, with the arithmetic
    layers: tuple[str, ...] = ()  # rows to mark in the layer table; the report says where each is made
    hints: tuple[Hint, ...] = ()  # what to change by hand or in the spec; or why no fix fits
    # Where this finding only follows from another (a crash before the layer ran, a total
    # that a crash's fix puts right): which, and why. Shown folded under that one.
    follows: str | None = None
    # The edits that make the spec state the actual value; None where there is no value
    # to rewrite (a crash, a rule). An edit of a value shared with other specs by an
    # anchor is kept, marked by its span, so the update can say why it leaves it alone.
    edits: tuple[Edit, ...] | None = None
    # The same two as a machine reads them (the JSON report): numbers, shapes as lists
    # (None in an expected shape: any size), names as strings.
    expected_value: Any = None
    actual_value: Any = None
    # Changes of the model's layers that the arithmetic says would put this right, best
    # first: candidates, never shown; repair/verify.py tries them on the model and keeps in
    # `repairs` the one that verified.
    changes: tuple[Candidate, ...] = ()
    repairs: tuple[Repair, ...] = ()
    # The cause's arithmetic as data (arithmetic.py; the details say it in words): the
    # window along each axis of the layer whose formula gave the size at issue, the
    # flattened shape, the parameter count, what reached a layer against its argument.
    steps: tuple[Arithmetic, ...] = ()
    # Where each layer it (or one of its hints) names is in the code: filled in by the
    # runner after the checks (explain/places.py), so that writers read no source.
    places: tuple[Place, ...] = ()

    def place(self, name: str) -> Place | None:
        return next((place for place in self.places if place.name == name), None)

    @property
    def identity(self) -> tuple[str, str]:
        """What makes this finding the same one in another run of the same spec."""
        shared = self.key == "forward" or self.key.startswith("rules.")
        return self.key, (self.layers[0] if shared and self.layers else "")

    @property
    def kind(self) -> Kind:
        """What kind of finding this is: a stable id and name (kinds.py)."""
        return kind_of(self.key)

    @property
    def inherited(self) -> Span | None:
        """The span of a value this spec inherits through an anchor or a merge key: the
        update can't rewrite it without changing every spec that shares it."""
        return next((edit.span for edit in self.edits or () if edit.span.shared), None)

    @property
    def updatable(self) -> bool:
        """Whether `--cnncheck-update` rewrites this finding's value."""
        return self.edits is not None and self.inherited is None
