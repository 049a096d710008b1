"""`keys` click group: the named API keys of an HTTP server (stored hashed)."""

from __future__ import annotations

from pathlib import Path

import click

from seer.seer_mcp.auth import SCOPES, AuthError, KeyStore

_FILE = click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Key file (default $SEER_HOME/api-keys.json).")


def _store(path: Path | None) -> KeyStore:
    from seer.pool.home import seer_home

    try:
        return KeyStore.load(path or seer_home() / "api-keys.json")
    except AuthError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("keys")
def keys() -> None:
    """API keys for `seer-mcp --http` (hashed at rest; each key has a name and scopes)."""


@keys.command("create")
@click.argument("name")
@click.option("--scopes", default="recall,record", show_default=True,
              help=f"Comma-separated, from {', '.join(SCOPES)} (admin: forget and everything else).")
@_FILE
def create(name: str, scopes: str, path: Path | None) -> None:
    """Create key NAME and print it once (only its SHA-256 is kept)."""
    wanted = [s.strip() for s in scopes.split(",") if s.strip()]
    bad = [s for s in wanted if s not in SCOPES]
    if bad or not wanted:
        raise click.BadParameter(f"unknown scope {bad[0] if bad else ''!r}; use {', '.join(SCOPES)}",
                                 param_hint="--scopes")
    store = _store(path)
    try:
        key = store.create(name, wanted)  # type: ignore[arg-type]
    except (AuthError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(key)
    click.echo(f"key {name!r} ({', '.join(wanted)}) saved hashed in {store.path}; it is shown only now",
               err=True)


@keys.command("list")
@_FILE
def list_keys(path: Path | None) -> None:
    """Names, scopes and creation times (never the keys)."""
    for entry in _store(path).keys:
        click.echo(f"{entry.name}\t{','.join(entry.scopes)}\t{entry.created_at}")


@keys.command("revoke")
@click.argument("name")
@_FILE
def revoke(name: str, path: Path | None) -> None:
    """Delete key NAME (a running server reads its keys at start: restart it)."""
    if not _store(path).revoke(name):
        raise click.ClickException(f"no key named {name!r}")
    click.echo(f"revoked {name!r}")
