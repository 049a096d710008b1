"""BFCL multi-turn and τ²-bench through MCP on the ToolQA harness: ``seer-mcp run bfcl|tau2 ...``.

Same methods, protocols, batches, run logs, resume and reports as ``run toolqa``; the benchmark's
tools come from its own MCP server (``seer.eval.benchmarks.server``), recall and record from the
seer server, the verdict from the benchmark's own checker.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import anyio
import click
from pydantic import BaseModel

from seer.eval.agent import AgentConfig
from seer.eval.benchmarks import load_benchmark
from seer.eval.benchmarks.base import Benchmark, BenchmarkMissingError, RoutedClient, routed
from seer.eval.judges import exact_match
from seer.eval.methods import METHODS, Method, check_resume, definitions, get_method
from seer.eval.run_toolqa import http_connector, load_model, server_env, stdio_connector, summarise
from seer.eval.runlog import RunHeader, RunLog, TaskLog
from seer.eval.runner import Runner, RunSettings, make_stream, pool_file, run_methods


class BenchConfig(BaseModel):
    """Everything that defines a benchmark run; stored in the log header and reused by ``--resume``."""

    run: str
    bench: Literal["bfcl", "tau2"]
    options: dict[str, Any] = {}  # the plug-in's own (category, domain, user model, ...)
    methods: list[str] = ["react", "query", "seer"]
    limit: int | None = 50
    batches: int = 5
    immediate: bool = False
    k: int = 2
    protocol: str = "online"
    train_frac: float = 0.5
    model: str = "default"
    model_name: str = "default"
    on_error: Literal["halt", "feedback"] = "feedback"
    max_steps: int = 6
    server: str | None = None
    embedder: str = "default"
    seed: int = 0
    concurrency: int = 1
    until_batch: int | None = None  # a run control, not a setting: stop after this batch (resume goes on)


def make_benchmark(config: BenchConfig) -> Benchmark:
    return load_benchmark(config.bench, limit=config.limit, seed=config.seed, **config.options)


def connector(bench: Benchmark, config: BenchConfig, out: Path) -> Any:
    """Each method: the benchmark's server plus its own seer server (own pool file; none for react)."""
    if config.server:
        pool_connect = http_connector(config.server)
    else:
        empty = out / "no-corpus"  # the seer server serves only the pool here: its ToolQA tools stay hidden
        empty.mkdir(parents=True, exist_ok=True)
        pool_connect = stdio_connector(empty, out, config.embedder, None)

    @asynccontextmanager
    async def connect(method: Method) -> AsyncIterator[RoutedClient]:
        pool = pool_connect(method) if method.recall is not None or method.learn else None
        async with routed(bench, pool, env=server_env()) as client:
            yield client

    return connect


async def execute(config: BenchConfig, out: Path, *, model: Any = None, bench: Benchmark | None = None,
                  on_task: Any = None) -> RunLog:
    """Run (or resume) a configured benchmark run into ``out``; returns its log."""
    log = RunLog(out / "runlog.jsonl")
    if not log.exists():
        log.append(RunHeader(run=config.run, config=config.model_dump(exclude={"until_batch"}),
                             seer_version=version("seer-mcp"),
                             definitions=definitions(config.methods, config.k)))
    bench = bench or make_benchmark(config)
    if config.options.get("user_model", "") == "local" and model is None:
        return await _with_local_server(config, out, bench, on_task)
    await _run(config, out, bench, model or _load(config), on_task, log)
    return log


BENCH_N_CTX = 8192  # multi-turn demonstrations are long: ~1.3k tokens each for a 4-turn BFCL entry


def _load(config: BenchConfig) -> Any:
    """The agent's model; the embedded one with a context window for multi-turn demonstrations."""
    if config.model in ("default", "small"):
        from seer.eval.models import LlamaCppModel

        return LlamaCppModel.from_registry(config.model, n_ctx=BENCH_N_CTX)
    return load_model(config.model, config.model_name)


