"""`cnncheck fix PATH... [--diff] [--unsafe-fixes]`: write the verified fixes into the model's source.

Each spec runs as pytest runs it; each finding's fix has been applied to the model and
the spec run again before it is offered (repair/verify.py). The edits of every spec are then
checked together, on the model as it will be, and written only where that run has fewer
findings and no crash: all of a file's edits at once (a temporary file moved into
place), never over a file that changed since it was read. Each change is printed as a
unified diff; `--diff` prints and writes nothing. A fix marked unsafe (the model ran, and
the spec disagrees with it elsewhere too) is written only with `--unsafe-fixes`; an edit of
a file outside the project (an installed package) or of a read-only file never is.

Exit status: 0 every spec passes afterwards (with `--diff`: nothing to change, and every
spec passes); 1 findings remain, a spec's edits were held back, or `--diff` shows a
change; 2 a spec or path could not be read, or a file changed while it ran.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..files import write_atomically
from ..findings import KwargEdit, SourceEdit
from ..repair.rebuild import edited_texts
from ..repair.sourcecode import not_ours, read_source
from ..spec.model import Spec, SpecError
from ..spec.parse import parse_file, parse_text

__all__ = ["fix_command", "spec_files"]

PATTERNS = ("*.cnncheck.yaml", "*.cnncheck.yml")


def spec_files(paths: list[str]) -> tuple[list[Path], list[str]]:
    """The spec files that `paths` name (files, or folders searched as pytest would), and
    the paths that are neither."""
    found: list[Path] = []
    missing = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(p for pattern in PATTERNS for p in path.rglob(pattern)
                                if not any(part.startswith(".") for part in p.relative_to(path).parts)))
        elif path.is_file():
            found.append(path)
        else:
            missing.append(name)
    return list(dict.fromkeys(found)), missing


@dataclass
class _Planned:
    spec: Spec
    file: Path
    edits: list[SourceEdit] = field(default_factory=list)
    kwargs: dict[str, KwargEdit] = field(default_factory=dict)
    before: int = 0
    now: int = 0  # its findings with the edits accepted so far
    crashed: bool = False
    files: set[str] = field(default_factory=set)  # the source files that made its model
    unsafe: int = 0  # fixes held back for want of --unsafe-fixes
    refused: list[str] = field(default_factory=list)  # why fixes were held back: files not the project's


# Complex on purpose: the subcommand's whole flow: read, probe, verify, write, report.
def fix_command(paths: list[str], diff_only: bool, out: Callable[[str], None] = print, *,  # noqa: C901
                unsafe: bool = False) -> int:
    from .. import probe
    from ..runner import run_spec

    files, missing = spec_files(paths)
    errors = [f"cnncheck fix: {name}: no such file or folder" for name in missing]
    rootdir = Path.cwd()
    planned: list[_Planned] = []
    originals: dict[str, str] = {}  # each file as it was read: written only if it still is
    for file in files:
        parsed = parse_file(file)
        problems = [parsed.error] if parsed.error is not None else [
            entry for _, _, entry in parsed.entries if isinstance(entry, SpecError)]
        for problem in problems:
            errors.extend(f"{file}:{line}: {message}" for line, message in problem.problems)
        for _, _, entry in parsed.entries:
            if not isinstance(entry, Spec) or entry.scan is not None:
                continue
            try:
                outcome = run_spec(entry, rootdir)
            except SpecError as error:
                errors.extend(f"{file}:{line}: {message}" for line, message in error.problems)
                continue
            except probe.DeviceUnavailable as reason:
                out(f"{file}: {entry.name}: skipped: {reason}")
                continue
            findings = outcome.findings
            plan = _Planned(entry, file, before=len(findings), now=len(findings),
                            crashed=any(f.key == "forward" for f in findings),
                            files={frame[0] for layer in outcome.trace.layers.values() for frame in layer.made})
            for finding in findings:
                for fixed in finding.repairs:
                    if fixed.applicability == "unsafe" and not unsafe:
                        plan.unsafe += 1
                        continue
                    refused = not_ours(fixed.edits, rootdir)
                    if refused:
                        plan.refused.append(refused)
                        continue
                    for edit in fixed.edits:
                        if isinstance(edit, SourceEdit):
                            plan.edits.append(edit)
                            read = read_source(edit.path)
                            if read is not None:  # the text the edit was verified on
                                originals.setdefault(edit.path, read[0])
                        else:
                            plan.kwargs[edit.name] = edit
            planned.append(plan)

    # Every spec's edits together, on the model as it will be: a spec whose fixes leave a
    # crash, as many findings as before, or clash with another spec's, is held back.
    accepted: list[SourceEdit] = []
    spec_texts: dict[Path, str] = {}
    held: list[str] = []
    for plan in planned:
        if plan.unsafe:
            held.append(f"{plan.file}: {plan.spec.name}: {plan.unsafe} unsafe fix(es) not written: the model ran, "
                        "and the spec may be what is wrong (`pytest` says why under each); "
                        "`cnncheck fix --unsafe-fixes` writes them")
        held.extend(f"{plan.file}: {plan.spec.name}: not fixed: {why}" for why in plan.refused)
        if not plan.edits and not plan.kwargs:
            continue
        trial = _merged(accepted, [e for e in plan.edits if e.path in originals])
        if trial is None:
            held.append(f"{plan.file}: {plan.spec.name}: its fixes touch the same code as another spec's; "
                        "run `cnncheck fix` again after this one")
            continue
        originals.setdefault(str(plan.file), _read(plan.file))
        spec_text = _with_kwargs(spec_texts.get(plan.file) or originals[str(plan.file)],
                                 plan.spec, plan.kwargs)
        after = _findings_after(plan.spec, plan.file, spec_text, trial, rootdir, originals)
        if after is None or any(f.key == "forward" for f in after) or len(after) >= plan.before:
            held.append(f"{plan.file}: {plan.spec.name}: not fixed: with its fixes applied together, "
                        + ("the model does not build" if after is None else
                           "the forward pass still raises" if any(f.key == "forward" for f in after)
                           else f"{len(after)} finding(s) remain of {plan.before}"))
            continue
        # The other specs whose models are made by the files it edits: none may get worse.
        edited = {edit.path for edit in plan.edits}
        others = [other for other in planned if other is not plan and other.files & edited]
        outcomes = {}
        for other in others:
            text = spec_text if other.file == plan.file else (
                spec_texts.get(other.file) or originals.setdefault(str(other.file), _read(other.file)))
            outcomes[id(other)] = _findings_after(other.spec, other.file, text, trial, rootdir, originals)
        worse = [other.spec.name for other in others
                 if (found := outcomes[id(other)]) is None or len(found) > other.now
                 or (not other.crashed and any(f.key == "forward" for f in found))]
        if worse:
            held.append(f"{plan.file}: {plan.spec.name}: not fixed: its fixes would break "
                        f"{', '.join(worse)}, made by the same code")
            continue
        accepted = trial
        if plan.kwargs:
            spec_texts[plan.file] = spec_text
        plan.now, plan.crashed = len(after), False
        for other in others:
            found = outcomes[id(other)] or []
            other.now, other.crashed = len(found), any(f.key == "forward" for f in found)
    remaining = sum(plan.now for plan in planned)

    texts = edited_texts(accepted, originals)
    changed = [(path, originals[path], text) for path, text in texts.items()]
    changed += [(str(path), originals[str(path)], text) for path, text in spec_texts.items()]
    for path, old, new in changed:
        shown = os.path.relpath(path)
        out("".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                         f"a/{shown}", f"b/{shown}")).rstrip("\n"))
    for line in held:
        out(line)
    if not diff_only:
        for path, old, new in changed:
            if not _write(path, old, new):
                errors.append(f"cnncheck fix: {os.path.relpath(path)}: not written: the file changed "
                              "since it was read; run again")
    for line in errors:
        print(line, file=sys.stderr)
    verb = "would fix" if diff_only else "fixed"
    out(f"cnncheck fix: {verb} {len(changed)} file(s); {remaining} finding(s) remain")
    if errors:
        return 2
    return 1 if remaining or held or (diff_only and changed) else 0


def _merged(accepted: list[SourceEdit], more: list[SourceEdit]) -> list[SourceEdit] | None:
    """`accepted` and `more` as one list of edits; None where two differ on the same code."""
    out = list(accepted)
    for edit in more:
        if edit in out:
            continue
        if any(other.path == edit.path and other.start < max(edit.end, edit.start + 1)
               and edit.start < max(other.end, other.start + 1) for other in out):
            return None
        out.append(edit)
    return out


def _with_kwargs(text: str, spec: Spec, kwargs: dict[str, KwargEdit]) -> str:
    """The spec file's text with `kwargs` values rewritten on their lines."""
    lines = text.splitlines(keepends=True)
    for name, edit in kwargs.items():
        line = spec.kwargs_lines.get(name)
        if not line:  # a parameter the spec left at its default: the key added
            lines = _kwarg_added(lines, spec, name, edit.value)
            continue
        if line > len(lines):
            continue
        # The key plain or quoted: init writes kwargs as JSON, `{"num_classes": 10}`.
        pattern = re.compile(rf"((?<![\w\"'])[\"']?{re.escape(name)}[\"']?\s*:\s*)([^,}}#\n]+?)(\s*(?:[,}}#\n]|$))")
        lines[line - 1] = pattern.sub(lambda m: f"{m.group(1)}{edit.value!r}{m.group(3)}", lines[line - 1], count=1)
    return "".join(lines)


