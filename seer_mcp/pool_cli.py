"""`pool` click group: inspect and maintain experience pools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from seer.pool.home import pools_dir
from seer.pool.models import STATUSES, Status

if TYPE_CHECKING:
    from seer.pool import ExperiencePool


def _open(name: str, *, create: bool = False) -> ExperiencePool:
    from seer.pool import ExperiencePool, PoolError, PoolLockedError

    try:
        return ExperiencePool.open(name, create=create)
    except PoolLockedError as exc:
        raise click.ClickException(f"{exc}. While a server runs on this pool, review it through the server's "
                                   "admin tools (list_experiences, quarantine_experiences, "
                                   "release_experiences).") from exc
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
@click.argument("name", required=False)
@click.option("--recorder", help="Only experiences of this recorder (API key name, 'local', 'seed:<file>').")
@click.option("--status", type=click.Choice(STATUSES), help="Only active, held or quarantined experiences.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1), help="Newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def list_(name: str | None, recorder: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """List the pools in the pools folder, or with NAME the experiences of pool NAME: who recorded each,
    its judge, status (held ones wait for review) and why."""
    if name is not None:
        _list_experiences(name, recorder, status, limit, as_json)
        return
    if recorder or status:
        raise click.UsageError("--recorder and --status filter the experiences of one pool: name it")
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
        "recorder",
        "status",
        "status_reason",
    ):
        table.add_row(key, Text(str(getattr(exp, key))))  # stored text is data, never rich markup
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


def _list_experiences(name: str, recorder: str | None, status: str | None, limit: int, as_json: bool) -> None:
    p = _open(name)
    try:
        rows = p.list_experiences(recorder=recorder, status=cast("Status | None", status), limit=limit)
        quarantined = p.quarantined_recorders()
    finally:
        p.close()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, default=str, ensure_ascii=False))
        return
    held_out = f"; quarantined recorders: {escape(', '.join(sorted(quarantined)))}" if quarantined else ""
    table = Table(title=f"pool {escape(name)}: {len(rows)} experiences{held_out}")
    for column in ("id", "recorder", "judge", "status", "why", "intent", "task"):
        table.add_column(column, overflow="fold")
    for row in rows:
        cells = (row["id"], row["recorder"], row["judge_kind"], row["status"], _short(row["status_reason"]),
                 row["intent"], _short(row["task"]))
        table.add_row(*(Text(str(cell)) for cell in cells))  # stored text is data, never rich markup
    Console().print(table)


def _short(text: str | None, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _target(recorder: str | None, experience_id: str | None) -> None:
    if (recorder is None) == (experience_id is None):
        raise click.UsageError("give exactly one of --recorder or --id")


@pool.command("quarantine")
@click.argument("name")
@click.option("--recorder", help="Every experience of this recorder, and its future records until released.")
@click.option("--id", "experience_id", help="One experience.")
@click.option("--reason", default="", help="Why (shown by list).")
def quarantine(name: str, recorder: str | None, experience_id: str | None, reason: str) -> None:
    """Keep experiences of pool NAME out of recall (reversible with release)."""
    _target(recorder, experience_id)
    p = _open(name)
    try:
        ids = p.quarantine(recorder=recorder, experience_id=experience_id, reason=reason)
    finally:
        p.close()
    click.echo(json.dumps({"quarantined": ids, "recorder": recorder}))


@pool.command("release")
@click.argument("name")
@click.option("--recorder", help="Every experience of this recorder; its quarantine is lifted.")
@click.option("--id", "experience_id", help="One experience.")
def release(name: str, recorder: str | None, experience_id: str | None) -> None:
    """Make held or quarantined experiences of pool NAME active (recalled) again."""
    _target(recorder, experience_id)
    p = _open(name)
    try:
        ids = p.release(recorder=recorder, experience_id=experience_id)
    finally:
        p.close()
    click.echo(json.dumps({"released": ids, "recorder": recorder}))


@pool.command("purge")
@click.argument("name")
@click.option("--recorder", required=True, help="Delete the experiences of this recorder.")
@click.option("--status", type=click.Choice(STATUSES), help="Only those with this status.")
@click.option("--yes", is_flag=True, help="Really delete (without it, only say how many would go).")
def purge(name: str, recorder: str, status: str | None, yes: bool) -> None:
    """Delete experiences of pool NAME by recorder (for good: export the pool first to keep a copy)."""
    p = _open(name)
    try:
        if not yes:
            n = len(p.store.find_ids(recorder=recorder, status=status))
            which = f" with status {status}" if status else ""
            raise click.ClickException(f"this would delete {n} experiences of {recorder!r}{which}; "
                                       "pass --yes to do it")
        ids = p.purge(recorder, cast("Status | None", status))
    finally:
        p.close()
    click.echo(json.dumps({"deleted": len(ids), "recorder": recorder}))


@pool.command("screen")
@click.argument("name")
@click.option("--hold", is_flag=True, help="Hold the matches for review (without it, only list them).")
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
def screen(name: str, hold: bool, as_json: bool) -> None:
    """Screen the active experiences of pool NAME for instruction-like text with today's rules (records are
    screened as they arrive; run this on a pool that predates screening, or after the rules change)."""
    p = _open(name)
    try:
        found = p.screen(hold=hold)
    finally:
        p.close()
    if as_json:
        click.echo(json.dumps({"matches": found, "held": hold}))
        return
    table = Table("id", "recorder", "task", "why", title=f"{len(found)} active experiences match")
    for item in found:
        table.add_row(Text(item["id"]), Text(item["recorder"]), Text(_short(item["task"])),
                      Text(_short(item["why"], 120)))
    Console().print(table)
    if found and not hold:
        click.echo("pass --hold to hold them for review (release them one by one with `pool release`)")


@pool.command("prune")
@click.argument("name")
def prune(name: str) -> None:
    """Merge duplicates and apply the capacity limits of pool NAME."""
    p = _open(name)
    try:
        click.echo(json.dumps(p.prune()))
    finally:
        p.close()
