"""Where a layer's argument is written in the user's source, and the edit that changes it.

A layer is made by a constructor call (`nn.Conv2d(cin, cout, 3)`) that may sit in a
helper (`def double_conv(cin, cout)`) called from the model (`double_conv(base * 2,
base * 2)`). The value to change is where it is written: a name that is the helper's
parameter comes from the helper's call; a name that is the model's own parameter
(`num_classes`) comes from its default or from the spec's `kwargs`. Edits keep the code
as it is written: they replace one expression's text (or add one keyword) and nothing
else, so formatting and comments stay; `base * 2` becomes `base * 4`, not 128.

Pure text and `ast` work on the recorded construction frames (record.definition_sites);
no torch.
"""

from __future__ import annotations

import ast
import inspect
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

from .. import ops
from ..findings import EditedLines, EditSpan, KwargEdit, SourceEdit

__all__ = [
    "Site", "apply_edits", "edit_span", "edited_lines", "not_ours", "read_source", "rewrite_call",
    "rewrite_made", "sites",
]


@dataclass(frozen=True)
class Site:
    """One way to make a layer's argument take a value: the edits, and where they are."""

    edits: tuple[SourceEdit | KwargEdit, ...]
    where: str  # "the call of double_conv", "the default of num_classes", "the constructor"
    # Where the edit writes a literal over an expression the code computes from names
    # (`out_filters * ds_size ** 2`): that expression with its names' values. Such an edit
    # passes at the spec's size and freezes the rest: shown, never written.
    frozen: str = ""


_SOURCES: dict[str, tuple[float, str, ast.Module, list[int]]] = {}


def read_source(path: str) -> tuple[str, ast.Module, list[int]] | None:
    """The file's text, its syntax tree and each line's offset; None where it can't be read."""
    try:
        stamp = os.stat(path).st_mtime_ns
        cached = _SOURCES.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2], cached[3]
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
        tree = ast.parse(text, path)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    _SOURCES[path] = (stamp, text, tree, starts)
    return text, tree, starts


def apply_edits(text: str, edits: list[SourceEdit]) -> str:
    """`text` with every edit made; edits must not overlap."""
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[:edit.start] + edit.new + text[edit.end:]
    return text


class _File:
    def __init__(self, path: str, text: str, tree: ast.Module, starts: list[int]) -> None:
        self.path, self.text, self.tree, self.starts = path, text, tree, starts
        self._lines = text.splitlines(keepends=True)

    def offset(self, line: int, col: int) -> int:
        """A character offset from ast's (line, UTF-8 byte column)."""
        source = self._lines[line - 1] if line - 1 < len(self._lines) else ""
        return self.starts[line - 1] + len(source.encode("utf-8")[:col].decode("utf-8", "replace"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
                self.offset(node.end_lineno, node.end_col_offset))  # type: ignore[attr-defined]

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def replace(self, node: ast.AST, new: str) -> SourceEdit:
        start, end = self.span(node)
        return SourceEdit(self.path, node.lineno, start, end, self.text[start:end], new)  # type: ignore[attr-defined]

    def call_at(self, line: int, position: Any, name: str | None) -> ast.Call | None:
        """The call a frame was running: at its exact span where Python recorded it, else the
        call on its line to `name` (or the only call there)."""
        calls = [node for node in ast.walk(self.tree) if isinstance(node, ast.Call)]
        if position is not None:
            exact = [c for c in calls if (c.lineno, c.end_lineno, c.col_offset, c.end_col_offset) == tuple(position)]
            if exact:
                return exact[0]
        on_line = [c for c in calls if c.lineno <= line <= (c.end_lineno or c.lineno)]
        named = [c for c in on_line if name is not None and _callee(c) == name]
        if len(named) == 1:
            return named[0]
        return on_line[0] if len(on_line) == 1 else None

    def function_around(self, node: ast.AST) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, bool] | None:
        """The innermost function whose body holds `node`, and whether it is a method."""
        best: tuple[ast.FunctionDef | ast.AsyncFunctionDef, bool] | None = None

        def visit(parent: ast.AST, in_class: bool) -> None:
            nonlocal best
            for child in ast.iter_child_nodes(parent):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if child.lineno <= node.lineno <= (child.end_lineno or child.lineno):  # type: ignore[attr-defined]
                        best = (child, in_class and not any(
                            isinstance(d, ast.Name) and d.id == "staticmethod" for d in child.decorator_list))
                        visit(child, False)
                elif isinstance(child, ast.ClassDef):
                    visit(child, True)
                else:
                    visit(child, in_class)

        visit(self.tree, False)
        return best


