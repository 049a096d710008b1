"""Thread pools sized for the machine rather than fighting each other.

A recall embeds one short text and scores one matrix–vector product: intra-op parallelism has nothing to
split there (measured: torch at 2 threads never beat 1 on this 2-core machine, docs/results/
recall-bench-2026-12-02), while a server already runs concurrent requests on separate worker threads. So
torch and the BLAS/OpenMP pools default to ONE thread each; ``SEER_THREADS`` or the server's ``--threads``
raises them. llama.cpp takes its own ``n_threads`` where a model is loaded; usearch builds with all
allowed cores (``threads=0``) and searches with one.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_THREADS = 1
_BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_count(requested: int | None = None) -> int:
    """The intra-op thread count: ``requested``, else ``SEER_THREADS``, else 1."""
    if requested is not None:
        return max(1, requested)
    text = os.environ.get("SEER_THREADS", "")
    return max(1, int(text)) if text.isdigit() else DEFAULT_THREADS


def limit_threads(requested: int | None = None) -> dict[str, Any]:
    """Size torch's and the BLAS/OpenMP pools (libraries loaded later read the environment); returns what
    was set."""
    n = thread_count(requested)
    done: dict[str, Any] = {"threads": n}
    for name in _BLAS_VARIABLES:
        os.environ[name] = str(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
        done["threadpoolctl"] = True
    except ImportError:  # optional: the environment covers pools not yet loaded
        done["threadpoolctl"] = False
    torch_threads(n)
    return done


def torch_threads(n: int | None = None) -> None:
    """Set torch's intra-op threads if torch is importable (the embedder's model runs on it)."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(thread_count(n))
