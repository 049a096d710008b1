"""Start the real seer server (stdio subprocess or HTTP on a free 127.0.0.1 port) for MCP client tests,
and connect to it over HTTP with a bearer token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_args(corpus: Path, pool: str = "test") -> list[str]:
    return ["-m", "seer.seer_mcp.cli", "--corpus", str(corpus), "--pool", pool, "--embedder", "hash"]


def stdio_params(corpus: Path, pool: str = "test") -> StdioServerParameters:
    """Launch parameters for ``python -m seer.seer_mcp.cli`` with this test's SEER_HOME."""
    return StdioServerParameters(
        command=sys.executable, args=server_args(corpus, pool), env={"SEER_HOME": os.environ["SEER_HOME"]}
    )


class HttpServer:
    """`seer-mcp --http` in a subprocess; stopped (and restartable) by the test."""

    def __init__(self, corpus: Path, pool: str = "test", extra_args: Sequence[str] = (),
                 env: Mapping[str, str] | None = None):
        self.corpus, self.pool, self.extra_args, self.env = corpus, pool, list(extra_args), env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> HttpServer:
        self.proc = subprocess.Popen(
            [sys.executable, *server_args(self.corpus, self.pool), "--http", f"127.0.0.1:{self.port}",
             *self.extra_args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=dict(self.env) if self.env is not None else os.environ.copy(),
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"server exited with {self.proc.returncode}: {err[-2000:]}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/mcp", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError(f"server did not listen on {self.port} within {timeout_s}s")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@asynccontextmanager
async def client_with(url: str, key: str | None) -> AsyncIterator[Client]:
    """An MCP client over streamable HTTP that sends ``Authorization: Bearer <key>`` (none without a key)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http, \
            Client(streamable_http_client(url, http_client=http)) as client:
        yield client


def text(result: Any) -> str:
    """The text blocks of a tool result (where tool errors say what went wrong)."""
    return "\n".join(b.text for b in result.content if getattr(b, "type", "") == "text")


@pytest.fixture
def http_server_factory() -> Iterator[type[HttpServer]]:
    started: list[HttpServer] = []

    class _Tracked(HttpServer):
        def start(self, timeout_s: float = 60.0) -> HttpServer:
            started.append(self)
            return super().start(timeout_s)

    yield _Tracked
    for server in started:
        server.stop()