async def _with_local_server(config: BenchConfig, out: Path, bench: Benchmark, on_task: Any) -> RunLog:
    """τ² with the embedded model as the user simulator, served by a real ``llama_cpp.server`` on
    127.0.0.1 for the run. When the agent is the embedded model too, it gets a server of its own: the two
    roles alternate, and with one server each turn would evict the other's prompt from llama.cpp's cache
    and recompute it (the agent's ~2.2k-token policy prefix every turn)."""
    from seer.eval.benchmarks.llama_server import serve
    from seer.eval.models import OpenAICompatModel

    embedded = config.model in ("default", "small")
    spec = config.model if embedded else "default"
    with ExitStack() as servers:
        user = servers.enter_context(serve(spec, log=out / "llama-server.log"))
        bench.use_user_model(f"openai/{user.name}", user.url)  # type: ignore[attr-defined]
        if not embedded:
            return await _run(config, out, bench, _load(config), on_task, RunLog(out / "runlog.jsonl"))
        agent = servers.enter_context(serve(spec, log=out / "llama-server-agent.log"))
        model = OpenAICompatModel(agent.url, agent.name, timeout=600)
        return await _run(config, out, bench, model, on_task, RunLog(out / "runlog.jsonl"),
                          helper_cpu=lambda: user.cpu_seconds() + agent.cpu_seconds())


