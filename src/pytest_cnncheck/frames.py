"""Where in the user's code something happened: the innermost frame that is neither
torch's nor cnncheck's, as `models/net.py:25: x = x.view(-1, 400)`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .report import user_frame

__all__ = ["TORCH_DIR", "first_line", "raised", "user_frame_of"]

TORCH_DIR = str(Path(torch.__file__).parent)


def raised(doing: str, error: BaseException) -> str:
    where = user_frame_of(error)
    at = f" at {where}" if where else ""
    return f"{doing} raised {type(error).__name__}: {first_line(error)}{at}"


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "(no message)"


def user_frame_of(error: BaseException) -> str | None:
    return user_frame(error.__traceback__, skip=(TORCH_DIR,))
