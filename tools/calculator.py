"""Calculate: local arithmetic by walking a Python AST (no eval), WolframAlpha-like answers."""

from __future__ import annotations

import ast
import math
import operator
import re
import statistics
from collections.abc import Callable
from typing import Any

from seer.tools.errors import ToolError

Number = int | float
MAX_LENGTH = 2000
MAX_INT_BITS = 20_000  # refuse results beyond ~6,000 decimal digits
MAX_FACTORIAL = 1000

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def _variadic(fn: Callable[[list[Number]], Number]) -> Callable[..., Number]:
    def call(*args: Any) -> Number:
        values = list(args[0]) if len(args) == 1 and isinstance(args[0], list | tuple) else list(args)
        if not values:
            raise ToolError("Illegal Mathematical Expression: a list function needs at least one number.")
        return fn(values)

    return call


def _factorial(x: Number) -> int:
    if x != int(x) or x < 0 or x > MAX_FACTORIAL:
        raise ToolError(
            f"Illegal Mathematical Expression: factorial needs an integer from 0 to {MAX_FACTORIAL}."
        )
    return math.factorial(int(x))


def _log(x: Number, base: Number | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt, "exp": math.exp, "log": _log, "ln": math.log, "log10": math.log10,
    "log2": math.log2, "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin,
    "acos": math.acos, "atan": math.atan, "floor": math.floor, "ceil": math.ceil, "abs": abs,
    "round": round, "factorial": _factorial,
    "min": _variadic(min), "max": _variadic(max), "sum": _variadic(math.fsum),
    "mean": _variadic(statistics.fmean), "average": _variadic(statistics.fmean),
    "avg": _variadic(statistics.fmean), "median": _variadic(statistics.median),
}  # fmt: skip
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def _normalise(expression: str) -> str:
    text = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/").replace("$", "")
    if not re.search(r"[A-Za-z_]\w*\s*\(", text):
        # no function call: commas can only be thousands separators ("1,060")
        text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    return text


def _check_power(base: Number, exponent: Number) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        if abs(base) > 1 and abs(base).bit_length() * exponent > MAX_INT_BITS:
            raise ToolError("Illegal Mathematical Expression: the power is too large to compute.")
    elif abs(exponent) > 10_000 and abs(base) not in (0, 1):
        raise ToolError("Illegal Mathematical Expression: the exponent is too large.")


def _eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.Name) and node.id.lower() in CONSTANTS:
        return CONSTANTS[node.id.lower()]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        result = _BINARY[type(node.op)](left, right)
        if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
            raise ToolError("Illegal Mathematical Expression: the result is too large.")
        return result
    if isinstance(node, ast.List | ast.Tuple):
        return [_eval(elt) for elt in node.elts]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        fn = FUNCTIONS.get(node.func.id.lower())
        if fn is not None:
            return fn(*[_eval(arg) for arg in node.args])
    raise ToolError(
        f"Illegal Mathematical Expression: {ast.unparse(node)!r} is not supported. "
        f"Use numbers, + - * / // % ** and the functions {', '.join(sorted(FUNCTIONS))}."
    )


def format_number(value: Any) -> str:
    """Integers as integers, floats with up to 12 significant digits and no trailing zeros."""
    if isinstance(value, list):
        return ", ".join(format_number(v) for v in value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError("Illegal Mathematical Expression: the result is not a number.")
    if isinstance(value, int):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        raise ToolError("Illegal Mathematical Expression: the result is not a finite number.")
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.12g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        return f"{mantissa}e{int(exp)}"
    return text


def calculate(expression: str) -> str:
    """Evaluate ``expression`` safely, e.g. ``"(-17)-(-7)"`` -> ``"-10"``."""
    if len(expression) > MAX_LENGTH:  # before any regular expression sees it
        raise ToolError(
            f"Illegal Mathematical Expression: the formula is longer than {MAX_LENGTH} characters."
        )
    text = _normalise(expression)
    if not text:
        raise ToolError("Illegal Mathematical Expression: the formula is empty.")
    if len(text) > MAX_LENGTH:
        raise ToolError(
            f"Illegal Mathematical Expression: the formula is longer than {MAX_LENGTH} characters."
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolError(
            f"Illegal Mathematical Expression: {expression.strip()!r} could not be parsed."
        ) from exc
    try:
        return format_number(_eval(tree))
    except ZeroDivisionError as exc:
        raise ToolError("Illegal Mathematical Expression: division by zero.") from exc
    except (ValueError, OverflowError, TypeError, RecursionError, statistics.StatisticsError) as exc:
        raise ToolError(f"Illegal Mathematical Expression: {exc}.") from exc