def rewrite_made(layer: Any, template: str) -> SourceEdit | None:
    """The edit that writes the call that made `layer` anew from `template` (`{0}`: its first
    argument as written; `{prefix}`: the qualifier of its name, `F.` or `nn.`)."""
    frames = layer.made
    source = _file(frames[0][0]) if frames else None
    call = source.call_at(frames[0][1], frames[0][2], layer.type_name) if source is not None else None
    if source is None or call is None or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    prefix = source.segment(call.func.value) + "." if isinstance(call.func, ast.Attribute) else ""
    first = source.segment(call.args[0]) if call.args else ""
    return source.replace(call, template.format(first, prefix=prefix))


def rewrite_call(path: str, line: int, attribute: str, template: str, whole: bool = False) -> SourceEdit | None:
    """The edit that writes the input of the call `self.<attribute>(x)` on `line` as
    `template` does (`{}.flatten(1)`: `x` -> `x.flatten(1)`); with `whole`, the call
    `x.<attribute>(...)` itself from its receiver (`x.view(-1, 400)` -> `x.flatten(1)`).
    None where that line has not exactly one such call."""
    source = _file(path)
    if source is None:
        return None
    calls = [node for node in ast.walk(source.tree) if isinstance(node, ast.Call)
             and node.lineno <= line <= (node.end_lineno or node.lineno)
             and isinstance(node.func, ast.Attribute) and node.func.attr == attribute
             and (whole or node.args and not isinstance(node.args[0], ast.Starred))]
    if len(calls) != 1:
        return None
    target = calls[0] if whole else calls[0].args[0]
    given = calls[0].func.value if whole else target  # type: ignore[attr-defined]
    text = source.segment(given)
    if not isinstance(given, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
        text = f"({text})"
    return source.replace(target, template.format(text))


def _callee(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def _file(path: str) -> _File | None:
    read = read_source(path)
    return _File(path, *read) if read is not None else None


def _parameters(cls: Any) -> list[str] | None:
    """The names a constructor takes, in order, without `self`."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return None
    names = [p.name for p in signature.parameters.values()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not names and isinstance(cls, type) and any(b.__name__ == "RNNBase" for b in cls.__mro__[1:]):
        # nn.LSTM and nn.GRU take (*args, **kwargs) and pass them on after their `mode`.
        base = next(b for b in cls.__mro__[1:] if b.__name__ == "RNNBase")
        return [name for name in (_parameters(base) or []) if name != "mode"]
    return names


def _argument(call: ast.Call, names: list[str], name: str) -> tuple[ast.expr | None, bool]:
    """The expression passed for parameter `name`, and whether the call can be read (no
    `*args` or `**kwargs` that might hold it)."""
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value, True
    if any(keyword.arg is None for keyword in call.keywords):
        return None, False
    index = names.index(name) if name in names else -1
    for position, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            return None, False
        if position == index:
            return arg, True
    return None, True


def _layer_class(type_path: str) -> Any:
    module, _, qualname = type_path.rpartition(".")
    value: Any = sys.modules.get(module)
    # A nested class's module is the longest prefix that is a module.
    parts = type_path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        value = sys.modules.get(".".join(parts[:cut]))
        if value is not None:
            for part in parts[cut:]:
                value = getattr(value, part, None)
            return value
    return None


def sites(layer: Any, argument: str, old: Any, new: Any, kwargs: dict[str, Any],
          spelled: str | None = None, sizes: tuple[int, ...] = ()) -> list[Site]:
    """The ways to make `layer`'s `argument` (now `old`) take `new`, best first, in the
    code's own terms: where the value comes from (a helper's call, a parameter's default, a
    constant's assignment, the spec's kwargs: a model parameter the spec leaves at its
    default, tried at the input's spatial `sizes`), a name in scope that holds the value
    (`stride=stride`), then a literal in the constructor call. `spelled` is how to write the
    new value where it is a product people write out (`16 * 5 * 5`)."""
    frames = layer.made
    if not frames:
        return []
    path, line, position = frames[0]
    source = _file(path)
    if source is None:
        return []
    call = source.call_at(line, position, layer.type_name)
    names = list(ops.SIGNATURES.get(ops.base(layer.type_name), ())) or None \
        if layer.call else _parameters(_layer_class(layer.type_path))
    if call is None or names is None or argument not in names:
        return []
    expr, readable = _argument(call, names, argument)
    if not readable:
        return []
    held = _holding(layer.scope, argument, new, expr)
    found: list[Site] = []
    if expr is None:
        found.extend(Site((_add_keyword(source, call, argument, name),), "a name in scope") for name in held)
        text = _text(new)
        if text is not None:
            found.append(Site((_add_keyword(source, call, argument, text),), "the constructor"))
        return found
    found.extend(_model_kwargs(source, expr, frames, kwargs, sizes))
    origins = list(_origins(source, expr, frames, 0, old, new, kwargs, spelled))
    by_name = [Site((source.replace(expr, name),), "a name in scope") for name in held]
    # A name for a literal first; for a name, where its value comes from first.
    found.extend([*origins, *by_name] if isinstance(expr, ast.Name) else [*by_name, *origins])
    text = _text(new, spelled if isinstance(expr, ast.BinOp) and _is_literal(expr) else None)
    if text is not None and (not found or not _is_literal(expr)):
        edit = source.replace(expr, text)
        if edit.old != edit.new and all(site.edits != (edit,) for site in found):
            found.append(Site((edit,), "the constructor", _frozen(source, expr, edit.old, layer.scope)))
    return found


def _frozen(source: _File, expr: ast.expr, text: str, scope: dict[str, Any]) -> str:
    """Why a literal written over `expr` is not in the code's own terms, or "": `expr`
    computes the value from names (`out_filters * ds_size ** 2`), or is a name used nowhere
    else in its function, which the literal would leave unused (`num_classes`). A name the
    function uses elsewhere may give way to a literal: the second conv of a block that
    must not take the block's `stride`."""
    if _is_literal(expr):
        return ""
    if isinstance(expr, ast.Name):
        around = source.function_around(expr)
        uses = sum(isinstance(node, ast.Name) and node.id == expr.id for node in ast.walk(around[0])) \
            if around is not None else 0
        return "" if uses > 1 else f"`{text}`, which is then used nowhere else"
    return _valued(text, expr, scope) + ", which the code computes from names, and is right at this size only"


# The names a window argument may be written with: its own, or one that says what it is.
_WINDOW_WORDS = {"kernel_size": ("kernel", "ksize"), "stride": ("stride",), "padding": ("pad",),
                 "dilation": ("dilation",), "groups": ("group",), "output_padding": ("output_pad",)}


def _holding(scope: dict[str, Any], argument: str, new: Any, expr: ast.expr | None) -> list[str]:
    """The names in scope at the constructor call that hold `new`, best first: the
    argument's own name, then one that says the same. A window argument takes only a name
    that says what it is (not `padding=stride` because both are 1); a width any name that
    holds it, above 1."""
    value = _scalar(new)
    written = expr.id if isinstance(expr, ast.Name) else None
    words = _WINDOW_WORDS.get(argument)
    found = []
    for name, held in scope.items():
        if name == written or _scalar(held) != value or isinstance(held, bool) != isinstance(value, bool):
            continue
        if words is not None and not any(word in name.lower() for word in words):
            continue
        if words is None and name != argument and (not isinstance(value, int) or value < 2):
            continue
        found.append(name)
    return sorted(found, key=lambda name: (name != argument, not _shares_word(name, argument)))[:2]


def _shares_word(name: str, argument: str) -> bool:
    """`out_ch` and `out_channels`, `in_dim` and `in_features`: the same side of a layer."""
    return name.split("_")[0] in argument.split("_")


def _valued(text: str, expr: ast.expr, scope: dict[str, Any]) -> str:
    """`out_filters * ds_size ** 2` with the values its names held: `(out_filters = 128,
    ds_size = 2)`."""
    names = dict.fromkeys(node.id for node in ast.walk(expr) if isinstance(node, ast.Name))
    known = [f"{name} = {scope[name]}" for name in names if name in scope]
    return f"`{text}`" + (f" ({', '.join(known)})" if known else "")


def _model_kwargs(source: _File, expr: ast.expr, frames: tuple[Any, ...], kwargs: dict[str, Any],
                  sizes: tuple[int, ...]) -> Iterator[Site]:
    """Where `expr` is computed from a parameter of the model's own constructor that the
    spec leaves at its default (`side = image_size // 4`), that parameter in the spec's
    kwargs at each spatial size of the input: the model was built for another size."""
    if len(frames) != 1 or not sizes:
        return  # the constructor call is not in the model's own __init__
    around = source.function_around(expr)
    if around is None:
        return
    function, _ = around
    params = {a.arg for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)}
    used = _names_behind(function, expr, params)
    for name in sorted(used - set(kwargs)):
        default = _default(function, name)
        value = default.value if isinstance(default, ast.Constant) else None
        if type(value) is not int:
            continue
        for size in dict.fromkeys(sizes):
            if size != value:
                yield Site((KwargEdit(name, value, size, given=False),), "the spec's kwargs")


def _names_behind(function: ast.AST, expr: ast.expr, params: set[str], depth: int = 0) -> set[str]:
    """The parameters among `params` that `expr` is computed from, through the names the
    function assigns once on the way (`side = image_size // 4`)."""
    found: set[str] = set()
    for node in ast.walk(expr):
        if not isinstance(node, ast.Name):
            continue
        if node.id in params:
            found.add(node.id)
        elif depth < 3:
            value = _assignment(function, node.id)
            if value is not None:
                found |= _names_behind(function, value, params, depth + 1)
    return found


def _assignment(scope: ast.AST, name: str) -> ast.expr | None:
    """The expression `name` is bound to where `scope` binds it once and only once, with a
    plain `name = ...`; None where it binds it otherwise or more often."""
    values: list[ast.expr | None] = []
    for node in ast.walk(scope) if not isinstance(scope, ast.Module) else scope.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    values.append(node.value)
                elif any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target)):
                    values.append(None)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.With, ast.NamedExpr)) and any(
                isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) for n in ast.walk(node)):
            values.append(None)
    return values[0] if len(values) == 1 else None


