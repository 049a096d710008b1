"""`pool` click group: inspect and maintain experience pools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from seer.pool.home import pools_dir

if TYPE_CHECKING:
    from seer.pool import ExperiencePool


def _open(name: str, *, create: bool = False) -> ExperiencePool:
    from seer.pool import ExperiencePool, PoolError

    try:
        return ExperiencePool.open(name, create=create)
    except PoolError as exc:
        raise click.ClickException(str(exc)) from exc


class _PoolGroup(click.Group):
    """Pool and database errors end a command with one clear line, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        import duckdb

        from seer.pool import PoolError

        try:
            return super().invoke(ctx)
        except PoolError as exc:
            raise click.ClickException(str(exc)) from exc
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise click.ClickException(f"the pool file could not be read ({first}); it was left as it was "
                                       "— restore it from a backup") from exc


@click.group("pool", cls=_PoolGroup)
def pool() -> None:
    """Experience pools (one DuckDB file each under SEER_HOME/pools)."""


@pool.command("list")
def list_pools() -> None:
    """List the pools in the pools folder."""
    table = Table(title=f"pools in {pools_dir()}")
    table.add_column("name")
    table.add_column("size", justify="right")
    for path in sorted(pools_dir().glob("*.duckdb")):
        table.add_row(path.stem, f"{path.stat().st_size:,} B")
    Console().print(table)


@pool.command("stats")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON ({count, per_intent, ...}).")
def stats(name: str, as_json: bool) -> None:
    """Counts per intent, embedder and usage of pool NAME."""
    p = _open(name)
    try:
        s = p.stats_model()
    finally:
        p.close()
    if as_json:
        click.echo(s.model_dump_json(indent=1))
        return
    table = Table(title=f"pool {s.name}: {s.count} experiences, embedder {s.embedder_id} ({s.dim}-d)")
    table.add_column("intent")
    table.add_column("count", justify="right")
    for intent, count in s.per_intent.items():
        table.add_row(intent, str(count))
    Console().print(table)


@pool.command("show")
@click.argument("name")
@click.argument("experience_id")
def show(name: str, experience_id: str) -> None:
    """Show one experience of pool NAME."""
    p = _open(name)
    try:
        exp = p.get(experience_id)
    finally:
        p.close()
    if exp is None:
        raise click.ClickException(f"no experience {experience_id!r} in pool {name}")
    table = Table(show_header=False)
    for key in (
        "id",
        "task",
        "intent",
        "intent_source",
        "tool_chain",
        "judge_kind",
        "judge_verdict",
        "model",
        "source_task_id",
        "final_answer",
        "created_at",
        "times_recalled",
        "times_in_success",
    ):
        table.add_row(key, str(getattr(exp, key)))
    console = Console()
    console.print(table)
    console.print(exp.demo_text, markup=False, highlight=False)


@pool.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(name: str, file: Path) -> None:
    """Import FILE (official library.json or JSONL of experiences) into pool NAME, all or nothing."""
    from seer.pool import PoolError, import_file

    p = _open(name, create=True)
    try:
        result = import_file(p, file)
    except PoolError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        p.close()
    click.echo(json.dumps(result))


@pool.command("export")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export(name: str, file: Path) -> None:
    """Export pool NAME to FILE (.json: library.json form; otherwise JSONL with vectors)."""
    from seer.pool import export_file

    p = _open(name)
    try:
        n = export_file(p, file)
    finally:
        p.close()
    click.echo(f"exported {n} experiences to {file}")


@pool.command("prune")
@click.argument("name")
def prune(name: str) -> None:
    """Merge duplicates and apply the capacity limits of pool NAME."""
    p = _open(name)
    try:
        click.echo(json.dumps(p.prune()))
    finally:
        p.close()
