"""One real end-to-end task of each benchmark with the embedded model, and --concurrency against a real
``llama_cpp.server``. Slow: marked ``real_model``; they check plumbing, not scores (a 1.5B model mostly
fails these tasks)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import anyio
import pytest

from seer.eval.run_bench import BenchConfig, execute
from tests.eval.real_model import skip_unless_model

pytestmark = [pytest.mark.real_model, pytest.mark.slow]


def _heavy() -> None:
    """τ² (two model roles) and the served-model concurrency check take minutes each on 2 CPU cores: they
    run when asked for (SEER_HEAVY_BENCH_TESTS=1), not in the default suite, which must stay ~15 min."""
    import os

    if os.environ.get("SEER_HEAVY_BENCH_TESTS") != "1":
        pytest.skip("minutes on 2 CPU cores: set SEER_HEAVY_BENCH_TESTS=1 to run")


def _served_ok() -> None:
    import importlib.util

    if any(importlib.util.find_spec(m) is None for m in ("fastapi", "sse_starlette", "starlette_context")):
        pytest.skip("llama_cpp.server needs the server-test extra: pip install 'llama-cpp-python[server]'")


def test_bfcl_entry_end_to_end_with_the_embedded_model(user_models_dir: str, tmp_path: Path) -> None:
    pytest.importorskip("bfcl_eval", reason="pip install --no-deps bfcl-eval==2026.3.23 mpmath")
    skip_unless_model("default")
    config = BenchConfig(run="e2e", bench="bfcl", options={"ids": ["multi_turn_base_0"]}, methods=["seer"],
                         limit=None, batches=1, embedder="hash", max_steps=3)
    log = anyio.run(partial(execute, config, tmp_path))
    (task,) = log.tasks()
    assert task.verdict.kind == "bfcl" and task.verdict.detail
    assert any(s.tool not in (None, "Finish") for s in task.steps)  # the model called the file system
    assert all(s.recalled is not None for s in task.steps)  # stepwise recall before every step
    assert task.cpu_seconds > 0 and task.prompt_tokens > 0


def test_tau2_task_end_to_end_with_a_local_user_simulator(user_models_dir: str, tmp_path: Path) -> None:
    """The harness starts real llama_cpp.servers for the simulated customer and for the agent (one each,
    so neither evicts the other's prompt cache), then stops them."""
    _heavy()
    pytest.importorskip("tau2", reason="pip install 'seer-mcp[bench]'")
    skip_unless_model("default")
    _served_ok()
    options = {"ids": ["19"], "user_model": "local", "max_turns": 1}
    config = BenchConfig(run="e2e", bench="tau2", options=options, methods=["query"], limit=None, batches=1,
                         embedder="hash", max_steps=2)
    log = anyio.run(partial(execute, config, tmp_path))
    (task,) = log.tasks()
    assert task.verdict.kind == "env" and task.verdict.detail.startswith("reward")
    assert task.question and task.steps
    assert task.cpu_seconds > 0  # includes the served models' CPU time
    for server_log in ("llama-server.log", "llama-server-agent.log"):  # one server per role
        assert (tmp_path / server_log).stat().st_size


def test_concurrency_against_a_real_llama_server_equals_sequential(user_models_dir: str,
                                                                   tmp_path: Path) -> None:
    """Two BFCL entries at once against a real served model give the sequential run's results."""
    _heavy()
    pytest.importorskip("bfcl_eval", reason="pip install --no-deps bfcl-eval==2026.3.23 mpmath")
    skip_unless_model("small")
    _served_ok()
    from seer.eval.benchmarks.llama_server import serve
    from seer.eval.models import OpenAICompatModel

    ids = ["multi_turn_base_0", "multi_turn_base_1"]
    outcomes = []
    with serve("small", log=tmp_path / "server.log") as served:
        for concurrency in (1, 2):
            config = BenchConfig(run="c", bench="bfcl", options={"ids": ids}, methods=["react"], limit=None,
                                 batches=1, embedder="hash", max_steps=1, model=served.url,
                                 model_name=served.name, concurrency=concurrency)
            model = OpenAICompatModel(served.url, served.name, timeout=600)
            log = anyio.run(partial(execute, config, tmp_path / str(concurrency), model=model))
            tasks = sorted(log.tasks(), key=lambda t: t.qid)
            outcomes.append([(t.qid, t.em, [(s.tool, s.arguments) for s in t.steps]) for t in tasks])
    assert len(outcomes[0]) == 2 and outcomes[0] == outcomes[1]
