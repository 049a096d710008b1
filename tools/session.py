"""ToolSession: one client's tool state (loaded table + filters, loaded graphs, finish answer)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from seer.tools import graph as graph_tools
from seer.tools import retrieval, tables
from seer.tools.calculator import calculate
from seer.tools.corpus import Corpus
from seer.tools.errors import ToolError
from seer.tools.python_sandbox import SandboxLimits, run_python
from seer.tools.specs import SPECS_BY_NAME, ToolSpec
from seer.tools.sql import DEFAULT_TIMEOUT, run_sql

MAX_CHARS = 2048
UNCUT = frozenset({"RetrieveAgenda", "RetrieveScirex"})
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
}


def validate_arguments(spec: ToolSpec, arguments: Any) -> dict[str, Any]:
    """Check ``arguments`` against the spec's schema; a :class:`ToolError` names the bad field."""
    if not isinstance(arguments, Mapping):
        raise ToolError(f"{spec.name} needs its arguments as an object with: {', '.join(spec.text_args)}.")
    props: dict[str, Any] = spec.parameters["properties"]
    extra = [key for key in arguments if key not in props]
    if extra:
        raise ToolError(
            f"{spec.name} got an unexpected argument {extra[0]!r}; "
            f"its arguments are: {', '.join(spec.text_args)}."
        )
    for field in spec.parameters["required"]:
        if field not in arguments:
            raise ToolError(f"{spec.name} is missing the argument {field!r}; its arguments are: "
                            f"{', '.join(spec.text_args)}.")  # fmt: skip
    checked: dict[str, Any] = {}
    for field, value in arguments.items():
        kinds = props[field]["type"]
        kinds = [kinds] if isinstance(kinds, str) else kinds
        allowed = tuple(t for kind in kinds for t in _JSON_TYPES[kind])
        if not isinstance(value, allowed) or (isinstance(value, bool) and "boolean" not in kinds):
            raise ToolError(
                f"The argument {field!r} of {spec.name} must be a {' or '.join(kinds)}, "
                f"not {type(value).__name__}."
            )
        limit = props[field].get("maxLength")
        if limit is not None and isinstance(value, str) and len(value) > limit:
            raise ToolError(f"The argument {field!r} of {spec.name} is {len(value):,} characters long; "
                            f"the limit is {limit:,}.")
        checked[field] = value
    return checked


class ToolSession:
    """Per-client state over a shared :class:`Corpus`; ``call`` dispatches a tool by name."""

    def __init__(
        self,
        corpus: Corpus,
        *,
        python_limits: SandboxLimits | None = None,
        sql_timeout: float = DEFAULT_TIMEOUT,
        max_chars: int = MAX_CHARS,
    ) -> None:
        self.corpus = corpus
        self.python_limits = python_limits or SandboxLimits()
        self.sql_timeout = sql_timeout
        self.max_chars = max_chars
        self.table_state = tables.TableState()
        self.graph_loaded = False
        self._finished: str | None = None
        self._handlers: dict[str, Callable[..., str]] = {
            "Calculate": lambda expression: calculate(expression),
            "RetrieveAgenda": lambda query: retrieval.retrieve(corpus.retriever("agenda"), query),
            "RetrieveScirex": lambda query: retrieval.retrieve(corpus.retriever("scirex"), query),
            "LoadDB": lambda target_db: tables.load_db(corpus, self.table_state, target_db),
            "FilterDB": lambda condition: tables.filter_db(corpus, self.table_state, condition),
            "GetValue": lambda column: tables.get_value(corpus, self.table_state, column),
            "LoadGraph": self._load_graph,
            "NeighbourCheck": lambda graph, node: graph_tools.neighbour_check(self._dblp(), graph, node),
            "NodeCheck": lambda graph, node: graph_tools.node_check(self._dblp(), graph, node),
            "EdgeCheck": lambda graph, node1, node2: graph_tools.edge_check(
                self._dblp(), graph, node1, node2
            ),
            "SQLInterpreter": lambda query: run_sql(corpus, query, timeout=self.sql_timeout),
            "PythonInterpreter": lambda code: run_python(code, self.python_limits),
            "Finish": self._finish,
        }

    @property
    def finished(self) -> str | None:
        """The answer given to ``Finish``, or None while the episode goes on."""
        return self._finished

    def call(self, name: str, arguments: Mapping[str, Any]) -> str:
        """Run tool ``name``; results are cut to ``max_chars`` (retrievers excepted)."""
        spec = SPECS_BY_NAME.get(name)
        if spec is None:
            raise ToolError(f"Unknown tool {name!r}. Valid tools: {', '.join(SPECS_BY_NAME)}.")
        result = self._handlers[name](**validate_arguments(spec, arguments))
        return result if name in UNCUT else result[: self.max_chars]

    def _load_graph(self, graph: str) -> str:
        name = graph.strip().strip("'\"").strip().lower()
        if name not in ("dblp", "papernet", "authornet"):
            raise ToolError(f"The graph {graph.strip()!r} is not in the list: use LoadGraph[dblp].")
        self.corpus.dblp()
        self.graph_loaded = True
        return graph_tools.LOADED_MESSAGE

    def _dblp(self) -> graph_tools.DblpData:
        if not self.graph_loaded:
            raise ToolError("Please load the graph first with LoadGraph[dblp].")
        return self.corpus.dblp()

    def _finish(self, answer: str | float) -> str:
        self._finished = str(answer)
        return self._finished
