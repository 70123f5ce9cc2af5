"""What one spec item found, as plain data, and the run's reports for people and machines.

An item's result is a JSON-ready dict (it travels on the test report from an
xdist worker to the controller); `--cnncheck-report=PATH` writes the results of
the run as Markdown (`.md`, for a pull request or `$GITHUB_STEP_SUMMARY`) or JSON
(`.json`, the structure documented in docs/reports.md, versioned by
`REPORT_VERSION`). Pure: no torch, no pytest.
"""

from __future__ import annotations

import json
import os
import re
from fractions import Fraction
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .. import fields
from ..arithmetic import Arithmetic, Flattened, Operands, Received, Resized, Step
from ..check import macs, memory
from ..findings import EditSpan, Finding, Hint, KwargEdit, Repair, SourceEdit
from ..spec.model import Spec, SpecError
from ..spec.sizes import label
from ..trace import Trace, Training, format_shapes, shapes_from_json, shapes_json, widest
from .hints import LABELS, applied_by

__all__ = ["REPORT_VERSION", "changes", "error_result", "json_report", "markdown_report", "read_report",
           "spec_result", "versions"]

# Raised when a key is renamed or removed, or its meaning changes; new keys keep it.
# 2: a finding's expected and actual are values, their text beside them. 3: mult_adds counts
# every multiply-accumulate (counting.py), with mult_adds_uncounted; findings carry a kind.
# 4: a finding's `fixes` are objects (the verified edits); `fix` holds only the text that
# is not a verified fix (suggestions to write by hand, why no fix verified). 5: hints are
# objects. 6: a fix's `applicability` is `safe` or `unsafe` (was `cnncheck-fix` for all).
REPORT_VERSION = 6


def spec_result(spec: Spec, traces: Sequence[Trace], findings: Sequence[Finding],
                diagram: bool = False) -> dict[str, Any]:
    """The facts of one checked spec: what the model did, and every mismatch; its mult-adds
    where the pass counted them (a report is written, or the spec states them); with
    `diagram`, its shape flow as Mermaid text for the Markdown report (the JSON report
    leaves it out: it is a picture)."""
    trace = traces[0]
    ran = trace.crash is None
    measured = trace
    if spec.scan is not None:
        # An `accepts` spec ran at many sizes: its memory is the largest size's that ran,
        # and the row says which (the first size may not even run).
        ran_sizes = [(one, dict(bindings)) for (bindings, _), one in zip(spec.scan.points, traces)
                     if one.crash is None]
        if ran_sizes:
            measured, at = max(ran_sizes, key=lambda pair: memory.activation_bytes(pair[0]))
        ran = bool(ran_sizes)
    result: dict[str, Any] = {
        "device": trace.device,
        "fallback": next((t.fallback for t in traces if t.fallback), None),
        "input": [list(size) for size in spec.input_sizes] if spec.scan is None else None,
        "output": shapes_json(trace.output) if ran and spec.scan is None else None,
        "params": {"total": trace.params_total, "trainable": trace.params_trainable,
                   "packed": trace.packed_params},
        "memory": memory.figures(measured) if ran else None,
        "mult_adds": trace.compute.mult_adds if trace.compute and spec.scan is None else None,
        # The ops that may contract but were not counted, with how often each ran: {} when
        # the count is complete.
        "mult_adds_uncounted": dict(trace.compute.uncounted) if trace.compute and spec.scan is None else None,
        "sizes": dict(spec.bindings) if spec.scan is None else None,
        "findings": [_finding(finding, spec, trace) for finding in findings],
        "receptive_field": widest_field(trace) if spec.scan is None else None,
    }
    if ran and spec.scan is None and trace.training is not None:
        result["memory"]["training"] = _training(trace.training)
    if diagram and spec.scan is None:
        from .diagram import mermaid

        result["diagram"] = mermaid(trace, frozenset(name for f in findings for name in f.layers))
    if spec.scan is not None:
        result["accepted"] = [dict(bindings) for (bindings, _), one in zip(spec.scan.points, traces)
                              if one.crash is None]
        result["tried"] = len(spec.scan.points)
        result["memory_sizes"] = at if ran else None  # the size the memory figures are for
    return result


