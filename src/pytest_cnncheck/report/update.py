"""`pytest --cnncheck-update`: rewrite the values a spec got wrong, and not one byte more.

Items only describe their changes (value spans of the text they were collected
from, old and new text); the session's controller applies them once per file at
the end of the run. Under pytest-xdist, two specs of one file checked by two
workers therefore never overwrite each other's fix. Before writing, every old
value is compared with the file as it is now: a file edited meanwhile is left
alone. The write is atomic (a temporary file beside it, then a rename), so an
interrupted run leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import codecs
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from ..files import write_atomically
from ..findings import Finding
from ..spec.model import FileSpecs

__all__ = ["Change", "apply_changes", "changes_for", "summary_lines"]


@dataclass(frozen=True)
class Change:
    path: str
    line: int
    spec: str  # the spec's name: two specs of a file have keys of the same name
    key: str
    start: int
    end: int
    old: str
    new: str
    was: str  # the finding's expected and actual values, for the summary
    now: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        return cls(**data)


def changes_for(parsed: FileSpecs, spec: str, findings: Iterable[Finding]) -> list[Change]:
    """The text changes that make spec `spec` of `parsed` state what the model does."""
    changes = []
    for finding in findings:
        for edit in finding.edits or ():
            start, end = edit.span.start, edit.span.end
            changes.append(Change(
                path=str(parsed.path), line=parsed.text.count("\n", 0, start) + 1, spec=spec,
                key=finding.key,
                start=start, end=end, old=parsed.text[start:end], new=edit.new,
                was=finding.expected or "", now=finding.actual or ""))
    return changes


def summary_lines(changes: list[Change]) -> list[tuple[str, int, str]]:
    """(path, line, "spec: key: was -> now") once per rewritten key of each spec, in file
    order: a shape whose two dimensions change is one line, two specs' keys are two."""
    seen: dict[tuple[str, str, str], tuple[str, int, str]] = {}
    for change in sorted(changes, key=lambda c: (c.path, c.start)):
        seen.setdefault((change.path, change.spec, change.key),
                        (change.path, change.line,
                         f"{change.spec}: {change.key}: {change.was} -> {change.now}"))
    return list(seen.values())


def apply_changes(path: Path, changes: list[Change]) -> tuple[list[Change], str | None]:
    """Write `changes` into `path`; what was written, and why not, where it wasn't."""
    unique = sorted({(c.start, c.end, c.new): c for c in changes}.values(), key=lambda c: c.start)
    for before, after in zip(unique, unique[1:]):
        if after.start < before.end:
            return [], (f"two updates overlap at line {after.line} ({before.key}, {after.key}); "
                        "the file was left as it was")
    raw = path.read_bytes()
    bom = raw.startswith(codecs.BOM_UTF8)
    text = raw.decode("utf-8-sig")
    for change in unique:
        if text[change.start:change.end] != change.old:
            return [], (f"it changed since it was read (line {change.line}); the file was left as "
                        "it was: run again to update it")
    for change in reversed(unique):
        text = text[:change.start] + change.new + text[change.end:]
    write_atomically(path, (codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"))
    return unique, None
