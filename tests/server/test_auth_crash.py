"""A shared pool under authentication survives a SIGKILL: 8 keyed clients record at once, the server is
killed mid-run, and every record it acknowledged is still there after a restart, under its own key's name."""

from __future__ import annotations

import signal
from pathlib import Path

import anyio

from seer.pool import ExperiencePool, load_embedder
from seer.pool.home import seer_home
from seer.seer_mcp.auth import KeyStore
from tests.server.conftest import HttpServer, client_with
from tests.server.test_mcp_pool import record_args, structured

CLIENTS, RECORDS, KILL_AFTER = 8, 100, 150
LIMITS = ["--rate-limits", "recall=1000:1000,record=1000:1000"]  # the test is about durability, not limits


def test_eight_keyed_clients_sigkill_lose_no_acknowledged_record(
    real_corpus: Path, http_server_factory: type[HttpServer]
) -> None:
    store = KeyStore.load(seer_home() / "api-keys.json")
    keys = [store.create(f"agent-{n}", ["recall", "record"]) for n in range(CLIENTS)]
    server = http_server_factory(real_corpus, pool="keyed-crash", extra_args=LIMITS).start()
    acknowledged: dict[str, int] = {}  # experience id -> agent
    finished: list[int] = []

    async def agent(n: int) -> None:
        try:
            async with client_with(server.url, keys[n]) as client:
                for i in range(RECORDS):
                    out = await structured(client, "record_trajectory", record_args(i, agent=n))
                    if out.get("id"):
                        acknowledged[str(out["id"])] = n
            finished.append(n)
        except BaseException:  # noqa: BLE001 - the server died under this client
            return

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for n in range(CLIENTS):
                tg.start_soon(agent, n)
            with anyio.fail_after(600):
                while len(acknowledged) < KILL_AFTER:
                    await anyio.sleep(0.02)
            assert server.proc is not None
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait(10)
            await anyio.sleep(0.5)
            tg.cancel_scope.cancel()

    anyio.run(main)
    assert len(acknowledged) >= KILL_AFTER and len(finished) < CLIENTS  # killed mid-run
    assert len(set(acknowledged.values())) == CLIENTS  # every key was writing when the server died
    restarted = http_server_factory(real_corpus, pool="keyed-crash", extra_args=LIMITS).start()

    async def recall_still_works() -> None:
        async with client_with(restarted.url, keys[0]) as client:
            out = await structured(client, "recall_experiences", {"task": record_args(3)["task"], "k": 2})
            assert out["experiences"]

    anyio.run(recall_still_works)
    restarted.stop()
    pool = ExperiencePool.open("keyed-crash", embedder=load_embedder("hash"))
    try:
        kept = {i: pool.get(i) for i in acknowledged}
        missing = [i for i, exp in kept.items() if exp is None]
        assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged records lost"
        wrong = [i for i, exp in kept.items() if exp and exp.recorder != f"agent-{acknowledged[i]}"]
        assert not wrong, f"{len(wrong)} records attributed to another key"
        assert pool.count() >= len(acknowledged)
    finally:
        pool.close()
