"""The paper's text protocol: ``Tool[arguments]`` <-> ``(name, {argument: value})``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from seer.tools.errors import ToolError
from seer.tools.specs import SPECS_BY_NAME

CALL_BEGIN, CALL_END = "<CALL_BEGIN>", "<CALL_END>"
"""Markers around a call in the reference's step text: ``Step N: thought <CALL_BEGIN>Tool[a]<CALL_END>``."""

_CALL = re.compile(r"^\s*(?P<name>\w+)\s*(?P<open>[\[(])(?P<body>.*)(?P<close>[\])])\s*$", re.DOTALL)
_CLOSERS = {"[": "]", "(": ")"}


def _valid_names() -> str:
    return ", ".join(SPECS_BY_NAME)


def parse_text_call(text: str) -> tuple[str, dict[str, str]]:
    """Parse ``Name[args]`` into the tool name and its arguments.

    ``NeighbourCheck`` and ``NodeCheck`` split at the first comma into ``graph, node``;
    ``EdgeCheck`` into ``graph, node1, node2`` (the second split at the first ", " of the rest);
    every other tool takes the whole bracket content as its single argument. ``Name(args)`` is
    accepted too (one of the ToolQA demos writes ``SQLInterpreter(...)``).
    """
    match = _CALL.match(text)
    if match is None or _CLOSERS[match["open"]] != match["close"]:
        raise ToolError(
            f"Could not parse the action {text.strip()[:200]!r}: write it as Tool[arguments], "
            f"e.g. LoadDB[coffee]. Valid tools: {_valid_names()}."
        )
    name, body = match["name"], match["body"]
    spec = SPECS_BY_NAME.get(name)
    if spec is None:
        raise ToolError(f"Unknown tool {name!r}. Valid tools: {_valid_names()}.")
    names = spec.text_args
    if len(names) == 1:
        value = body if name == "PythonInterpreter" else body.strip()
        return name, {names[0]: value}
    graph, sep, rest = body.partition(",")
    if not sep:
        raise ToolError(f"{name} needs {len(names)} comma-separated arguments: {name}[{', '.join(names)}].")
    if len(names) == 2:
        return name, {names[0]: graph.strip(), names[1]: rest.strip()}
    rest = rest.strip()
    first, sep, second = rest.partition(", ")
    if not sep:
        first, sep, second = rest.partition(",")
    if not sep:
        raise ToolError(f"{name} needs 3 comma-separated arguments: {name}[{', '.join(names)}].")
    return name, {names[0]: graph.strip(), names[1]: first.strip(), names[2]: second.strip()}


def format_text_call(name: str, arguments: Mapping[str, Any]) -> str:
    """Render a call in the text protocol, e.g. ``FilterDB[Date=2002-04-15, Close>100]``."""
    spec = SPECS_BY_NAME.get(name)
    if spec is None:
        raise ToolError(f"Unknown tool {name!r}. Valid tools: {_valid_names()}.")
    values = [str(arguments.get(arg, "")) for arg in spec.text_args]
    return f"{name}[{', '.join(values)}]"
