"""A shared pool over HTTP needs a named API key with the right scope; open network binds are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from seer.pool.home import seer_home
from seer.seer_mcp.auth import AuthError, KeyStore
from tests.server.conftest import HttpServer, client_with, free_port, server_args, text
from tests.server.test_mcp_pool import record_args


def test_keys_and_scopes(real_corpus: Path, http_server_factory: type[HttpServer]) -> None:
    store = KeyStore.load(seer_home() / "api-keys.json")
    reader = store.create("reader", ["recall"])
    agent = store.create("agent", ["recall", "record"])
    admin = store.create("ops", ["admin"])
    stored_file = (seer_home() / "api-keys.json").read_text()
    assert reader not in stored_file and agent not in stored_file  # hashed at rest
    server = http_server_factory(real_corpus).start()

    anonymous = httpx.post(server.url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                           headers={"Accept": "application/json, text/event-stream"})
    assert anonymous.status_code == 401 and "Bearer" in anonymous.headers["www-authenticate"]
    wrong = httpx.post(server.url, json={}, headers={"Authorization": "Bearer seer_not-a-key"})
    assert wrong.status_code == 401
    base = server.url.rsplit("/mcp", 1)[0]
    metadata = httpx.get(f"{base}/.well-known/oauth-protected-resource/mcp")
    assert metadata.status_code == 200 and metadata.json()["resource"].endswith("/mcp")

    async def main() -> None:
        async with client_with(server.url, reader) as client:
            assert not (await client.call_tool("recall_experiences", {"task": "coffee"})).is_error
            denied = await client.call_tool("record_trajectory", record_args(1))
            assert denied.is_error and "'record' scope" in text(denied) and "reader" in text(denied)
        async with client_with(server.url, agent) as client:
            out = await client.call_tool("record_trajectory", record_args(1))
            assert not out.is_error
            stored_id = out.structured_content["id"]
            denied = await client.call_tool("forget_experience", {"experience_id": stored_id})
            assert denied.is_error and "'admin' scope" in text(denied)
        async with client_with(server.url, admin) as client:
            assert not (await client.call_tool("forget_experience", {"experience_id": stored_id})).is_error
            assert not (await client.call_tool("Calculate", {"expression": "1+1"})).is_error

    anyio.run(main)


def test_open_network_bind_without_keys_is_refused(real_corpus: Path) -> None:
    port = free_port()
    args = [sys.executable, *server_args(real_corpus), "--http", f"0.0.0.0:{port}"]
    refused = subprocess.run(args, capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert refused.returncode != 0 and "without authentication" in refused.stderr
    assert "--allow-unauthenticated-network-access" in refused.stderr
    opened = subprocess.Popen([*args, "--allow-unauthenticated-network-access"], stderr=subprocess.PIPE,
                              env=os.environ.copy())
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
                break
            except httpx.HTTPError:
                anyio.run(anyio.sleep, 0.2)
        assert opened.poll() is None
    finally:
        opened.terminate()
        _, err = opened.communicate(timeout=30)
    assert b"NO authentication" in err


def test_bad_key_file_is_named(real_corpus: Path) -> None:
    path = seer_home() / "api-keys.json"
    path.write_text(json.dumps([{"name": "x", "sha256": "short", "scopes": ["recall"]}]))
    run = subprocess.run([sys.executable, *server_args(real_corpus), "--http", f"127.0.0.1:{free_port()}"],
                         capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert run.returncode != 0 and "api-keys.json" in run.stderr and "not a valid key file" in run.stderr


def test_reserved_recorder_names_cannot_be_key_names() -> None:
    store = KeyStore.load(seer_home() / "api-keys.json")
    for name in ("local", "anonymous", "Legacy"):  # a key must not pass for stdio, open or migrated rows
        with pytest.raises(AuthError, match="reserved"):
            store.create(name, ["record"])
    assert store.keys == [] and store.create("local-agent", ["record"]).startswith("seer_")
    path = seer_home() / "api-keys.json"
    path.write_text(json.dumps([{"name": "local", "sha256": "0" * 64, "scopes": ["admin"]}]))
    with pytest.raises(AuthError, match="reserved"):
        KeyStore.load(path)


def test_harness_runs_against_an_authenticated_server(
    real_corpus: Path, official_questions: Path, http_server_factory: type[HttpServer], tmp_path: Path,
    monkeypatch: Any,
) -> None:
    from click.testing import CliRunner

    from seer.eval.cli import run as run_group
    from seer.eval.runlog import RunLog

    key = KeyStore.load(seer_home() / "api-keys.json").create("harness", ["recall", "record"])
    server = http_server_factory(real_corpus).start()
    args = ["toolqa", "--model", "scripted", "--server", server.url, "--methods", "seer",
            "--domains", "coffee", "--limit", "2", "--batches", "1", "--corpus", str(real_corpus),
            "--questions", str(official_questions), "--out", str(tmp_path / "run")]
    denied = CliRunner().invoke(run_group, args)
    assert denied.exit_code != 0  # no key: the server answers 401
    monkeypatch.setenv("SEER_API_KEY", key)
    result = CliRunner().invoke(run_group, [*args[:-1], str(tmp_path / "run2")])
    assert result.exit_code == 0, result.output + repr(result.exception)
    tasks = RunLog(tmp_path / "run2" / "runlog.jsonl").tasks()
    assert len(tasks) == 2 and all(t.steps and t.steps[0].recalled is not None for t in tasks)


def test_per_key_rate_limits_answer_clearly_and_spare_other_keys(real_corpus: Path) -> None:
    store = KeyStore.load(seer_home() / "api-keys.json")
    flooder, other = store.create("flooder", ["recall", "record"]), store.create("other", ["recall"])
    port = free_port()
    proc = subprocess.Popen([sys.executable, *server_args(real_corpus), "--http", f"127.0.0.1:{port}",
                             "--rate-limits", "recall=1:3,record=1:2"], stderr=subprocess.DEVNULL,
                            env=os.environ.copy())
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        for _ in range(300):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                anyio.run(anyio.sleep, 0.2)

        async def main() -> None:
            async with client_with(url, flooder) as client:
                outcomes = [await client.call_tool("record_trajectory", record_args(i)) for i in range(5)]
                limited = [o for o in outcomes if o.is_error]
                assert len(limited) >= 2 and all("rate limit" in text(o) and "flooder" in text(o)
                                                  for o in limited)
            async with client_with(url, other) as client:  # another key is not starved, the server is up
                assert not (await client.call_tool("recall_experiences", {"task": "coffee"})).is_error

        anyio.run(main)
    finally:
        proc.terminate()
        proc.wait(30)
