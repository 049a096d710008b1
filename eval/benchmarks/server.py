"""An MCP server that publishes one benchmark's tools (``python -m seer.eval.benchmarks.server NAME``).

The harness talks to two servers: this one for the benchmark's functions, the seer server for
``recall_experiences``/``record_trajectory`` (see :class:`seer.eval.benchmarks.base.RoutedClient`). Each
episode starts with the control tool ``episode_start(task_id)``, which builds the task's initial state
and returns a private session id plus the names of the tools the task may use; every tool call then
carries that id as ``_meta["seer/session"]``. ``episode_end`` frees the state. Control tools are never
shown to the model. Calls go straight to the backend's methods with validated keyword arguments; no
model text is ever evaluated.
"""

from __future__ import annotations

import inspect
import json
import secrets
import sys
import threading
from collections.abc import Callable
from typing import Annotated, Any, Protocol

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError as MCPToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from seer.seer_mcp.protocol import META_KEY, role_meta

MAX_EPISODES = 256
_TYPES: dict[str, Any] = {"string": str, "number": float, "integer": int, "boolean": bool,
                          "array": list[Any], "object": dict[str, Any]}


class ToolBackend(Protocol):
    """A benchmark's executable tools: specs, per-task state, calls."""

    def specs(self) -> list[dict[str, Any]]:
        """``{"name", "description", "schema"}`` per tool (schema: JSON schema of the arguments)."""
        ...

    def start(self, task_id: str) -> tuple[Any, list[str]]:
        """A fresh state for the task and the names of the tools it may use."""
        ...

    def call(self, state: Any, name: str, arguments: dict[str, Any]) -> str:
        """Run one tool on the state; raise ValueError for a call the tool refuses."""
        ...


def _tool_function(name: str, schema: dict[str, Any], run: Callable[[Context, dict[str, Any]], Any]) -> Any:
    async def call(ctx: Context, **arguments: Any) -> Any:
        return await run(ctx, {k: v for k, v in arguments.items() if v is not None})

    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    required = set(schema.get("required") or [])
    for arg, prop in (schema.get("properties") or {}).items():
        kind = _TYPES.get(str(prop.get("type")), Any)
        annotation: Any = Annotated[kind, Field(description=str(prop.get("description", "")))]
        if arg in required:
            params.append(inspect.Parameter(arg, inspect.Parameter.KEYWORD_ONLY, annotation=annotation))
        else:
            params.append(inspect.Parameter(arg, inspect.Parameter.KEYWORD_ONLY,
                                            annotation=Annotated[kind | None, Field(
                                                description=str(prop.get("description", "")))],
                                            default=None))
    call.__signature__ = inspect.Signature(params, return_annotation=str)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in params} | {"return": str}
    call.__name__ = name
    return call


def build_server(name: str, backend: ToolBackend) -> MCPServer:
    """The benchmark's tools plus the two control tools, over one backend."""
    server = MCPServer(f"seer-{name}", log_level="WARNING",
                       instructions=f"The {name} benchmark's tools; start with episode_start.")
    episodes: dict[str, tuple[Any, frozenset[str], threading.Lock]] = {}

    def episode(ctx: Context, tool: str) -> tuple[Any, threading.Lock]:
        meta = ctx.request_context.meta or {}
        session = meta.get(META_KEY) if hasattr(meta, "get") else None
        if not isinstance(session, str) or session not in episodes:
            raise MCPToolError(f"{tool}: no episode: call episode_start and send its session as _meta "
                               f"{META_KEY!r}")
        state, allowed, lock = episodes[session]
        if tool not in allowed:
            raise MCPToolError(f"{tool}: not available in this task")
        return state, lock

    for spec in backend.specs():
        tool_name = spec["name"]

        async def run(ctx: Context, arguments: dict[str, Any], tool_name: str = tool_name) -> str:
            state, lock = episode(ctx, tool_name)

            def call() -> str:
                with lock:
                    return backend.call(state, tool_name, arguments)

            try:
                return await anyio.to_thread.run_sync(call)
            except (ValueError, TypeError, KeyError) as exc:
                raise MCPToolError(f"{tool_name}: {exc}") from exc

        server.add_tool(_tool_function(tool_name, spec["schema"], run), name=tool_name,
                        description=spec["description"],
                        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                                    open_world_hint=False), meta=role_meta("task"))

    @server.tool(name="Finish", annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
                 meta=role_meta("task"))
    async def finish(ctx: Context,
                     answer: Annotated[str, Field(description="Your reply to the user")]) -> str:
        """End your turn: the request is done (or cannot be done); answer is your short reply to the user."""
        episode(ctx, "Finish")
        return answer

    @server.tool(meta=role_meta("session"))
    async def episode_start(task_id: str) -> dict[str, Any]:
        """Build a task's initial state; returns its session id and the tools the task may use."""
        if len(episodes) >= MAX_EPISODES:
            raise MCPToolError("episode_start: too many open episodes; end some with episode_end")
        try:
            state, names = await anyio.to_thread.run_sync(backend.start, task_id)
        except (KeyError, ValueError) as exc:
            raise MCPToolError(f"episode_start: {exc}") from exc
        session = secrets.token_hex(16)
        episodes[session] = (state, frozenset(names) | {"Finish"}, threading.Lock())
        return {"session": session, "tools": [*names, "Finish"]}

    @server.tool(meta=role_meta("session"))
    async def episode_end(session: str) -> dict[str, Any]:
        """Free an episode's state."""
        return {"ended": episodes.pop(session, None) is not None}

    return server


BACKENDS = {
    "bfcl": "seer.eval.benchmarks.bfcl.data:BfclBackend",
    "tau2": "seer.eval.benchmarks.tau2.env:Tau2Backend",
}


def load_backend(name: str, options: dict[str, Any]) -> ToolBackend:
    import importlib

    module, _, attr = BACKENDS[name].partition(":")
    backend: ToolBackend = getattr(importlib.import_module(module), attr)(**options)
    return backend


def main() -> None:
    """``python -m seer.eval.benchmarks.server NAME [OPTIONS_JSON]``: serve over stdio."""
    name = sys.argv[1]
    options = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    build_server(name, load_backend(name, options)).run("stdio")


if __name__ == "__main__":
    main()