def _origins(source: _File, expr: ast.expr, frames: tuple[Any, ...], depth: int, old: Any, new: Any,
             kwargs: dict[str, Any], spelled: str | None, hops: int = 0) -> Iterator[Site]:
    """Edits where the value of `expr` (at frame `depth`) is written: followed outwards
    through the parameters it is passed in and the names it is assigned to (a module's
    constant, `FC_IN = 16 * 6 * 6`), then rewritten where it is."""
    if isinstance(expr, ast.Tuple) and isinstance(old, tuple) and isinstance(new, tuple) \
            and len(expr.elts) == len(old) == len(new):
        edits = []
        for element, was, now in zip(expr.elts, old, new):
            if was != now:
                text = _rewrite(source, element, was, now, None)
                if text is None:
                    return
                edits.append(source.replace(element, text))
        if edits:
            yield Site(tuple(edits), "the constructor" if depth == 0 else "a call")
        return
    if isinstance(expr, ast.Name):
        around = source.function_around(expr)
        function = around[0] if around is not None else None
        params = [a.arg for a in (*function.args.posonlyargs, *function.args.args)] if function else []
        kwonly = [a.arg for a in function.args.kwonlyargs] if function else []
        if function is not None and expr.id in params + kwonly and not _assigned(function, expr.id):
            yield from _from_caller(source, function, around[1], expr.id, params,  # type: ignore[index]
                                    frames, depth, old, new, kwargs, spelled)
        elif hops < 3 and expr.id not in params + kwonly:
            # A name assigned once, in the function or else at the module's top level.
            local = _assignment(function, expr.id) if function is not None else None
            bound = local if local is not None or function is not None and _assigned(function, expr.id) \
                else _assignment(source.tree, expr.id)
            if bound is not None:
                for site in _origins(source, bound, frames, depth, old, new, kwargs, spelled, hops + 1):
                    yield replace(site, where=f"the value of {expr.id}")
    text = _rewrite(source, expr, _scalar(old), _scalar(new), spelled)
    if text is not None and not isinstance(expr, ast.Name):
        edit = source.replace(expr, text)
        if edit.old != edit.new:
            yield Site((edit,), "the constructor" if depth == 0 else "a call")


