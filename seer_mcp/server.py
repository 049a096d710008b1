"""The seer MCP server: the ToolQA tools plus the experience pool, on the official MCP SDK."""

from __future__ import annotations

import functools
import inspect
import json
import logging
import operator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import duckdb
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError as MCPToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from seer.pool import PoolError, RecallRequest, RecordRequest
from seer.pool.home import cache_dir
from seer.seer_mcp import __version__
from seer.seer_mcp.auth import (
    DEFAULT_LIMITS,
    AuthError,
    KeyStore,
    RateLimiter,
    Scope,
    http_security,
    require,
)
from seer.seer_mcp.oauth import OAuthVerifier
from seer.seer_mcp.pool_service import PoolService
from seer.seer_mcp.sessions import (
    DEFAULT_KEY,
    ISSUED_PREFIX,
    META_KEY,
    ClientEntry,
    ClientStates,
    SessionError,
    client_key,
)
from seer.tools import TOOL_SPECS, Corpus, ToolError, ToolSession, ToolSpec
from seer.tools.python_sandbox import SandboxLimits

log = logging.getLogger(__name__)

_READ_ONLY_TOOLS = {
    "GetValue",
    "SQLInterpreter",
    "Calculate",
    "RetrieveAgenda",
    "RetrieveScirex",
    "NeighbourCheck",
    "NodeCheck",
    "EdgeCheck",
}


@dataclass
class ServerConfig:
    """What one server serves: a corpus folder and a named experience pool."""

    corpus: Path | None = None
    pool: str = "default"
    embedder: str = "default"
    seeds: Path | None = None
    python_isolation: Literal["namespaces", "audit-hook"] = "namespaces"  # audit-hook: unsafe opt-in
    keys: KeyStore | None = None  # HTTP: the API keys callers must present (None: no authentication)
    oauth: OAuthVerifier | None = None  # HTTP: also (or instead) access tokens from an OAuth issuer
    public_url: str = "http://127.0.0.1:8000/mcp"  # this server's URL, named in the auth metadata
    rate_limits: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    max_clients: int = 1024
    client_idle_ttl_s: float = 3600.0


def instructions() -> str:
    """The server instructions every host model sees."""
    return resources.files("seer.seer_mcp").joinpath("templates/instructions.md").read_text(encoding="utf-8")


# tools whose result depends on earlier calls of the same client (a loaded table or graph, the answer)
STATEFUL_TOOLS = frozenset({"LoadDB", "FilterDB", "GetValue", "LoadGraph", "NeighbourCheck", "NodeCheck",
                            "EdgeCheck", "Finish"})


def _client_entry(ctx: Context, states: ClientStates[ToolSession], tool: str) -> Any:
    """The caller's tool state. On stdio (one client per process) any session name, or the default
    state; over HTTP only a session the server issued, and no shared default for stateful tools."""
    request = ctx.request_context.request
    headers = getattr(request, "headers", None)
    session_id = headers.get("mcp-session-id") if headers is not None else None
    key = client_key(session_id, ctx.request_context.meta, headers)
    over_http = headers is not None
    if over_http and key == DEFAULT_KEY:
        if tool in STATEFUL_TOOLS:
            raise SessionError(f"{tool} keeps state between calls and this server is shared: call "
                               f"open_session and send its id as _meta {META_KEY!r} (or the X-Seer-Session "
                               "header) with every call of one task")
        return ClientEntry(states.factory())  # a stateless tool: a throw-away state, shared with no one
    return states.acquire(key, create=not (over_http and key.startswith(ISSUED_PREFIX)))


TOOL_DEADLINE_S = 60.0  # per tool call; the tools' own limits (SQL 10 s, Python 5 s) are shorter

_JSON_TYPES: dict[str, Any] = {"string": str, "number": float, "integer": int, "boolean": bool}


def _python_type(schema: dict[str, Any]) -> Any:
    """The Python annotation for a JSON-schema property (a union for ``["string", "number"]``)."""
    kinds = schema.get("type", "string")
    types = [_JSON_TYPES[k] for k in ([kinds] if isinstance(kinds, str) else kinds)]
    return functools.reduce(operator.or_, types)