def _training(training: Training) -> dict[str, Any]:
    """`memory.training`: the training step's peak in bytes, its parts, when it falls."""
    return {"peak": training.peak if training.error is None else None,
            "parts": dict(training.parts), "phase": training.phase if training.error is None else None,
            "layer": training.layer, "optimizer": training.optimizer, "precision": training.precision,
            "held": [{"layer": held.layer, "shape": list(held.shape), "dtype": held.dtype, "count": held.count,
                      "bytes_each": held.each} for held in training.held],
            "error": training.error}


def error_result(error: SpecError) -> dict[str, Any]:
    """A spec that could not be checked: its problems, each at its line."""
    return {"error": [{"line": line, "message": message} for line, message in error.problems],
            "findings": []}


def _finding(finding: Finding, spec: Spec, trace: Trace) -> dict[str, Any]:
    return {"key": finding.key, "kind": finding.kind.id, "kind_name": finding.kind.name,
            "line": finding.line, "message": finding.message,
            "expected": finding.expected_value, "actual": finding.actual_value,
            "expected_text": finding.expected, "actual_text": finding.actual,
            "details": list(finding.details),
            "hints": [_hint(hint, finding, spec, trace) for hint in finding.hints],
            "fixes": [_repair(fixed) for fixed in finding.repairs], "follows": finding.follows,
            "steps": [_step(step) for step in finding.steps],
            "ran": {"file": crash.file, "line": crash.line}
            if finding.key == "forward" and (crash := trace.crash) is not None and crash.file else None,
            "layers": [_made_at(finding, name) for name in finding.layers]}


def _hint(hint: Hint, finding: Finding, spec: Spec, trace: Trace) -> dict[str, Any]:
    """A hint as data: what it asks (`applicability`), its text without a label, and where
    to make the change: the spec's line for a change of the spec, the line that made the
    layer for a change of one layer, else no place."""
    place: dict[str, Any] = {"file": None, "line": None}
    if hint.on_spec:
        place = {"file": os.path.relpath(spec.path), "line": finding.line}
    elif hint.layer is not None:
        made = _made_at(finding, hint.layer)
        place = {"file": made["file"], "line": made["line"]}
    return {"text": hint.text, "applicability": hint.applicability, "alternative": hint.alternative,
            "lines": list(hint.lines), "layer": hint.layer, **place}


def _step(step: Arithmetic) -> dict[str, Any]:
    """A step of the cause's arithmetic as numbers, by its `kind` (docs/reports.md), with
    the same step as the terminal writes it (`arithmetic`)."""
    if isinstance(step, Step):  # a window along one axis; output None: it does not fit
        window = step.window
        return {"kind": "window", "layer": step.layer, "call": step.call, "axis": step.axis, "input": step.size,
                "kernel_size": window.kernel, "stride": window.stride, "padding": window.padding,
                "dilation": window.dilation, "ceil_mode": window.ceil_mode, "transposed": window.transposed,
                "output_padding": window.output_padding, "output": step.output,
                "arithmetic": window.steps(step.size)}
    if isinstance(step, Resized):  # an interpolate, a pad, a pixel shuffle along one axis
        resize = step.resize
        return {"kind": "resize", "layer": step.layer, "call": step.call, "axis": step.axis, "input": step.size,
                "how": resize.how, "scale": resize.scale, "size": resize.size, "pad": [resize.before, resize.after],
                "output": step.output, "arithmetic": step.text()}
    if isinstance(step, Flattened):
        return {"kind": "flatten", "layer": step.layer, "call": step.call, "shape": list(step.shape),
                "features": step.features, "arithmetic": step.text()}
    if isinstance(step, Received):
        return {"kind": "argument", "layer": step.layer, "call": step.call, "input": list(step.shape),
                "argument": step.argument, "received": step.got, "value": step.wanted, "arithmetic": step.text()}
    if isinstance(step, Operands):
        return {"kind": "operands", "op": step.op, "layer": step.layer, "shapes": [list(s) for s in step.shapes],
                "dim": step.dim, "differ": list(step.differ), "arithmetic": step.text()}
    return {"kind": "params", "layer": step.layer, "total": step.total, "counted": step.counted,
            "tensors": [{"name": name, "shape": list(shape), "shared_with": dict(step.shared).get(name)}
                        for name, shape in step.tensors],
            "formula": step.formula, "terms": {name: list(value) if isinstance(value, tuple) else value
                                               for name, value in step.terms},
            "arithmetic": step.text()}


