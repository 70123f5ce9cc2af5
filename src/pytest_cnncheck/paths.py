"""Paths as a person reads them: relative to a root, folders by whole components, and the
innermost frame of a traceback that is the user's own code. No torch: the pytest glue
and the writers import this in every session."""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from types import TracebackType

__all__ = ["OWN_DIR", "folder_prefix", "relative", "user_frame", "user_place"]


def relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def folder_prefix(folder: Path | str) -> str:
    """`folder` with a separator at its end: a path inside it starts with this, and a path
    in a folder that merely begins with its name (torch -> torchvision) does not."""
    return os.path.join(str(folder), "")


OWN_DIR = folder_prefix(Path(__file__).parent)  # the whole package, every stage's folder


def user_place(tb: TracebackType | None, skip: tuple[str, ...] = ()) -> tuple[str, int, str] | None:
    """(file, line, source) of the innermost frame of the user's code: not ours, not in
    `skip`; the file relative to where the user is, where it can be."""
    for frame in reversed(traceback.extract_tb(tb)):
        if frame.filename.startswith((OWN_DIR, *skip)) or frame.filename.startswith("<"):
            continue
        return relative(Path(frame.filename), Path.cwd()), frame.lineno or 0, (frame.line or "").strip()
    return None


def user_frame(tb: TracebackType | None, skip: tuple[str, ...] = ()) -> str | None:
    """`file:line: source` of the innermost frame of the user's code: not ours, not in `skip`."""
    place = user_place(tb, skip)
    if place is None:
        return None
    file, line, source = place
    return f"{file}:{line}: {source}" if source else f"{file}:{line}"
