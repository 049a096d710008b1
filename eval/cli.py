"""`seer-mcp run ...`: benchmark runs through the MCP server, and their reports."""

from __future__ import annotations

from pathlib import Path

import click

from seer.eval.run_bench import bfcl, tau2
from seer.eval.run_toolqa import summarise, toolqa


@click.group("run")
def run() -> None:
    """Run benchmarks through the seer MCP server and report on them."""


run.add_command(toolqa)
run.add_command(bfcl)
run.add_command(tau2)


@run.command("report")
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
def report(out: Path) -> None:
    """Print the accuracy table of the run in OUT and (re)write its report.md and learning curve."""
    from seer.eval.runlog import RunLog

    log = RunLog(out / "runlog.jsonl")
    if not log.exists():
        raise click.UsageError(f"no run log in {out}")
    summarise(log)


@run.command("compare")
@click.argument("outs", nargs=-1, required=True)
@click.option("--out", "report_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the combined report.md and learning_curve.png.")
@click.option("--reference", default="seer", show_default=True, help="Method the others are paired with.")
def compare(outs: tuple[str, ...], report_dir: Path, reference: str) -> None:
    """Compare runs in OUTS (same stream settings) on the questions every method finished. OUT@LABEL names
    that run's methods METHOD@LABEL, so one method's runs from different starts can be compared
    (e.g. runs/empty-seer@empty runs/seeds-seer@seeds8 --reference seer@seeds8)."""

    from seer.eval import compare as cmp_mod
    from seer.eval import report

    try:
        dirs, labels = zip(*(cmp_mod.split_label(out) for out in outs), strict=True)
        for where in dirs:
            if not where.is_dir():
                raise cmp_mod.CompareError(f"{where}: no such run directory")
        cmp = cmp_mod.load(dirs, labels)
        path = cmp_mod.write_report(cmp, report_dir, reference)
    except cmp_mod.CompareError as exc:
        raise click.ClickException(str(exc)) from exc
    console = report.console()
    console.print(f"{len(cmp.qids)} common questions; left out: {cmp.beyond_common}")
    console.print(report.rich_table(report.summary(cmp.tasks), str(cmp.config.get("bench", ""))))
    console.print(f"report: {path}")


@run.command("fork")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--method", required=True, help="The memory method whose run starts here (e.g. query, seer).")
@click.option("--out", "dst", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Its run folder (new, or an existing run of that method on the same stream).")
@click.option("--unverified", is_flag=True,
              help="Copy even if the method ran none of the tasks itself (nothing checks the premise).")
def fork(src: Path, method: str, dst: Path, unverified: bool) -> None:
    """Start METHOD's benchmark run from the memory-free run in SRC: copy the batches it must repeat token
    for token (its pool is empty until its first success the pool keeps; each copied success batch is
    recorded here to see), then continue it with --resume."""
    from seer.eval.fork import ForkError
    from seer.eval.fork import fork as fork_run
    from seer.eval.run_bench import run_bench
    from seer.eval.runlog import RunLog

    header = RunLog(src / "runlog.jsonl").header()
    bench = header.config.get("bench") if header else None

    def record(batch: int) -> None:  # the run's resume, stopped after that batch: it records, runs nothing
        click.echo(f"{method}: recording the successes of copied batch {batch}", err=True)
        run_bench(bench, dst, True, {}, until_batch=batch)  # type: ignore[arg-type]

    try:
        result = fork_run(src, dst, method, unverified=unverified, record=record if bench else None)
    except ForkError as exc:
        raise click.ClickException(str(exc)) from exc
    first = (f"first success the pool keeps in batch {result.first_success}" if result.first_success
             else "no success the pool keeps yet")
    refused = (f"; the pool kept none of batch {', '.join(map(str, result.refused))}'s successes"
               if result.refused else "")
    click.echo(f"{method}: copied {result.copied} tasks of batches {result.batches} from {src} ({first}"
               f"{refused}); {result.checked} it had run itself were identical. Continue with --resume "
               f"--out {dst}.")
