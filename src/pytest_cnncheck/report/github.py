"""GitHub Actions annotations: under `GITHUB_ACTIONS=true`, each failing spec prints
workflow commands, `::error file=models/net.py,line=13,title=...::message`, so that a pull
request's diff shows the finding at the model's line to edit and at the spec's line.

A writer: it renders the results a spec item made (results.py's data, so xdist workers'
too) and computes nothing. Paths are relative to the repository root (`GITHUB_WORKSPACE`,
else pytest's rootdir), as GitHub matches them against the diff; the convention is
pytest-github-actions-annotate-failures'.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

from ..paths import relative
from .hints import applied_by, report_hint_lines

__all__ = ["commands", "enabled", "finding_message", "repository_path"]


def enabled() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def commands(result: dict[str, Any], rootdir: Path) -> Iterator[str]:
    """The workflow commands for one spec's result: one per problem of a spec that could
    not be checked; per finding, one at the spec's line and one at each line to edit (a
    verified fix's, else each line that made a layer it names, and a crash's line that
    ran). Nothing for a spec that passed."""
    if result.get("status") != "failed":
        return
    root = Path(os.environ.get("GITHUB_WORKSPACE") or rootdir)
    spec_file = repository_path(Path(rootdir, result["file"]), root)
    name = result.get("name", "")
    for problem in result.get("error") or ():
        yield _command(spec_file, problem["line"], f"cnncheck: {name}", problem["message"])
    for finding in result.get("findings", ()):
        if finding.get("follows"):
            continue  # folded under its root cause, which is annotated
        message = finding_message(finding)
        yield _command(spec_file, finding["line"], f"cnncheck: {name}: {finding['key']}", message)
        # The lines to edit: where a verified fix edits, else where each layer is made, and
        # for a crash the line that ran.
        places = {(edit["file"], edit["line"]): fixed["change"]
                  for fixed in finding.get("fixes", ()) for edit in fixed["edits"]}
        if not places:
            places = {(layer["file"], layer["line"]): layer["name"]
                      for layer in finding.get("layers", ()) if layer.get("file")}
            ran = finding.get("ran")
            if ran and ran.get("file"):
                places.setdefault((ran["file"], ran["line"]), "the line that ran")
        for (file, line), what in places.items():
            where = repository_path(Path(file).resolve(), root)
            yield _command(where, line, f"cnncheck: {what} ({name}: {finding['key']})", message)


def finding_message(finding: dict[str, Any]) -> str:
    """A finding's text for a reader outside the terminal: what differs, why, the fix."""
    head = finding.get("message") or (f"expected {finding.get('expected_text')}, "
                                      f"actual {finding.get('actual_text')}")
    fixes = [line for fixed in finding.get("fixes", ()) for line in fix_lines(fixed)]
    return "\n".join([head, *finding.get("details", ()), *fixes, *report_hint_lines(finding)])


def fix_lines(fixed: dict[str, Any]) -> list[str]:
    """A verified fix (a JSON report's `fixes` entry) as lines: what changes, and the lines
    as they are and as they will be."""
    applied = applied_by(fixed.get("applicability", "safe"), fixed.get("unsafe"))
    lines = [f"fix: {fixed['change']}: {applied}, verified on the model"]
    for stretch in fixed["lines"]:
        lines.append(f"  {stretch['file']}:{stretch['line']}")
        lines += [f"  - {text}" for text in stretch["old"]] + [f"  + {text}" for text in stretch["new"]]
    lines += [f"  in the spec: kwargs: {{{kwarg['name']}: {kwarg['new']!r}}}" for kwarg in fixed["kwargs"]]
    return lines


def repository_path(path: Path, root: Path) -> str:
    """`models/net.py`: a path as GitHub names it, from the repository's root, with `/`."""

    return Path(relative(path.resolve(), root.resolve())).as_posix()


def _command(file: str, line: int, title: str, message: str) -> str:
    return (f"::error file={_property(file)},line={int(line)},title={_property(title)}::"
            f"{_data(message)}")


def _data(text: str) -> str:
    """A workflow command's message: its line breaks and % escaped, as GitHub reads them."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
