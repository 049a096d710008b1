"""`seer-mcp`: serve the tools and the experience pool over MCP; manage pools; run benchmarks."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

HTTP_MAX_SESSIONS = 1024
HTTP_SESSION_IDLE_S = 600.0


def _parse_host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}", param_hint="--http")
    return host or "127.0.0.1", int(port)


def _rate_limits(text: str) -> dict[str, tuple[float, float]]:
    limits: dict[str, tuple[float, float]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        action, _, spec = item.partition("=")
        rate, _, burst = spec.partition(":")
        try:
            limits[action] = (float(rate), float(burst or rate))
        except ValueError as exc:
            raise click.BadParameter(f"expected ACTION=PER_SECOND:BURST, got {item!r}",
                                     param_hint="--rate-limits") from exc
        if action not in ("recall", "record") or limits[action][0] <= 0 or limits[action][1] < 1:
            raise click.BadParameter(f"{item!r}: actions are recall and record, rates positive, bursts >= 1",
                                     param_hint="--rate-limits")
    return limits


def _http_keys(path: Path | None, host: str, allow_open: bool) -> Any:
    """The API keys an HTTP server checks (None: open); refuses an open non-loopback server unless
    the operator passed --allow-unauthenticated-network-access."""
    import ipaddress

    from seer.pool.home import seer_home
    from seer.seer_mcp.auth import AuthError, KeyStore

    try:
        store = KeyStore.from_env() or KeyStore.load(path or seer_home() / "api-keys.json")
    except AuthError as exc:
        raise click.ClickException(str(exc)) from exc
    if store.keys:
        return store
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_open:
        raise click.ClickException(
            f"refusing to serve {host} without authentication: anyone who reaches the port could record, "
            "recall and forget experiences. Create a key (seer-mcp keys create NAME --scopes recall,record), "
            "bind to 127.0.0.1, or pass --allow-unauthenticated-network-access."
        )
    logging.getLogger("seer").warning("HTTP without API keys: every client that reaches %s can use the pool",
                                      host)
    return None


class _LazyGroup(click.Group):
    """Subcommand groups live beside the code they drive; import them only when used."""

    lazy = {
        "pool": ("seer.seer_mcp.pool_cli", "pool"),
        "keys": ("seer.seer_mcp.keys_cli", "keys"),
        "bench": ("seer.eval.bench.cli", "bench"),
        "toolqa": ("seer.eval.toolqa.cli", "toolqa"),
        "run": ("seer.eval.cli", "run"),
        "demo": ("seer.eval.demo", "demo"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attr = self.lazy[cmd_name]
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, invoke_without_command=True)
@click.option(
    "--http",
    "http",
    metavar="HOST:PORT",
    help="Serve streamable HTTP at http://HOST:PORT/mcp "
    "instead of stdio (one server, many agents, one shared pool).",
)
@click.option(
    "--corpus",
    type=click.Path(file_okay=False, path_type=Path),
    help="ToolQA external_corpus folder (official layout). Default: a small synthetic corpus.",
)
@click.option(
    "--pool", "pool_name", default="default", show_default=True, help="Name of the experience pool."
)
@click.option(
    "--embedder",
    default="default",
    show_default=True,
    help="'default' (packaged all-MiniLM-L6-v2, offline), 'hash' (tests) or a sentence-transformers name.",
)
@click.option(
    "--seeds",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Seed demonstrations (SEER library.json or JSONL) imported into the pool at start.",
)
@click.option(
    "--log-level",
    default="WARNING",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
)
@click.option(
    "--api-keys",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="HTTP: the API key file (default $SEER_HOME/api-keys.json, made by `seer-mcp keys create`; or the "
    "SEER_API_KEYS variable). When it holds keys, every HTTP request needs one.",
)
@click.option(
    "--rate-limits",
    default="recall=50:200,record=20:100",
    show_default=True,
    help="HTTP with API keys: per key, ACTION=PER_SECOND:BURST for recall and record.",
)
@click.option(
    "--allow-unauthenticated-network-access",
    is_flag=True,
    help="DANGEROUS: serve HTTP on a non-loopback address with no API keys, so anyone who reaches the "
    "port can record, recall and forget experiences.",
)
@click.option(
    "--unsafe-python-sandbox",
    is_flag=True,
    help="UNSAFE: run PythonInterpreter without the bubblewrap boundary (its own user and namespaces), with "
    "only an audit hook between model-written code and this server's process, files and environment.",
)
@click.version_option(package_name="seer-mcp")
@click.pass_context
def main(
    ctx: click.Context,
    http: str | None,
    corpus: Path | None,
    pool_name: str,
    embedder: str,
    seeds: Path | None,
    log_level: str,
    api_keys: Path | None,
    rate_limits: str,
    allow_unauthenticated_network_access: bool,
    unsafe_python_sandbox: bool,
) -> None:
    """Serve the ToolQA tools plus stepwise experience recall over MCP (stdio by default)."""
    if ctx.invoked_subcommand is not None:
        return
    from seer.seer_mcp.server import ServerConfig, build_server

    logging.basicConfig(level=log_level, stream=sys.stderr)
    if corpus is not None and not corpus.is_dir():
        raise click.BadParameter(f"{corpus} is not a folder", param_hint="--corpus")
    if corpus is None:
        from seer.eval.toolqa.data import default_corpus

        corpus = default_corpus()
    if unsafe_python_sandbox:
        logging.getLogger("seer").warning(
            "--unsafe-python-sandbox: PythonInterpreter runs model-written code WITHOUT its boundary"
        )
    keys, host, port = None, "127.0.0.1", 0
    if http:
        host, port = _parse_host_port(http)
        keys = _http_keys(api_keys, host, allow_unauthenticated_network_access)
    config = ServerConfig(corpus=corpus, pool=pool_name, embedder=embedder, seeds=seeds, keys=keys,
                          public_url=f"http://{host}:{port}/mcp", rate_limits=_rate_limits(rate_limits),
                          python_isolation="audit-hook" if unsafe_python_sandbox else "namespaces")
    server = build_server(config)
    try:
        if http:
            who = f"{len(keys.keys)} API keys" if keys is not None else "NO authentication"
            click.echo(f"seer MCP server on http://{host}:{port}/mcp (pool {pool_name!r}, {who})", err=True)
            # handshake-era clients hold transport sessions: bounded in number and idle time, so a flood
            # of initialize calls cannot grow the server's memory without limit
            server.mcp.run("streamable-http", host=host, port=port, max_sessions=HTTP_MAX_SESSIONS,
                           session_idle_timeout=HTTP_SESSION_IDLE_S)
        else:
            server.mcp.run("stdio")
    finally:
        server.close()  # checkpoints the pool file
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalisation: DuckDB's nanobind bindings print spurious leak reports there.
    os._exit(0)


if __name__ == "__main__":
    main()
