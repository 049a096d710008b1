"""`seer-mcp`: serve the tools and the experience pool over MCP; manage pools; run benchmarks."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path

import click

HTTP_MAX_SESSIONS = 1024
HTTP_SESSION_IDLE_S = 600.0


def _parse_host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}", param_hint="--http")
    return host or "127.0.0.1", int(port)


class _LazyGroup(click.Group):
    """Subcommand groups live beside the code they drive; import them only when used."""

    lazy = {
        "pool": ("seer.seer_mcp.pool_cli", "pool"),
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
    config = ServerConfig(corpus=corpus, pool=pool_name, embedder=embedder, seeds=seeds,
                          python_isolation="audit-hook" if unsafe_python_sandbox else "namespaces")
    server = build_server(config)
    try:
        if http:
            host, port = _parse_host_port(http)
            click.echo(f"seer MCP server on http://{host}:{port}/mcp (pool {pool_name!r})", err=True)
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
