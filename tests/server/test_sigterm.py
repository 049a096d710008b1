"""SIGTERM ends a stdio server normally, idle or mid-call, whether or not the client closes stdin: the pool
is closed on the way out (its index and copies saved) and nothing is printed as a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seer.pool.embedders import HashEmbedder
from seer.pool.experience_pool import ExperiencePool
from seer.pool.home import pools_dir
from tests.server.conftest import server_args
from tests.server.test_mcp_pool import record_args

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "test", "version": "0"}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
RECORD = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
          "params": {"name": "record_trajectory", "arguments": record_args(0)}}
SLOW_CALL = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
             "params": {"name": "PythonInterpreter", "arguments": {"code": "import time\ntime.sleep(20)"}}}


def _send(proc: subprocess.Popen[bytes], message: dict[str, object]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(message).encode() + b"\n")
    proc.stdin.flush()


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "mid-call"])
def test_sigterm_closes_a_stdio_server_normally(real_corpus: Path, busy: bool) -> None:
    proc = subprocess.Popen([sys.executable, *server_args(real_corpus, "sigterm")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "SEER_HOME": os.environ["SEER_HOME"]})
    try:
        assert proc.stdout is not None and proc.stderr is not None
        _send(proc, INITIALIZE)
        assert b'"result"' in proc.stdout.readline()  # the server is up and answering
        _send(proc, INITIALIZED)
        _send(proc, RECORD)
        assert b'"isError":false' in proc.stdout.readline().replace(b" ", b"")
        if busy:
            _send(proc, SLOW_CALL)
            time.sleep(1.0)  # the call is running
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        proc.wait(timeout=30)  # stdin stays open: the signal alone ends the server
        ended_in = time.monotonic() - started
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"Traceback" not in err, err.decode()[-2000:]
    assert ended_in < 15, f"SIGTERM took {ended_in:.1f} s"
    path = pools_dir() / "sigterm.duckdb"
    assert not path.with_name(path.name + ".wal").exists(), "the pool was not closed (log not checkpointed)"
    with ExperiencePool.open(path, HashEmbedder(), create=False) as pool:
        assert pool.count() == 1
