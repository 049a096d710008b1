"""The ToolQA tools through a real MCP SDK client, over stdio and over streamable HTTP."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from seer.eval.agent import Agent
from seer.seer_mcp.protocol import tool_role
from tests.server.conftest import HttpServer, stdio_params

TOOLQA_TOOLS = {
    "LoadDB",
    "FilterDB",
    "GetValue",
    "SQLInterpreter",
    "PythonInterpreter",
    "Calculate",
    "RetrieveAgenda",
    "RetrieveScirex",
    "LoadGraph",
    "NeighbourCheck",
    "NodeCheck",
    "EdgeCheck",
    "Finish",
}
POOL_TOOLS = {"recall_experiences", "record_trajectory", "forget_experience"}
COLUMN_OF = {"opening": "Open", "lowest": "Low", "highest": "High", "closing": "Close", "volume": "Volume"}
LOOKUP = re.compile(
    r"What was the (opening price|lowest price|highest price|closing price|volume) of coffee "
    r"on (\d{4}-\d{2}-\d{2})\?"
)


def text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")


async def call_ok(client: Client, name: str, args: dict[str, Any], session: str | None = None) -> str:
    result = await client.call_tool(name, args, meta={"seer/session": session} if session else None)
    assert not result.is_error, f"{name}({args}) failed: {text(result)}"
    return text(result)


def coffee_lookups(official_questions: Path) -> list[tuple[str, str, str]]:
    """(column, date, gold) for the official coffee-easy price/volume look-up questions."""
    rows = []
    for line in (official_questions / "easy" / "coffee-easy.jsonl").read_text().splitlines():
        q = json.loads(line)
        match = LOOKUP.fullmatch(q["question"])
        if match:
            rows.append((COLUMN_OF[match.group(1).split()[0]], match.group(2), q["answer"]))
    return rows


async def run_lookup_chain(client: Client, column: str, date: str, session: str | None = None) -> str:
    await call_ok(client, "LoadDB", {"target_db": "coffee"}, session)
    await call_ok(client, "FilterDB", {"condition": f"Date={date}"}, session)
    value = await call_ok(client, "GetValue", {"column": column}, session)
    return await call_ok(client, "Finish", {"answer": value}, session)


def test_stdio_lists_every_tool_with_schema_and_instructions(real_corpus: Path) -> None:
    async def main() -> None:
        async with Client(stdio_params(real_corpus)) as client:
            assert client.instructions and "recall_experiences" in client.instructions
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) >= TOOLQA_TOOLS | POOL_TOOLS
            for name in TOOLQA_TOOLS | POOL_TOOLS:
                assert tools[name].description, name
                assert tools[name].input_schema["type"] == "object", name
            assert set(tools["EdgeCheck"].input_schema["required"]) == {"graph", "node1", "node2"}
            roles = {name: tool_role(tool.meta) for name, tool in tools.items()}
            assert None not in roles.values(), roles  # every tool says whether a model may call it
            assert {name for name, role in roles.items() if role == "task"} == TOOLQA_TOOLS
            assert {name for name, role in roles.items() if role == "memory"} == {"recall_experiences",
                                                                                   "record_trajectory"}
            # the harness shows its model the task tools only: pool review tools stay out of the prompt
            agent = await Agent(client, model=None).setup()  # type: ignore[arg-type]  # setup asks no model
            assert {tool["name"] for tool in agent.tools} == TOOLQA_TOOLS
            assert "quarantine" not in agent.system and "record_trajectory" not in agent.system
            resources = {str(r.uri) for r in (await client.list_resources()).resources}
            assert "seer://pool/stats" in resources

    anyio.run(main)


def test_official_coffee_answers_over_stdio(real_corpus: Path, official_questions: Path) -> None:
    lookups = coffee_lookups(official_questions)
    assert len(lookups) == 64

    async def main() -> None:
        async with Client(stdio_params(real_corpus)) as client:
            for column, date, gold in lookups:
                answer = await run_lookup_chain(client, column, date)
                assert answer == gold, (column, date)

    anyio.run(main)


def test_coffee_percentage_change_with_calculate(real_corpus: Path, official_questions: Path) -> None:
    questions = [
        json.loads(line)
        for line in (official_questions / "easy" / "coffee-easy.jsonl").read_text().splitlines()
    ]
    pct = [q for q in questions if "percentage change" in q["question"]][:4]

    async def main() -> None:
        async with Client(stdio_params(real_corpus)) as client:
            for q in pct:
                date = re.search(r"\d{4}-\d{2}-\d{2}", q["question"]).group(0)  # type: ignore[union-attr]
                await call_ok(client, "LoadDB", {"target_db": "coffee"})
                await call_ok(client, "FilterDB", {"condition": f"Date={date}"})
                open_ = await call_ok(client, "GetValue", {"column": "Open"})
                close = await call_ok(client, "GetValue", {"column": "Close"})
                change = await call_ok(
                    client, "Calculate", {"expression": f"round(({close}-{open_})/{open_}*100, 2)"}
                )
                assert f"{change}%" == q["answer"], q

    anyio.run(main)


def test_http_sessions_are_isolated_and_answer_correctly(
    real_corpus: Path, official_questions: Path, http_server_factory: type[HttpServer]
) -> None:
    server = http_server_factory(real_corpus).start()
    (col_a, date_a, gold_a), (col_b, date_b, gold_b) = coffee_lookups(official_questions)[:2]

    sessions: dict[str, str] = {}

    async def agent(
        name: str, date: str, column: str, ready: anyio.Event, other_ready: anyio.Event
    ) -> str:
        async with Client(server.url) as client:
            session = json.loads(await call_ok(client, "open_session", {}))["session"]
            sessions[name] = session
            await call_ok(client, "LoadDB", {"target_db": "coffee"}, session)
            await call_ok(client, "FilterDB", {"condition": f"Date={date}"}, session)
            ready.set()
            await other_ready.wait()  # both filters are in place before either reads
            return await call_ok(client, "GetValue", {"column": column}, session)

    async def main() -> None:
        results: dict[str, str] = {}
        a_ready, b_ready = anyio.Event(), anyio.Event()

        async def run(name: str, *args: Any) -> None:
            results[name] = await agent(*args)

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, "a", "agent-a", date_a, col_a, a_ready, b_ready)
            tg.start_soon(run, "b", "agent-b", date_b, col_b, b_ready, a_ready)
        assert results == {"a": gold_a, "b": gold_b}
        async with Client(server.url) as mallory:
            # no session: no shared default state to read; a guessed or junk name: not a session
            anon = await mallory.call_tool("GetValue", {"column": col_a})
            assert anon.is_error and "open_session" in text(anon)
            for guess in ("agent-a", "default", *(f"junk-{i}" for i in range(1030))):
                junk = await mallory.call_tool("GetValue", {"column": col_a}, meta={"seer/session": guess})
                assert junk.is_error and "unknown" in text(junk)
            assert len(sessions["agent-a"]) >= 20  # 128 random bits, not a counter
        async with Client(server.url) as client:  # the junk evicted nothing: a's filtered state is intact
            assert await call_ok(client, "GetValue", {"column": col_a}, sessions["agent-a"]) == gold_a

    anyio.run(main)


def test_errors_are_tool_errors_and_server_stays_up(real_corpus: Path) -> None:
    async def main() -> None:
        async with Client(stdio_params(real_corpus)) as client:
            bad = await client.call_tool("GetValue", {"column": "Open"})
            assert bad.is_error  # no table loaded yet
            await call_ok(client, "LoadDB", {"target_db": "coffee"})
            bad = await client.call_tool("FilterDB", {"condition": "Nope=1"})
            assert bad.is_error and "Nope" in text(bad)
            bad = await client.call_tool("LoadDB", {"target_db": "no_such_db"})
            assert bad.is_error and "no_such_db" in text(bad)
            bad = await client.call_tool("EdgeCheck", {"graph": "AuthorNet"})
            assert bad.is_error and "node1" in text(bad)
            bad = await client.call_tool("SQLInterpreter", {"query": "DELETE FROM coffee.coffee_data"})
            assert bad.is_error
            bad = await client.call_tool("PythonInterpreter", {"code": "while True: pass"})
            assert bad.is_error and "time" in text(bad).lower()
            bad = await client.call_tool("LoadGraph", {"graph": "dblp"})
            assert bad.is_error and "dblp" in text(bad)  # the real corpus has no dblp files
            # still alive and correct afterwards
            rows = await call_ok(
                client,
                "SQLInterpreter",
                {"query": "SELECT Open FROM coffee.coffee_data WHERE Date = '2001-12-06'"},
            )
            assert "42.75" in rows

    anyio.run(main)



def test_honest_metadata_structured_results_and_quiet_logs(
    real_corpus: Path, http_server_factory: type[HttpServer]
) -> None:
    """Annotations match behaviour, every tool has an output schema and structured content, logging follows
    --log-level (WARNING by default: no third-party DEBUG lines), and no server path reaches a client."""
    import os

    server = http_server_factory(real_corpus).start()
    stateful = {"LoadDB", "FilterDB", "LoadGraph", "PythonInterpreter", "Finish"}

    async def main() -> None:
        async with Client(server.url) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            for name, tool in tools.items():
                assert tool.output_schema is not None, name
                hints = tool.annotations
                assert hints is not None and hints.destructive_hint is (name == "forget_experience"), name
                assert not (name in stateful and hints.read_only_hint), name
            result = await client.call_tool("RetrieveScirex", {"query": "Mean_IoU FRRN Cityscapes"})
            assert not result.is_error and result.structured_content == {"result": result.content[0].text}
            body = (await client.read_resource("seer://pool/stats")).contents[0].text
            assert os.environ["SEER_HOME"] not in body and "path" not in json.loads(body)

    anyio.run(main)
    server.stop()
    assert server.proc is not None and server.proc.stderr is not None
    assert "DEBUG" not in server.proc.stderr.read().decode()
