"""ToolQA through the seer MCP server: methods × domains, online or held-out, resumable, with a report.

``python -m seer.eval.run_toolqa --help`` or ``seer-mcp run toolqa --help``.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import anyio
import click
from pydantic import BaseModel

from seer.eval.agent import AgentConfig, McpClient
from seer.eval.judges import JUDGES, make_judge
from seer.eval.methods import METHODS, Method, check_resume, definitions, get_method
from seer.eval.runlog import BatchLog, RunHeader, RunLog, TaskLog
from seer.eval.runner import Runner, RunSettings, make_stream, pool_file, run_methods


class RunConfig(BaseModel):
    """Everything that defines a run; stored in the log header and reused by ``--resume``."""

    run: str
    methods: list[str] = ["react", "seer"]
    domains: list[str] = ["coffee", "flight"]
    level: str = "easy"
    limit: int | None = 15
    batches: int = 5
    immediate: bool = False
    k: int = 4
    protocol: str = "online"
    train_frac: float = 0.5
    model: str = "default"
    model_name: str = "default"
    call_mode: Literal["json", "text", "native"] = "json"
    on_error: Literal["halt", "feedback"] = "feedback"
    intent: Literal["llm", "server", "gold"] = "llm"
    judge: str = "exact_match"
    max_steps: int = 6
    server: str | None = None
    corpus: str | None = None
    questions: str | None = None
    embedder: str = "default"
    seeds: str | None = None
    seed: int = 0
    parallel: bool = False


DEMO = {
    "methods": ["react", "seer"],
    "domains": ["coffee", "flight"],
    # 3 per domain took 1,195 CPU seconds in all (both methods, models, servers and set-up; 2026-12-02, on
    # one shared core), i.e. about 10 minutes on 2 idle cores with one method per core: 2 per domain keeps
    # the demo well under that
    "limit": 2,
    "batches": 2,
    "k": 4,
    "protocol": "online",
    "intent": "server",
    "model": "default",
    "parallel": True,  # react and seer side by side, one core each
}
"""The README's main job: react vs seer, online, on a small synthetic corpus with the embedded model."""


def load_model(spec: str, model_name: str = "default", threads: int | None = None) -> Any:
    """``default``/``small`` (embedded GGUF), an OpenAI-compatible URL, or ``scripted`` (smoke runs);
    ``threads`` caps an embedded model's threads (several models side by side)."""
    if spec.startswith(("http://", "https://")):
        from seer.eval.models import OpenAICompatModel

        return OpenAICompatModel(spec, model_name)
    if spec == "scripted":
        from seer.eval.models.scripted import ScriptedModel

        return ScriptedModel(lambda messages: '{"thought": "Give up.", "tool": "Finish", "args": "unknown"}')
    from seer.eval.models import LlamaCppModel

    if threads is None:
        return LlamaCppModel.from_registry(spec)
    return LlamaCppModel.from_registry(spec, n_threads=threads, n_threads_batch=threads)


def resolve_data(config: RunConfig) -> tuple[Path, Path]:
    """(corpus, questions): the given folders, or the small synthetic corpus built once in the cache."""
    if config.corpus:
        corpus = Path(config.corpus)
    else:
        from seer.eval.toolqa.data import default_corpus

        corpus = default_corpus(config.seed)
    questions = Path(config.questions) if config.questions else corpus.parent / "questions"
    if not questions.is_dir():
        raise click.UsageError(f"no question folder {questions}; pass --questions DIR")
    return corpus, questions


def resolve_seeds(config: RunConfig, corpus: Path) -> Path | None:
    """--seeds (``none``: an empty pool), else the oracle demonstrations beside a synthetic corpus, if any."""
    if config.seeds == "none":
        return None
    if config.seeds:
        return Path(config.seeds)
    from seer.eval.toolqa.data import SEED_LIBRARY

    beside = corpus.parent / SEED_LIBRARY
    return beside if beside.is_file() else None


def server_env() -> dict[str, str]:
    """The stdio server's environment. One embedder thread: its spin-waiting threads would otherwise
    compete with the in-process model for the cores (single-query embedding is fast on one)."""
    keep = (
        "SEER_HOME",
        "SEER_MODELS_DIR",
        "PYTHONPATH",
        "OMP_NUM_THREADS",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
    )
    return {"OMP_NUM_THREADS": "1"} | {k: os.environ[k] for k in keep if k in os.environ}


