"""`bench` click group: performance benchmarks of seer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from seer.eval import report

if TYPE_CHECKING:
    from seer.eval.bench.workload import Probe


@click.group("bench")
def bench() -> None:
    """Benchmarks (recall latency and pool size)."""


@bench.command("recall")
@click.option("--sizes", default="1000,10000,100000", show_default=True, help="Comma-separated pool sizes.")
@click.option("--scan-only-sizes", default="", show_default=True,
              help="Sizes measured without DuckDB or ANN (the in-memory scan only), e.g. 1000000.")
@click.option("--repeats", default=200, show_default=True,
              help="Distinct questions timed per size (never-seen, MCP and record sets: up to 100 each).")
@click.option("--questions", "questions_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="ToolQA question folder (easy/, hard/); default: ../shared/data/toolqa/questions.")
@click.option("--vectors", type=click.Choice(["real", "random"]), default="real", show_default=True,
              help="Pool vectors around real questions' embeddings, or uniform random ones.")
@click.option("--factors", default="25,50,100,200,400", show_default=True,
              help="ANN candidate factors to sweep (candidates per index = factor x k).")
@click.option("--embedder", default="default", show_default=True, help="default (MiniLM), or a model name.")
@click.option("--threads", default=1, show_default=True,
              help="torch threads in process and BLAS/OpenMP threads of the MCP server.")
@click.option("--embed-threads", default="1,2", show_default=True,
              help="torch thread counts at which one embedding is timed.")
@click.option("--reference-max", default=100_000, show_default=True,
              help="Largest size the port is timed at.")
@click.option("--rebuild-open-max", default=200_000, show_default=True,
              help="Largest size whose opening with the ANN index rebuilt (from DuckDB) is timed.")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where pools go (each deleted after its size) and embeddings are cached (default: a temp folder).",
)
@click.option("--max-rss-gb", default=6.0, show_default=True,
              help="Skip (and list) sizes that would take this process past this RSS or the free memory.")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the JSON result here after every size (kept if a later size is interrupted).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print Markdown tables.")
@click.option("--mcp/--no-mcp", default=True, show_default=True,
              help="Also recall and record through a real MCP client over HTTP.")
@click.option("--baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="An earlier result (JSON from --save) whose rows are printed beside this run's, marked "
              "'baseline'.")
def recall_command(sizes: str, scan_only_sizes: str, repeats: int, questions_dir: Path | None, vectors: str,
                   factors: str, embedder: str, threads: int, embed_threads: str, reference_max: int,
                   rebuild_open_max: int, max_rss_gb: float, save: Path | None, workdir: Path | None,
                   as_json: bool, as_markdown: bool, mcp: bool, baseline: Path | None) -> None:
    """Recall at growing pool sizes, measured fairly: held-out real ToolQA questions as queries (k=4,
    hybrid, a mid-task step); the shipped path with recall@k against the exact answer beside it; the exact
    path; an ANN candidate-factor sweep; numpy's brute-force scan (the physical limit); a port of the
    official SEER selection code (the baseline); where time goes (embedding, scan, text fetch); records
    at size n; opening the file; recall and record over MCP with the real embedder."""
    import torch

    from seer.eval.bench import recall_report
    from seer.eval.bench.mcp_latency import measure_mcp_http
    from seer.eval.bench.recall import BenchConfig, run
    from seer.eval.bench.workload import DEFAULT_QUESTIONS, bases_from, load_probes, split
    from seer.pool import load_embedder

    def ints(text: str) -> list[int]:
        return [int(s.replace("_", "")) for s in text.split(",") if s.strip()]

    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # stderr stays clean: JSON callers may read it with stdout
    console = report.console(stderr=True)
    torch.set_num_threads(threads)
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    side = min(100, repeats)
    parts = split(load_probes(questions_dir or DEFAULT_QUESTIONS), queries=repeats, cold=side,
                  records=min(100, 2 * repeats), mcp=side + 1)
    model = load_embedder(embedder)
    cfg = BenchConfig(vectors=vectors, factors=ints(factors), reference_max=reference_max,
                      rebuild_open_max=rebuild_open_max)

    def progress(message: str) -> None:
        if message.startswith("done: ") and not as_json:  # JSON callers parse everything they get
            console.log(message)  # each finished size is kept even if a later one is interrupted
        status.update(message)

    def over_mcp(path: Path, probes: Sequence[Probe]) -> dict[str, Any]:
        return measure_mcp_http(path, probes, embedder=embedder, threads=threads,
                                records=min(30, len(probes) - 1))

    with console.status("embedding the pool's base questions ...") as status:
        bases = bases_from(parts.bases, model, workdir) if vectors == "real" else None
        result = run(ints(sizes), embedder=model, split=parts, bases=bases, cfg=cfg,
                     scan_sizes=ints(scan_only_sizes), workdir=workdir, progress=progress,
                     measure_mcp=over_mcp if mcp else None, embed_threads=ints(embed_threads),
                     max_rss_gb=max_rss_gb, save=save)
    if as_json:
        click.echo(json.dumps(result, indent=1))
        return
    if baseline is not None:
        result = dict(result, baseline=json.loads(baseline.read_text()))
    if as_markdown:
        click.echo(recall_report.markdown(result))
        return
    for title, header, rows in recall_report.tables(result):
        table = Table(title=title)
        for col in header:
            table.add_column(col, justify="right")
        for row in rows:
            table.add_row(*row)
        report.console().print(report.unclipped(table))


@bench.command("mcp-writes")
@click.option("--pool", "pool_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The pool file to record into (e.g. one built by `bench recall --workdir`).")
@click.option("--clients", default=8, show_default=True, help="Concurrent MCP clients.")
@click.option("--records", "per_client", default=25, show_default=True, help="Records per client.")
@click.option("--embedder", default="default", show_default=True,
              help="The server's embedder (the pool's own: default (MiniLM) or hash).")
@click.option("--questions", "questions_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="ToolQA question folder (easy/, hard/); default: ../shared/data/toolqa/questions.")
@click.option("--in-process", is_flag=True, help="Threads calling the pool directly instead of MCP clients.")
@click.option("--defer-embedding", "defer", is_flag=True,
              help="Acknowledge records before embedding them (the server's --defer-embedding); the run "
              "then also waits until every record is recallable.")
def mcp_writes_command(pool_path: Path, clients: int, per_client: int, embedder: str,
                       questions_dir: Path | None, in_process: bool, defer: bool) -> None:
    """Records per second over MCP (HTTP) with several clients recording at once into POOL (JSON): records
    acknowledged per second, records made recallable per second, and CPU per record."""
    from seer.eval.bench.mcp_writes import measure_mcp_writes, measure_pool_writes
    from seer.eval.bench.workload import DEFAULT_QUESTIONS, load_probes

    probes = load_probes(questions_dir or DEFAULT_QUESTIONS)
    measure = measure_pool_writes if in_process else measure_mcp_writes
    result = measure(pool_path, probes, clients=clients, per_client=per_client, embedder=embedder,
                     defer=defer)
    click.echo(json.dumps(result, indent=1))


@bench.command("recall-quality")
@click.argument("library", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--k", default=4, show_default=True, help="Demonstrations per recall.")
@click.option("--strategies", default="hybrid,blend,goal,process,static,random", show_default=True)
@click.option("--embedder", default="default", show_default=True,
              help="default (MiniLM), hash, or a model name.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def recall_quality_command(library: Path, k: int, strategies: str, embedder: str, as_json: bool) -> None:
    """Leave-one-out recall quality over LIBRARY (library.json): per strategy and step, how often the
    top-k hold a same-template demonstration and the gold next tool (no LLM involved)."""
    from dataclasses import asdict

    from seer.eval.bench.recall_quality import evaluate
    from seer.pool import load_embedder

    rows = evaluate(library, load_embedder(embedder), k=k,
                    strategies=[s.strip() for s in strategies.split(",") if s.strip()])
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows], indent=2))
        return
    table = Table(title=f"Recall quality, leave-one-out over {library.name} (k={k})")
    for name in ("strategy", "step", "n", "same template %", "next tool %", "intent precision %"):
        table.add_column(name, justify="left" if name == "strategy" else "right")
    for r in rows:
        table.add_row(r.strategy, str(r.step) if r.step else "all", str(r.n), f"{r.template_hit:.1f}",
                      f"{r.next_tool_hit:.1f}", f"{r.intent_precision:.1f}")
    report.console().print(report.unclipped(table))


@bench.command("tune-weights")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--method", default=None, help="The learning method whose records to use (default: the first).")
@click.option("--k", default=4, show_default=True, help="Demonstrations per recall.")
@click.option("--strategies", default="blend,hybrid", show_default=True)
@click.option("--embedder", default="default", show_default=True,
              help="default (MiniLM), hash, or a model name.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def tune_weights_command(run_dir: Path, method: str | None, k: int, strategies: str, embedder: str,
                         as_json: bool) -> None:
    """Leave-one-out over the pool a run grew (its seeds + the successes it recorded, rebuilt from
    RUN_DIR's log): for each s1/s2 weight setting, how often the top-k hold a demonstration of the
    probe's question type, the top-1 is of that type, and one calls the gold next tool."""
    from dataclasses import asdict

    from seer.eval.bench.tune_weights import evaluate, recorded_requests, summary
    from seer.pool import load_embedder

    name, records, library = recorded_requests(run_dir, method)
    rows = evaluate(records, library, load_embedder(embedder), k=k,
                    strategies=[s.strip() for s in strategies.split(",") if s.strip()])
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows], indent=2))
        return
    table = Table(title=f"Term weights, leave-one-out over {len(records)} records of {name} in {run_dir.name}"
                  f" (+ seeds from {library.name if library else 'none'}; k={k})")
    for col in ("strategy", "λ1 λ2 λ3", "recalls", "same type %", "top-1 same type %", "next tool %"):
        table.add_column(col, justify="left" if col == "strategy" else "right")
    best = summary(rows)
    for r in rows:
        default = r.lambdas == (1.0, 1.0, 1.0)
        mark = " *" if best[r.strategy]["best"] == r else (" (default)" if default else "")
        table.add_row(r.strategy + mark, " ".join(f"{x:g}" for x in r.lambdas), str(r.n), f"{r.type_hit:.1f}",
                      f"{r.top1_type:.1f}", f"{r.next_tool_hit:.1f}")
    report.console().print(report.unclipped(table))
