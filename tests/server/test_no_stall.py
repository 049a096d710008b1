"""No request can stall other clients: oversized inputs are refused before any parsing, in time."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
from mcp import Client

from tests.server.conftest import HttpServer


def test_megabyte_inputs_do_not_delay_another_client(
    real_corpus: Path, http_server_factory: type[HttpServer]
) -> None:
    server = http_server_factory(real_corpus).start()
    replies: dict[str, str] = {}
    latencies: list[float] = []

    async def attacker(tool: str, args: dict[str, str]) -> None:
        async with Client(server.url) as client:
            result = await client.call_tool(tool, args, meta={"seer/session": f"attacker-{tool}"})
            assert result.is_error
            replies[tool] = "\n".join(b.text for b in result.content if getattr(b, "type", "") == "text")

    async def bystander() -> None:
        async with Client(server.url) as client:
            for _ in range(5):
                start = time.perf_counter()
                result = await client.call_tool("Calculate", {"expression": "1+1"})
                latencies.append(time.perf_counter() - start)
                assert not result.is_error and result.content[0].text == "2"
                await anyio.sleep(0.05)

    async def main() -> None:
        async with Client(server.url) as client:  # the table is loaded once, so FilterDB reaches its parser
            meta = {"seer/session": "attacker-FilterDB"}
            await client.call_tool("LoadDB", {"target_db": "coffee"}, meta=meta)
        megabyte = "1+" * 500_000 + "1"
        filters = "Date=2000-01-04, " + "a," * 500_000
        async with anyio.create_task_group() as group:
            group.start_soon(attacker, "Calculate", {"expression": megabyte})
            group.start_soon(attacker, "FilterDB", {"condition": filters})
            group.start_soon(bystander)

    anyio.run(main)
    assert max(latencies) < 1.0, latencies
    for tool, field in (("Calculate", "expression"), ("FilterDB", "condition")):
        assert field in replies[tool] and "2000" in replies[tool].replace(",", ""), replies[tool]
