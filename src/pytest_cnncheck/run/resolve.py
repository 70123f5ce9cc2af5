"""A spec's `model:` -> the class or factory it names: import the user's file or module
(as pytest imports test files), find the attribute, and check the spec's `kwargs` fit it.

Every way this can fail is a SpecError at the spec's line, in a plain sentence.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import sys
import weakref
from pathlib import Path
from typing import Any, Callable

from ..spec.model import Spec, SpecError
from ..spec.validate import did_you_mean
from .frames import raised

__all__ = ["check_kwargs", "resolve_model"]


def resolve_model(spec: Spec, rootdir: Path) -> Callable[..., Any]:
    """The class or factory that `spec.model` names; SpecError at its line if it can't be had."""
    # Once per name and spec file in a process: a module is imported once anyway, and
    # finding it again (the file checks of a package) costs more than a small model's run.
    key = (spec.model, spec.path, rootdir)
    found = _RESOLVED.get(key)
    if found is None or not _loaded(found):
        found = _RESOLVED[key] = _resolve(spec, rootdir)
    return found


def _loaded(value: Any) -> bool:
    """Whether `value` is still what its module holds: a module dropped from sys.modules
    (pytester's inline runs drop those a run imported) is imported afresh, and its class
    with it, so that a fix is rebuilt from the module that is loaded."""
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return True  # nothing to look it up by: kept
    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found is value


_RESOLVED: dict[tuple[str, Path, Path], Callable[..., Any]] = {}


def _resolve(spec: Spec, rootdir: Path) -> Callable[..., Any]:
    target, _, attr_path = spec.model.rpartition(":")
    target, attr_path = target.strip(), attr_path.strip()
    if target.endswith(".py") or "/" in target or "\\" in target:
        module = _import_file(spec, (spec.path.parent / target).resolve())
    else:
        module = _import_module(spec, target, rootdir)
    value: Any = module
    for part in attr_path.split("."):
        if not hasattr(value, part):
            names = [n for n in dir(value) if not n.startswith("_")]
            raise SpecError.at(spec.model_line, f"`model`: {target} has no attribute {attr_path!r}."
                                                f"{did_you_mean(part, names)}")
        value = getattr(value, part)
    if not callable(value):
        raise SpecError.at(spec.model_line, f"`model`: {spec.model} is an object of type "
                                            f"{type(value).__name__}, not an nn.Module class or a "
                                            "function returning one.")
    return value  # type: ignore[no-any-return]


def _import_module(spec: Spec, name: str, rootdir: Path) -> Any:
    # pytest puts `pythonpath` on sys.path itself; the rootdir we add like
    # pytest's default "prepend" import mode does for test files.
    root = str(rootdir)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name and (name == error.name or name.startswith(error.name + ".")):
            raise SpecError.at(spec.model_line, f"`model`: cannot import {name!r}: no module named "
                                                f"{error.name!r} on sys.path (which holds {root}).") from None
        raise model_error(spec, f"importing {name!r}", error) from None
    except Exception as error:  # the user's module raised while importing
        raise model_error(spec, f"importing {name!r}", error) from None


def _import_file(spec: Spec, path: Path) -> Any:
    if not path.is_file():
        raise SpecError.at(spec.model_line, f"`model`: the file {path} does not exist "
                                            "(a .py path is taken relative to the spec file).")
    package = _package_name(path)
    if package is not None:
        # A file inside a package is imported as part of it, so that its relative
        # imports (`from .blocks import Block`) work, as pytest's "prepend" import
        # mode does for test files: the folder above the top package goes on sys.path.
        base, dotted = package
        return _import_module(spec, dotted, Path(base))
    module_name = "cnncheck_model_" + "".join(c if c.isalnum() else "_" for c in str(path))
    if module_name in sys.modules:
        return sys.modules[module_name]
    # Sibling imports (`from blocks import Block`) work as they do for pytest's
    # own test files in "prepend" import mode.
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException as error:
        del sys.modules[module_name]
        if not isinstance(error, Exception):
            raise
        raise model_error(spec, f"importing {path.name}", error) from None
    return module


def _package_name(path: Path) -> tuple[str, str] | None:
    """(folder to put on sys.path, dotted module name) for a file inside a package."""
    folder = path.parent
    parts = [path.stem]
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        parts.insert(0, folder.name)
        folder = folder.parent
    if len(parts) == 1 or not path.stem.isidentifier():
        return None
    return str(folder), ".".join(parts)


def check_kwargs(spec: Spec, factory: Callable[..., Any]) -> None:
    names = tuple(spec.kwargs)
    try:
        fitted = _FITTED.get(factory)
        if fitted is None:
            fitted = _FITTED[factory] = set()
    except TypeError:  # takes no weak reference: not remembered
        fitted = set()
    if names in fitted:  # binding looks at names only, and costs a small model's layer
        return
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(**spec.kwargs)
    except TypeError as error:
        line = spec.kwargs_line or spec.model_line
        raise SpecError.at(line, f"`kwargs` do not fit {spec.model}: {error}{_meant(spec, signature)} "
                                 f"(it takes: {_takes(signature)}).") from None
    fitted.add(names)


def _meant(spec: Spec, signature: inspect.Signature) -> str:
    """`. Did you mean 'spatial_dims' for 'spatial_dim'?`: the parameter each unknown name is
    close to."""
    known = [name for name, p in signature.parameters.items()
             if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    close = [(name, found[0]) for name in spec.kwargs if name not in known
             for found in [difflib.get_close_matches(name, known, n=1)] if found]
    return "".join(f". Did you mean {meant!r} for {name!r}?" for name, meant in close)


def _takes(signature: inspect.Signature, longest: int = 240) -> str:
    """The parameters as the signature writes them; where that is long (a model of thirty
    arguments), their names alone, the required ones first."""
    written = ", ".join(str(p) for p in signature.parameters.values()) or "no arguments"
    if len(written) <= longest:
        return written
    required = [name for name, p in signature.parameters.items() if p.default is p.empty
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    optional = [name for name in signature.parameters if name not in required]
    shown = ", ".join(required) + (" (required); " if required else "") + ", ".join(optional[:12])
    return shown + (f" and {len(optional) - 12} more" if len(optional) > 12 else "")


# The keyword names that each factory has accepted in this process.
_FITTED: weakref.WeakKeyDictionary[Callable[..., Any], set[tuple[str, ...]]] = weakref.WeakKeyDictionary()


def model_error(spec: Spec, doing: str, error: BaseException) -> SpecError:
    """The spec error, at the `model` line, for a model that could not be imported."""
    return SpecError.at(spec.model_line, f"`model`: {raised(doing, error)}.")


