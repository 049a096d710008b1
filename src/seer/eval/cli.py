"""`seer-mcp run ...`: benchmark runs through the MCP server, and their reports."""

from __future__ import annotations

from pathlib import Path

import click

from seer.eval.run_toolqa import summarise, toolqa


@click.group("run")
def run() -> None:
    """Run benchmarks through the seer MCP server and report on them."""


run.add_command(toolqa)


@run.command("report")
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
def report(out: Path) -> None:
    """Print the accuracy table of the run in OUT and (re)write its report.md and learning curve."""
    from seer.eval.runlog import RunLog

    log = RunLog(out / "runlog.jsonl")
    if not log.exists():
        raise click.UsageError(f"no run log in {out}")
    summarise(log)