def _repair(fixed: Repair) -> dict[str, Any]:
    """A verified fix as data: each edit at its place in the file (1-based lines and
    columns, the end exclusive), the lines as they are and as `cnncheck fix` writes them,
    and the spec's kwargs it changes."""
    return {"change": fixed.change, "applicability": fixed.applicability, "unsafe": fixed.unsafe,
            "edits": [_edit(edit, span) for edit, span in
                      zip([edit for edit in fixed.edits if isinstance(edit, SourceEdit)], fixed.spans)],
            "kwargs": [{"name": edit.name, "old": edit.old, "new": edit.value, "given": edit.given}
                       for edit in fixed.edits if isinstance(edit, KwargEdit)],
            "lines": [{"file": os.path.relpath(stretch.path), "line": stretch.line, "old": list(stretch.old),
                       "new": list(stretch.new)} for stretch in fixed.lines],
            "arithmetic": list(fixed.arithmetic), "clears": list(fixed.clears)}


def _edit(edit: SourceEdit, span: EditSpan) -> dict[str, Any]:
    return {"file": os.path.relpath(edit.path), "line": span.line, "column": span.column, "end_line": span.end_line,
            "end_column": span.end_column, "old": edit.old, "new": edit.new}


def _made_at(finding: Finding, name: str) -> dict[str, Any]:
    """A layer a finding names, the file and line that made it (the line to edit), and for a
    layer made in a block or a helper, the line that called it."""
    place = finding.place(name)
    if place is None or place.made is None:
        return {"name": name, "file": None, "line": None, "called_from": None, "step": False}
    call = place.called_from
    return {"name": name, "file": os.path.relpath(place.made.path), "line": place.made.line,
            "called_from": {"file": os.path.relpath(call.path), "line": call.line} if call else None,
            "step": place.step}


def widest_field(trace: Trace) -> dict[str, Any] | None:
    """The widest features' receptive field, as numbers: the layer, and per spatial dimension
    the field's size, effective stride and start (None for a dimension that sees the whole
    input); None where the pass did not follow fields."""
    found = widest(trace)
    if found is None:
        return None
    call, entries = found
    axes = [e if isinstance(e, fields.Axis) else None for e in entries]
    return {"layer": call.name, "call": call.index + 1,
            "whole": [isinstance(e, fields.Whole) for e in entries],
            "size": [fields.plain(a.size) if a else None for a in axes],
            "stride": [fields.plain(a.stride) if a else None for a in axes],
            "start": [fields.plain(a.start) if a else None for a in axes]}


