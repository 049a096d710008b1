"""Thread pools: one intra-op thread by default, raised by SEER_THREADS or an explicit count."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from seer.pool.threads import thread_count


def test_thread_count_defaults_to_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEER_THREADS", raising=False)
    assert thread_count() == 1
    monkeypatch.setenv("SEER_THREADS", "3")
    assert thread_count() == 3
    assert thread_count(2) == 2
    monkeypatch.setenv("SEER_THREADS", "many")
    assert thread_count() == 1


def test_limit_threads_sizes_torch_and_blas() -> None:
    """In a fresh process (the limits are process-wide): torch and the BLAS variables follow the count."""
    script = ("from seer.pool.threads import limit_threads; import os, torch\n"
              "done = limit_threads(2)\n"
              "print(torch.get_num_threads(), os.environ['OMP_NUM_THREADS'],\n"
              "      os.environ['OPENBLAS_NUM_THREADS'])")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "SEER_THREADS")}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "2", "2"]
