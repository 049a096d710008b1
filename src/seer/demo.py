"""`seer-mcp demo --scripted`: a scripted tool chain through a real MCP client (no model needed).

The main demo (`seer-mcp demo`) is the Qwen harness run in `seer.eval.run_toolqa`; this scripted
chain shows the server, the tools and the pool working end to end without a model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import click
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from seer.config import seer_home


def _text(result: Any) -> str:
    return "\n".join(b.text for b in result.content if getattr(b, "type", "") == "text")


async def scripted_chain(corpus: Path, pool: str, embedder: str) -> str:
    """Answer one coffee question with LoadDB -> FilterDB -> GetValue -> Finish; record and recall it."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "seer.cli", "--corpus", str(corpus), "--pool", pool, "--embedder", embedder],
        env={"SEER_HOME": str(seer_home())},
    )
    task = "What was the opening price of coffee on 2001-12-06?"
    calls = [("LoadDB", {"target_db": "coffee"}), ("FilterDB", {"condition": "Date=2001-12-06"}),
             ("GetValue", {"column": "Open"})]
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        click.echo(f"server lists {len(tools)} tools: {', '.join(t.name for t in tools)}")
        steps = []
        for name, args in calls:
            recall = await client.call_tool("recall_experiences", {"task": task, "steps_so_far": steps})
            found = json.loads(_text(recall))["experiences"] if not recall.is_error else []
            result = await client.call_tool(name, args)
            observation = _text(result)
            click.echo(f"  recall -> {len(found)} demos | {name}{args} -> {observation[:80]!r}")
            steps.append({"tool": name, "arguments": args, "observation": observation, "ok": not result.is_error})
        answer = _text(await client.call_tool("Finish", {"answer": steps[-1]["observation"]}))
        steps.append({"tool": "Finish", "arguments": {"answer": answer}, "observation": answer, "ok": True})
        stored = await client.call_tool("record_trajectory", {
            "task": task, "steps": steps, "final_answer": answer, "success": answer == "42.75",
            "judge": "exact_match", "intent": "coffee"})
        click.echo(f"record_trajectory -> {_text(stored)}")
        return answer


@click.command()
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="ToolQA external_corpus folder (default: a small synthetic corpus).")
@click.option("--pool", default="demo", show_default=True)
@click.option("--embedder", default="default", show_default=True)
def demo(corpus: Path | None, pool: str, embedder: str) -> None:
    """Run a scripted coffee tool chain through the MCP server and print the answer."""
    from seer.cli import default_corpus

    corpus = corpus or default_corpus()
    answer = anyio.run(scripted_chain, corpus, pool, embedder)
    click.echo(f"answer: {answer}")
