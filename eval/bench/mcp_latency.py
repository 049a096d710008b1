"""Latency of one recall through MCP over streamable HTTP (the server a team of agents shares)."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx

RECALL_ARGS = {
    "task": "What was the opening price of coffee on 2011-02-03?",
    "intent": "coffee",
    "k": 4,
    "strategy": "hybrid",
    "steps_so_far": [{"tool": "LoadDB", "arguments": {"target_db": "coffee"}, "ok": True}],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(proc: subprocess.Popen[bytes], port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"seer server exited with {proc.returncode} before listening")
        try:
            httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(f"seer server did not listen on port {port} within {timeout_s:.0f} s")


async def _time_recalls(url: str, repeats: int) -> list[float]:
    from mcp import Client

    timings = []
    async with Client(url) as client:
        for i in range(repeats + 5):
            start = time.perf_counter()
            result = await client.call_tool("recall_experiences", RECALL_ARGS)
            elapsed = (time.perf_counter() - start) * 1000
            if result.is_error:
                raise RuntimeError(f"recall over MCP failed: {result.content}")
            if i >= 5:  # warm-up: pool open, ANN load, first embeddings
                timings.append(elapsed)
    return timings


def measure_mcp_http(pool_path: Path, n: int, repeats: int = 50, embedder: str = "hash") -> float:
    """p50 (ms) of ``recall_experiences`` called by a real MCP client over HTTP on ``pool_path``."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as empty_corpus:
        args = [
            sys.executable,
            "-m",
            "seer.seer_mcp.cli",
            "--http",
            f"127.0.0.1:{port}",
            "--pool",
            str(pool_path),
            "--embedder",
            embedder,
            "--corpus",
            empty_corpus,
        ]
        proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy()
        )
        try:
            _wait_listening(proc, port, timeout_s=120)
            timings = anyio.run(_time_recalls, f"http://127.0.0.1:{port}/mcp", repeats)
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
    return statistics.median(timings)
