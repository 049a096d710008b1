"""BFCL multi-turn as a seer benchmark plug-in: scripted user turns, stateful Python APIs over MCP,
scored offline by BFCL's own multi-turn checker (state and response checks per turn).

Each user turn runs the shared agent loop until the model calls ``Finish``; the tool state (one
session on the benchmark server) carries over between turns, and the next turn's request is shown
with the earlier requests and the calls already made. The checker re-executes the model's successful
calls, turn by turn, on fresh instances and compares them with the ground truth's.
"""

from __future__ import annotations

import itertools
import json
import random
import uuid
from typing import Any

import anyio

from seer.eval.agent import Agent, FinalStep
from seer.eval.benchmarks.base import (
    BenchTask,
    Episode,
    RoutedClient,
    merge_turns,
    raw_arguments,
    run_turn,
    server_command,
)
from seer.eval.benchmarks.bfcl.data import ERROR_PREFIX
from seer.eval.calls import format_call
from seer.eval.judges import Verdict

_CHECKS = itertools.count()


def turn_calls(final: FinalStep) -> list[list[str]]:
    """A turn's successful calls as BFCL model steps: one list of call strings per step."""
    return [[format_call(s.tool, s.arguments)] for s in final.steps if s.ok and s.tool and s.tool != "Finish"]


def is_error_value(observation: str) -> bool:
    """A BFCL function's refusal as its result reads: an ``{"error": ...}`` value (how the classes refuse,
    e.g. ``cd`` to a missing folder) or an exception the executor caught ("Error during execution: ...")."""
    text = observation.strip()
    if text.startswith(ERROR_PREFIX):
        return True
    if not text.startswith("{"):
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return text.startswith('{"error":')  # cut by the observation limit
    return isinstance(value, dict) and "error" in value


def check(entry: dict[str, Any], calls: list[list[list[str]]]) -> Verdict:
    """BFCL's multi-turn checker on the model's calls per turn (``calls[turn][step] = [call, ...]``)."""
    from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker

    name = f"seer{next(_CHECKS)}_{uuid.uuid4().hex[:8]}"  # the checker keeps instances in globals by name
    category = entry["id"].rsplit("_", 1)[0]
    try:
        result = multi_turn_checker(calls, entry["ground_truth"], entry, category, name)
    except Exception as exc:  # the checker's own assertion on a malformed run: a failure, said plainly
        result = {"valid": False, "error_type": "checker_exception", "error_message": str(exc)}
    finally:
        for key in [k for k in vars(multi_turn_utils) if name in k]:
            del vars(multi_turn_utils)[key]
    if result.get("valid"):
        return Verdict(True, "bfcl", "all turns pass the state and response checks")
    detail = f"{result.get('error_type', '')}: {str(result.get('error_message', ''))[:300]}"
    return Verdict(False, "bfcl", detail)


def request_text(entry: dict[str, Any], turn: int, done: list[list[list[str]]]) -> str:
    """The prompt for one turn: earlier requests with the calls made for them, then the current one."""
    lines = []
    for k in range(turn):
        calls = "; ".join(c for step in done[k] for c in step) or "no calls"
        lines.append(f"Earlier request {k + 1}: {_user_text(entry['question'][k])}\n  Calls made: {calls}")
    lines.append(f"Request: {_user_text(entry['question'][turn])}")
    return "\n".join(lines)


def _user_text(turn: list[dict[str, Any]]) -> str:
    return " ".join(str(m.get("content", "")) for m in turn if m.get("role") == "user")


class BfclBenchmark:
    """BFCL multi-turn (``multi_turn_base`` by default); ``limit`` takes a seeded sample of entries."""

    name = "bfcl"

    def __init__(self, category: str = "multi_turn_base", limit: int | None = None, seed: int = 0,
                 ids: list[str] | None = None):
        self.category, self.limit, self.seed, self.ids = category, limit, seed, ids

    def tasks(self) -> list[BenchTask]:
        from seer.eval.benchmarks.bfcl.data import load_entries

        entries = list(load_entries(self.category))
        if self.ids:
            entries = [e for e in entries if e["id"] in set(self.ids)]
        elif self.limit and self.limit < len(entries):
            picked = set(random.Random(f"bfcl-{self.seed}").sample(range(len(entries)), self.limit))
            entries = [e for i, e in enumerate(entries) if i in picked]
        return [BenchTask(qid=e["id"], question="\n".join(_user_text(t) for t in e["question"]),
                          domain="+".join(sorted(e["involved_classes"])), level=self.category,
                          answer_text=" | ".join("; ".join(t) for t in e["ground_truth"]), data=e)
                for e in entries]

    def server_command(self) -> tuple[str, list[str]]:
        return server_command("bfcl")

    async def episode(self, agent: Agent, client: RoutedClient, task: BenchTask) -> Episode:
        entry = task.data
        session, names = await client.start(task.qid)
        try:
            turn_agent = await agent.on_tools(client.view(names))
            done: list[list[list[str]]] = []
            finals: list[FinalStep] = []
            intent = None
            for turn in range(len(entry["question"])):
                intent_step, final = await run_turn(
                    turn_agent, request_text(entry, turn, done), task_id=f"{task.qid}/{turn}",
                    intent=task.domain, exclude=task.qid, session=session)
                intent = intent or intent_step
                finals.append(final)
                done.append(turn_calls(final))
        finally:
            await client.end(session)
        assert intent is not None
        episode = merge_turns(intent, finals)
        episode.verdict = await anyio.to_thread.run_sync(check, entry, done)
        return episode

    def pool_step(self, step: dict[str, Any]) -> dict[str, Any]:
        """As stored: a call whose function refused (its error value) is a failed step, never a
        demonstration step. The agent saw it as BFCL shows it, an ordinary result."""
        refused = step.get("tool") != "Finish" and is_error_value(str(step.get("observation", "")))
        if step.get("ok") and refused:
            step = step | {"ok": False}
        return raw_arguments(step)

    def preamble(self) -> str:
        return ""
