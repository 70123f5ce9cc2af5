"""The safe integer arithmetic that specs may write instead of a number.

`"16*5*5"`, `"(32 - 5 + 2*0) // 1 + 1"`, `"512 * 7 * 7"`: integers, `+ - * //`,
`/` where it divides exactly, and parentheses. Nothing else is evaluated: the
expression is parsed with :mod:`ast` and only those node types are walked, so
names, calls, attributes, subscripts and `**` are refused before anything runs.
"""

from __future__ import annotations

import ast

__all__ = ["ExpressionError", "evaluate"]

# A spec writes dimensions and parameter counts, not cryptography: bounding the
# text and every intermediate value keeps a hostile expression from eating the
# machine (`9*9*9*...` grows only with the length of the text, which is bounded).
MAX_LENGTH = 200
MAX_MAGNITUDE = 10**18


class ExpressionError(ValueError):
    """An expression that is not the contract's integer arithmetic."""


def evaluate(text: str) -> int:
    """The integer value of `text`, or :class:`ExpressionError` saying why not."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ExpressionError(
            "is not integer arithmetic (integers, + - * // /, parentheses)"
        ) from None
    return _value(tree.body)


def _value(node: ast.expr) -> int:
    if isinstance(node, ast.Constant):
        if type(node.value) is int:
            return _bounded(node.value)
        raise ExpressionError(f"contains {node.value!r}, which is not an integer")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _value(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _value(node.left), _value(node.right)
        op = node.op
        if isinstance(op, ast.Add):
            return _bounded(left + right)
        if isinstance(op, ast.Sub):
            return _bounded(left - right)
        if isinstance(op, ast.Mult):
            return _bounded(left * right)
        if isinstance(op, (ast.FloorDiv, ast.Div)):
            if right == 0:
                raise ExpressionError("divides by zero")
            if isinstance(op, ast.Div) and left % right:
                raise ExpressionError(
                    f"divides {left} by {right}, which leaves a remainder "
                    f"(write // to round down)"
                )
            return left // right
        raise ExpressionError(f"uses the operator {_SYMBOLS.get(type(op), type(op).__name__)!s}, "
                              "which is not allowed (only + - * // /)")
    raise ExpressionError(f"contains {_describe(node)}, which is not allowed "
                          "(only integers, + - * // / and parentheses)")


def _bounded(value: int) -> int:
    if abs(value) > MAX_MAGNITUDE:
        raise ExpressionError(f"reaches a value beyond {MAX_MAGNITUDE:.0e}")
    return value


_SYMBOLS = {ast.Pow: "**", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
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
