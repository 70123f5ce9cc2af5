"""Where in the user's code something happened: the innermost frame that is neither
torch's nor cnncheck's, as `models/net.py:25: x = x.view(-1, 400)`.
"""

from __future__ import annotations

import linecache
import sys
from pathlib import Path

import torch

from ..paths import OWN_DIR, folder_prefix, relative, user_frame, user_place

__all__ = ["OWN_DIR", "TORCH_DIR", "first_line", "raised", "user_frame_of", "user_line_now", "user_place_of"]

# Folders as prefixes that end in a separator, so that a path is inside one by whole
# components: torchvision/ and torchinfo/ are not torch/.
TORCH_DIR = folder_prefix(Path(torch.__file__).parent)
# Wrappers that only pass a call on (typing_extensions' @deprecated, which torch and
# torchvision use): never the line a user would look for.
try:
    import typing_extensions

    _PASSING: tuple[str, ...] = (str(Path(typing_extensions.__file__).resolve()), typing_extensions.__file__)
except (ImportError, TypeError):  # pragma: no cover - torch requires it
    _PASSING = ()
_SKIPPED = (TORCH_DIR, *_PASSING)


def raised(doing: str, error: BaseException) -> str:
    where = user_frame_of(error)
    at = f" at {where}" if where else ""
    return f"{doing} raised {type(error).__name__}: {first_line(error)}{at}"


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "(no message)"


def user_frame_of(error: BaseException) -> str | None:
    return user_frame(error.__traceback__, skip=_SKIPPED)


def user_place_of(error: BaseException) -> tuple[str, int, str] | None:
    return user_place(error.__traceback__, skip=_SKIPPED)


def user_line_now() -> str | None:
    """`models/net.py:30: x = x.view(-1, 128)`: the user's line running now."""
    frame = sys._getframe(1)
    while frame is not None:
        path = frame.f_code.co_filename
        if not path.startswith((*_SKIPPED, OWN_DIR, "<")):
            line = f"{relative(Path(path), Path.cwd())}:{frame.f_lineno}"
            code = linecache.getline(path, frame.f_lineno).strip()
            return f"{line}: {code}" if code else line
        frame = frame.f_back  # type: ignore[assignment]
    return None
