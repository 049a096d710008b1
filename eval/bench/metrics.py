"""Small pure metrics of the performance benchmarks: latency percentiles and recall@k."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of ``values``, linear interpolation; NaN when empty."""
    if len(values) == 0:
        return float("nan")
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def latency(values_ms: Sequence[float]) -> dict[str, float]:
    """p50 and p99 (ms), rounded to what a table shows."""
    return {"p50": round(percentile(values_ms, 50), 3), "p99": round(percentile(values_ms, 99), 3)}


def recall_at_k(approx: Sequence[str], exact: Sequence[str], k: int) -> float:
    """|approx top-k ∩ exact top-k| / |exact top-k|: the share of the exact answer an approximate one kept.
    1.0 when the exact answer is empty (nothing to lose)."""
    truth = set(exact[:k])
    if not truth:
        return 1.0
    return len(truth & set(approx[:k])) / len(truth)


def mean_recall_at_k(approx: Sequence[Sequence[str]], exact: Sequence[Sequence[str]], k: int) -> float:
    """recall@k averaged over queries (same order in both lists)."""
    if len(approx) != len(exact):
        raise ValueError(f"{len(approx)} approximate answers for {len(exact)} exact ones")
    if not exact:
        return float("nan")
    return float(np.mean([recall_at_k(a, e, k) for a, e in zip(approx, exact, strict=True)]))