def versions() -> dict[str, str]:
    """The versions a run's results depend on, read without importing torch."""
    found = {}
    for name in ("pytest-cnncheck", "torch", "torchinfo"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def training_line(result: dict[str, Any]) -> str:
    """`training step (adamw, float32): peak 22.7 MiB in backward at layer2.bn2 (...)`: what
    `-v` prints under the facts where a training step ran."""
    training = (result.get("memory") or {}).get("training")
    if not training:
        return ""
    head = f"training step ({training['optimizer']}, {training['precision']}): "
    if training["peak"] is None:
        return head + f"raised {training['error']}"
    return (head + f"peak {memory.peak_text(training['peak'], training['phase'], training['layer'])} "
            f"({memory.parts_text(training['parts'].items())})")


def facts_line(result: dict[str, Any]) -> str:
    """`output [1, 10], params 62,006 (62,006 trainable), on meta`: what `-v` prints."""
    parts = []
    if result.get("output") is not None:
        parts.append(f"output {_shape_text(result['output'])}")
    if "accepted" in result:
        parts.append(accepted_text(result["accepted"], result.get("tried")))
    params = result.get("params")
    if params:
        trainable = "" if params["trainable"] == params["total"] else \
            f" ({params['trainable']:,} trainable)"
        packed = f" (+ {params['packed']:,} packed in quantized layers)" if params.get("packed") else ""
        parts.append(f"params {params['total']:,}{trainable}{packed}")
    if result.get("mult_adds") is not None:
        uncounted = (result.get("mult_adds_uncounted") or {}).items()
        parts.append(f"mult-adds {macs.described(result['mult_adds'], uncounted)}")
    figures = result.get("memory")
    if figures:
        parts.append(f"memory: params {memory.readable(figures['params'])}, activations "
                     f"{memory.readable(figures['activations'])}")
    seen = result.get("receptive_field")
    if seen:
        size = "x".join("whole" if whole else fields.number(Fraction(size).limit_denominator())
                        for whole, size in zip(seen["whole"], seen["size"]))
        call = f" (call {seen['call']})" if seen["call"] > 1 else ""
        parts.append(f"receptive field {size} at {seen['layer'] or 'the model'}{call}")
    if result.get("device"):
        parts.append(f"on {result['device']}" + (" (fallback)" if result.get("fallback") else ""))
    return ", ".join(parts)


def accepted_text(accepted: list[dict[str, int]], tried: int | None) -> str:
    """`runs at H=W: 32..35 (4 of 49 sizes)`."""
    from ..spec.sizes import describe, tied_columns

    of = f" ({len(accepted)} of {tried} sizes)" if tried else ""
    if not accepted:
        return f"runs at no size{of}"
    columns = tied_columns([tuple(sizes.items()) for sizes in accepted])
    return "runs at " + ", ".join(f"{names}: {describe(values)}" for names, values in columns) + of


def _shape_text(shapes: Any) -> str:
    return format_shapes(shapes_from_json(shapes))


# -- the reports ---------------------------------------------------------------------


def json_report(rows: Iterable[dict[str, Any]]) -> str:
    rows = list(rows)
    return json.dumps({
        "version": REPORT_VERSION,
        "versions": versions(),
        "summary": _counts(rows),
        "specs": [{key: value for key, value in row.items() if key != "diagram"} for row in rows],
    }, indent=2) + "\n"


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"total": len(rows), "passed": 0, "failed": 0, "skipped": 0}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


_ICONS = {"passed": "✅ passed", "failed": "❌ failed", "skipped": "⏭️ skipped"}