def _tool_function(spec: ToolSpec, states: ClientStates[ToolSession], *, auth: bool = False) -> Any:
    """An async MCP tool function with the spec's keyword arguments, bound to the caller's state."""

    async def call(ctx: Context, **arguments: Any) -> str:
        try:
            require("recall", ctx, enabled=auth)
            entry = _client_entry(ctx, states, spec.name)
        except (SessionError, AuthError) as exc:
            raise MCPToolError(f"{spec.name}: {exc}") from exc

        def run() -> str:
            with entry.lock:  # one call at a time per client: filters are sequential state
                return entry.state.call(spec.name, arguments)

        try:
            with anyio.fail_after(TOOL_DEADLINE_S):  # the client is answered; the worker thread may linger
                return await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
        except ToolError as exc:
            raise MCPToolError(f"{spec.name}: {exc}") from exc
        except TimeoutError as exc:
            raise MCPToolError(f"{spec.name}: the call took longer than {TOOL_DEADLINE_S:g} s") from exc

    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    properties = spec.parameters.get("properties", {})
    required = set(spec.parameters.get("required", properties))
    for name, schema in properties.items():
        bounds = Field(description=schema.get("description", ""), max_length=schema.get("maxLength"))
        annotation = Annotated[_python_type(schema), bounds]  # type: ignore[valid-type]
        default = inspect.Parameter.empty if name in required else schema.get("default", "")
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        )
    call.__signature__ = inspect.Signature(params, return_annotation=str)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in params} | {"return": str}
    call.__name__ = spec.name
    return call


CALLER_HIDDEN = frozenset({"intent_source"})  # set by the server, never by a client


def model_tool(fn: Any, model: type[BaseModel], scope: Scope, *, auth: bool = False,
               limiter: RateLimiter | None = None) -> Any:
    """An MCP tool function whose arguments are ``model``'s fields (types, bounds, defaults and
    descriptions defined once, on the pool's own model); ``fn`` receives the validated model. With
    ``auth`` the caller's key must hold ``scope``."""

    async def call(ctx: Context, **arguments: Any) -> Any:
        try:
            require(scope, ctx, enabled=auth, limiter=limiter, action=scope)
            request = model(**arguments)
        except (AuthError, ValidationError) as exc:
            raise MCPToolError(f"{fn.__name__}: {exc}") from exc
        return await fn(request)

    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    for name, info in model.model_fields.items():
        if name in CALLER_HIDDEN:
            continue
        annotation = Annotated[(info.annotation, *info.metadata, Field(description=info.description))]  # type: ignore[name-defined]
        default = (inspect.Parameter.empty if info.is_required()
                   else info.get_default(call_default_factory=True))
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                                        default=default))
    returns = dict[str, Any]  # a JSON object (the structured content)
    call.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in params} | {"return": returns}
    call.__name__, call.__doc__ = fn.__name__, fn.__doc__
    return call


@dataclass
class SeerServer:
    """The MCP server plus the resources it owns (closed once the transport ends)."""

    mcp: MCPServer
    corpus: Corpus
    pools: PoolService

    def close(self) -> None:
        self.pools.close()
        self.corpus.close()


async def _pool_call(tool: str, fn: Any, *args: Any) -> Any:
    """Run a pool operation in a worker thread; pool errors become MCP tool errors naming the tool."""
    try:
        return await anyio.to_thread.run_sync(fn, *args)
    except (PoolError, ValueError) as exc:
        raise MCPToolError(f"{tool}: {exc}") from exc
    except duckdb.Error as exc:  # damage found after opening: say so, without the server's paths
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MCPToolError(f"{tool}: the experience pool could not be read ({first})") from exc


