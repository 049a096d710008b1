"""The experience pool through a real MCP client: recall/record/forget, sharing, crashes, bad input."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from seer.pool.home import pools_dir
from tests.server.conftest import HttpServer, stdio_params
from tests.server.test_mcp_tools import call_ok, text


def coffee_steps(date: str, column: str = "Open") -> list[dict[str, Any]]:
    return [
        {
            "thought": "Load the coffee table.",
            "tool": "LoadDB",
            "arguments": {"target_db": "coffee"},
            "observation": "We have successfully loaded the coffee database",
            "ok": True,
        },
        {
            "thought": "Keep the day.",
            "tool": "FilterDB",
            "arguments": {"condition": f"Date={date}"},
            "observation": "We have successfully filtered the data (1 rows).",
            "ok": True,
        },
        {
            "thought": "Read the value.",
            "tool": "GetValue",
            "arguments": {"column": column},
            "observation": "42.75",
            "ok": True,
        },
        {
            "thought": "Done.",
            "tool": "Finish",
            "arguments": {"answer": "42.75"},
            "observation": "42.75",
            "ok": True,
        },
    ]


def record_args(i: int, agent: int = 0) -> dict[str, Any]:
    date = f"20{10 + agent:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}"
    return {
        "task": f"Agent {agent} task {i}: what was the opening price of coffee on {date}?",
        "steps": coffee_steps(date),
        "final_answer": "42.75",
        "success": True,
        "judge": "exact_match",
        "intent": "coffee",
        "source_task_id": f"a{agent}-t{i}",
    }


async def structured(client: Client, name: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, args)
    assert not result.is_error, f"{name} failed: {text(result)}"
    if result.structured_content is not None:
        return dict(result.structured_content)
    return dict(json.loads(text(result)))


def test_record_recall_forget_over_stdio(real_corpus: Path) -> None:
    async def main() -> None:
        async with Client(stdio_params(real_corpus)) as client:
            out = await structured(client, "record_trajectory", record_args(1))
            assert out["stored"] and out["id"]
            failed = await structured(client, "record_trajectory", record_args(2) | {"success": False})
            assert not failed["stored"]
            recalled = await structured(
                client,
                "recall_experiences",
                {"task": "What was the opening price of coffee on 2011-02-03?", "intent": "coffee"},
            )
            ids = [e["id"] for e in recalled["experiences"]]
            assert ids == [out["id"]]
            top = recalled["experiences"][0]
            assert {"s1", "s2", "s3", "score", "demo_text"} <= set(top)
            assert top["s3"] == 1.0 and top["s2"] == 0.0  # no steps yet: no tool coverage
            step2 = await structured(
                client,
                "recall_experiences",
                {
                    "task": "What was the opening price of coffee on 2011-02-03?",
                    "intent": "coffee",
                    "steps_so_far": [{"tool": "LoadDB", "arguments": {"target_db": "coffee"}, "ok": True}],
                },
            )
            assert step2["experiences"][0]["s2"] == 1.0
            inferred = await structured(client, "recall_experiences", {"task": "coffee price on 2011-02-03"})
            assert inferred["intent_source"] == "inferred"
            stats = json.loads((await client.read_resource("seer://pool/stats")).contents[0].text)
            assert stats["count"] == 1
            assert not (await client.call_tool("forget_experience", {"experience_id": out["id"]})).is_error
            gone = await client.call_tool("forget_experience", {"experience_id": out["id"]})
            assert gone.is_error and out["id"] in text(gone)
            bad = await client.call_tool("recall_experiences", {"task": "x", "k": -1})
            assert bad.is_error
            bad = await client.call_tool("record_trajectory", {"task": "x", "steps": "nope"})
            assert bad.is_error and "steps" in text(bad)
            await call_ok(client, "LoadDB", {"target_db": "coffee"})  # still serving

    anyio.run(main)


def test_eight_concurrent_http_clients_share_one_pool(
    real_corpus: Path, http_server_factory: type[HttpServer]
) -> None:
    server = http_server_factory(real_corpus, pool="shared").start()
    stored: dict[int, list[str]] = {}

    async def agent(n: int) -> None:
        async with Client(server.url) as client:
            ids = []
            for i in range(100):
                out = await structured(client, "record_trajectory", record_args(i, agent=n))
                if out["stored"]:
                    ids.append(out["id"])
                else:
                    assert out.get("merged_into"), out  # only dedup may refuse a success
            stored[n] = ids

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for n in range(8):
                tg.start_soon(agent, n)
        async with Client(server.url) as client:
            stats = json.loads((await client.read_resource("seer://pool/stats")).contents[0].text)
            all_ids = [i for ids in stored.values() for i in ids]
            assert len(set(all_ids)) == len(all_ids)
            assert stats["count"] == len(all_ids) > 0
            query = {
                "task": "Agent 3 task 7: what was the opening price of coffee on 2013-08-08?",
                "intent": "coffee",
                "k": 4,
            }
            first = await structured(client, "recall_experiences", query)
            again = await structured(client, "recall_experiences", query)
            assert [e["id"] for e in first["experiences"]] == [e["id"] for e in again["experiences"]]
            assert len(first["experiences"]) == 4

    anyio.run(main)


@pytest.mark.parametrize("extra", [[], ["--defer-embedding"]], ids=["embedded", "deferred"])
def test_sigkill_mid_recording_loses_no_acknowledged_experience(
    real_corpus: Path, http_server_factory: type[HttpServer], extra: list[str]
) -> None:
    server = http_server_factory(real_corpus, pool="crash", extra_args=extra).start()
    acknowledged: list[str] = []

    async def writer(client: Client) -> None:
        for i in range(10_000):
            try:
                out = await structured(client, "record_trajectory", record_args(i, agent=i % 50))
            except Exception:
                return  # the server died under us
            if out["stored"]:
                acknowledged.append(out["id"])

    async def main() -> None:
        async with Client(server.url) as client, anyio.create_task_group() as tg:
            tg.start_soon(writer, client)
            while len(acknowledged) < 60:
                await anyio.sleep(0.05)
            assert server.proc is not None
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait(10)
            await anyio.sleep(0.5)
            tg.cancel_scope.cancel()

    try:
        anyio.run(main)
    except BaseException as exc:  # noqa: BLE001 - the client may surface the dead connection
        if not acknowledged:
            raise exc
    assert len(acknowledged) >= 60
    restarted = HttpServer(real_corpus, pool="crash").start()
    try:

        async def check() -> None:
            async with Client(restarted.url) as client:
                stats = json.loads((await client.read_resource("seer://pool/stats")).contents[0].text)
                assert stats["count"] >= len(acknowledged)

        anyio.run(check)
    finally:
        restarted.stop()
    from seer.pool import ExperiencePool, load_embedder

    pool = ExperiencePool.open("crash", embedder=load_embedder("hash"))
    try:
        missing = [i for i in acknowledged if pool.get(i) is None]
        assert not missing, f"{len(missing)} acknowledged experiences lost"
    finally:
        pool.close()


def test_a_deferring_server_says_pending_and_recalls_the_record_once_embedded(
    real_corpus: Path, http_server_factory: type[HttpServer]
) -> None:
    server = http_server_factory(real_corpus, pool="deferred", extra_args=["--defer-embedding"]).start()

    async def main() -> None:
        async with Client(server.url) as client:
            out = await structured(client, "record_trajectory", record_args(1))
            assert out["stored"] and out["pending"] and "pending" in out["reason"]
            again = await structured(client, "record_trajectory", record_args(1))
            assert not again["stored"] and again["merged_into"] == out["id"]
            for _ in range(200):
                stats = json.loads((await client.read_resource("seer://pool/stats")).contents[0].text)
                if stats["pending"] == 0:
                    break
                await anyio.sleep(0.05)
            assert stats["pending"] == 0 and stats["count"] == 1
            recalled = await structured(client, "recall_experiences",
                                        {"task": record_args(1)["task"], "intent": "coffee"})
            assert [e["id"] for e in recalled["experiences"]] == [out["id"]]

    anyio.run(main)


@pytest.mark.parametrize("content", [b"this is not a database" * 100, "foreign"])
def test_corrupt_or_foreign_pool_file_is_refused_untouched(real_corpus: Path, content: bytes | str) -> None:
    path = pools_dir() / "broken.duckdb"
    if content == "foreign":
        import duckdb

        con = duckdb.connect(str(path))
        con.execute(
            "CREATE TABLE customers (id INTEGER, name VARCHAR); INSERT INTO customers VALUES (1, 'x')"
        )
        con.close()
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    before = path.read_bytes()

    async def main() -> None:
        async with Client(stdio_params(real_corpus, pool="broken")) as client:
            result = await client.call_tool("recall_experiences", {"task": "anything", "intent": "coffee"})
            assert result.is_error
            assert "broken" in text(result)
            await call_ok(client, "LoadDB", {"target_db": "coffee"})  # tools keep working

    anyio.run(main)
    assert path.read_bytes() == before


def test_pool_tools_take_the_pool_models_fields(real_corpus: Path) -> None:
    """One typed path: the MCP schemas are RecallRequest/RecordRequest (names, bounds, descriptions)."""
    from seer.pool import RecallRequest, RecordRequest

    async def main() -> None:
        async with Client(stdio_params(real_corpus)) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            for name, model in (("recall_experiences", RecallRequest), ("record_trajectory", RecordRequest)):
                props = tools[name].input_schema["properties"]
                assert set(props) == set(model.model_fields) - {"intent_source"}, name
                for field, info in model.model_fields.items():
                    if field in props:
                        assert props[field].get("description") == info.description, field
                assert tools[name].annotations.read_only_hint is False  # recall counts usage
            recall = tools["recall_experiences"].input_schema
            assert recall["properties"]["k"]["maximum"] == 32 and recall["required"] == ["task"]
            bad = await client.call_tool("recall_experiences", {"task": "x", "terms": ["s4"]})
            assert bad.is_error and "terms" in text(bad)
            out = await structured(client, "recall_experiences", {"task": "coffee", "terms": ["s3"], "k": 2})
            assert out["intent_source"] == "inferred" and out["intent"] == "coffee"

    anyio.run(main)


def test_oversized_records_are_refused_naming_the_field_and_limit(real_corpus: Path) -> None:
    async def main() -> None:
        async with Client(stdio_params(real_corpus)) as client:
            size = {"task": "coffee", "k": 32}
            before = (await structured(client, "recall_experiences", size))["pool_size"]
            huge = record_args(1)
            huge["steps"][1]["observation"] = "x" * 1_000_000
            many = record_args(2) | {"steps": coffee_steps("2001-12-06") * 1_250}  # 5,000 steps
            long_task = record_args(3) | {"task": "what " * 2_000}
            for args, words in ((huge, ("observation", "8,000")), (many, ("steps", "50")),
                                (long_task, ("task", "4000"))):
                result = await client.call_tool("record_trajectory", args)
                assert result.is_error, args["task"][:40]
                message = text(result)
                assert all(w in message for w in words), message[:300]
            recall = await client.call_tool("recall_experiences",
                                            {"task": "x", "steps_so_far": many["steps"]})
            assert recall.is_error and "50" in text(recall)
            assert (await structured(client, "recall_experiences", size))["pool_size"] == before

    anyio.run(main)


def _real_pool_bytes(real_corpus: Path, name: str) -> bytes:
    """A real seer pool file (one recorded experience), closed cleanly."""
    async def main() -> None:
        async with Client(stdio_params(real_corpus, pool=name)) as client:
            assert (await structured(client, "record_trajectory", record_args(1)))["stored"]

    anyio.run(main)
    return (pools_dir() / f"{name}.duckdb").read_bytes()


@pytest.mark.parametrize("damage", ["header", "truncated"])
def test_damaged_pool_is_named_and_left_exactly_as_it_was(real_corpus: Path, damage: str) -> None:
    good = _real_pool_bytes(real_corpus, "good")
    bad = bytearray(good)
    if damage == "header":
        bad[12_288:12_288 + 4096] = bytes((i * 7) % 256 for i in range(4096))  # a checksummed block
    else:
        bad = bad[: len(good) // 2]
    path, wal = pools_dir() / "damaged.duckdb", pools_dir() / "damaged.duckdb.wal"
    path.write_bytes(bytes(bad))
    wal.write_bytes(b"\x00garbage wal" * 100)

    async def main() -> None:
        async with Client(stdio_params(real_corpus, pool="damaged")) as client:
            result = await client.call_tool("recall_experiences", {"task": "anything", "intent": "coffee"})
            assert result.is_error and "damaged" in text(result)
            message = text(result)
            assert ("damaged (" in message or "truncated" in message) and "another process" not in message
            assert str(pools_dir()) not in message or "damaged.duckdb" in message

    anyio.run(main)
    assert path.read_bytes() == bytes(bad) and wal.read_bytes() == b"\x00garbage wal" * 100
    from click.testing import CliRunner

    from seer.seer_mcp.pool_cli import pool as pool_group

    out = CliRunner().invoke(pool_group, ["stats", "damaged"])
    assert out.exit_code != 0 and "Traceback" not in out.output and "damaged" in out.output, out.output
    assert path.read_bytes() == bytes(bad)


def test_leftover_wal_is_copied_aside_before_recovery(real_corpus: Path) -> None:
    good = _real_pool_bytes(real_corpus, "walled")
    wal = pools_dir() / "walled.duckdb.wal"
    garbage = b"\x00not a wal" * 500
    wal.write_bytes(garbage)

    async def main() -> None:
        async with Client(stdio_params(real_corpus, pool="walled")) as client:
            assert (await structured(client, "record_trajectory", record_args(2)))["stored"]

    anyio.run(main)
    backups = list(pools_dir().glob("walled.duckdb.wal.*.bak"))
    assert len(backups) == 1 and backups[0].read_bytes() == garbage  # nothing overwritten silently
    assert len(good) > 0
