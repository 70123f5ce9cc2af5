"""Findings -> the text a person reads: where, expected, actual, why, and the layer table.

Each line comes with TerminalWriter markup (`{"red": True}`), so the pytest glue
writes it through pytest's own writer and `--color` / `NO_COLOR` just work.
"""

from __future__ import annotations

import os
from typing import Sequence

from ..findings import CodeLine, Finding, KwargEdit, Repair
from ..spec.model import Spec, SpecError
from ..spec.sizes import label
from ..trace import Trace, format_shapes
from .hints import applied_by, hint_lines
from .results import mismatch_count

__all__ = ["Line", "failure_lines", "layer_table", "spec_error_lines"]

Line = tuple[str, dict[str, bool]]
PLAIN: dict[str, bool] = {}
BOLD = {"bold": True}
RED = {"red": True}
GREEN = {"green": True}

# A layer table longer than this shows only the rows around the mismatches.
MAX_TABLE_ROWS = 40
CONTEXT_ROWS = 2


def _source(lines: Sequence[str], line: int) -> list[Line]:
    if 1 <= line <= len(lines):
        return [(f"  {line:>4} | {lines[line - 1]}", PLAIN)]
    return []


def spec_error_lines(error: SpecError, where: str, source: Sequence[str]) -> list[Line]:
    out: list[Line] = []
    for line, message in error.problems:
        out.append((f"{where}:{line}: {message}", BOLD))
        out.extend(_source(source, line))
    return out


def failure_lines(spec: Spec, trace: Trace, findings: Sequence[Finding], where: str | None,
                  source: Sequence[str]) -> list[Line]:
    """The failure of one spec; `where` is its file (None for a spec given in Python)."""
    count = mismatch_count(sum(1 for finding in findings if finding.follows is None), len(findings))
    inputs = (f"{len(spec.scan.points)} input sizes" if spec.scan is not None
              else f"input {spec.input_text}")
    out: list[Line] = [(f"{count} in spec {spec.name!r}: model {spec.model}, {inputs}, "
                        f"on {trace.device}", BOLD)]
    if trace.fallback:
        out.append((f"(ran on the CPU: {trace.fallback})", PLAIN))
    for finding in findings:
        out.append(("", PLAIN))
        kind = f"{finding.key} ({finding.kind.id} {finding.kind.name})"
        out.append((f"{where}:{finding.line}: {kind}" if where else kind, BOLD))
        out.extend(_source(source, finding.line))
        if finding.follows is not None:  # folded: what it says, and the finding it follows from
            said = (f"expected {finding.expected}, actual {finding.actual}"
                    if finding.expected is not None and finding.actual is not None else finding.message)
            out.append((f"  {said} ({finding.follows})", PLAIN))
            continue
        if finding.message:
            out.append((f"  {finding.message}", RED))
        if finding.expected is not None and finding.actual is not None:
            out.append((f"  expected: {finding.expected}", GREEN))
            out.append((f"  actual:   {finding.actual}", RED))
        elif finding.expected is not None:
            out.append((f"  expected: {finding.expected}", GREEN))
        out.extend((f"  {detail}", PLAIN) for detail in finding.details)
        out.extend((f"  {line}", PLAIN) for line in definition_lines(finding))
        for fixed in finding.repairs:
            out.extend((f"  {line}", colour) for line, colour in repair_lines(fixed))
        out.extend((f"  {line}", PLAIN) for hint in finding.hints
                   for line in hint_lines(hint.text, hint.applicability, hint.alternative, hint.lines))
    marked = {name for finding in findings for name in finding.layers}
    out.append(("", PLAIN))
    if spec.scan is not None:
        out.append((f"  layers at {label(spec.bindings)}, input "
                    f"{spec.input_text}:", PLAIN))
    out.extend(layer_table(trace, marked))
    return out