def build_server(config: ServerConfig, *, pool_service: PoolService | None = None) -> SeerServer:
    """Build the MCP server: 13 ToolQA tools, recall/record/forget, pool stats, a recall prompt."""
    corpus = Corpus(config.corpus, cache_dir() / "corpus")
    states: ClientStates[ToolSession] = ClientStates(
        lambda: ToolSession(corpus, python_limits=SandboxLimits(isolation=config.python_isolation)),
        config.max_clients,
        config.client_idle_ttl_s,
    )
    pools = pool_service or PoolService(config.pool, config.embedder, config.seeds)
    security = http_security(config.keys, config.oauth, config.public_url)  # the SDK's bearer middleware
    auth = bool(security)
    limiter = RateLimiter(config.rate_limits)  # per key: one client cannot flood the pool or starve others
    server = MCPServer("seer", instructions=instructions(), version=__version__, log_level="WARNING",
                       **security)

    for spec in TOOL_SPECS:
        server.add_tool(
            _tool_function(spec, states, auth=auth),
            name=spec.name,
            description=spec.description,
            # the others change only the caller's own session state (a loaded table, filters, graphs,
            # the final answer) or run code in a throw-away sandbox: never destructive
            annotations=ToolAnnotations(read_only_hint=spec.name in _READ_ONLY_TOOLS, destructive_hint=False,
                                        idempotent_hint=spec.name != "FilterDB", open_world_hint=False),
            structured_output=True,
        )

    async def recall_experiences(request: RecallRequest) -> dict[str, Any]:
        """Recall the top-k past successful trajectories most relevant to this step of the task.

        Call before every tool step with the calls made so far. Each result has its id, the
        rendered demonstration and its score terms (s1 similarity, s2 tool coverage, s3 intent).
        """
        return await _pool_call("recall_experiences", pools.recall, request)

    async def record_trajectory(request: RecordRequest) -> dict[str, Any]:
        """Store a finished task's trajectory in the experience pool (successes only; deduplicated)."""
        return await _pool_call("record_trajectory", pools.record, request)

    # recall counts usage, so neither tool is read-only; recording never deletes (duplicates merge)
    writes = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
    scoped: tuple[tuple[Any, type[BaseModel], Scope], ...] = (
        (recall_experiences, RecallRequest, "recall"), (record_trajectory, RecordRequest, "record"))
    for fn, model, scope in scoped:
        server.add_tool(model_tool(fn, model, scope, auth=auth, limiter=limiter), name=fn.__name__,
                        description=fn.__doc__, annotations=writes)

    @server.tool(
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                                    open_world_hint=False)
    )
    async def open_session(ctx: Context) -> dict[str, Any]:
        """Open a private tool session: send the returned id as _meta "seer/session" (or the
        X-Seer-Session header) with every tool call of one task, so its loaded table, filters and
        graphs are yours alone. Required over HTTP for LoadDB, FilterDB, GetValue, the graph tools
        and Finish; sessions idle for an hour expire."""
        try:
            require("recall", ctx, enabled=auth)
            return {"session": states.issue(), "meta_key": META_KEY}
        except (SessionError, AuthError) as exc:
            raise MCPToolError(f"open_session: {exc}") from exc

    @server.tool(
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)
    )
    async def forget_experience(
        ctx: Context,
        experience_id: Annotated[str, Field(description="The id returned by recall or record")],
    ) -> dict[str, Any]:
        """Delete one experience from the pool (needs the admin scope on a server with API keys)."""
        try:
            require("admin", ctx, enabled=auth)
        except AuthError as exc:
            raise MCPToolError(f"forget_experience: {exc}") from exc
        removed = await _pool_call("forget_experience", pools.forget, experience_id)
        if not removed:
            raise MCPToolError(f"forget_experience: no experience with id {experience_id!r}")
        return {"removed": experience_id}

    @server.resource(
        "seer://pool/stats",
        name="pool-stats",
        mime_type="application/json",
        description="Size, intents, embedder and usage of the experience pool",
    )
    async def pool_stats() -> str:
        stats = await _pool_call("pool stats", pools.stats)
        stats.pop("path", None)  # clients see the pool's name, never the server's file system
        return json.dumps(stats, indent=2, default=str)

    @server.resource(
        "seer://corpus/domains",
        name="corpus-domains",
        mime_type="application/json",
        description="Which ToolQA domains the corpus provides, and what is missing",
    )
    async def corpus_domains() -> str:
        domains = await anyio.to_thread.run_sync(corpus.domains)
        return json.dumps(
            {name: {"available": st.available, "detail": st.detail} for name, st in domains.items()}, indent=2
        )

    @server.prompt(name="solve_with_recall", description="Wrap a task with the stepwise recall protocol")
    def solve_with_recall(task: str) -> str:
        return (
            f"Task: {task}\n\nBefore each tool call, call recall_experiences with this task and the "
            "calls made so far, and follow the most relevant demonstrations. Make one tool call per "
            "step and finish with Finish[answer]. When done and confident, call record_trajectory."
        )

    return SeerServer(server, corpus, pools)
