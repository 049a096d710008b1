"""Recall and record through MCP over streamable HTTP (the server a team of agents shares), as a client
sees them: the real default embedder, distinct real questions (every recall embeds a text the server
has never seen), then a few repeats (their embedding cached) to show what the embedding costs.

The server runs in its own process with the thread settings given (``OMP_NUM_THREADS`` and friends:
torch's intra-op threads follow them) and inherits this process's CPU affinity.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx

from seer.eval.bench.metrics import latency
from seer.eval.bench.workload import Probe, process_request, record_request

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


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
            time.sleep(0.5)
    raise TimeoutError(f"seer server did not listen on port {port} within {timeout_s:.0f} s")


@contextmanager
def served_pool(pool_path: Path, embedder: str, threads: int | None, start_timeout_s: float,
                extra_args: Sequence[str] = ()) -> Iterator[tuple[str, float, int]]:
    """A real ``seer-mcp --http`` on a free loopback port serving ``pool_path`` (no corpus): yields its MCP
    URL, the seconds it took to listen and its pid; terminated on exit. ``threads``: its BLAS/OpenMP
    threads (None: the environment's)."""
    port = _free_port()
    env = os.environ.copy()
    if threads is not None:
        env |= {name: str(threads) for name in THREAD_VARIABLES}
    with tempfile.TemporaryDirectory() as empty_corpus:
        args = [sys.executable, "-m", "seer.seer_mcp.cli", "--http", f"127.0.0.1:{port}", "--pool",
                str(pool_path), "--embedder", embedder, "--corpus", empty_corpus, *extra_args]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            t0 = time.perf_counter()
            _wait_listening(proc, port, timeout_s=start_timeout_s)
            yield f"http://127.0.0.1:{port}/mcp", time.perf_counter() - t0, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def _arguments(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="json", exclude_none=True))


async def _session(url: str, probes: Sequence[Probe], repeats: int, records: int) -> dict[str, Any]:
    from mcp import Client

    async def call(client: Any, tool: str, args: dict[str, Any]) -> tuple[float, Any]:
        start = time.perf_counter()
        result = await client.call_tool(tool, args)
        elapsed = (time.perf_counter() - start) * 1000
        if result.is_error:
            raise RuntimeError(f"{tool} over MCP failed: {result.content}")
        return elapsed, result

    recalls = [_arguments(process_request(p)) for p in probes]
    async with Client(url) as client:
        first, _ = await call(client, "recall_experiences", recalls[0])  # opens the pool, loads the model
        cold = [(await call(client, "recall_experiences", args))[0] for args in recalls[1:]]
        cached = [(await call(client, "recall_experiences", args))[0] for args in recalls[1: 1 + repeats]]
        record_times, stored = [], 0
        for probe in probes[1: 1 + records]:
            elapsed, result = await call(client, "record_trajectory", _arguments(record_request(probe)))
            record_times.append(elapsed)
            stored += int(bool((result.structured_content or {}).get("stored")))
    total_s = sum(record_times) / 1000
    return {"first_call_s": round(first / 1000, 1), "recall": latency(cold), "recall_cached": latency(cached),
            "queries": len(cold),
            "record": latency(record_times), "record_per_s": round(len(record_times) / total_s, 2)
            if total_s else None, "records": len(record_times), "stored": stored}


def measure_mcp_http(
    pool_path: Path,
    probes: Sequence[Probe],
    *,
    embedder: str = "default",
    threads: int | None = 1,
    repeats: int = 20,
    records: int = 30,
    start_timeout_s: float = 900,
) -> dict[str, Any]:
    """Recall (distinct questions, then ``repeats`` repeated) and ``records`` records by a real MCP client
    over HTTP on ``pool_path``: p50/p99 in ms, records per second. ``threads``: the server's BLAS/OpenMP
    threads (None: the environment's)."""
    with served_pool(pool_path, embedder, threads, start_timeout_s) as (url, started, _):
        out = anyio.run(_session, url, probes, repeats, records)
    return {"start_s": round(started, 1), "threads": threads, "embedder": embedder, **out}