def _from_caller(source: _File, function: ast.FunctionDef | ast.AsyncFunctionDef, method: bool,
                 name: str, params: list[str], frames: tuple[Any, ...], depth: int, old: Any, new: Any,
                 kwargs: dict[str, Any], spelled: str | None) -> Iterator[Site]:
    """The value of parameter `name` of `function`: its caller's argument, the spec's kwargs
    (the model's own parameter), or its default."""
    positional = params[1:] if method and params else params
    if depth + 1 < len(frames):
        path, line, position = frames[depth + 1]
        outer = _file(path)
        call = outer.call_at(line, position, function.name) if outer is not None else None
        if outer is not None and call is not None:
            expr, readable = _argument(call, positional + [a.arg for a in function.args.kwonlyargs], name)
            if not readable:
                return
            if expr is not None:
                yield from _origins(outer, expr, frames, depth + 1, old, new, kwargs, spelled)
                return
    elif name in kwargs and function.name == "__init__" or name in kwargs and not method:
        if _scalar(kwargs[name]) == _scalar(old):
            yield Site((KwargEdit(name, kwargs[name], _scalar(new)),), "the spec's kwargs")
        return
    default = _default(function, name)
    if default is not None:
        text = _rewrite(source, default, _scalar(old), _scalar(new), spelled)
        if text is not None:
            yield Site((source.replace(default, text),), f"the default of {name}")


