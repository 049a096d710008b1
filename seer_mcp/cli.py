"""`seer-mcp`: serve the tools and the experience pool over MCP; manage pools; run benchmarks."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

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


def _http_oauth(issuer: str | None, audiences: tuple[str, ...], jwks_url: str | None, jwks_file: Path | None,
                scope_prefix: str, cooldown_s: float) -> Any:
    """The verifier of an external OAuth issuer's tokens (None without --oauth-issuer); its keys are read
    now, so a wrong URL or file stops the server at start."""
    if issuer is None:
        if audiences or jwks_url or jwks_file:
            raise click.BadParameter("the --oauth-* options need --oauth-issuer", param_hint="--oauth-issuer")
        return None
    if not audiences:
        raise click.BadParameter("tokens are checked for their audience: pass --oauth-audience",
                                 param_hint="--oauth-audience")
    if jwks_url and jwks_file:
        raise click.BadParameter("pass one of --oauth-jwks-url and --oauth-jwks-file",
                                 param_hint="--oauth-jwks-url")
    from seer.seer_mcp.auth import AuthError
    from seer.seer_mcp.oauth import JwksSource, OAuthVerifier, discover_jwks_url

    try:
        url = jwks_url or (None if jwks_file else discover_jwks_url(issuer))
        jwks = JwksSource(url, jwks_file, cooldown_s=cooldown_s)
        jwks.load()
        return OAuthVerifier(issuer, audiences, jwks, scope_prefix=scope_prefix)
    except AuthError as exc:
        raise click.ClickException(f"OAuth issuer {issuer}: {exc}") from exc


def _names(text: str | None) -> tuple[str, ...] | None:
    """A comma-separated list of names (None when the option was not given)."""
    return None if text is None else tuple(filter(None, (part.strip() for part in text.split(","))))


def _http_keys(path: Path | None, host: str, allow_open: bool, *, oauth: bool = False) -> Any:
    """The API keys an HTTP server checks (None: none); refuses a server open to everyone (no keys, no
    OAuth issuer) on a non-loopback address unless the operator passed
    --allow-unauthenticated-network-access."""
    import ipaddress

    from seer.pool.home import seer_home
    from seer.seer_mcp.auth import AuthError, KeyStore

    try:
        store = KeyStore.from_env() or KeyStore.load(path or seer_home() / "api-keys.json")
    except AuthError as exc:
        raise click.ClickException(str(exc)) from exc
    if store.keys:
        return store
    if oauth:
        return None
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_open:
        raise click.ClickException(
            f"refusing to serve {host} without authentication: anyone who reaches the port could record, "
            "recall and forget experiences. Create a key (seer-mcp keys create NAME --scopes recall,record), "
            "accept an OAuth issuer's tokens (--oauth-issuer), bind to 127.0.0.1, or pass "
            "--allow-unauthenticated-network-access."
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
@click.option("--oauth-issuer", metavar="URL",
              help="HTTP: also accept JWT access tokens from this OAuth issuer (its exact `iss`); named as "
              "the authorization server in the protected-resource metadata.")
@click.option("--oauth-audience", metavar="AUD", multiple=True,
              help="HTTP with --oauth-issuer: the `aud` tokens must name for this server (repeatable).")
@click.option("--oauth-jwks-url", metavar="URL",
              help="The issuer's signing keys (JWKS). Default: the jwks_uri of its OpenID configuration.")
@click.option("--oauth-jwks-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The issuer's signing keys from a JWKS file instead (re-read when a token names a new "
              "kid).")
@click.option("--oauth-scope-prefix", default="", metavar="PREFIX",
              help="Only token scopes PREFIX+recall/record/admin count (e.g. 'seer:'); default: bare names.")
@click.option("--oauth-jwks-cooldown", default=30.0, show_default=True, type=click.FloatRange(min=0),
              metavar="SECONDS", help="At most one JWKS refetch per this many seconds for tokens with an "
              "unknown kid (key rotation).")
@click.option(
    "--rate-limits",
    default="recall=50:200,record=20:100",
    show_default=True,
    help="HTTP with API keys: per key, ACTION=PER_SECOND:BURST for recall and record.",
)
@click.option("--trusted-recorders", metavar="A,B,...",
              help="Recall only experiences recorded by these (API key names, token subjects, 'local', "
              "'seed:<file>'; 'prefix*' patterns). Clients can narrow this, never widen it. Default: any.")
@click.option("--trusted-judges", metavar="J,K,...",
              help="Recall only experiences judged by these kinds (exact_match, numeric, llm_gold, env, "
              "seed, self, ...; 'prefix*' patterns). Clients can narrow this, never widen it. Default: any.")
@click.option("--hold", type=click.Choice(["self-judged", "all", "none"]), default="self-judged",
              show_default=True,
              help="Which records from HTTP clients wait for an admin's release before they are recalled: "
              "self-judged (judged by no gold answer or environment), all, or none. Records whose text "
              "looks like instructions are held whatever this says.")
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
@click.option("--candidate-factor", type=click.IntRange(min=1), default=None, metavar="N",
              help="ANN path (pools above 20,000 experiences): candidates per index = N x k, re-scored "
              "exactly. Default: 50, 100 above 250,000 experiences (seer.pool.ann.DEFAULT_FACTOR, "
              "LARGE_FACTOR), chosen by measurement (docs/results).")
@click.option("--ann-expansion", type=click.IntRange(min=1), default=None, metavar="N",
              help="ANN path: the graph search's beam (raised to the candidate count when smaller).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Intra-op threads of torch (the embedder) and BLAS/OpenMP. Default: SEER_THREADS, else 1: "
              "concurrent requests run on separate worker threads instead.")
@click.option("--defer-embedding", is_flag=True,
              help="Acknowledge a record once it is committed with its texts, and embed it afterwards (a "
              "worker thread, in batches): many writers are answered at the rate the pool commits, not the "
              "rate the model embeds. Such a record is not recalled until embedded (its result says "
              "pending: true; pool stats count pending records and the lag), and a near-duplicate is "
              "merged only then. Default: embed before acknowledging (recallable once acknowledged).")
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
    oauth_issuer: str | None,
    oauth_audience: tuple[str, ...],
    oauth_jwks_url: str | None,
    oauth_jwks_file: Path | None,
    oauth_scope_prefix: str,
    oauth_jwks_cooldown: float,
    rate_limits: str,
    trusted_recorders: str | None,
    trusted_judges: str | None,
    hold: str,
    allow_unauthenticated_network_access: bool,
    unsafe_python_sandbox: bool,
    candidate_factor: int | None,
    ann_expansion: int | None,
    threads: int | None,
    defer_embedding: bool,
) -> None:
    """Serve the ToolQA tools plus stepwise experience recall over MCP (stdio by default)."""
    if ctx.invoked_subcommand is not None:
        return
    from seer.pool.ann import AnnSettings
    from seer.pool.threads import limit_threads
    from seer.pool.trust import HoldPolicy, TrustPolicy
    from seer.seer_mcp.server import ServerConfig, build_server

    logging.basicConfig(level=log_level, stream=sys.stderr)
    limit_threads(threads)
    ann = AnnSettings()
    ann = replace(ann, candidate_factor=candidate_factor or ann.candidate_factor,
                  expansion_search=ann_expansion or ann.expansion_search)
    if corpus is not None and not corpus.is_dir():
        raise click.BadParameter(f"{corpus} is not a folder", param_hint="--corpus")
    if corpus is None:
        from seer.eval.toolqa.data import default_corpus

        corpus = default_corpus()
    if unsafe_python_sandbox:
        logging.getLogger("seer").warning(
            "--unsafe-python-sandbox: PythonInterpreter runs model-written code WITHOUT its boundary"
        )
    keys, oauth, host, port = None, None, "127.0.0.1", 0
    if http:
        host, port = _parse_host_port(http)
        oauth = _http_oauth(oauth_issuer, oauth_audience, oauth_jwks_url, oauth_jwks_file, oauth_scope_prefix,
                            oauth_jwks_cooldown)
        keys = _http_keys(api_keys, host, allow_unauthenticated_network_access, oauth=oauth is not None)
    config = ServerConfig(corpus=corpus, pool=pool_name, embedder=embedder, seeds=seeds, keys=keys,
                          oauth=oauth, public_url=f"http://{host}:{port}/mcp",
                          rate_limits=_rate_limits(rate_limits),
                          trust=TrustPolicy(_names(trusted_recorders), _names(trusted_judges),
                                            cast("HoldPolicy", hold)),
                          python_isolation="audit-hook" if unsafe_python_sandbox else "namespaces", ann=ann,
                          defer_embedding=defer_embedding)
    server = build_server(config)
    try:
        if http:
            who = " and ".join(([f"{len(keys.keys)} API keys"] if keys is not None else [])
                               + ([f"OAuth tokens from {oauth.issuer}"] if oauth is not None else []))
            who = who or "NO authentication"
            click.echo(f"seer MCP server on http://{host}:{port}/mcp (pool {pool_name!r}, {who})", err=True)
            # handshake-era clients hold transport sessions: bounded in number and idle time, so a flood
            # of initialize calls cannot grow the server's memory without limit
            server.mcp.run("streamable-http", host=host, port=port, max_sessions=HTTP_MAX_SESSIONS,
                           session_idle_timeout=HTTP_SESSION_IDLE_S)
        else:
            from seer.seer_mcp.stdio_serve import serve_stdio

            serve_stdio(server.mcp)  # uvicorn handles the signals for HTTP
    finally:
        server.close()  # checkpoints the pool file
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalisation: DuckDB's nanobind bindings print spurious leak reports there.
    os._exit(0)


if __name__ == "__main__":
    main()
