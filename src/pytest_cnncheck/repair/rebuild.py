"""The model as it would be with some of its source edited, without writing a file.

The edited files' modules are run again from the edited text, under their own names
(so that relative imports and `from blocks import Block` find the edited ones), and so
is the module that holds the model; then `sys.modules` is put back as it was. The
factory returned builds the edited model. This is how a fix is tried before it is
printed: apply it as the user would, rebuild, run the spec again.
"""

from __future__ import annotations

import functools
import os
import sys
import types
from typing import Any, Callable

from ..findings import SourceEdit
from .sourcecode import apply_edits, read_source

__all__ = ["RebuildFailed", "edited_factory", "edited_texts"]


class RebuildFailed(Exception):
    """The edited source does not import (a syntax error, or its module raised)."""


def edited_texts(edits: list[SourceEdit], originals: dict[str, str] | None = None) -> dict[str, str]:
    """Each edited file's text with its edits made: on `originals[path]` where given (the
    text the edits were made on), else on the file as it is."""
    by_path: dict[str, list[SourceEdit]] = {}
    for edit in edits:
        by_path.setdefault(edit.path, []).append(edit)
    texts = {}
    for path, mine in by_path.items():
        text = originals.get(path) if originals is not None else None
        if text is None:
            read = read_source(path)
            if read is None:
                raise RebuildFailed(f"{path} cannot be read")
            text = read[0]
        texts[path] = apply_edits(text, mine)
    return texts


def _module_of(path: str) -> types.ModuleType | None:
    wanted = _real(path)
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and _real(file) == wanted:
            return module
    return None


@functools.lru_cache(maxsize=None)
def _real(path: str) -> str:
    """The path with its links resolved; a module's file does not move during a run."""
    return os.path.realpath(path)


# Complex on purpose: one branch per way a model's factory is named in a spec.
def edited_factory(factory: Callable[..., Any], texts: dict[str, str]) -> Callable[..., Any]:  # noqa: C901
    """`factory` as it is in the source with `texts` in place of those files."""
    home = sys.modules.get(getattr(factory, "__module__", "") or "")
    if home is None or not getattr(home, "__file__", None) or \
            os.path.dirname(os.path.realpath(home.__file__ or "")) == os.path.dirname(os.path.realpath(__file__)):
        raise RebuildFailed("the model was given as an object, not built from its source")
    modules: list[tuple[types.ModuleType, str]] = []
    for path, text in texts.items():
        module = _module_of(path)
        if module is None:
            raise RebuildFailed(f"{path} is not an imported module")
        modules.append((module, text))
    if all(module is not home for module, _ in modules):
        read = read_source(home.__file__)  # type: ignore[arg-type]
        if read is None:
            raise RebuildFailed(f"{home.__file__} cannot be read")
        modules.append((home, read[0]))  # run again, so that it takes the edited helpers
    saved: dict[str, Any] = {}
    parents: list[tuple[Any, str, Any]] = []
    fresh: dict[str, types.ModuleType] = {}
    try:
        for module, text in modules:
            name = module.__name__
            new = types.ModuleType(name, module.__doc__)
            for key in ("__file__", "__package__", "__spec__", "__loader__", "__path__"):
                if key in module.__dict__:
                    new.__dict__[key] = module.__dict__[key]
            saved.setdefault(name, sys.modules.get(name))
            sys.modules[name] = new
            parent_name, _, child = name.rpartition(".")
            parent = sys.modules.get(parent_name) if parent_name else None
            if parent is not None and getattr(parent, child, None) is module:
                parents.append((parent, child, module))
                setattr(parent, child, new)
            try:
                exec(compile(text, getattr(module, "__file__", None) or name, "exec", dont_inherit=True), new.__dict__)
            except Exception as error:
                raise RebuildFailed(f"{name} raised {type(error).__name__}: {error}") from None
            fresh[name] = new
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        for parent, child, module in parents:
            setattr(parent, child, module)
    value: Any = fresh.get(home.__name__, home)
    for part in getattr(factory, "__qualname__", "").split("."):
        value = getattr(value, part, None)
        if value is None:
            raise RebuildFailed(f"{factory!r} is not found in its edited module")
    return value  # type: ignore[no-any-return]
