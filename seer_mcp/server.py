"""The seer MCP server: the ToolQA tools plus the experience pool, on the official MCP SDK."""

from __future__ import annotations

import functools
import inspect
import json
import logging
import operator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError as MCPToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from seer.pool import PoolError
from seer.pool.home import cache_dir
from seer.seer_mcp import __version__
from seer.seer_mcp.pool_service import PoolService
from seer.seer_mcp.sessions import ClientStates, client_key
from seer.tools import TOOL_SPECS, Corpus, ToolError, ToolSession, ToolSpec

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
    max_clients: int = 1024
    client_idle_ttl_s: float = 3600.0


class StepIn(BaseModel):
    """One tool call of a trajectory, as a client reports it."""

    tool: str = Field(description="Tool name, e.g. FilterDB")
    arguments: dict[str, Any] = Field(default_factory=dict, description="The call's arguments")
    ok: bool = Field(default=True, description="False when the call returned an error")
    thought: str = Field(default="", description="The reasoning before the call (optional)")
    observation: str = Field(default="", description="The tool's result (optional for recall)")


def instructions() -> str:
    """The server instructions every host model sees."""
    return resources.files("seer.seer_mcp").joinpath("templates/instructions.md").read_text(encoding="utf-8")


def _request_key(ctx: Context) -> str:
    request = ctx.request_context.request
    headers = getattr(request, "headers", None)
    session_id = headers.get("mcp-session-id") if headers is not None else None
    return client_key(session_id, ctx.request_context.meta, headers)


_JSON_TYPES: dict[str, Any] = {"string": str, "number": float, "integer": int, "boolean": bool}


def _python_type(schema: dict[str, Any]) -> Any:
    """The Python annotation for a JSON-schema property (a union for ``["string", "number"]``)."""
    kinds = schema.get("type", "string")
    types = [_JSON_TYPES[k] for k in ([kinds] if isinstance(kinds, str) else kinds)]
    return functools.reduce(operator.or_, types)


def _tool_function(spec: ToolSpec, states: ClientStates[ToolSession]) -> Any:
    """An async MCP tool function with the spec's keyword arguments, bound to the caller's state."""

    async def call(ctx: Context, **arguments: Any) -> str:
        entry = states.acquire(_request_key(ctx))

        def run() -> str:
            with entry.lock:  # one call at a time per client: filters are sequential state
                return entry.state.call(spec.name, arguments)

        try:
            return await anyio.to_thread.run_sync(run)
        except ToolError as exc:
            raise MCPToolError(f"{spec.name}: {exc}") from exc

    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    properties = spec.parameters.get("properties", {})
    required = set(spec.parameters.get("required", properties))
    for name, schema in properties.items():
        annotation = Annotated[_python_type(schema), Field(description=schema.get("description", ""))]  # type: ignore[valid-type]
        default = inspect.Parameter.empty if name in required else schema.get("default", "")
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        )
    call.__signature__ = inspect.Signature(params, return_annotation=str)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in params} | {"return": str}
    call.__name__ = spec.name
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


def build_server(config: ServerConfig, *, pool_service: PoolService | None = None) -> SeerServer:
    """Build the MCP server: 13 ToolQA tools, recall/record/forget, pool stats, a recall prompt."""
    corpus = Corpus(config.corpus, cache_dir() / "corpus")
    states: ClientStates[ToolSession] = ClientStates(
        lambda: ToolSession(corpus), config.max_clients, config.client_idle_ttl_s
    )
    pools = pool_service or PoolService(config.pool, config.embedder, config.seeds)
    server = MCPServer("seer", instructions=instructions(), version=__version__, log_level="WARNING")

    for spec in TOOL_SPECS:
        server.add_tool(
            _tool_function(spec, states),
            name=spec.name,
            description=spec.description,
            annotations=ToolAnnotations(read_only_hint=spec.name in _READ_ONLY_TOOLS, open_world_hint=False),
            structured_output=False,
        )

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    async def recall_experiences(
        task: Annotated[str, Field(description="The user's task / question")],
        steps_so_far: Annotated[list[StepIn], Field(description="Tool calls made so far in this task")] = [],  # noqa: B006
        intent: Annotated[str | None, Field(description="Task intent label; inferred when omitted")] = None,
        k: Annotated[int, Field(ge=0, le=32, description="How many demonstrations")] = 4,
        strategy: Annotated[
            Literal["hybrid", "goal", "process", "blend", "static", "random"],
            Field(description="hybrid: query at step 1, trajectory after; goal: query only; process: "
                  "trajectory only; blend: hybrid with the query kept in s1 after step 1; static: the "
                  "intent's first seed demonstrations; random: seeded random"),
        ] = "hybrid",
        terms: Annotated[
            list[Literal["s1", "s2", "s3"]] | None, Field(description="Score terms to use (default all)")
        ] = None,
        exclude_task_id: Annotated[
            str | None, Field(description="Never return this task's experiences")
        ] = None,
        max_per_template: Annotated[
            int | None, Field(ge=1, description="At most m per task template")
        ] = None,
        token_budget: Annotated[int | None, Field(ge=1, description="Cap on demonstration tokens")] = None,
        order: Annotated[Literal["ranked", "shuffled"], Field(description="Result order")] = "ranked",
        same_intent: Annotated[
            bool, Field(description="Only demonstrations of the task's intent (none if the pool has none)")
        ] = False,
    ) -> dict[str, Any]:
        """Recall the top-k past successful trajectories most relevant to this step of the task.

        Call before every tool step with the calls made so far. Each result has its id, the
        rendered demonstration and its score terms (s1 similarity, s2 tool coverage, s3 intent).
        """
        return await _pool_call(
            "recall_experiences",
            lambda: pools.recall(
                task=task,
                steps_so_far=[s.model_dump() for s in steps_so_far],
                intent=intent,
                k=k,
                strategy=strategy,
                terms=terms,
                exclude_task_id=exclude_task_id,
                max_per_template=max_per_template,
                token_budget=token_budget,
                order=order,
                same_intent=same_intent,
            ),
        )

    @server.tool(
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
    )
    async def record_trajectory(
        task: Annotated[str, Field(description="The task / question")],
        steps: Annotated[list[StepIn], Field(description="All tool calls with observations")],
        final_answer: Annotated[str, Field(description="The answer given")],
        success: Annotated[bool, Field(description="Judged successful; only successes are stored")],
        judge: Annotated[str, Field(description="Who judged: exact_match, llm_gold, self, user, ...")],
        intent: Annotated[str | None, Field(description="Task intent label; inferred when omitted")] = None,
        source: Annotated[
            str | None, Field(description="Where the trajectory comes from (model name)")
        ] = None,
        source_task_id: Annotated[str | None, Field(description="Benchmark task id, if any")] = None,
        recalled_ids: Annotated[list[str], Field(description="Experience ids recalled for this task")] = [],  # noqa: B006
    ) -> dict[str, Any]:
        """Store a finished task's trajectory in the experience pool (successes only; deduplicated)."""
        return await _pool_call(
            "record_trajectory",
            lambda: pools.record(
                task=task,
                steps=[s.model_dump() for s in steps],
                final_answer=final_answer,
                success=success,
                judge=judge,
                intent=intent,
                model=source,
                source_task_id=source_task_id,
                recalled_ids=recalled_ids,
            ),
        )

    @server.tool(
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)
    )
    async def forget_experience(
        experience_id: Annotated[str, Field(description="The id returned by recall or record")],
    ) -> dict[str, Any]:
        """Delete one experience from the pool."""
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
