"""Benchmarks beyond ToolQA as plug-ins of the shared harness (``seer.eval.benchmarks.base``)."""

from __future__ import annotations

from typing import Any

from seer.eval.benchmarks.base import Benchmark


def load_benchmark(name: str, **options: Any) -> Benchmark:
    """A benchmark plug-in by name (``bfcl`` or ``tau2``), imported only when used."""
    if name == "bfcl":
        from seer.eval.benchmarks.bfcl import BfclBenchmark

        return BfclBenchmark(**options)
    if name == "tau2":
        from seer.eval.benchmarks.tau2 import Tau2Benchmark

        return Tau2Benchmark(**options)
    raise ValueError(f"unknown benchmark {name!r}; expected bfcl or tau2")
