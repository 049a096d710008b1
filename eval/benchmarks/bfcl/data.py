"""BFCL multi-turn data and environments from the ``bfcl-eval`` wheel (imported lazily).

Entries (``BFCL_v4_<category>.json``, JSON lines) hold the scripted user turns, the initial
configuration of the involved classes and, under ``possible_answer/``, the ground-truth calls per
turn. :class:`BfclBackend` executes calls on instances of the package's own classes (file system,
trading bot, travel booking, ...), built exactly as BFCL's checker builds them.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
from functools import cache
from pathlib import Path
from typing import Any

from seer.eval.benchmarks.base import BenchmarkMissingError

CATEGORIES = ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context")
INSTALL_HINT = ("BFCL needs the bfcl-eval package without its dependencies (they pin numpy 1.26 and "
                "more): pip install --no-deps bfcl-eval==2026.3.23 mpmath")
_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": "string"}
_BOILERPLATE = "Tool description: "


class BfclMissingError(BenchmarkMissingError):
    """bfcl-eval is not installed."""


def _package() -> Any:
    try:
        import bfcl_eval
    except ImportError as exc:
        raise BfclMissingError(INSTALL_HINT) from exc
    return bfcl_eval


def data_dir() -> Path:
    return Path(_package().__file__).parent / "data"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@cache
def load_entries(category: str = "multi_turn_base") -> tuple[dict[str, Any], ...]:
    """The category's entries, each with its ``ground_truth`` (calls per turn) attached."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown BFCL category {category!r}; expected one of {', '.join(CATEGORIES)}")
    entries = _lines(data_dir() / f"BFCL_v4_{category}.json")
    answers = _lines(data_dir() / "possible_answer" / f"BFCL_v4_{category}.json")
    truth = {a["id"]: a["ground_truth"] for a in answers}
    return tuple(e | {"ground_truth": truth[e["id"]]} for e in entries)


def entry(task_id: str) -> dict[str, Any]:
    category = task_id.rsplit("_", 1)[0]
    for e in load_entries(category):
        if e["id"] == task_id:
            return e
    raise KeyError(f"no BFCL entry {task_id!r}")


def _schema(node: Any) -> Any:
    """BFCL's parameter schema as JSON schema (``dict`` → ``object``, ``float`` → ``number``)."""
    if isinstance(node, dict):
        out = {k: _schema(v) for k, v in node.items()}
        if isinstance(out.get("type"), str):
            out["type"] = _TYPES.get(out["type"], out["type"])
        return out
    if isinstance(node, list):
        return [_schema(v) for v in node]
    return node


@cache
def function_docs() -> dict[str, list[dict[str, Any]]]:
    """Per multi-turn class, its functions as ``{"name", "description", "schema"}`` (short descriptions:
    the class boilerplate before "Tool description:" is dropped)."""
    from bfcl_eval.constants.executable_backend_config import MULTI_TURN_FUNC_DOC_FILE_MAPPING

    out: dict[str, list[dict[str, Any]]] = {}
    for cls, file in MULTI_TURN_FUNC_DOC_FILE_MAPPING.items():
        path = data_dir() / "multi_turn_func_doc" / file
        if cls.startswith(("Memory", "WebSearch")) or not path.is_file():
            continue  # not part of the multi-turn categories
        out[cls] = [{"name": d["name"],
                     "description": d["description"].split(_BOILERPLATE, 1)[-1].strip(),
                     "schema": _schema(d["parameters"])} for d in _lines(path)]
    return out


def tool_names(e: dict[str, Any]) -> list[str]:
    """The functions an entry's model sees: every function of its involved classes."""
    docs = function_docs()
    return [d["name"] for cls in e["involved_classes"] for d in docs[cls]]


def instances(e: dict[str, Any]) -> dict[str, Any]:
    """Fresh instances of the entry's classes loaded with its initial configuration (as BFCL does)."""
    from bfcl_eval.constants.executable_backend_config import CLASS_FILE_PATH_MAPPING, STATELESS_CLASSES

    out = {}
    for cls in e["involved_classes"]:
        instance = getattr(importlib.import_module(CLASS_FILE_PATH_MAPPING[cls]), cls)()
        if cls not in STATELESS_CLASSES:
            instance._load_scenario(copy.deepcopy(e["initial_config"].get(cls, {})),
                                    long_context="long_context" in e["id"])
        out[cls] = instance
    return out


ERROR_PREFIX = "Error during execution:"  # BFCL's executor's text for a call that raised


def result_text(value: Any) -> str:
    """A call's result as BFCL's executor renders it (strings as is, dicts as JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        try:
            return json.dumps(value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


class BfclBackend:
    """The executable BFCL classes behind the benchmark MCP server."""

    def __init__(self) -> None:
        _package()

    def specs(self) -> list[dict[str, Any]]:
        return [d for docs in function_docs().values() for d in docs]

    def start(self, task_id: str) -> tuple[Any, list[str]]:
        e = entry(task_id)
        return instances(e), tool_names(e)

    def call(self, state: Any, name: str, arguments: dict[str, Any]) -> str:
        for instance in state.values():
            method = getattr(instance, name, None)
            if method is not None and inspect.ismethod(method) and not name.startswith("_"):
                try:
                    return result_text(method(**arguments))
                except Exception as exc:  # the function's own failure is its result, as in BFCL
                    return f"{ERROR_PREFIX} {exc}"
        raise ValueError(f"no function {name!r} in this task")