def read_report(path: Path) -> list[dict[str, Any]]:
    """The specs of a JSON report (the base branch's, a CI shard's); ValueError with a
    plain sentence."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"cannot be read: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"is not JSON ({error.msg} at line {error.lineno}); give a .json "
                         "report of cnncheck's") from None
    if not isinstance(data, dict) or not isinstance(data.get("specs"), list):
        raise ValueError("is not a cnncheck JSON report (no `specs` list)")
    if data.get("version") not in (2, 3, 4, 5, REPORT_VERSION):
        raise ValueError(f"is a report of version {data.get('version')}; this cnncheck reads "
                         f"versions 2 to {REPORT_VERSION}: write that report again")
    specs = [spec for spec in data["specs"] if isinstance(spec, dict) and "id" in spec]
    if data["version"] == 2:  # its mult_adds were torchinfo's count: not comparable, left out
        specs = [{**spec, "mult_adds": None} for spec in specs]
    return specs


# The figures compared against the base branch: (name, how to read it from a result).
_FIGURES: tuple[tuple[str, Callable[[dict[str, Any]], int | None]], ...] = (
    ("params", lambda row: (row.get("params") or {}).get("total")),
    ("mult-adds", lambda row: row.get("mult_adds")),
    ("activations", lambda row: (row.get("memory") or {}).get("activations")),
    ("param bytes", lambda row: (row.get("memory") or {}).get("params")),
    ("training peak", lambda row: _peak(row)),
)


def _peak(row: dict[str, Any]) -> int | None:
    peak = ((row.get("memory") or {}).get("training") or {}).get("peak")
    return peak if isinstance(peak, int) else None


def percent(share: float) -> str:
    """A relative change as people read it: `+4.8%`; a change too small for one decimal
    is `+<0.1%`, never `-0.0%` (a nonzero change that reads as none)."""
    if share and abs(share) < 0.0005:
        return f"{'+' if share > 0 else '-'}<0.1%"
    return f"{share:+.1%}"


def changes(rows: list[dict[str, Any]], baseline: list[dict[str, Any]]) -> list[str]:
    """Markdown lines: what changed against the base branch, the biggest change first."""
    before = {row["id"]: row for row in baseline}
    now = {row["id"]: row for row in rows}
    added = [key for key in now if key not in before]
    removed = [key for key in before if key not in now]
    changed: list[tuple[float, str, list[str]]] = []
    for key in now.keys() & before.keys():
        cells, biggest = [], 0.0
        old_output, new_output = before[key].get("output"), now[key].get("output")
        output = (f"{_shape_text(old_output)} → {_shape_text(new_output)}"
                  if old_output != new_output and None not in (old_output, new_output) else "")
        for name, read in _FIGURES:
            old, new = read(before[key]), read(now[key])
            if isinstance(old, int) and isinstance(new, int) and old != new:
                share = (new - old) / old if old else 1.0
                biggest = max(biggest, abs(share))
                cells.append(f"{new - old:+,} {name} ({percent(share)})" if old else f"{new - old:+,} {name}")
        if cells or output:
            changed.append((biggest if cells else 0.0, key, [output] + cells))
    if not (changed or added or removed):
        return ["", "No spec changed against the base branch."]
    out = ["", "### Changes against the base branch", ""]
    if changed:
        out += ["| spec | output | change |", "| --- | --- | --- |"]
        for _, key, (output, *cells) in sorted(changed, key=lambda item: (-item[0], item[1])):
            out.append(f"| {_code(key, cell=True)} | {output} | {'; '.join(cells)} |")
    for title, keys in (("Added", added), ("Removed", removed)):
        if keys:
            out += ["", f"{title}: " + ", ".join(_code(key) for key in sorted(keys))]
    return out


# Complex on purpose: one branch per part of the report (summary, roots, followers, fixes, diagrams).
def markdown_report(rows: Iterable[dict[str, Any]], baseline: list[dict[str, Any]] | None = None) -> str:  # noqa: C901
    """One table row per spec, then each failed spec's mismatches: for a PR comment. With
    the base branch's specs, what changed leads."""
    rows = list(rows)
    counts = _counts(rows)
    v = versions()
    out = [f"## cnncheck: {counts['passed']} of {counts['total']} specs passed"
           + (f", {counts['failed']} failed" if counts["failed"] else "")
           + (f", {counts['skipped']} skipped" if counts["skipped"] else ""), "",
           f"torch {v['torch']}, torchinfo {v['torchinfo']}, pytest-cnncheck {v['pytest-cnncheck']}"]
    if baseline is not None:
        out += changes(rows, baseline)
    peaks = any(_peak(row) is not None for row in rows)  # a column only where a spec ran a training step
    out += ["", "| status | spec | output | params | activations | " + ("training peak | " if peaks else "")
            + "mismatches |", "| --- | --- | --- | ---: | ---: | " + ("---: | " if peaks else "") + "--- |"]
    for row in rows:
        output = _shape_text(row["output"]) if row.get("output") is not None else \
            (accepted_text(row["accepted"], row.get("tried")) if "accepted" in row else "")
        params = f"{row['params']['total']:,}" if row.get("params") else ""
        activations = memory.readable(row["memory"]["activations"]) if row.get("memory") else ""
        if activations and row.get("memory_sizes"):
            activations += f" at {label(row['memory_sizes'].items())}"
        roots = sum(1 for finding in row["findings"] if not finding.get("follows"))
        mismatches = ("spec error" if row.get("error") else
                      mismatch_count(roots, len(row["findings"])) if row["findings"] else "")
        peak = _peak(row)
        training = (memory.readable(peak) if peak is not None else "") + " | " if peaks else ""
        out.append(f"| {_ICONS.get(row['status'], row['status'])} | {_code(row['id'], cell=True)} | "
                   f"{_cell(output)} | {params} | {activations} | {training}{mismatches} |")
    failed = [row for row in rows if row["status"] == "failed"]
    for row in failed:
        out += ["", f"### {_code(row['id'])}", ""]
        out += _diagram(row)
        for problem in row.get("error") or ():
            out.append(f"- {_code(row['file'] + ':' + str(problem['line']))}: {_text(problem['message'])}")
        followers = [finding for finding in row["findings"] if finding.get("follows")]
        for finding in row["findings"]:
            if finding.get("follows"):
                continue
            out.append(_headline(row, finding))
            # Every line of the explanation, never cut: the line that explains the bug may be
            # the last. A detail indented under another is a bullet nested under it.
            for detail in finding["details"]:
                depth = (len(detail) - len(detail.lstrip(" "))) // 2
                out.append(f"{'  ' * (depth + 1)}- {_code(detail.strip())}")
            for layer in finding.get("layers", ()):
                if layer["file"]:
                    where = f"{layer['file']}:{layer['line']}"
                    verb = "is called at" if layer.get("step") else "is made at"  # a functional step, a module
                    out.append(f"  - {_code(layer['name'])} {verb} {_code(where)}")
            for fixed in finding.get("fixes", ()):
                applied = applied_by(fixed.get("applicability", "safe"), fixed.get("unsafe"))
                out.append(f"  - **fix**: {_code(fixed['change'])}, {applied} (verified on the model)")
                for stretch in fixed["lines"]:
                    out += ["", "    ```diff", f"    # {stretch['file']}:{stretch['line']}",
                            *(f"    - {text}" for text in stretch["old"]),
                            *(f"    + {text}" for text in stretch["new"]), "    ```", ""]
                for kwarg in fixed["kwargs"]:
                    name, value = kwarg["name"], kwarg["new"]
                    out.append(f"    - in the spec: {_code(f'kwargs: {{{name}: {value!r}}}')}")
            out += _hints_markdown(finding)
        if followers:  # folded, as the terminal folds them: what each says, and what it follows
            out += ["", "<details>", f"<summary>{len(followers)} that follow from "
                    f"{'it' if len(row['findings']) - len(followers) == 1 else 'them'}</summary>", ""]
            out += [f"{_headline(row, finding)} ({_text(finding['follows'])})" for finding in followers]
            out += ["", "</details>"]
    drawn = [row for row in rows if row["status"] != "failed" and row.get("diagram")]
    if drawn:
        out += ["", "### Shape flow", ""]
        for row in drawn:
            out += ["<details>", f"<summary>{_html(row['id'])}</summary>", ""] + _diagram(row) + ["</details>", ""]
    return "\n".join(out) + "\n"


