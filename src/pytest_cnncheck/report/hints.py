"""How a hint reads (findings.Hint, or its JSON form): a label that says what it asks of
the reader, by its applicability, then the code or arithmetic under it. Every writer
that shows hints as text uses this."""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["APPLIED_BY", "LABELS", "UNSAFE_BECAUSE", "applied_by", "hint_lines", "report_hint_lines"]

LABELS = {
    "spec": "in the spec: ",
    "spec-if-model-right": "fix, if the model is right: ",
    "suggestion": "suggestion: ",
    "none": "",
}


# Who writes a verified fix, by its applicability (findings.FixApplicability), and why an
# unsafe one is (findings.Unsafe).
APPLIED_BY = {"safe": "applied by `cnncheck fix`", "unsafe": "applied by `cnncheck fix --unsafe-fixes` only"}
UNSAFE_BECAUSE = {
    "spec-disagrees": "the model ran, and the spec still disagrees with it elsewhere: the spec may be what is wrong",
    "second-change": "the model ran, and another layer must change too for it to run again: the model agreed "
                     "with itself, and the spec may be what is wrong",
}


def applied_by(applicability: str, unsafe: str | None = None) -> str:
    """What a fix's applicability means to the reader; a report before version 6 said
    `cnncheck-fix` for every fix, which is today's `safe`."""
    if applicability != "unsafe":
        return APPLIED_BY["safe"]
    return APPLIED_BY["unsafe"] + (f" ({UNSAFE_BECAUSE[unsafe]})" if unsafe in UNSAFE_BECAUSE else "")


def hint_lines(text: str, applicability: str, alternative: bool = False, lines: Iterable[str] = ()) -> list[str]:
    """`suggestion: torch.flatten(x, 1) keeps the batch ...`, then its lines indented."""
    head = f"or: {text}" if alternative else LABELS[applicability] + text
    return [head, *(f"  {line}" for line in lines)]


def report_hint_lines(finding: dict[str, Any]) -> list[str]:
    """A JSON report's finding's hints as lines: its `hints` objects (version 5), or the
    `fix` lines that reports before version 5 wrote as text."""
    if "hints" not in finding:
        return list(finding.get("fix") or ())
    return [line for hint in finding["hints"]
            for line in hint_lines(hint["text"], hint["applicability"], hint["alternative"], hint["lines"])]
