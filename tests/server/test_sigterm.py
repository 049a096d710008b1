"""SIGTERM ends a stdio server normally: the pool is closed on the way out (its index and copies saved)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.server.conftest import server_args

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "test", "version": "0"}}}


def test_sigterm_closes_a_stdio_server_normally(real_corpus: Path) -> None:
    proc = subprocess.Popen([sys.executable, *server_args(real_corpus, "sigterm")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "SEER_HOME": os.environ["SEER_HOME"]})
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(INITIALIZE).encode() + b"\n")
        proc.stdin.flush()
        assert b'"result"' in proc.stdout.readline()  # the server is up and answering
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"Traceback" not in err
