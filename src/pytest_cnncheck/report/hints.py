"""How a hint reads (findings.Hint, or its JSON form): a label that says what it asks of
the reader, by its applicability, then the code or arithmetic under it. Every writer
that shows hints as text uses this."""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["LABELS", "hint_lines", "report_hint_lines"]

LABELS = {
    "spec": "in the spec: ",
    "spec-if-model-right": "fix, if the model is right: ",
    "suggestion": "suggestion: ",
    "none": "",
}


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
