"""Per-client tool state.

MCP 2026-07-28 is stateless: a server sees no transport session on stdio or modern HTTP. Tool state
(the loaded table and its filters, loaded graphs) must still never leak between clients. A request
names its state, in order: the request ``_meta`` key ``seer/session`` or the HTTP header
``X-Seer-Session`` (an explicit session always wins), the transport session id (handshake-era HTTP);
otherwise the one default state of a stdio server, whose process serves exactly one client.

Over HTTP many clients share the server, so an explicit session must be one the server issued
(``open_session``: unguessable ids), a request without one gets no shared default state, and new
sessions are refused rather than evicting live ones when the table is full.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from seer.seer_mcp.protocol import META_KEY

HEADER = "x-seer-session"
DEFAULT_KEY = "default"
ISSUED_PREFIX = "session:"

StateT = TypeVar("StateT")


class SessionError(Exception):
    """A session cannot be used or opened (the message says why and what to do)."""


def client_key(
    session_id: str | None, meta: Mapping[str, Any] | None, headers: Mapping[str, str] | None
) -> str:
    """The key that identifies one client's tool state (an explicit session first)."""
    if meta and isinstance(meta.get(META_KEY), str) and meta[META_KEY]:
        return ISSUED_PREFIX + meta[META_KEY]
    if headers:
        value = headers.get(HEADER) or headers.get(HEADER.title())
        if value:
            return ISSUED_PREFIX + value
    if session_id:
        return f"transport:{session_id}"
    return DEFAULT_KEY


@dataclass
class ClientEntry(Generic[StateT]):
    state: StateT
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)


class ClientStates(Generic[StateT]):
    """A bounded map client key -> state; idle states expire; a full table refuses new clients."""

    def __init__(self, factory: Callable[[], StateT], max_clients: int = 1024, idle_ttl_s: float = 3600.0):
        self.factory = factory
        self._max_clients = max_clients
        self._idle_ttl_s = idle_ttl_s
        self._entries: OrderedDict[str, ClientEntry[StateT]] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self) -> str:
        """A new session id (128 random bits) with a fresh state."""
        session = secrets.token_urlsafe(16)
        with self._lock:
            self._add(ISSUED_PREFIX + session, time.monotonic())
        return session

    def acquire(self, key: str, *, create: bool = True) -> ClientEntry[StateT]:
        """The entry for ``key``; created on first use when ``create``, else it must exist (issued).
        Callers hold ``entry.lock`` while using it."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            entry = self._entries.get(key)
            if entry is None:
                if not create:
                    raise SessionError("unknown or expired session: call open_session and send the id it "
                                       f"returns as _meta {META_KEY!r} (or the X-Seer-Session header)")
                entry = self._add(key, now)
            self._entries.move_to_end(key)
            entry.last_used = now
            return entry

    def _add(self, key: str, now: float) -> ClientEntry[StateT]:
        self._expire(now)
        if len(self._entries) >= self._max_clients:
            raise SessionError(f"the server holds {self._max_clients} client sessions already; "
                               "try again when idle ones have expired")
        entry = ClientEntry(self.factory())
        self._entries[key] = entry
        return entry

    def _expire(self, now: float) -> None:
        stale = [k for k, e in self._entries.items() if now - e.last_used > self._idle_ttl_s]
        for key in stale:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
