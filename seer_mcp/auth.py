"""Who may use a shared pool over HTTP: named API keys with scopes, or access tokens from an external
OAuth issuer (:mod:`seer.seer_mcp.oauth`), verified by the MCP SDK's bearer middleware (401 with
``WWW-Authenticate``, OAuth protected-resource metadata).

Keys live hashed (SHA-256) in a JSON file (``$SEER_HOME/api-keys.json`` by default, made by
``seer-mcp keys create``) or in the ``SEER_API_KEYS`` environment variable (the same JSON). The plain
key is shown once, at creation. Scopes: ``recall`` (use the tools and recall), ``record`` (add
trajectories), ``admin`` (forget, and everything else). stdio needs none of this: its one client
started the server.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from pydantic import BaseModel, Field, ValidationError, field_validator

from seer.pool.trust import RESERVED_RECORDERS

if TYPE_CHECKING:
    from seer.seer_mcp.oauth import OAuthVerifier

Scope = Literal["recall", "record", "admin"]
SCOPES: tuple[Scope, ...] = ("recall", "record", "admin")
KEY_PREFIX = "seer_"
ENV_KEYS = "SEER_API_KEYS"


class AuthError(Exception):
    """A key file cannot be used, or a caller lacks a scope (the message says which)."""


class ApiKey(BaseModel):
    """One named key as stored: never the key itself, only its SHA-256."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scopes: list[Scope] = Field(min_length=1)
    created_at: str = ""

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.lower() in RESERVED_RECORDERS:  # a key must not pass for stdio, anonymous or legacy rows
            raise ValueError(f"{value!r} is reserved (names the pool gives recorders that hold no key)")
        return value


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyStore:
    """The named keys of one server (a JSON list of :class:`ApiKey`)."""

    def __init__(self, keys: list[ApiKey], path: Path | None = None):
        self.keys, self.path = keys, path

    @classmethod
    def load(cls, path: Path) -> KeyStore:
        """Keys from ``path`` (empty when it does not exist); errors name the file and the entry."""
        if not path.exists():
            return cls([], path)
        return cls(cls._parse(path.read_text(encoding="utf-8"), str(path)), path)

    @classmethod
    def from_env(cls) -> KeyStore | None:
        text = os.environ.get(ENV_KEYS)
        return None if not text else cls(cls._parse(text, f"${ENV_KEYS}"))

    @staticmethod
    def _parse(text: str, where: str) -> list[ApiKey]:
        try:
            raw = json.loads(text)
            if not isinstance(raw, list):
                raise AuthError(f"{where}: expected a JSON list of keys")
            keys = [ApiKey.model_validate(item) for item in raw]
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            raise AuthError(f"{where}: not a valid key file (entry {field}: {first['msg']})") from exc
        except ValueError as exc:
            raise AuthError(f"{where}: not a valid key file ({str(exc).splitlines()[0]})") from exc
        names = [k.name for k in keys]
        if len(set(names)) != len(names):
            raise AuthError(f"{where}: key names must be unique")
        return keys

    def save(self) -> None:
        if self.path is None:
            raise AuthError("these keys come from the environment: edit the variable instead")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps([k.model_dump() for k in self.keys], indent=1), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def create(self, name: str, scopes: list[Scope]) -> str:
        """A new key (returned once, in plain) for ``name`` with ``scopes``."""
        if any(k.name == name for k in self.keys):
            raise AuthError(f"a key named {name!r} exists already; revoke it first")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        try:
            entry = ApiKey(name=name, sha256=digest(key), scopes=scopes,
                           created_at=datetime.now(UTC).isoformat(timespec="seconds"))
        except ValidationError as exc:
            raise AuthError(f"key name {name!r}: {exc.errors()[0]['msg']}") from exc
        self.keys.append(entry)
        self.save()
        return key

    def revoke(self, name: str) -> bool:
        before = len(self.keys)
        self.keys = [k for k in self.keys if k.name != name]
        if len(self.keys) != before:
            self.save()
        return len(self.keys) != before

    def find(self, key: str) -> ApiKey | None:
        """The key's entry, compared in constant time against every stored digest."""
        wanted, found = digest(key), None
        for entry in self.keys:
            if hmac.compare_digest(entry.sha256, wanted):
                found = entry
        return found