def mismatch_count(roots: int, total: int) -> str:
    """`1 mismatch (and 12 that follow from it)`: the root causes, and what follows from them."""
    text = f"{roots} mismatch" + ("es" if roots != 1 else "")
    if total != roots:
        text += f" (and {total - roots} that follow from {'it' if roots == 1 else 'them'})"
    return text


def _headline(row: dict[str, Any], finding: dict[str, Any]) -> str:
    """`- `file:line` **key**: expected `X`, actual `Y``, or the finding's sentence."""
    where = f"{_code(row['file'] + ':' + str(finding['line']))} " if finding["line"] else ""
    said = (f"expected {_code(finding['expected_text'])}, actual {_code(finding['actual_text'])}"
            if finding["expected_text"] is not None and finding["actual_text"] is not None
            else _text(finding["message"] or ""))
    return f"- {where}**{_text(finding['key'])}**: {said}"


def _hints_markdown(finding: dict[str, Any]) -> list[str]:
    """A finding's hints as bullets, each labelled by what it asks, its lines nested under
    it; a report before version 5 gives them as text lines, nested by their indent."""
    if "hints" not in finding:
        return [f"{'  ' * ((len(line) - len(line.lstrip(' '))) // 2 + 1)}- {_code(line.strip())}"
                for line in finding.get("fix") or ()]
    out = []
    for hint in finding["hints"]:
        label = "or" if hint["alternative"] else LABELS[hint["applicability"]].rstrip(": ")
        out.append(f"  - {'**' + label + '**: ' if label else ''}{_code(hint['text'])}")
        out += [f"    - {_code(line)}" for line in hint["lines"]]
    return out


def _diagram(row: dict[str, Any]) -> list[str]:
    """The spec's shape flow as a Mermaid block, which GitHub draws."""
    text = row.get("diagram")
    return ["```mermaid", text.rstrip("\n"), "```", ""] if text else []


def _html(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text: str, cell: bool = False) -> str:
    """`text` as a Markdown code span that any backticks inside cannot end (`cell`: in a
    table row, where a `|` must be escaped even there)."""
    text = _cell(text) if cell else str(text).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _text(text: str) -> str:
    """Plain text in Markdown: what would start markup or HTML is escaped, code spans kept."""
    return re.sub(r"([\\*_<>\[\]|])", r"\\\1", str(text)).replace("\n", " ")
