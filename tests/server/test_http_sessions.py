"""Handshake-era HTTP clients (the MCP Inspector CLI): an explicit session wins over the transport id,
and a flood of initialize calls is bounded (memory stays flat, new clients still get answers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import Client

from seer.seer_mcp.cli import HTTP_MAX_SESSIONS
from tests.server.conftest import HttpServer

HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
CLIENT = {"name": "t", "version": "1"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": CLIENT}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def _result(response: httpx.Response) -> dict[str, Any]:
    data = next(line[5:] for line in response.text.splitlines() if line.startswith("data:"))
    return dict(json.loads(data)["result"])


class Handshake:
    """A handshake-era client over raw HTTP: initialize, then calls carrying the transport session id."""

    def __init__(self, url: str):
        self.url, self.http = url, httpx.Client(timeout=30)
        response = self.http.post(url, headers=HEADERS, json=INIT)
        self.headers = HEADERS | {"mcp-session-id": response.headers["mcp-session-id"],
                                  "mcp-protocol-version": "2025-06-18"}
        self.http.post(url, headers=self.headers, json=INITIALIZED)

    def call(self, name: str, arguments: dict[str, Any], meta: dict[str, str] | None = None) -> Any:
        params: dict[str, Any] = {"name": name, "arguments": arguments} | ({"_meta": meta} if meta else {})
        body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params}
        return _result(self.http.post(self.url, headers=self.headers, json=body))


def test_explicit_session_wins_over_the_transport_id(
    real_corpus: Path, http_server_factory: type[HttpServer]
) -> None:
    server = http_server_factory(real_corpus).start()
    client = Handshake(server.url)
    session = {"seer/session": client.call("open_session", {})["structuredContent"]["session"]}
    assert not client.call("LoadDB", {"target_db": "coffee"}, session)["isError"]
    assert not client.call("FilterDB", {"condition": "Date=2001-12-06"}, session)["isError"]
    value = client.call("GetValue", {"column": "Open"}, session)
    assert not value["isError"] and value["content"][0]["text"] == "42.75"  # LoadDB -> FilterDB chained
    bare = client.call("GetValue", {"column": "Open"})  # the transport's own state is another one
    assert bare["isError"] and "LoadDB" in bare["content"][0]["text"]


def test_initialize_flood_is_bounded(real_corpus: Path, http_server_factory: type[HttpServer]) -> None:
    server = http_server_factory(real_corpus).start()
    assert server.proc is not None

    def rss_mb() -> float:
        status = Path(f"/proc/{server.proc.pid}/status").read_text()  # type: ignore[union-attr]
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024

    Handshake(server.url)  # warm up
    before = rss_mb()
    codes: list[int] = []
    with httpx.Client(timeout=30) as http:
        for _ in range(HTTP_MAX_SESSIONS + 100):
            codes.append(http.post(server.url, headers=HEADERS, json=INIT).status_code)
    assert codes.count(503) >= 99 and set(codes) <= {200, 503}  # refused beyond the cap, never crashed
    assert rss_mb() - before < 300, (before, rss_mb())

    async def modern() -> None:  # a 2026-07-28 client needs no transport session: still served
        async with Client(server.url) as client:
            result = await client.call_tool("Calculate", {"expression": "6*7"})
            assert not result.is_error and result.content[0].text == "42"

    anyio.run(modern)
