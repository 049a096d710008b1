"""Bearer tokens from an external OAuth issuer: JWTs checked against the issuer's published keys.

The issuer (Keycloak, Auth0, Entra ID, Dex, ...) signs access tokens with an asymmetric key; this
server fetches the public keys (a JWKS, from a URL or a file), picks one by the token's ``kid`` and
checks the signature, ``iss``, ``aud``, ``exp`` and ``nbf``. The token's ``scope`` (space separated) or
``scp`` (a list) claim grants seer's scopes (``recall``, ``record``, ``admin``; with a prefix such as
``seer:``, only ``seer:recall`` etc. count); other scopes are ignored. The caller is the token's ``sub``.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx
import jwt
from mcp.server.auth.provider import AccessToken

from seer.seer_mcp.auth import SCOPES, AuthError, Scope

log = logging.getLogger(__name__)

# the asymmetric algorithms accepted, with the key type each needs: never "none", never HS* (a shared
# secret would let anyone holding the public JWKS forge tokens if it were used as an HMAC key)
ALGORITHMS: dict[str, str] = {
    "RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "PS256": "RSA", "PS384": "RSA", "PS512": "RSA",
    "ES256": "EC", "ES384": "EC", "ES512": "EC", "EdDSA": "OKP",
}
LEEWAY_S = 30.0  # clock skew tolerated on exp, nbf and iat
MAX_JWKS_BYTES = 1_000_000


def _fetchable(url: str) -> str:
    """``url`` when it is https, or http to a loopback host (tests, a sidecar); AuthError otherwise."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise AuthError(f"{url}: key and metadata URLs must use https (plain http only on loopback)")
    return url


def _get_json(url: str, timeout_s: float) -> Any:
    try:
        response = httpx.get(_fetchable(url), timeout=timeout_s, follow_redirects=False)
        response.raise_for_status()
        if len(response.content) > MAX_JWKS_BYTES:
            raise AuthError(f"{url}: the document is larger than {MAX_JWKS_BYTES} bytes")
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise AuthError(f"{url}: {exc}") from exc


def discover_jwks_url(issuer: str, timeout_s: float = 5.0) -> str:
    """The ``jwks_uri`` from the issuer's OpenID configuration (or RFC 8414 metadata); the document
    must name the same issuer."""
    parts = urlsplit(issuer)
    candidates = [issuer.rstrip("/") + "/.well-known/openid-configuration",
                  urlunsplit((parts.scheme, parts.netloc,
                              "/.well-known/oauth-authorization-server" + parts.path.rstrip("/"), "", ""))]
    errors = []
    for url in candidates:
        try:
            doc = _get_json(url, timeout_s)
        except AuthError as exc:
            errors.append(str(exc))
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("jwks_uri"), str):
            errors.append(f"{url}: no jwks_uri")
        elif doc.get("issuer", issuer) != issuer:
            errors.append(f"{url}: names the issuer {doc.get('issuer')!r}, not {issuer!r}")
        else:
            return _fetchable(doc["jwks_uri"])
    raise AuthError(f"cannot find the issuer's keys ({'; '.join(errors)}); pass --oauth-jwks-url or "
                    "--oauth-jwks-file")


