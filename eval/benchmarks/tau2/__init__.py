"""τ²-bench as a seer benchmark plug-in: a simulated customer (an LLM through litellm), the domain's
tools over MCP, and the reward from τ²'s own evaluator (final database vs. the gold actions' replay,
required information communicated, actions; product over the task's reward basis).

Each agent turn runs the shared agent loop on the conversation so far until the model calls
``Finish``, whose answer is the reply to the customer; the simulator answers until it stops (or
``max_turns``). The episode's messages — the agent's tool calls with their results, both sides'
texts — form the τ² simulation the evaluator scores.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import anyio

from seer.eval.agent import Agent, FinalStep, IntentStep
from seer.eval.benchmarks.base import (
    BenchTask,
    Episode,
    RoutedClient,
    merge_turns,
    raw_arguments,
    run_turn,
    server_command,
)
from seer.eval.judges import Verdict

GREETING = "Hi! How can I help you today?"  # τ²'s own first agent message
NO_REPLY = "Sorry, I could not finish that. Could you say it another way?"


def dialog_text(dialog: list[tuple[str, str]]) -> str:
    lines = ["Conversation so far:"] + [f"{who}: {' '.join(text.split())}" for who, text in dialog]
    lines.append("Handle the customer's last message: call tools as needed, then Finish with your reply.")
    return "\n".join(lines)


class Tau2Benchmark:
    """One τ² domain (``airline`` by default, its ``test`` split); ``limit`` takes a seeded sample."""

    name = "tau2"

    def __init__(self, domain: str = "airline", split: str = "test", user_model: str = "local",
                 user_url: str | None = None, max_turns: int | str = 8, limit: int | None = None,
                 seed: int = 0, ids: list[str] | None = None):
        self.domain, self.split, self.limit, self.seed, self.ids = domain, split, limit, seed, ids
        self.max_turns = int(max_turns)
        self.user_model, self.user_url = user_model, user_url
        self.user: Any = None  # a UserSimulator-like factory override (tests)

    def use_user_model(self, llm: str, url: str | None) -> None:
        """Point the simulator at a litellm model (``openai/NAME``) on an OpenAI-compatible URL."""
        self.user_model, self.user_url = llm, url

    def preamble(self) -> str:
        """The domain policy, shown to the agent before its tools (as τ²'s own agent does)."""
        from seer.eval.benchmarks.tau2.env import environment

        return str(environment(self.domain).get_policy())

    def tasks(self) -> list[BenchTask]:
        from seer.eval.benchmarks.tau2.env import load_tasks

        tasks = list(load_tasks(self.domain, self.split or None))
        if self.ids:
            tasks = [t for t in tasks if t.id in set(self.ids)]
        elif self.limit and self.limit < len(tasks):
            picked = set(random.Random(f"tau2-{self.seed}").sample(range(len(tasks)), self.limit))
            tasks = [t for i, t in enumerate(tasks) if i in picked]
        return [BenchTask(qid=str(t.id), question=_scenario(t), domain=self.domain, level=self.split,
                          answer_text=_gold(t), data=t) for t in tasks]

    def server_command(self) -> tuple[str, list[str]]:
        return server_command("tau2", f'{{"domain": "{self.domain}"}}')

    def simulator(self, task: Any) -> Any:
        if self.user is not None:
            return self.user(task)
        from tau2.user.user_simulator import UserSimulator

        if self.user_model == "local":
            raise RuntimeError("the local user simulator is started by the harness (run_bench) first")
        args: dict[str, Any] = {"temperature": 0.0, "max_tokens": 200, "num_retries": 2}
        if self.user_url:
            args |= {"api_base": self.user_url, "api_key": "none"}
        return UserSimulator(instructions=task.user_scenario, llm=self.user_model, llm_args=args)

    async def episode(self, agent: Agent, client: RoutedClient, task: BenchTask) -> Episode:
        from tau2.data_model.message import AssistantMessage, ToolCall, ToolMessage
        from tau2.data_model.simulation import SimulationRun, TerminationReason
        from tau2.user.user_simulator import UserSimulator

        t, started, clock = task.data, datetime.now(UTC).isoformat(), time.perf_counter()
        user = self.simulator(t)
        state = user.get_init_state()
        greeting = AssistantMessage(role="assistant", content=GREETING)
        user_msg, state = await anyio.to_thread.run_sync(user.generate_next_message, greeting, state)
        messages: list[Any] = [greeting, user_msg]
        dialog = [("You", GREETING), ("Customer", str(user_msg.content or ""))]
        finals: list[FinalStep] = []
        intent: IntentStep | None = None
        reason = TerminationReason.MAX_STEPS
        session, names = await client.start(task.qid)
        try:
            turn_agent = await agent.on_tools(client.view(names))
            for turn in range(self.max_turns + 1):
                if UserSimulator.is_stop(user_msg):
                    reason = TerminationReason.USER_STOP
                    break
                if turn == self.max_turns:
                    break
                intent_step, final = await run_turn(
                    turn_agent, dialog_text(dialog), task_id=f"{task.qid}/{turn}", intent=task.domain,
                    exclude=task.qid, session=session)
                intent = intent or intent_step
                finals.append(final)
                # τ²'s evaluator replays these calls and compares every reply, so only calls that worked
                # go in; a refused call (a failed step, see Tau2Backend.call) changed nothing
                for step in final.steps:
                    if step.ok and step.tool and step.tool != "Finish":
                        call = ToolCall(id=uuid.uuid4().hex[:12], name=step.tool, arguments=step.arguments)
                        messages += [AssistantMessage(role="assistant", tool_calls=[call]),
                                     ToolMessage(id=call.id, role="tool", content=step.observation,
                                                 requestor="assistant")]
                reply = AssistantMessage(role="assistant", content=final.answer or NO_REPLY)
                user_msg, state = await anyio.to_thread.run_sync(user.generate_next_message, reply, state)
                messages += [reply, user_msg]
                dialog += [("You", str(reply.content)), ("Customer", str(user_msg.content or ""))]
        finally:
            await client.end(session)
        sim = SimulationRun(id=uuid.uuid4().hex, task_id=str(t.id), start_time=started,
                            end_time=datetime.now(UTC).isoformat(), duration=time.perf_counter() - clock,
                            termination_reason=reason, messages=messages)
        episode = merge_turns(intent or IntentStep(task.domain, "gold"), finals)
        episode.verdict = await anyio.to_thread.run_sync(self.evaluate, sim, t)
        episode.question = dialog[1][1]  # what the customer first asked: what later recall will see
        return episode

    def evaluate(self, sim: Any, task: Any) -> Verdict:
        """τ²'s own evaluator (every criterion the task's reward basis names)."""
        from tau2.evaluator.evaluator import EvaluationType, evaluate_simulation

        info = evaluate_simulation(sim, task, EvaluationType.ALL, solo_mode=False, domain=self.domain)
        reward = float(info.reward)
        basis = ",".join(str(getattr(b, "value", b)) for b in (info.reward_basis or []))
        detail = f"reward {reward:g} ({basis or 'no basis'}; {sim.termination_reason.value})"
        return Verdict(reward >= 1.0 - 1e-9, "env", detail)

    def pool_step(self, step: dict[str, Any]) -> dict[str, Any]:
        return raw_arguments(step)


def _scenario(task: Any) -> str:
    instructions = getattr(task.user_scenario, "instructions", None)
    reason = getattr(instructions, "reason_for_call", None)
    return " ".join(str(reason or task.user_scenario).split())[:1000]


def _gold(task: Any) -> str:
    criteria = task.evaluation_criteria
    actions = getattr(criteria, "actions", None) or []
    return "; ".join(f"{a.name}({', '.join(f'{k}={v!r}' for k, v in a.arguments.items())})" for a in actions)
