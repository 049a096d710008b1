"""Access tokens from an external OAuth issuer: JWTs checked against the issuer's JWKS, served by a real
local issuer on 127.0.0.1, against the real server and the real MCP client."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import click
import httpx
import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from seer.seer_mcp.auth import ApiKeyVerifier, AuthError, EitherVerifier, KeyStore, http_security, identity
from seer.seer_mcp.cli import _http_keys, main
from seer.seer_mcp.oauth import JwksSource, OAuthVerifier, discover_jwks_url, seer_scopes
from tests.server.conftest import HttpServer, client_with, text
from tests.server.test_mcp_pool import record_args

AUDIENCE = "https://seer.example/mcp"


class Issuer:
    """A local OAuth issuer: private keys, the public JWKS of the published ones and an OpenID
    configuration, over HTTP on 127.0.0.1; counts JWKS fetches."""

    def __init__(self) -> None:
        self.private: dict[str, Any] = {}
        self.published: list[str] = []
        self.jwks_fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path == "/jwks.json":
                    issuer.jwks_fetches += 1
                    body = issuer.jwks()
                elif self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks.json"}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.jwks_url = self.url + "/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add_key(self, kid: str, kind: str = "rsa", *, publish: bool = True) -> None:
        self.private[kid] = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa"
                             else ec.generate_private_key(ec.SECP256R1()))
        if publish:
            self.published.append(kid)

    def jwk(self, kid: str) -> dict[str, Any]:
        public = self.private[kid].public_key()
        exported = (RSAAlgorithm.to_jwk(public, as_dict=True) if isinstance(public, rsa.RSAPublicKey)
                    else ECAlgorithm.to_jwk(public, as_dict=True))
        assert isinstance(exported, dict)
        return {**exported, "kid": kid, "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk(kid) for kid in self.published]}

    def claims(self, sub: str = "alice", scope: str | None = "recall", *, aud: Any = AUDIENCE,
               iss: str | None = None, exp_in: int = 300, **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": iss or self.url, "sub": sub, "aud": aud, "iat": now, "exp": now + exp_in,
                  "scope": scope, **extra}
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, kid: str, sub: str = "alice", scope: str | None = "recall", **claims: Any) -> str:
        key = self.private[kid]
        alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(self.claims(sub, scope, **claims), key, algorithm=alg, headers={"kid": kid})

    def public_pem(self, kid: str) -> bytes:
        return bytes(self.private[kid].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def unsigned(claims: dict[str, Any], header: dict[str, Any], key: bytes = b"") -> str:
    """A JWT with any header; with ``key``, an HMAC-SHA256 signature (the key-confusion attack)."""
    def b64(data: bytes) -> str:
        return jwt.utils.base64url_encode(data).decode()

    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    signature = hmac.new(key, head.encode(), hashlib.sha256).digest() if key else b""
    return head + "." + b64(signature)


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    server = Issuer()
    server.add_key("rsa-1")
    server.add_key("ec-1", "ec")
    server.add_key("stranger", publish=False)  # a key the issuer never published
    yield server
    server.close()


def verifier(issuer: Issuer, *, cooldown_s: float = 30.0, **kwargs: Any) -> OAuthVerifier:
    jwks = JwksSource(issuer.jwks_url, cooldown_s=cooldown_s)
    jwks.load()
    return OAuthVerifier(issuer.url, [AUDIENCE], jwks, **kwargs)


# --- the verifier on its own -------------------------------------------------------------------


def test_valid_rsa_and_ec_tokens_name_their_subject_and_scopes(issuer: Issuer) -> None:
    check = verifier(issuer).check
    rsa_token = check(issuer.token("rsa-1", "alice", "openid recall profile"))
    ec_token = check(issuer.token("ec-1", "bob", None, scp=["record", "admin", "email"], azp="agent-app"))
    assert rsa_token is not None and ec_token is not None
    assert (identity(rsa_token), rsa_token.scopes) == ("oauth:alice", ["recall"])
    assert rsa_token.resource == AUDIENCE
    assert (identity(ec_token), ec_token.client_id) == ("oauth:bob", "agent-app")
    assert ec_token.scopes == ["record", "admin"]
    assert (rsa_token.claims or {})["iss"] == issuer.url  # the SDK's session binding reads the issuer here
    listed = check(issuer.token("rsa-1", aud=["other-api", AUDIENCE]))
    assert listed is not None and listed.resource == AUDIENCE


def test_scope_claims_map_onto_seer_scopes() -> None:
    assert seer_scopes({"scope": "recall write:all admin"}) == ["recall", "admin"]
    assert seer_scopes({"scp": ["record", 7, "recall"]}) == ["recall", "record"]
    assert seer_scopes({"scp": "recall record"}) == ["recall", "record"]
    assert seer_scopes({}) == []
    prefixed = {"scope": "seer:recall record seer:admin"}
    assert seer_scopes(prefixed, "seer:") == ["recall", "admin"]  # bare "record" is someone else's scope


def test_prefixed_scopes_through_the_verifier(issuer: Issuer) -> None:
    token = verifier(issuer, scope_prefix="seer:").check(issuer.token("rsa-1", scope="recall seer:record"))
    assert token is not None and token.scopes == ["record"]


REFUSED: dict[str, Any] = {
    "expired": lambda i: i.token("rsa-1", exp_in=-120),
    "wrong audience": lambda i: i.token("rsa-1", aud="https://other.example/mcp"),
    "wrong issuer": lambda i: i.token("rsa-1", iss="https://evil.example"),
    "not yet valid": lambda i: i.token("rsa-1", nbf=int(time.time()) + 600),
    "no exp": lambda i: jwt.encode({k: v for k, v in i.claims().items() if k != "exp"}, i.private["rsa-1"],
                                   algorithm="RS256", headers={"kid": "rsa-1"}),
    "no sub": lambda i: jwt.encode({k: v for k, v in i.claims().items() if k != "sub"}, i.private["rsa-1"],
                                   algorithm="RS256", headers={"kid": "rsa-1"}),
    "unknown key": lambda i: i.token("stranger"),
    "unknown key under a published kid": lambda i: jwt.encode(i.claims(), i.private["stranger"],
                                                              algorithm="RS256", headers={"kid": "rsa-1"}),
    "alg none": lambda i: unsigned(i.claims(), {"alg": "none", "typ": "JWT", "kid": "rsa-1"}),
    "HS256 with a secret": lambda i: jwt.encode(i.claims(), "s" * 32, algorithm="HS256",
                                                headers={"kid": "rsa-1"}),
    "HS256 keyed with the public key": lambda i: unsigned(i.claims(), {"alg": "HS256", "kid": "rsa-1"},
                                                          i.public_pem("rsa-1")),
    "ES256 header on an RSA key": lambda i: jwt.encode(i.claims(), i.private["ec-1"], algorithm="ES256",
                                                       headers={"kid": "rsa-1"}),
    "not a JWT": lambda i: "eyJhbGciOiJSUzI1NiJ9.garbage",
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_tokens_are_refused(issuer: Issuer, case: str) -> None:
    assert verifier(issuer).check(REFUSED[case](issuer)) is None


def test_clock_skew_within_the_leeway_is_tolerated(issuer: Issuer) -> None:
    token = verifier(issuer).check(issuer.token("rsa-1", exp_in=-10))
    assert token is not None and token.expires_at is not None and token.expires_at > time.time()


def test_unknown_kids_refetch_the_jwks_at_most_once_per_cooldown(issuer: Issuer) -> None:
    check = verifier(issuer, cooldown_s=0.5).check
    time.sleep(0.6)  # past the cooldown of the first load
    before = issuer.jwks_fetches
    for _ in range(5):  # made-up kids: one refetch, then the cooldown holds
        assert check(jwt.encode(issuer.claims(), issuer.private["stranger"], algorithm="RS256",
                                headers={"kid": f"made-up-{_}"})) is None
    assert issuer.jwks_fetches - before == 1
    issuer.add_key("rsa-2")  # the issuer rotates
    try:
        rotated = issuer.token("rsa-2", "carol")
        assert check(rotated) is None  # still within the cooldown
        time.sleep(0.6)
        token = check(rotated)
        assert token is not None and identity(token) == "oauth:carol"
        assert check(issuer.token("rsa-1")) is not None  # cached keys need no fetch
        assert issuer.jwks_fetches - before == 2
    finally:
        issuer.published.remove("rsa-2")


def test_jwks_file_is_reread_for_a_new_kid(issuer: Issuer, tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [issuer.jwk("rsa-1")]}))
    jwks = JwksSource(path=path, cooldown_s=0)
    jwks.load()
    check = OAuthVerifier(issuer.url, [AUDIENCE], jwks).check
    assert check(issuer.token("rsa-1")) is not None and check(issuer.token("ec-1")) is None
    path.write_text(json.dumps({"keys": [issuer.jwk("rsa-1"), issuer.jwk("ec-1")]}))
    assert check(issuer.token("ec-1")) is not None


def test_jwks_sources_are_checked(issuer: Issuer, tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="https"):
        JwksSource("http://keys.example/jwks.json")  # plain http beyond loopback: refused before any fetch
    symmetric = tmp_path / "oct.json"
    symmetric.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}))
    with pytest.raises(AuthError, match="no asymmetric signing key"):
        JwksSource(path=symmetric).load()
    with pytest.raises(AuthError, match="not a JWKS"):
        JwksSource(issuer.url + "/.well-known/openid-configuration").load()
    with pytest.raises(AuthError, match="not an http"):
        OAuthVerifier("issuer-without-scheme", [AUDIENCE], JwksSource(issuer.jwks_url))


def test_discovery_finds_the_jwks_and_checks_the_issuer(issuer: Issuer) -> None:
    assert discover_jwks_url(issuer.url) == issuer.jwks_url
    with pytest.raises(AuthError, match="names the issuer"):
        discover_jwks_url(issuer.url + "/")  # issuers compare exactly
    with pytest.raises(AuthError, match="--oauth-jwks-url"):
        discover_jwks_url(issuer.url + "/realms/other")  # no metadata there


def test_keys_and_tokens_on_one_server(issuer: Issuer, tmp_path: Path) -> None:
    store = KeyStore([], tmp_path / "keys.json")
    key = store.create("ops", ["admin"])
    oauth = verifier(issuer)
    security = http_security(store, oauth, "http://127.0.0.1:9/mcp")
    either = security["token_verifier"]
    assert isinstance(either, EitherVerifier)
    assert str(security["auth"].issuer_url) == issuer.url  # the issuer is the authorization server

    async def main() -> None:
        by_key, by_token = await either.verify_token(key), await either.verify_token(issuer.token("rsa-1"))
        assert by_key is not None and identity(by_key) == "ops" and by_key.scopes == ["admin"]
        assert by_token is not None and identity(by_token) == "oauth:alice"
        assert await either.verify_token("seer_not-a-key") is None

    anyio.run(main)
    assert isinstance(http_security(store, None, "http://x/mcp")["token_verifier"], ApiKeyVerifier)
    assert http_security(None, None, "http://x/mcp") == {}


def test_an_oauth_issuer_counts_as_authentication_on_open_addresses() -> None:
    assert _http_keys(None, "0.0.0.0", False, oauth=True) is None
    with pytest.raises(click.ClickException, match="without authentication"):
        _http_keys(None, "0.0.0.0", False)


def test_cli_refuses_incomplete_oauth_options(issuer: Issuer, tmp_path: Path) -> None:
    base = ["--http", "127.0.0.1:1", "--corpus", str(tmp_path), "--oauth-issuer", issuer.url]
    no_audience = CliRunner().invoke(main, base)
    assert no_audience.exit_code != 0 and "--oauth-audience" in no_audience.output
    unreachable = CliRunner().invoke(main, [*base, "--oauth-audience", AUDIENCE,
                                            "--oauth-jwks-url", issuer.url + "/missing.json"])
    assert unreachable.exit_code != 0 and "missing.json" in unreachable.output
    orphan = CliRunner().invoke(main, ["--http", "127.0.0.1:1", "--corpus", str(tmp_path),
                                       "--oauth-audience", AUDIENCE])
    assert orphan.exit_code != 0 and "need --oauth-issuer" in orphan.output


# --- the real server, the real client --------------------------------------------------------------


@pytest.fixture(scope="module")
def oauth_server(issuer: Issuer, real_corpus: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[HttpServer]:
    """One server for this module, taking tokens from ``issuer`` (JWKS found by discovery)."""
    env = {**os.environ, "SEER_HOME": str(tmp_path_factory.mktemp("oauth-home"))}
    server = HttpServer(real_corpus, extra_args=["--oauth-issuer", issuer.url, "--oauth-audience", AUDIENCE,
                                                 "--oauth-jwks-cooldown", "0.2"], env=env).start()
    yield server
    server.stop()


def post(server: HttpServer, token: str) -> httpx.Response:
    headers = {"Accept": "application/json, text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(server.url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=headers)


def test_metadata_names_the_issuer(oauth_server: HttpServer, issuer: Issuer) -> None:
    base = oauth_server.url.rsplit("/mcp", 1)[0]
    metadata = httpx.get(f"{base}/.well-known/oauth-protected-resource/mcp").json()
    assert metadata["authorization_servers"] == [issuer.url] and metadata["resource"] == oauth_server.url
    assert "Bearer" in post(oauth_server, "").headers.get("www-authenticate", "")


def test_scopes_decide_what_a_token_may_do(oauth_server: HttpServer, issuer: Issuer) -> None:
    async def main() -> None:
        async with client_with(oauth_server.url, issuer.token("rsa-1", "reader@example", "recall")) as client:
            assert not (await client.call_tool("recall_experiences", {"task": "coffee"})).is_error
            denied = await client.call_tool("record_trajectory", record_args(1))
            assert denied.is_error and "'record' scope" in text(denied) and "reader@example" in text(denied)
        async with client_with(oauth_server.url, issuer.token("ec-1", "agent", "recall record")) as client:
            out = await client.call_tool("record_trajectory", record_args(2))
            assert not out.is_error, text(out)
            stored_id = out.structured_content["id"]
            denied = await client.call_tool("forget_experience", {"experience_id": stored_id})
            assert denied.is_error and "'admin' scope" in text(denied)
        async with client_with(oauth_server.url, issuer.token("rsa-1", "ops", "admin")) as client:
            forgot = await client.call_tool("forget_experience", {"experience_id": stored_id})
            assert not forgot.is_error, text(forgot)

    anyio.run(main)


HTTP_REFUSED = ["expired", "wrong audience", "wrong issuer", "unknown key", "alg none", "HS256 with a secret",
                "HS256 keyed with the public key"]


@pytest.mark.parametrize("case", HTTP_REFUSED)
def test_bad_tokens_get_401(oauth_server: HttpServer, issuer: Issuer, case: str) -> None:
    assert post(oauth_server, issuer.token("rsa-1")).status_code != 401  # the same request, a good token
    refused = post(oauth_server, REFUSED[case](issuer))
    assert refused.status_code == 401 and "Bearer" in refused.headers["www-authenticate"]


def test_a_key_rotated_in_after_start_is_accepted(oauth_server: HttpServer, issuer: Issuer) -> None:
    issuer.add_key("rsa-rotated")
    try:
        time.sleep(0.3)  # past the server's refetch cooldown

        async def main() -> None:
            async with client_with(oauth_server.url, issuer.token("rsa-rotated", "dave", "recall")) as client:
                assert not (await client.call_tool("recall_experiences", {"task": "coffee"})).is_error

        anyio.run(main)
    finally:
        issuer.published.remove("rsa-rotated")


def test_api_keys_and_oauth_together(issuer: Issuer, real_corpus: Path,
                                     http_server_factory: type[HttpServer]) -> None:
    from seer.pool.home import seer_home

    key = KeyStore.load(seer_home() / "api-keys.json").create("harness", ["recall"])
    oauth = ["--oauth-issuer", issuer.url, "--oauth-audience", AUDIENCE, "--oauth-jwks-url", issuer.jwks_url]
    server = http_server_factory(real_corpus, extra_args=oauth).start()
    assert post(server, "seer_not-a-key").status_code == 401

    async def main() -> None:
        for bearer, who in ((key, "harness"), (issuer.token("ec-1", "erin", "recall"), "oauth:erin")):
            async with client_with(server.url, bearer) as client:
                assert not (await client.call_tool("recall_experiences", {"task": "coffee"})).is_error
                denied = await client.call_tool("record_trajectory", record_args(3))
                assert denied.is_error and repr(who) in text(denied)

    anyio.run(main)