async def _run(config: BenchConfig, out: Path, bench: Benchmark, model: Any, on_task: Any, log: RunLog,
               helper_cpu: Any = None) -> RunLog:
    stream = make_stream(bench.tasks(), protocol=config.protocol, batches=config.batches, seed=config.seed,
                         train_frac=config.train_frac)
    if config.until_batch is not None:  # e.g. methods in separate run folders, advanced batch by batch
        stream = [s for s in stream if s.phase != "test" and s.batch <= config.until_batch]
    methods = [get_method(m, config.k) for m in config.methods]
    agent = AgentConfig(max_steps=config.max_steps, mode="json", on_error=config.on_error, intent="gold",
                        kit="bench", preamble=bench.preamble())
    lost = frozenset(m.name for m in methods if not config.server and not pool_file(out, m.name).exists())
    settings = RunSettings(immediate=config.immediate, agent=agent, source=getattr(model, "name", ""),
                           rebuild_pools=lost, concurrency=config.concurrency, helper_cpu=helper_cpu,
                           measure_cpu=config.concurrency == 1)  # tasks at once would mix their CPU time
    runner = Runner(model, exact_match(), log, settings, on_task, bench=bench)
    await run_methods(runner, methods, stream, connector(bench, config, out))
    return log


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _options(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--option")
        out[key.strip()] = value.strip()
    return out


def run_bench(name: Literal["bfcl", "tau2"], out: Path | None, resume: bool, values: dict[str, Any],
              until_batch: int | None = None) -> None:
    """Create or resume a run of benchmark ``name`` and print its summary."""
    out = out or Path("runs") / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"
    log = RunLog(out / "runlog.jsonl")
    if resume:
        header = log.header()
        if header is None:
            raise click.UsageError(f"nothing to resume in {out}")
        config = BenchConfig.model_validate(header.config | {"until_batch": None})
        try:
            check_resume(header, config.methods, config.k, log.path)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        click.echo(f"resuming {config.run}: {len(log.tasks())} tasks already done (options from the log)",
                   err=True)
    else:
        if log.exists():
            raise click.UsageError(f"{log.path} exists: pass --resume or another --out")
        config = BenchConfig(run=out.name, bench=name, **values)
        for m in config.methods:
            get_method(m, config.k)  # fail fast on a bad name
        if "static" in config.methods:
            raise click.UsageError("static needs seed demonstrations, which these benchmarks do not ship")
    if config.concurrency > 1 and not config.model.startswith(("http://", "https://")):
        raise click.UsageError("--concurrency needs a served model (an OpenAI-compatible URL as --model)")

    def progress(task: TaskLog) -> None:
        click.echo(f"{task.method} {task.qid}: {'pass' if task.em else 'fail'} ({task.verdict.detail[:80]}) "
                   f"{task.seconds:.0f}s cpu {task.cpu_seconds:.0f}s", err=True)

    config.until_batch = until_batch
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        anyio.run(lambda: execute(config, out, on_task=progress))
    except BenchmarkMissingError as exc:
        raise click.ClickException(str(exc)) from exc
    summarise(log)


def common_options(fn: Any) -> Any:
    options = [
        click.option("--methods", default="react,query,seer", show_default=True,
                     help=f"Comma-separated, from {', '.join(m for m in METHODS if m != 'static')}; name@K "
                     "overrides k."),
        click.option("--limit", type=int, default=50, show_default=True,
                     help="Tasks (a seeded sample; 0: all)."),
        click.option("--batches", type=int, default=5, show_default=True,
                     help="Batches; the pool is frozen inside one."),
        click.option("--immediate", is_flag=True,
                     help="Record each success at once (not with --concurrency)."),
        click.option("--k", type=int, default=2, show_default=True, help="Demonstrations per step."),
        click.option("--protocol", type=click.Choice(["online", "heldout"]), default="online",
                     show_default=True),
        click.option("--train-frac", type=float, default=0.5, show_default=True),
        click.option("--model", default="default", show_default=True,
                     help="default | small (embedded GGUF) | an OpenAI-compatible URL."),
        click.option("--model-name", default="default", show_default=True, help="Model name sent to a URL."),
        click.option("--on-error", type=click.Choice(["halt", "feedback"]), default="feedback",
                     show_default=True),
        click.option("--max-steps", type=int, default=6, show_default=True, help="Steps per user turn."),
        click.option("--server", default=None, help="A running seer HTTP server for the pool (one method)."),
        click.option("--embedder", default="default", show_default=True),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--concurrency", type=int, default=1, show_default=True,
                     help="Tasks of one batch at once against a served model (--model URL); results equal "
                     "a sequential run's, since the pool is frozen inside a batch."),
        click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Run folder (default runs/<bench>-<date-time>)."),
        click.option("--resume", is_flag=True, help="Continue the run in --out, skipping finished tasks."),
        click.option("--until-batch", type=int, default=None,
                     help="Stop after this batch (continue later with --resume): lets methods in separate "
                     "run folders advance batch by batch on one core."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _values(kw: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in kw.items() if k not in ("out", "resume", "until_batch")}
    values["methods"] = _csv(values["methods"])
    values["limit"] = values["limit"] or None
    return values | {"options": options}


@click.command("bfcl")
@click.option("--category", default="multi_turn_base", show_default=True,
              help="BFCL multi-turn category (multi_turn_base, _miss_func, _miss_param, _long_context).")
@common_options
def bfcl(category: str, **kw: Any) -> None:
    """BFCL multi-turn: scripted user turns, stateful APIs over MCP, BFCL's own multi-turn checker."""
    run_bench("bfcl", kw["out"], kw["resume"], _values(kw, {"category": category}), kw["until_batch"])


@click.command("tau2")
@click.option("--domain", default="airline", show_default=True, help="airline | retail | telecom.")
@click.option("--split", default="test", show_default=True,
              help="The domain's task split (test, train, base).")
@click.option("--user-model", default="local", show_default=True,
              help="The user simulator: 'local' (the embedded model served by llama_cpp.server, started and "
              "stopped by the harness) or a litellm model name such as openai/NAME.")
@click.option("--user-url", default=None, help="OpenAI-compatible base URL for --user-model (e.g. .../v1).")
@click.option("--max-turns", type=int, default=8, show_default=True, help="Agent turns per conversation.")
@common_options
def tau2(domain: str, split: str, user_model: str, user_url: str | None, max_turns: int, **kw: Any) -> None:
    """τ²-bench: a simulated user, the domain's tools over MCP, the benchmark's own evaluator."""
    run_bench("tau2", kw["out"], kw["resume"], _values(kw, {
        "domain": domain, "split": split, "user_model": user_model, "user_url": user_url,
        "max_turns": max_turns}), kw["until_batch"])
