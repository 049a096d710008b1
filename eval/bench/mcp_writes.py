"""Records per second with several clients at once: over MCP (streamable HTTP, one server process; the
clients run in this process, on the same cores) or in process (threads calling the pool). Each client
records distinct successful trajectories of held-out questions as fast as it is answered. Concurrent
records share transactions (group commit), and each is acknowledged only after its transaction committed.

Two rates: *acknowledged* (all records over the wall time until the last answer) and *recallable* (all
records over the wall time until the last of them can be recalled). They are the same unless the pool
defers embedding (``defer``): its records are acknowledged once committed with their texts and embedded
afterwards; the run then waits until none is pending, and reports the server's acknowledgement-to-
recallable lag. CPU seconds per record are split between the server (its process) and the clients (this
process) over the acknowledging part of the run.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from seer.eval.bench.mcp_latency import _arguments, served_pool
from seer.eval.bench.metrics import latency
from seer.eval.bench.workload import Probe, process_request, record_request

SETTLE_TIMEOUT_S = 1800.0  # the longest a run waits for pending records to be embedded


def _cpu_s(pid: int | None = None) -> float:
    """CPU seconds (user + system) of a process so far: ``pid``, else this one."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rates(total: int, stored: int, ack_s: float, recallable_s: float, times: list[float]) -> dict[str, Any]:
    return {"records": total, "stored": stored, "wall_s": round(ack_s, 2),
            "records_per_s": round(total / ack_s, 1), "recallable_wall_s": round(recallable_s, 2),
            "recallable_per_s": round(total / recallable_s, 1), "record": latency(times)}


async def _writers(url: str, probes: Sequence[Probe], clients: int, per_client: int,
                   server_pid: int) -> dict[str, Any]:
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
        server_cpu, client_cpu = _cpu_s(server_pid), _cpu_s()
        t0 = time.perf_counter()
        ready.set()
    ack_s = time.perf_counter() - t0
    server_start, server_cpu, client_cpu = server_cpu, _cpu_s(server_pid) - server_cpu, _cpu_s() - client_cpu
    async with Client(url) as watcher:  # until nothing is pending (at once without deferral)
        while True:
            stats = await _stats(watcher)
            if not stats.get("pending") or time.perf_counter() - t0 > SETTLE_TIMEOUT_S:
                break
            await anyio.sleep(0.05)
    total_server_cpu = _cpu_s(server_pid) - server_start
    total = clients * per_client
    return {"clients": clients, **_rates(total, stored, ack_s, time.perf_counter() - t0, times),
            "pending_at_end": stats.get("pending", 0), "lag_ms": stats.get("pending_lag_ms", {}),
            "merged_after_ack": stats.get("merged_after_ack", 0),
            "server_cpu_ms_per_record": round(server_cpu / total * 1000, 1),
            "server_cpu_ms_per_record_to_recallable": round(total_server_cpu / total * 1000, 1),
            "client_cpu_ms_per_record": round(client_cpu / total * 1000, 1)}


async def _stats(client: Any) -> dict[str, Any]:
    import json

    return dict(json.loads((await client.read_resource("seer://pool/stats")).contents[0].text))


def measure_mcp_writes(
    pool_path: Path,
    probes: Sequence[Probe],
    *,
    clients: int = 8,
    per_client: int = 25,
    embedder: str = "default",
    threads: int | None = 1,
    defer: bool = False,
    start_timeout_s: float = 900,
) -> dict[str, Any]:
    """``clients`` MCP clients over HTTP each record ``per_client`` distinct trajectories into
    ``pool_path`` at once: records per second acknowledged and made recallable, per-call latency, CPU per
    record. ``defer``: the server acknowledges records before embedding them (``--defer-embedding``)."""
    args = ["--hold", "none", "--rate-limits", "recall=1000:1000,record=1000:1000"]
    args += ["--defer-embedding"] if defer else []
    with served_pool(pool_path, embedder, threads, start_timeout_s, args) as (url, _, pid):
        out = anyio.run(_writers, url, probes, clients, per_client, pid)
    return {"embedder": embedder, "threads": threads, "defer_embedding": defer, **out}


def _distinct(probe: Probe, client: int, i: int) -> Any:
    """A record of ``probe`` whose question text is this client's own (not a duplicate of another's)."""
    return record_request(probe).model_copy(
        update={"task": f"{probe.question} (client {client}, record {i})"})


def measure_pool_writes(
    pool_path: Path, probes: Sequence[Probe], *, clients: int = 8, per_client: int = 25,
    embedder: str = "default", defer: bool = False
) -> dict[str, Any]:
    """The same records as `measure_mcp_writes`, from ``clients`` threads calling the pool in process (no
    HTTP, no JSON): what the pool's write path alone sustains."""
    from seer.pool import ExperiencePool, load_embedder
    from seer.pool.threads import limit_threads

    limit_threads(1)
    pool = ExperiencePool.open(pool_path, load_embedder(embedder), defer_embedding=defer)
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
        cpu0, t0 = _cpu_s(), time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ack_s, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
        pool.settle(SETTLE_TIMEOUT_S)
        recallable_s, all_cpu = time.perf_counter() - t0, _cpu_s() - cpu0
        pending, lag, merged = pool.pending(), pool.pending_lag_ms(), pool.merged_after_ack()
    finally:
        pool.close()
    total = clients * per_client
    return {"embedder": embedder, "in_process": True, "defer_embedding": defer, "clients": clients,
            **_rates(total, sum(stored), ack_s, recallable_s, times), "pending_at_end": pending,
            "lag_ms": lag, "merged_after_ack": merged, "cpu_ms_per_record": round(cpu / total * 1000, 1),
            "cpu_ms_per_record_to_recallable": round(all_cpu / total * 1000, 1)}
