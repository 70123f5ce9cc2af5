"""pytest-cnncheck: write down what a CNN's architecture must be, and let pytest prove it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["ArchitectureMismatch", "SpecError", "check_architecture"]

if TYPE_CHECKING:
    from .api import ArchitectureMismatch, check_architecture
    from .spec.model import SpecError


def __getattr__(name: str) -> Any:
    # Lazily: pytest loads this package for every session, and most never check a model.
    if name in ("ArchitectureMismatch", "check_architecture"):
        from . import api

        return getattr(api, name)
    if name == "SpecError":
        from .spec.model import SpecError

        return SpecError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
