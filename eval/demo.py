"""`seer-mcp demo`: the main job — the embedded Qwen model through the MCP server, react vs seer.

`seer-mcp demo --scripted` instead runs one scripted tool chain through a real MCP client, which
shows the server, the tools and the pool end to end without a model.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import click
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from seer.pool.home import seer_home


def _text(result: Any) -> str:
    return "\n".join(b.text for b in result.content if getattr(b, "type", "") == "text")


def first_opening_price_question(corpus: Path) -> tuple[str, str, str]:
    """(question, date, gold) of the first "opening price" coffee-easy question beside the corpus."""
    questions = corpus.parent / "questions" / "easy" / "coffee-easy.jsonl"
    for line in questions.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        match = re.fullmatch(r"What was the opening price of coffee on (\d{4}-\d{2}-\d{2})\?", q["question"])
        if match:
            return q["question"], match.group(1), str(q["answer"])
    raise click.ClickException(f"no opening-price question in {questions}")


async def scripted_chain(corpus: Path, pool: str, embedder: str) -> tuple[str, str]:
    """Answer one coffee question with LoadDB -> FilterDB -> GetValue -> Finish; record it. (answer, gold)"""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "seer.seer_mcp.cli", "--corpus", str(corpus), "--pool", pool, "--embedder", embedder],
        env={"SEER_HOME": str(seer_home())},
    )
    task, date, gold = first_opening_price_question(corpus)
    calls = [
        ("LoadDB", {"target_db": "coffee"}),
        ("FilterDB", {"condition": f"Date={date}"}),
        ("GetValue", {"column": "Open"}),
    ]
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        click.echo(f"server lists {len(tools)} tools: {', '.join(t.name for t in tools)}")
        steps: list[dict[str, Any]] = []
        for name, args in calls:
            recall = await client.call_tool("recall_experiences", {"task": task, "steps_so_far": steps})
            found = (recall.structured_content or {}).get("experiences", []) if not recall.is_error else []
            result = await client.call_tool(name, args)
            observation = _text(result)
            click.echo(f"  recall -> {len(found)} demos | {name}{args} -> {observation[:80]!r}")
            steps.append(
                {"tool": name, "arguments": args, "observation": observation, "ok": not result.is_error}
            )
        answer = _text(await client.call_tool("Finish", {"answer": steps[-1]["observation"]}))
        steps.append({"tool": "Finish", "arguments": {"answer": answer}, "observation": answer, "ok": True})
        stored = await client.call_tool(
            "record_trajectory",
            {
                "task": task,
                "steps": steps,
                "final_answer": answer,
                "success": answer == gold,
                "judge": "exact_match",
                "intent": "coffee",
            },
        )
        click.echo(f"record_trajectory -> {_text(stored)}")
        return answer, gold


@click.command()
@click.option("--scripted", is_flag=True, help="Run one scripted tool chain instead of the model (seconds).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run folder (default runs/demo-<date-time>); pass an existing one with --resume.",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted demo run in --out.")
@click.pass_context
def demo(ctx: click.Context, scripted: bool, out: Path | None, resume: bool) -> None:
    """Offline demo: the embedded Qwen 1.5B solves ToolQA questions through MCP, react vs seer (online).

    A small synthetic corpus is built on the fly; the run prints a per-domain table, the pool's growth
    and writes a markdown report with a learning curve.
    """
    from seer.eval.toolqa.data import default_corpus

    if scripted:
        answer, gold = anyio.run(scripted_chain, default_corpus(), "demo-scripted", "default")
        click.echo(f"answer: {answer} (gold {gold})")
        return
    from seer.eval.run_toolqa import toolqa

    out = out or Path("runs") / datetime.now().strftime("demo-%Y%m%d-%H%M%S")
    ctx.invoke(toolqa, demo=True, out=out, resume=resume)
