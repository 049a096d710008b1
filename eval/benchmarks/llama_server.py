"""A real ``llama_cpp.server`` on 127.0.0.1, started and stopped by the harness.

τ²-bench's user simulator talks to an OpenAI-compatible URL through litellm; by default that is the
embedded model served here, and an embedded agent gets a second server (each role keeps its own prompt
cache; the 1.5B model costs ~1.2 GB of memory per copy). A server's CPU time is read from its process,
so per-task CPU seconds include the model's work.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class ServedModel:
    url: str  # base URL ending in /v1
    name: str  # the model name to send
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (0 when it is gone)."""
        import psutil

        try:
            times = psutil.Process(self.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(model: str = "default", *, threads: int | None = None, n_ctx: int = 8192,
          ready_timeout: float = 180.0, log: Path | None = None) -> Iterator[ServedModel]:
    """Serve a registered GGUF (``default``: Qwen2.5-Coder-1.5B) until the block ends."""
    from seer.eval.models.assemble import ensure_model

    path = ensure_model(model)
    port = _free_port()
    threads = threads or max(1, len(os.sched_getaffinity(0)))
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host", "127.0.0.1",
            "--port", str(port), "--n_threads", str(threads), "--n_threads_batch", str(threads),
            "--n_ctx", str(n_ctx), "--model_alias", model]
    out = log.open("ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with code {proc.returncode} (needs the "
                                   "server-test extra: pip install 'llama-cpp-python[server]')")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server not ready after {ready_timeout:.0f} s")
            time.sleep(0.5)
        yield ServedModel(url, model, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log and hasattr(out, "close"):
            out.close()