def _kwarg_added(lines: list[str], spec: Spec, name: str, value: Any) -> list[str]:
    """`name: value` added to the spec's kwargs: inside its `{...}`, as a line of its block,
    or as `kwargs: {name: value}` under `model:` where it has none. Unchanged where the
    spec is written otherwise (then the fix does not verify when applied, and is not written)."""
    out = list(lines)
    if spec.kwargs_line and spec.kwargs_line <= len(out):
        at = out[spec.kwargs_line - 1]
        brace = re.search(r"kwargs\s*:\s*\{", at)
        if brace is not None:
            rest = at[brace.end():]
            out[spec.kwargs_line - 1] = at[:brace.end()] + f"{name}: {value!r}" + \
                ("" if rest.lstrip().startswith("}") else ", ") + rest
        elif re.match(r"\s*[\w\"']+\s*:", at):  # a block mapping: its first key's line
            indent = at[:len(at) - len(at.lstrip())]
            out.insert(spec.kwargs_line - 1, f"{indent}{name}: {value!r}\n")
        return out
    at = out[spec.model_line - 1] if 0 < spec.model_line <= len(out) else ""
    model = re.match(r"(\s*)model\s*:", at)
    if model is not None:
        out.insert(spec.model_line, f"{model.group(1)}kwargs: {{{name}: {value!r}}}\n")
    return out


def _findings_after(spec: Spec, file: Path, spec_text: str, edits: list[SourceEdit], rootdir: Path,
                    originals: dict[str, str]) -> list[Any] | None:
    """The spec's findings with every edit made; None where the model does not build."""
    from .. import probe
    from ..repair.rebuild import edited_factory
    from ..runner import Options, run_spec

    reparsed = parse_text(file, spec_text)
    entry = next((e for name, _, e in reparsed.entries if name == spec.name), None)
    if not isinstance(entry, Spec):
        return None
    try:
        factory = probe.resolve_model(entry, rootdir)
        factory = edited_factory(factory, edited_texts(edits, originals))
        return list(run_spec(entry, rootdir, Options(factory=factory, fixes=False)).findings)
    except Exception:  # RebuildFailed, a SpecError, anything the edited model raises while built
        return None


def _read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def _write(path: str, old: str, new: str) -> bool:
    """Write `new` over `path` in one step, if it still holds `old`."""
    try:
        return write_atomically(path, new.encode("utf-8"), unless_changed_from=old.encode("utf-8"))
    except OSError:
        return False