def stdio_connector(corpus: Path, out: Path, embedder: str, seeds: Path | None = None) -> Any:
    """Each method gets its own server process and its own pool file in the run folder. Pools of
    methods that recall start from the seed demonstrations (the SEER reference starts from its
    library.json); ``static`` keeps showing them, the others add their own successes."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    @asynccontextmanager
    async def connect(method: Method) -> AsyncIterator[McpClient]:
        args = [
            "-m",
            "seer.seer_mcp.cli",
            "--corpus",
            str(corpus),
            "--pool",
            str(pool_file(out, method.name)),
            "--embedder",
            embedder,
        ]
        if method.recall is not None and seeds is not None:
            args += [
                "--seeds",
                str(seeds),
            ]  # as the reference: every recall pool starts from the seed library
        elif method.recall is not None and method.recall.strategy == "static":
            raise click.UsageError("the static method needs seed demonstrations: pass --seeds FILE")
        params = StdioServerParameters(command=sys.executable, args=args, env=server_env())
        async with Client(params) as client:
            yield client

    return connect


def http_connector(url: str) -> Any:
    """A shared server over HTTP; its API key, if it needs one, comes from ``$SEER_API_KEY``."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    key = os.environ.get("SEER_API_KEY")

    @asynccontextmanager
    async def connect(method: Method) -> AsyncIterator[McpClient]:
        if not key:
            async with Client(url) as client:
                yield client
            return
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=300) as http, \
                Client(streamable_http_client(url, http_client=http)) as client:
            yield client

    return connect


async def execute(config: RunConfig, out: Path, *, model: Any = None, show_progress: bool = True) -> RunLog:
    """Run (or resume) a configured run into ``out``; returns its log."""
    from seer.eval.toolqa.questions import load_questions

    log = RunLog(out / "runlog.jsonl")
    if not log.exists():
        log.append(RunHeader(run=config.run, config=config.model_dump(), seer_version=version("seer-mcp"),
                             definitions=definitions(config.methods, config.k)))
    corpus, qdir = resolve_data(config)
    questions = []
    for domain in config.domains:
        pool = load_questions(qdir, domain, config.level)
        if config.limit and config.limit < len(pool):  # a seeded sample: files are ordered by template
            pool = sorted(
                random.Random(f"{config.seed}-{domain}").sample(pool, config.limit), key=lambda q: q.qid
            )
        questions += pool
    stream = make_stream(
        questions,
        protocol=config.protocol,
        batches=config.batches,
        seed=config.seed,
        train_frac=config.train_frac,
    )
    methods = [get_method(m, config.k) for m in config.methods]
    parallel = config.parallel and len(methods) > 1
    threads = max(1, len(os.sched_getaffinity(0)) // len(methods)) if parallel else None
    model = model or load_model(config.model, config.model_name, threads)
    agent = AgentConfig(
        max_steps=config.max_steps,
        mode=config.call_mode,
        on_error=config.on_error,
        intent=config.intent,
    )
    lost = frozenset(m.name for m in methods if not config.server and not pool_file(out, m.name).exists())
    settings = RunSettings(immediate=config.immediate, agent=agent, source=getattr(model, "name", ""),
                           measure_cpu=not parallel, rebuild_pools=lost)
    if config.server:
        connect = http_connector(config.server)
    else:
        connect = stdio_connector(corpus, out, config.embedder, resolve_seeds(config, corpus))

    def runners(on_task: Any = None) -> Any:
        """One runner for all methods, or with --parallel one per method, each with its own model."""
        if not parallel:
            return Runner(model, make_judge(config.judge, model), log, settings, on_task)
        models = {m.name: model if i == 0 else load_model(config.model, config.model_name, threads)
                  for i, m in enumerate(methods)}
        return lambda m: Runner(models[m.name], make_judge(config.judge, models[m.name]), log, settings,
                                on_task)

    if not show_progress:
        await run_methods(runners(), methods, stream, connect)
        return log
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    done = {(t.method, t.qid) for t in log.tasks()}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[acc]}"),
    ) as progress:
        bars = {
            m.name: progress.add_task(
                m.name,
                total=len(stream),
                acc="",
                completed=sum((m.name, s.question.qid) in done for s in stream),
            )
            for m in methods
        }
        hits: dict[str, list[bool]] = {m.name: [] for m in methods}

        def on_task(task: TaskLog) -> None:
            hits[task.method].append(task.em)
            acc = f"EM {100 * sum(hits[task.method]) / len(hits[task.method]):.0f}% | pool {task.pool_size}"
            progress.update(bars[task.method], advance=1, acc=acc)

        await run_methods(runners(on_task), methods, stream, connect)
    return log


