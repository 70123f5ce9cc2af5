"""The safe integer arithmetic that specs may write instead of a number.

`"16*5*5"`, `"(32 - 5 + 2*0) // 1 + 1"`, `"512 * 7 * 7"`: integers, `+ - * // %`,
`/` where it divides exactly, `ceil(a / b)`, and parentheses; in a swept spec
also the names its `sweep` declares (`"H//16"`). Nothing else is evaluated: the
expression is parsed with :mod:`ast` and only those node types are walked, so
other names, calls, attributes, subscripts and `**` are refused before anything runs.
"""

from __future__ import annotations

import ast
from typing import Callable, Mapping

__all__ = ["ExpressionError", "evaluate", "names_in"]

# A spec writes dimensions and parameter counts, not cryptography: bounding the
# text and every intermediate value keeps a hostile expression from eating the
# machine (`9*9*9*...` grows only with the length of the text, which is bounded).
MAX_LENGTH = 200
MAX_MAGNITUDE = 10**18


class ExpressionError(ValueError):
    """An expression that is not the contract's integer arithmetic."""


def evaluate(text: str, names: Mapping[str, int] | None = None) -> int:
    """The integer value of `text`, or :class:`ExpressionError` saying why not.

    `names` are the values of the names the expression may use (a sweep's).
    """
    return _Evaluator(names or {}).value(_parse(text).body)


def names_in(text: str) -> list[str]:
    """The names `text` uses, in order of first use (none for a plain number)."""
    uses = sorted((node.col_offset, node.id) for node in ast.walk(_parse(text))
                  if isinstance(node, ast.Name) and node.id != "ceil")
    return list(dict.fromkeys(name for _, name in uses))


def _parse(text: str) -> ast.Expression:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"is longer than {MAX_LENGTH} characters")
    try:
        return ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ExpressionError(
            "is not integer arithmetic (integers, + - * // % /, parentheses)"
        ) from None


class _Evaluator:
    def __init__(self, names: Mapping[str, int]) -> None:
        self.names = names

    def value(self, node: ast.expr) -> int:
        try:
            return self._value(node)
        except RecursionError:
            raise ExpressionError("is nested too deeply") from None

    def _value(self, node: ast.expr) -> int:
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            if self.names:
                raise ExpressionError(f"uses the name {node.id!r}, which the spec's `sweep` does "
                                      f"not declare (it declares {', '.join(self.names)})")
            raise ExpressionError(f"uses the name {node.id!r}; names exist only in a spec with "
                                  "a `sweep` that declares them")
        if _is_ceil(node):
            assert isinstance(node, ast.Call)
            division = node.args[0]
            assert isinstance(division, ast.BinOp)
            numerator, denominator = self._value(division.left), self._value(division.right)
            if denominator == 0:
                raise ExpressionError("divides by zero")
            return -(-numerator // denominator)
        return _value(node, self._value)


def _is_ceil(node: ast.expr) -> bool:
    """`ceil(a / b)`: rounding up, as conv and pooling with ceil_mode or `same` padding do."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "ceil" and len(node.args) == 1 and not node.keywords
            and isinstance(node.args[0], ast.BinOp) and isinstance(node.args[0].op, ast.Div))


def _value(node: ast.expr, recurse: Callable[[ast.expr], int]) -> int:
    if isinstance(node, ast.Constant):
        if type(node.value) is int:
            return _bounded(node.value)
        raise ExpressionError(f"contains {node.value!r}, which is not an integer")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = recurse(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = recurse(node.left), recurse(node.right)
        op = node.op
        if isinstance(op, ast.Add):
            return _bounded(left + right)
        if isinstance(op, ast.Sub):
            return _bounded(left - right)
        if isinstance(op, ast.Mult):
            return _bounded(left * right)
        if isinstance(op, (ast.FloorDiv, ast.Div, ast.Mod)):
            if right == 0:
                raise ExpressionError("divides by zero")
            if isinstance(op, ast.Mod):
                return left % right
            if isinstance(op, ast.Div) and left % right:
                raise ExpressionError(
                    f"divides {left} by {right}, which leaves a remainder "
                    f"(write // to round down)"
                )
            return left // right
        raise ExpressionError(f"uses the operator {_SYMBOLS.get(type(op), type(op).__name__)!s}, "
                              "which is not allowed (only + - * // % /)")
    raise ExpressionError(f"contains {_describe(node)}, which is not allowed "
                          "(only integers, + - * // % /, ceil(a / b) and parentheses)")


def _bounded(value: int) -> int:
    if abs(value) > MAX_MAGNITUDE:
        raise ExpressionError(f"reaches a value beyond {MAX_MAGNITUDE:.0e}")
    return value


_SYMBOLS = {ast.Pow: "**", ast.MatMult: "@", ast.LShift: "<<",
            ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"}


def _describe(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return f"the name {node.id!r}"
    if isinstance(node, ast.Call):
        return "a function call"
    if isinstance(node, ast.Attribute):
        return "an attribute access"
    if isinstance(node, ast.Subscript):
        return "a subscript"
    return f"a {type(node).__name__} expression"