class ApiKeyVerifier:
    """The SDK's ``TokenVerifier`` over a :class:`KeyStore`: the bearer token is a named key."""

    def __init__(self, store: KeyStore):
        self.store = store

    async def verify_token(self, token: str) -> AccessToken | None:
        entry = self.store.find(token)
        if entry is None:
            return None
        return AccessToken(token=token, client_id=entry.name, subject=entry.name, scopes=list(entry.scopes))


class EitherVerifier:
    """API keys and OAuth tokens on one server: a ``seer_`` token is looked up among the keys, any
    other is checked as a JWT from the issuer."""

    def __init__(self, keys: TokenVerifier, oauth: TokenVerifier):
        self.keys, self.oauth = keys, oauth

    async def verify_token(self, token: str) -> AccessToken | None:
        verifier = self.keys if token.startswith(KEY_PREFIX) else self.oauth
        return await verifier.verify_token(token)


def http_security(keys: KeyStore | None, oauth: OAuthVerifier | None, public_url: str) -> dict[str, Any]:
    """The ``MCPServer`` arguments that make every HTTP request present a key or a token (empty: an
    open server). The protected-resource metadata names the OAuth issuer as authorization server."""
    verifiers: list[TokenVerifier] = [v for v in (ApiKeyVerifier(keys) if keys else None, oauth) if v]
    if not verifiers:
        return {}
    verifier = verifiers[0] if len(verifiers) == 1 else EitherVerifier(*verifiers)
    settings = {"issuer_url": oauth.issuer if oauth is not None else public_url,
                "resource_server_url": public_url, "validate_token_resource": False}  # verifiers check aud
    return {"token_verifier": verifier, "auth": AuthSettings.model_validate(settings)}


def caller(ctx: Any = None) -> AccessToken | None:
    """The authenticated caller of this request (None on stdio or without auth)."""
    request = getattr(getattr(ctx, "request_context", None), "request", None) if ctx is not None else None
    user = getattr(request, "scope", {}).get("user") if request is not None else None
    token = getattr(user, "access_token", None)
    return token if token is not None else get_access_token()


def identity(token: AccessToken) -> str:
    """Who a verified caller is, the one name to record them by: an API key's name, or ``oauth:`` and
    an OAuth token's ``sub`` (key names hold no ``:``, so a token can never pass for a key's holder)."""
    if token.claims:
        return f"oauth:{token.subject or token.client_id}"
    return token.subject or token.client_id


def require(scope: Scope, ctx: Any, *, enabled: bool, limiter: RateLimiter | None = None,
            action: str | None = None) -> AccessToken | None:
    """Refuse the call unless the caller holds ``scope`` (``admin`` holds every scope) and, with a
    ``limiter``, has calls of ``action`` left."""
    token = caller(ctx)
    if not enabled:
        return token
    if token is None:
        raise AuthError("this server needs an API key or access token (Authorization: Bearer <token>)")
    if scope not in token.scopes and "admin" not in token.scopes:
        who = f"the token of {identity(token)!r}" if token.claims else f"the key {identity(token)!r}"
        raise AuthError(f"{who} lacks the {scope!r} scope (it has: {', '.join(token.scopes) or 'none'})")
    if limiter is not None and action is not None:
        limiter.take(identity(token), action)
    return token


class RateLimiter:
    """Token buckets per key and action: ``rate`` calls per second on average, bursts up to ``burst``."""

    def __init__(self, limits: dict[str, tuple[float, float]]):
        self.limits = limits  # action -> (rate per second, burst)
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, action: str) -> None:
        """Spend one call of ``action`` for ``key``; AuthError (retry advice) when the bucket is empty."""
        if action not in self.limits:
            return
        rate, burst = self.limits[action]
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get((key, action), (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[(key, action)] = (tokens, now)
                raise AuthError(f"rate limit: {key!r} may {action} {rate:g} times per second "
                                f"(bursts of {burst:g}); retry in {(1.0 - tokens) / rate:.1f} s")
            self._buckets[(key, action)] = (tokens - 1.0, now)


DEFAULT_LIMITS = {"recall": (50.0, 200.0), "record": (20.0, 100.0)}