def summarise(log: RunLog) -> None:
    """Print the accuracy table and pool growth, and write report.md."""

    from seer.eval import report

    console = report.console()
    lines = log.read()
    tasks = [x for x in lines if isinstance(x, TaskLog)]
    header = next((x for x in lines if isinstance(x, RunHeader)), None)
    bench = str(header.config.get("bench", "")) if header else ""
    console.print(report.rich_table(report.summary(tasks), bench))
    for method, points in report.pool_growth([x for x in lines if isinstance(x, BatchLog)]).items():
        console.print(f"pool growth {method}: " + " → ".join(f"b{g.batch}:{g.text()}" for g in points))
    console.print(f"report: {report.write_report(log)}")


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@click.command("toolqa")
@click.option(
    "--methods",
    default="react,seer",
    show_default=True,
    help=f"Comma-separated, from {', '.join(METHODS)}; name@K overrides k (seer@2).",
)
@click.option("--domains", default="coffee,flight", show_default=True)
@click.option("--level", type=click.Choice(["easy", "hard"]), default="easy", show_default=True)
@click.option("--limit", type=int, default=15, show_default=True, help="Questions per domain (0: all).")
@click.option(
    "--batches", type=int, default=5, show_default=True, help="Batches; the pool is frozen inside one."
)
@click.option("--immediate", is_flag=True, help="Record each success at once instead of at the batch end.")
@click.option("--k", type=int, default=4, show_default=True, help="Demonstrations per step.")
@click.option("--protocol", type=click.Choice(["online", "heldout"]), default="online", show_default=True)
@click.option(
    "--train-frac", type=float, default=0.5, show_default=True, help="heldout: share used to learn."
)
@click.option(
    "--model",
    default="default",
    show_default=True,
    help="default | small (embedded GGUF) | an OpenAI-compatible URL | scripted (smoke test).",
)
@click.option("--model-name", default="default", show_default=True, help="Model name sent to a URL backend.")
@click.option(
    "--call-mode",
    type=click.Choice(["json", "text", "native"]),
    default="json",
    show_default=True,
    help="json: schema-constrained; text: <CALL_BEGIN>Tool[args]<CALL_END>; native: tool calls.",
)
@click.option(
    "--on-error",
    type=click.Choice(["halt", "feedback"]),
    default="feedback",
    show_default=True,
    help="feedback: a tool or format error is shown to the model, which may retry (a cold pool learns "
    "only from successes); halt: the episode ends at the first error (the paper's default).",
)
@click.option(
    "--intent",
    type=click.Choice(["llm", "server", "gold"]),
    default="llm",
    show_default=True,
    help="llm: classify with the model; server: the server infers it; gold: the question's domain.",
)
@click.option(
    "--judge",
    type=click.Choice(list(JUDGES)),
    default="exact_match",
    show_default=True,
    help="Decides which trajectories are recorded (EM is always reported).",
)
@click.option("--max-steps", type=int, default=6, show_default=True)
@click.option(
    "--server",
    default=None,
    help="Connect to a running HTTP server (URL) instead of starting one; its API key from $SEER_API_KEY.",
)
@click.option(
    "--corpus",
    type=click.Path(file_okay=False),
    default=None,
    help="external_corpus folder (default: a small synthetic corpus).",
)
@click.option(
    "--questions",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder with easy/ and hard/ (default: beside the corpus).",
)
@click.option("--embedder", default="default", show_default=True, help="Server embedder: default | hash.")
@click.option(
    "--seeds",
    default=None,
    help="Seed demonstrations every recall pool starts from (SEER library.json; default: the oracle seeds "
    "beside a synthetic corpus; none: an empty pool).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run folder (default runs/<date-time>).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--parallel",
    is_flag=True,
    help="Run the methods at once, each with its own copy of the model (one core each for the embedded "
    "model); results are the same as one after the other, but CPU seconds per task are not logged (the "
    "process's CPU time would mix the methods): compare costs with separate runs.",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out, skipping finished tasks.")
@click.option(
    "--demo",
    is_flag=True,
    help="Preset: react vs seer online, 2 coffee + 2 flight questions, oracle seed demonstrations.",
)
def toolqa(
    methods: str,
    domains: str,
    level: str,
    limit: int,
    batches: int,
    immediate: bool,
    k: int,
    protocol: str,
    train_frac: float,
    model: str,
    model_name: str,
    call_mode: str,
    on_error: str,
    intent: str,
    judge: str,
    max_steps: int,
    server: str | None,
    corpus: str | None,
    questions: str | None,
    embedder: str,
    seeds: str | None,
    out: Path | None,
    seed: int,
    parallel: bool,
    resume: bool,
    demo: bool,
) -> None:
    """Measure ToolQA accuracy of methods (react, seer, ablations) through the seer MCP server."""
    out = out or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    log = RunLog(out / "runlog.jsonl")
    if resume:
        header = log.header()
        if header is None:
            raise click.UsageError(f"nothing to resume in {out}")
        config = RunConfig.model_validate(header.config)
        try:
            check_resume(header, config.methods, config.k, log.path)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        click.echo(
            f"resuming {config.run}: {len(log.tasks())} tasks already done (options from the log)", err=True
        )
    else:
        if log.exists():
            raise click.UsageError(f"{log.path} exists: pass --resume or another --out")
        values: dict[str, Any] = dict(
            run=out.name,
            methods=_csv(methods),
            domains=_csv(domains),
            level=level,
            limit=limit or None,
            batches=batches,
            immediate=immediate,
            k=k,
            protocol=protocol,
            train_frac=train_frac,
            model=model,
            model_name=model_name,
            call_mode=call_mode,
            on_error=on_error,
            intent=intent,
            judge=judge,
            max_steps=max_steps,
            server=server,
            corpus=corpus,
            questions=questions,
            embedder=embedder,
            seeds=seeds,
            seed=seed,
            parallel=parallel,
        )
        if demo:
            values |= DEMO
        config = RunConfig(**values)
        for m in config.methods:
            get_method(m, config.k)  # fail fast on a bad name
        if config.server and sum(get_method(m).recall is not None for m in config.methods) > 1:
            raise click.UsageError("one --server has one pool: run one recall method per server")
    anyio.run(lambda: execute(config, out))
    summarise(log)


if __name__ == "__main__":
    toolqa()