class JwksSource:
    """The issuer's public signing keys, cached by ``kid``. They are refetched when older than
    ``max_age_s``, and at once when a token names an unknown ``kid`` (key rotation), but at most once
    per ``cooldown_s``, so tokens with made-up kids cannot make this server hammer the issuer."""

    def __init__(self, url: str | None = None, path: Path | None = None, *, cooldown_s: float = 30.0,
                 max_age_s: float = 3600.0, timeout_s: float = 5.0):
        if (url is None) == (path is None):
            raise AuthError("the issuer's keys come from exactly one of a URL or a file")
        self.url, self.path = (_fetchable(url) if url else None), path
        self.cooldown_s, self.max_age_s, self.timeout_s = cooldown_s, max_age_s, timeout_s
        self._keys: dict[str | None, dict[str, Any]] = {}
        self._loaded_at: float | None = None  # last successful load
        self._tried_at = float("-inf")  # last attempt, successful or not
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        return self.url or str(self.path)

    def load(self) -> None:
        """Read the key set now; AuthError naming the source when it cannot be read or has no usable key."""
        self._tried_at = time.monotonic()
        if self.url is not None:
            doc = _get_json(self.url, self.timeout_s)
        else:
            try:
                doc = json.loads(Path(str(self.path)).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise AuthError(f"{self.path}: {exc}") from exc
        raw = doc.get("keys") if isinstance(doc, dict) else None
        if not isinstance(raw, list):
            raise AuthError(f"{self.where}: not a JWKS (no 'keys' list)")
        keys = {k.get("kid"): k for k in raw if isinstance(k, dict)
                and k.get("kty") in ("RSA", "EC", "OKP") and k.get("use", "sig") == "sig"}
        if not keys:
            raise AuthError(f"{self.where}: no asymmetric signing key in the JWKS")
        self._keys, self._loaded_at = keys, time.monotonic()

    def fresh(self, kid: str | None) -> bool:
        """Whether :meth:`key` answers ``kid`` from the cache, without reading the source."""
        loaded = self._loaded_at
        fresh = loaded is not None and time.monotonic() - loaded < self.max_age_s
        return fresh and self._find(kid) is not None

    def key(self, kid: str | None) -> dict[str, Any] | None:
        """The JWK for ``kid`` (a token without kid: the set's only key), reloading as the class says.
        Blocking: async callers run it in a worker thread unless :meth:`fresh`."""
        with self._lock:
            if self.fresh(kid):
                return self._find(kid)
            if time.monotonic() - self._tried_at >= self.cooldown_s:
                try:
                    self.load()
                except AuthError as exc:  # keep serving the keys we have; the issuer may be briefly down
                    log.warning("could not reload the OAuth issuer's keys: %s", exc)
            return self._find(kid)

    def _find(self, kid: str | None) -> dict[str, Any] | None:
        keys = self._keys
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        return keys.get(kid) if kid is not None else None


def seer_scopes(claims: dict[str, Any], prefix: str = "") -> list[Scope]:
    """seer's scopes granted by the ``scope`` (space separated) and ``scp`` (list or string) claims;
    with ``prefix`` only the names that carry it count. Unknown scopes are ignored."""
    names: set[str] = set()
    for claim in ("scope", "scp"):
        value = claims.get(claim)
        items = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
        names.update(item for item in items if isinstance(item, str))
    granted = {name[len(prefix):] for name in names if name.startswith(prefix)}
    return [scope for scope in SCOPES if scope in granted]


class OAuthVerifier:
    """The SDK's ``TokenVerifier`` for JWT access tokens from one issuer, for one or more audiences."""

    def __init__(self, issuer: str, audiences: Sequence[str], jwks: JwksSource, *, scope_prefix: str = "",
                 leeway_s: float = LEEWAY_S):
        if urlsplit(issuer).scheme not in ("https", "http") or not urlsplit(issuer).netloc:
            raise AuthError(f"the issuer {issuer!r} is not an http(s) URL")
        if not audiences:
            raise AuthError("an OAuth issuer needs the audience its tokens name for this server")
        self.issuer, self.audiences, self.jwks = issuer, list(audiences), jwks
        self.scope_prefix, self.leeway_s = scope_prefix, leeway_s

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        if isinstance(kid, str | None) and self.jwks.fresh(kid):  # the common case: no I/O
            return self.check(token)
        return await anyio.to_thread.run_sync(self.check, token)

    def check(self, token: str) -> AccessToken | None:
        """The verified token (None when anything is wrong; the reason goes to the debug log)."""
        try:
            return self._check(token)
        except (jwt.PyJWTError, AuthError) as exc:
            log.debug("refused an OAuth token: %s", exc)
            return None

    def _check(self, token: str) -> AccessToken:
        header = jwt.get_unverified_header(token)
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise AuthError(f"algorithm {alg!r} is not accepted")
        if kid is not None and not isinstance(kid, str):
            raise AuthError("kid is not a string")
        jwk = self.jwks.key(kid)
        if jwk is None:
            raise AuthError(f"no key {kid!r} in {self.jwks.where}")
        if jwk.get("kty") != ALGORITHMS[alg] or jwk.get("alg", alg) != alg:
            raise AuthError(f"key {kid!r} ({jwk.get('kty')}, {jwk.get('alg')}) does not sign {alg}")
        claims: dict[str, Any] = jwt.decode(
            token, key=jwt.PyJWK(jwk, algorithm=alg), algorithms=[alg], audience=self.audiences,
            issuer=self.issuer, leeway=self.leeway_s, options={"require": ["exp", "iss", "aud", "sub"]})
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise AuthError("sub is not a non-empty string")
        aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        client = claims.get("client_id") or claims.get("azp")
        return AccessToken(
            token=token, client_id=client if isinstance(client, str) and client else subject, subject=subject,
            scopes=list(seer_scopes(claims, self.scope_prefix)),
            expires_at=int(claims["exp"] + self.leeway_s),  # the SDK compares exp again, without leeway
            resource=next(a for a in self.audiences if a in aud), claims=claims)
