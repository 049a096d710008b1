"""Records per second with several clients at once: over MCP (streamable HTTP, one server process; the
clients run in this process, on the same cores) or in process (threads calling the pool). Each client
records distinct successful trajectories of held-out questions as fast as it is answered; the rate is all
records over the wall time. Concurrent records share transactions (group commit), and each is
acknowledged only after its transaction committed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from seer.eval.bench.mcp_latency import _arguments, served_pool
from seer.eval.bench.metrics import latency
from seer.eval.bench.workload import Probe, process_request, record_request


async def _writers(url: str, probes: Sequence[Probe], clients: int, per_client: int) -> dict[str, Any]:
    from mcp import Client

    times: list[float] = []
    stored = 0

    async def client_loop(c: int, ready: anyio.Event) -> None:
        nonlocal stored
        async with Client(url) as client:
            await client.call_tool("pool_stats", {})  # session open before the clock starts
            await ready.wait()
            for i in range(per_client):
                probe = probes[(c * per_client + i) % len(probes)]
                request = _distinct(probe, c, i)
                start = time.perf_counter()
                result = await client.call_tool("record_trajectory", _arguments(request))
                times.append((time.perf_counter() - start) * 1000)
                if result.is_error:
                    raise RuntimeError(f"record_trajectory over MCP failed: {result.content}")
                stored += int(bool((result.structured_content or {}).get("stored")))

    async with Client(url) as warm:  # opens the pool and loads the model (a recall embeds a text)
        await warm.call_tool("recall_experiences", _arguments(process_request(probes[-1])))
    ready = anyio.Event()
    async with anyio.create_task_group() as group:
        for c in range(clients):
            group.start_soon(client_loop, c, ready)
        await anyio.sleep(2.0)  # every client connected
        t0 = time.perf_counter()
        ready.set()
    wall = time.perf_counter() - t0
    total = clients * per_client
    return {"clients": clients, "records": total, "stored": stored, "wall_s": round(wall, 2),
            "records_per_s": round(total / wall, 1), "record": latency(times)}


def measure_mcp_writes(
    pool_path: Path,
    probes: Sequence[Probe],
    *,
    clients: int = 8,
    per_client: int = 25,
    embedder: str = "default",
    threads: int | None = 1,
    start_timeout_s: float = 900,
) -> dict[str, Any]:
    """``clients`` MCP clients over HTTP each record ``per_client`` distinct trajectories into
    ``pool_path`` at once: records per second (all records over the wall time) and per-call latency."""
    unlimited = ["--hold", "none", "--rate-limits", "recall=1000:1000,record=1000:1000"]
    with served_pool(pool_path, embedder, threads, start_timeout_s, unlimited) as (url, _):
        out = anyio.run(_writers, url, probes, clients, per_client)
    return {"embedder": embedder, "threads": threads, **out}


def _distinct(probe: Probe, client: int, i: int) -> Any:
    """A record of ``probe`` whose question text is this client's own (not a duplicate of another's)."""
    return record_request(probe).model_copy(
        update={"task": f"{probe.question} (client {client}, record {i})"})


def measure_pool_writes(
    pool_path: Path, probes: Sequence[Probe], *, clients: int = 8, per_client: int = 25,
    embedder: str = "default"
) -> dict[str, Any]:
    """The same records as `measure_mcp_writes`, from ``clients`` threads calling the pool in process (no
    HTTP, no JSON): what the pool's write path alone sustains."""
    from seer.pool import ExperiencePool, load_embedder
    from seer.pool.threads import limit_threads

    limit_threads(1)
    pool = ExperiencePool.open(pool_path, load_embedder(embedder))
    try:
        pool.recall(process_request(probes[-1]))  # loads the model
        times: list[float] = []
        stored = [0] * clients

        def client(c: int) -> None:
            for i in range(per_client):
                request = _distinct(probes[(c * per_client + i) % len(probes)], c, i)
                start = time.perf_counter()
                stored[c] += int(pool.record(request).stored)
                times.append((time.perf_counter() - start) * 1000)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    finally:
        pool.close()
    total = clients * per_client
    return {"embedder": embedder, "in_process": True, "clients": clients, "records": total,
            "stored": sum(stored), "wall_s": round(wall, 2), "records_per_s": round(total / wall, 1),
            "record": latency(times)}