def _default(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.expr | None:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    for arg, default in zip(positional[len(positional) - len(args.defaults):], args.defaults):
        if arg.arg == name:
            return default
    for arg, value in zip(args.kwonlyargs, args.kw_defaults):
        if arg.arg == name:
            return value
    return None


def _assigned(function: ast.AST, name: str) -> bool:
    """Whether the function rebinds `name` (then the parameter is not the value used)."""
    for node in ast.walk(function):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target)):
                return True
    return False


def _scalar(value: Any) -> Any:
    if isinstance(value, tuple) and value and len(set(value)) == 1:
        return value[0]
    return value


def _is_literal(expr: ast.expr) -> bool:
    return not any(isinstance(node, ast.Name) for node in ast.walk(expr))


def _text(new: Any, spelled: str | None = None) -> str | None:
    """A value as code: `1`, `True`, `(1, 2)`, or the product it is spelled as."""
    value = _scalar(new)
    if spelled is not None:
        return spelled
    if isinstance(value, (bool, int, str)) or isinstance(value, tuple) and all(
            isinstance(v, int) for v in value):
        return repr(value)
    return None


def _rewrite(source: _File, expr: ast.expr, old: Any, new: Any, spelled: str | None) -> str | None:
    """The text of `expr` changed so that it gives `new` where it gives `old`, written as it
    is written: a literal stays a literal, a product of literals a product, and in
    `base * 2` only the literal changes: `base * 4`."""
    if old == new:
        return None
    if _is_literal(expr):
        return _text(new, spelled if isinstance(expr, ast.BinOp) else None)
    if not isinstance(expr, ast.BinOp) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in (old, new)):
        return None
    text = source.segment(expr)
    begin, _ = source.span(expr)
    for literal, at_right in ((expr.right, True), (expr.left, False)):
        if not (isinstance(literal, ast.Constant) and type(literal.value) is int):
            continue
        k = literal.value
        value: int | None = None
        if isinstance(expr.op, ast.Mult) and k and old % k == 0 and old and new % (old // k) == 0:
            value = new // (old // k)  # the other factor stays what it is
        elif isinstance(expr.op, ast.Add):
            value = k + (new - old)
        elif isinstance(expr.op, ast.Sub) and at_right:
            value = k - (new - old)
        if value is None or value < 0:
            continue
        start, end = source.span(literal)
        return text[:start - begin] + str(value) + text[end - begin:]
    return None


def _add_keyword(source: _File, call: ast.Call, name: str, text: str) -> SourceEdit:
    """`, name=text` written after the call's last argument."""
    arguments = [*call.args, *(k.value for k in call.keywords)]
    if arguments:
        last = max(arguments, key=lambda node: (node.end_lineno or 0, node.end_col_offset or 0))
        _, end = source.span(last)
        return SourceEdit(source.path, last.end_lineno or last.lineno, end, end, "", f", {name}={text}")
    _, end = source.span(call)
    return SourceEdit(source.path, call.end_lineno or call.lineno, end - 1, end - 1, "", f"{name}={text}")


def edited_lines(edits: tuple[SourceEdit, ...]) -> list[EditedLines]:
    """Each edited stretch of lines as it is and as it will be, for a diff a person reads."""
    out = []
    by_path: dict[str, list[SourceEdit]] = {}
    for edit in edits:
        by_path.setdefault(edit.path, []).append(edit)
    for path, mine in by_path.items():
        read = read_source(path)
        if read is None:
            continue
        text, _, starts = read
        for line in sorted({edit.line for edit in mine}):
            on = [e for e in mine if e.line == line]
            first = starts[line - 1]
            last_end = max(e.end for e in on)
            stop = next((s for s in starts if s > last_end or (s >= last_end and s > first)), len(text))
            old = text[first:stop]
            new = apply_edits(old, [SourceEdit(e.path, e.line, e.start - first, e.end - first, e.old, e.new)
                                    for e in on])
            out.append(EditedLines(path, line, tuple(old.rstrip("\n").split("\n")),
                                   tuple(new.rstrip("\n").split("\n"))))
    return out


def edit_span(edit: SourceEdit) -> EditSpan:
    """Where an edit lies in its file: 1-based lines and columns, the end exclusive."""
    read = read_source(edit.path)
    starts = read[2] if read is not None else [0]

    def place(offset: int) -> tuple[int, int]:
        line = max(i for i, start in enumerate(starts) if start <= offset)
        return line + 1, offset - starts[line] + 1

    (line, column), (end_line, end_column) = place(edit.start), place(edit.end)
    return EditSpan(line, column, end_line, end_column)


def not_ours(edits: tuple[SourceEdit | KwargEdit, ...] | list[SourceEdit], rootdir: Path) -> str | None:
    """Why these edits are not cnncheck's to make, where one is not: a file outside the project
    (an installed package, another checkout), or one the user may not write."""
    for edit in edits:
        if not isinstance(edit, SourceEdit):
            continue
        path = Path(edit.path).resolve()
        if not path.is_relative_to(rootdir.resolve()) or _installed(path):
            return (f"the fix is in {path}, outside this project ({rootdir}): apply it where the model's code "
                    "lives, by hand, rather than in an installed copy")
        if not path.stat().st_mode & 0o222:  # by its mode bits: root may write anything
            return f"the fix is in {os.path.relpath(path)}, which is read-only: cnncheck fix does not write it"
    return None


def _installed(path: Path) -> bool:
    """A file of an installed package: under site-packages or dist-packages, wherever those are."""
    return any(part in ("site-packages", "dist-packages") for part in path.parts)
