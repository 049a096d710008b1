"""`bench` click group: performance benchmarks of seer."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from seer.eval import report


@click.group("bench")
def bench() -> None:
    """Benchmarks (recall latency and pool size)."""


@bench.command("recall")
@click.option(
    "--sizes", default="1000,10000,100000,1000000", show_default=True, help="Comma-separated pool sizes."
)
@click.option("--repeats", default=200, show_default=True, help="Recalls timed per size.")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the synthetic pools go (default: a temporary folder, removed afterwards).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--mcp/--no-mcp",
    default=True,
    show_default=True,
    help="Also time the same recall through a real MCP client over HTTP.",
)
def recall_command(sizes: str, repeats: int, workdir: Path | None, as_json: bool, mcp: bool) -> None:
    """Recall latency (p50/p99, k=4, 384-d, hybrid, a process step) on synthetic pools of each size,
    beside a re-implementation of the reference scheme; insert rate and bytes per experience."""
    from seer.eval.bench.recall import run

    console = report.console(stderr=True)
    size_list = [int(s.replace("_", "")) for s in sizes.split(",") if s.strip()]
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)

    def progress(message: str) -> None:
        if message.startswith("done: "):
            console.log(message)  # each finished size is kept even if a later one is interrupted
        status.update(message)

    with console.status("benchmarking ...") as status:
        from seer.eval.bench.mcp_latency import measure_mcp_http

        result = run(
            size_list,
            workdir=workdir,
            repeats=repeats,
            progress=progress,
            measure_mcp=measure_mcp_http if mcp else None,
        )
    if as_json:
        click.echo(json.dumps(result, indent=1))
        return
    table = Table(title="seer recall benchmark (in process)")
    cols = [
        "n",
        "p50_ms",
        "p99_ms",
        "reference_p50_ms",
        "speedup",
        "insert_per_s",
        "record_per_s",
        "bytes_per_experience",
        "open_persisted_ann_s",
        "open_rebuild_ann_s",
        "mcp_http_p50_ms",
    ]
    for col in cols:
        table.add_column(col, justify="right")
    for row in result["sizes"]:
        table.add_row(*["" if row.get(c) is None else f"{row[c]:,}" for c in cols])
    report.console().print(report.unclipped(table))


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
