"""Calls of schema-described tools (the benchmarks' functions), in Python call syntax.

ToolQA tools keep the paper's ``Tool[args]`` protocol (``seer.tools.protocol``). A benchmark tool is
described by a JSON schema instead; the model writes its arguments as it would in Python
(``source='a.pdf', destination='temp'``), as a JSON object, or as bare comma-separated values in the
schema's parameter order. :func:`format_call` renders ``name(k='v', n=2)`` — the form BFCL's checker
executes and the form demonstrations show.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from typing import Any

_TRUE, _FALSE = {"true", "yes"}, {"false", "no"}
# A quoted value followed by ``name=`` without a comma: ``path='.' name='x'``.
_MISSING_COMMA = re.compile(r"""^\s*(['"]).*?\1\s*([A-Za-z_]\w*)\s*=""")


def _literal(text: str) -> Any:
    """A Python/JSON literal, else the text without surrounding quotes."""
    text = text.strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    try:
        return json.loads(text)
    except ValueError:
        return text.strip("'\"")


def _coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    """``value`` converted to the schema's type where that is unambiguous (``"3"`` → 3 for an integer)."""
    kind = schema.get("type")
    if kind in ("integer", "number") and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if kind == "integer" and number.is_integer() else number
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == "boolean" and isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    if kind == "array" and isinstance(value, str | tuple):
        parsed = _literal(value) if isinstance(value, str) else list(value)
        return list(parsed) if isinstance(parsed, list | tuple) else [parsed]
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _split_values(text: str, names: list[str]) -> tuple[list[Any], dict[str, Any]]:
    """Bare ``a, b`` or ``k=v, k2=v2`` text that is not valid Python (unquoted strings)."""
    parts = [p for p in text.split(",", max(0, len(names) - 1))] if names else [text]
    positional: list[Any] = []
    named: dict[str, Any] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        missing_comma = _MISSING_COMMA.match(value if sep else part)
        if missing_comma:
            raise ValueError(f"cannot read the arguments: a comma is missing before {missing_comma[2]}=;"
                             f" the tool takes ({', '.join(names)})")
        if sep and key.strip().isidentifier() and key.strip() in names:
            named[key.strip()] = _literal(value)
        else:
            positional.append(_literal(part))
    return positional, named


def parse_call_args(text: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """Named arguments from the model's argument text for a tool with JSON schema ``schema``;
    raises ValueError naming the tool's parameters when they cannot be matched."""
    properties: dict[str, Any] = dict(schema.get("properties") or {})
    names = list(properties)
    required = list(schema.get("required") or [])
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    positional: list[Any] = []
    named: dict[str, Any] = {}
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            named = obj
    if not named and text:
        try:
            call = ast.parse(f"f({text})", mode="eval").body
            assert isinstance(call, ast.Call)
            positional = [ast.literal_eval(a) for a in call.args]
            named = {str(k.arg): ast.literal_eval(k.value) for k in call.keywords}
        except (ValueError, SyntaxError, TypeError, AssertionError, MemoryError, RecursionError):
            positional, named = _split_values(text, names)
    signature = ", ".join(names)
    if len(positional) > len(names):
        raise ValueError(f"too many arguments: the tool takes ({signature})")
    arguments = dict(zip(names, positional, strict=False))
    for key, value in named.items():
        if key not in properties:
            raise ValueError(f"unknown argument {key!r}: the tool takes ({signature})")
        arguments[key] = value
    missing = [n for n in required if n not in arguments]
    if missing:
        raise ValueError(f"missing argument(s) {', '.join(missing)}: the tool takes ({signature})")
    return {k: _coerce(v, properties.get(k, {})) for k, v in arguments.items()}


def format_call(tool: str, arguments: Mapping[str, Any]) -> str:
    """``tool(k='v', n=2)``: Python literals, so the text can be parsed back (and executed by BFCL)."""
    return f"{tool}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"


def signature(tool: Mapping[str, Any]) -> str:
    """``name(a, b=None)`` from a listed tool's schema: optional parameters carry their default."""
    schema = tool.get("schema") or {}
    required = set(schema.get("required") or [])
    params = []
    for name, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type", "")
        params.append(f"{name}: {kind}" if name in required else f"{name}: {kind} = {prop.get('default')!r}")
    return f"{tool['name']}({', '.join(params)})"
