"""YAML text -> the specs of one file: each a Spec, or the SpecError that says what is wrong.

No torch here: collection reads and validates every spec file cheaply, and a spec error
becomes one failed item (SpecError) instead of stopping the session."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from .model import FileSpecs, Spec, SpecError
from .sizes import label
from .source import LineMap, YamlError, closing, load
from .validate import Validator, value_kind

__all__ = ["MAX_FILE_BYTES", "items_of", "parse_file", "parse_text"]

# A spec file states an architecture in kilobytes (one line a layer). PyYAML's safe
# loader reads about 25,000 tokens a second here, so a larger file is a mistake or
# an attack that would stall every pytest run: it is refused unread.
MAX_FILE_BYTES = 2**20


def parse_file(path: Path) -> FileSpecs:
    """Read and validate every spec of one file; never raises for bad content."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return FileSpecs(path, (), (), SpecError.at(1, (
                f"This file is {size / 2**20:,.1f} MiB; spec files over "
                f"{MAX_FILE_BYTES // 2**20} MiB are not read (one holds a few kilobytes).")))
        raw = path.read_bytes()
    except OSError as error:
        return FileSpecs(path, (), (), SpecError.at(1, f"This file cannot be read: {error.strerror}."))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return FileSpecs(path, (), (), SpecError.at(
            line, f"is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start})"))
    return parse_text(path, text)


def parse_text(path: Path, text: str) -> FileSpecs:
    """Validate every spec of `text`, read from `path` (the base of relative model paths)."""
    lines = tuple(text.splitlines())
    try:
        data, duplicates = load(text)
    except YamlError as error:
        if error.opened is not None:
            # The line to edit is the one that opened the bracket, not the one where the
            # parser noticed: say both.
            start, char, found = error.opened
            return FileSpecs(path, lines, (), SpecError([
                (start, f"This file is not valid YAML: the `{char}` opened on line {start} is never "
                        f"closed: a `{closing(char)}` is missing."),
                (error.line, f"...so the parser gave up on line {error.line}: {found}.")]), text)
        return FileSpecs(path, lines, (), SpecError.at(error.line, f"This file {error.message}."), text)
    if data is None:
        return FileSpecs(path, lines, (), SpecError.at(
            1, "This file holds no specs: a spec file maps spec names to specs."), text)
    if not isinstance(data, LineMap):
        return FileSpecs(path, lines, (), SpecError.at(
            getattr(data, "line", 1),
            "The top level of a spec file must be a mapping of spec names to specs, "
            f"not {value_kind(data)}."), text)
    starts = sorted(data.key_lines.values())
    if duplicates and duplicates[0].line in starts or any(d.line < starts[0] for d in duplicates):
        first = next(d for d in duplicates if d.line in starts or d.line < starts[0])
        return FileSpecs(path, lines, (), SpecError.at(first.line, first.message), text)
    entries = []
    for name, body in data.items():
        # Keys starting with "." are templates to share through anchors, not specs.
        if isinstance(name, str) and name.startswith("."):
            continue
        line = data.key_line(name)
        following = [start for start in starts if start > line]
        end = following[0] if following else len(lines) + 1
        twice = [(d.line, d.message) for d in duplicates if line <= d.line < end]
        for item_name, entry in items_of(path, str(name), line, body, data.value_line(name)):
            if twice:
                entry = SpecError(sorted((entry.problems if isinstance(entry, SpecError) else [])
                                         + twice))
            entries.append((item_name, line, entry))
    return FileSpecs(path, lines, tuple(entries), text=text)


def _validated(path: Path, name: str, line: int, body: Any, value_line: int,
               names: dict[str, int] | None = None) -> Spec | SpecError:
    try:
        return Validator(path, name, line, names).spec(body, value_line)
    except SpecError as error:
        return error


def items_of(path: Path, name: str, line: int, body: Any,
           value_line: int) -> list[tuple[str, Spec | SpecError]]:
    """The items one spec makes: itself, or with a `sweep`, one per combination of sizes
    (`name[B=1-H=64]`); with `expect.accepts`, one that runs them all."""
    if not isinstance(body, LineMap) or "sweep" not in body:
        return [(name, _validated(path, name, line, body, value_line))]
    try:
        combinations = Validator(path, name, line).sweep(body)
    except SpecError as error:
        return [(name, error)]
    expect = body.get("expect")
    if isinstance(expect, LineMap) and "accepts" in expect:
        return [(name, _scan(path, name, line, body, value_line, combinations))]
    labels = [f"{name}[{'-'.join(f'{k}={v}' for k, v in combination.items())}]"
              for combination in combinations]
    labelled = [(item_name, _validated(path, item_name, line, body, value_line, combination))
                for item_name, combination in zip(labels, combinations)]
    errors = [entry for _, entry in labelled if isinstance(entry, SpecError)]
    if len(errors) == len(labelled) and all(e.problems == errors[0].problems for e in errors):
        return [(name, errors[0])]  # the same mistake at every size: one failure, not N
    return labelled


def _scan(path: Path, name: str, line: int, body: LineMap, value_line: int,
          combinations: list[dict[str, int]]) -> Spec | SpecError:
    points = []
    first: Spec | None = None
    entries = [_validated(path, name, line, body, value_line, combination) for combination in combinations]
    errors = [entry for entry in entries if isinstance(entry, SpecError)]
    if errors and len(errors) == len(entries) and all(e.problems == errors[0].problems for e in errors):
        return errors[0]  # the same mistake at every size: no size to name
    for combination, entry in zip(combinations, entries):
        if isinstance(entry, SpecError):
            at = label(combination.items())
            return SpecError([(where, f"{message} (at {at})") for where, message in entry.problems])
        first = first or entry
        points.append((tuple(combination.items()), entry.input_sizes))
    assert first is not None and first.scan is not None
    return replace(first, scan=replace(first.scan, points=tuple(points)))