def repair_lines(fixed: Repair) -> list[Line]:
    """A verified fix: what changes (in green), then the lines as they are and as `cnncheck
    fix` writes them, then the arithmetic with the change."""
    follows = f" (and the {len(fixed.clears)} that follow from it)" if fixed.clears else ""
    lines = [(f"fix: {fixed.change}: {applied_by(fixed.applicability, fixed.unsafe)}, verified on the model: run "
              f"again, this finding{follows} goes and nothing new appears", GREEN)]
    for edit in fixed.edits:
        if isinstance(edit, KwargEdit):
            now = f"now {edit.old!r}" if edit.given else f"not given now: its default is {edit.old!r}"
            lines.append((f"  in the spec: kwargs: {{{edit.name}: {edit.value!r}}} ({now})", PLAIN))
    for stretch in fixed.lines:
        lines.append((f"  {shown_path(stretch.path)}:{stretch.line}", PLAIN))
        lines.extend((f"  - {text}", PLAIN) for text in stretch.old)
        lines.extend((f"  + {text}", PLAIN) for text in stretch.new)
    lines.extend((f"  {line}", PLAIN) for line in fixed.arithmetic)
    return lines


def shown_path(path: str) -> str:
    """A path as the user's terminal shows it: relative to where they are, where it can be."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive
        return path


def definition_lines(finding: Finding) -> list[str]:
    """`fc1 is made at models/net.py:14: self.fc1 = nn.Linear(16 * 6 * 6, 120)`: the line to
    edit, for each layer the finding names."""
    lines = []
    for name in finding.layers:
        place = finding.place(name)
        if place is not None and place.made is not None:
            verb = "is called at" if place.step else "is made at"  # a functional step, a module
            caller = f", in the call at {_code_line(place.called_from)}" if place.called_from else ""
            lines.append(f"{name} {verb} {_code_line(place.made)}{caller}")
    return lines


def _code_line(line: CodeLine) -> str:
    """`models/net.py:14: self.fc1 = nn.Linear(16 * 6 * 6, 120)`."""
    return f"{shown_path(line.path)}:{line.line}: {line.code}" if line.code else f"{shown_path(line.path)}:{line.line}"


def layer_table(trace: Trace, marked: set[str] | frozenset[str] = frozenset()) -> list[Line]:
    """A compact torchinfo-like table of every module call, mismatching rows marked `!`."""
    rows: list[tuple[str, str, str, str, bool]] = []
    seen: set[str] = set()
    for call in trace.calls:
        if not call.name:
            continue
        layer = trace.layers[call.name]
        name = "  " * max(call.depth - 1, 0) + call.name
        if call.index:
            name += f" ({call.index + 1})"
        output = format_shapes(call.output) if call.finished else "(raised here)"
        params = f"{layer.params:,}" if layer.params and call.name not in seen else "--"
        seen.add(call.name)
        rows.append((name, layer.type_name, output, params, call.name in marked))
    header = ("layer", "type", "output", "params")
    widths = [max([len(header[i])] + [len(str(row[i])) for row in rows]) for i in range(3)]

    def render(row: Sequence[str], mark: bool) -> Line:
        text = "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3]
        return (("! " if mark else "  ") + text).rstrip(), (RED if mark else PLAIN)

    out = [render(header, False)]
    keep = _rows_to_show([row[4] for row in rows])
    skipped = 0
    for index, row in enumerate(rows):
        if index not in keep:
            skipped += 1
            continue
        if skipped:
            out.append((f"  ... {skipped} more row(s)", PLAIN))
            skipped = 0
        out.append(render(row[:4], row[4]))
    if skipped:
        out.append((f"  ... {skipped} more row(s)", PLAIN))
    out.append((f"  total params: {trace.params_total:,} (trainable {trace.params_trainable:,})",
                PLAIN))
    return out


def _rows_to_show(marks: list[bool]) -> set[int]:
    if len(marks) <= MAX_TABLE_ROWS:
        return set(range(len(marks)))
    keep = set(range(3)) | {len(marks) - 1}
    for index, mark in enumerate(marks):
        if mark:
            keep.update(range(max(index - CONTEXT_ROWS, 0), min(index + CONTEXT_ROWS + 1, len(marks))))
    return keep


