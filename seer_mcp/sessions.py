"""Per-client tool state.

MCP 2026-07-28 is stateless: a server sees no transport session on stdio or modern HTTP. Tool
state (the loaded table and its filters, loaded graphs) must still never leak between clients,
so each request is mapped to a client key, in order: the transport session id (handshake-era
HTTP), the request ``_meta`` key ``seer/session``, the HTTP header ``X-Seer-Session``; otherwise
one default state (on stdio one server process serves exactly one client).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

META_KEY = "seer/session"
HEADER = "x-seer-session"
DEFAULT_KEY = "default"

StateT = TypeVar("StateT")


def client_key(
    session_id: str | None, meta: Mapping[str, Any] | None, headers: Mapping[str, str] | None
) -> str:
    """The key that identifies one client's tool state."""
    if session_id:
        return f"transport:{session_id}"
    if meta and isinstance(meta.get(META_KEY), str) and meta[META_KEY]:
        return f"meta:{meta[META_KEY]}"
    if headers:
        value = headers.get(HEADER) or headers.get(HEADER.title())
        if value:
            return f"header:{value}"
    return DEFAULT_KEY


@dataclass
class _Entry(Generic[StateT]):
    state: StateT
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)


class ClientStates(Generic[StateT]):
    """A bounded map client key -> state; idle states expire, the least recently used go first."""

    def __init__(self, factory: Callable[[], StateT], max_clients: int = 1024, idle_ttl_s: float = 3600.0):
        self._factory = factory
        self._max_clients = max_clients
        self._idle_ttl_s = idle_ttl_s
        self._entries: OrderedDict[str, _Entry[StateT]] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, key: str) -> _Entry[StateT]:
        """The entry for ``key`` (created on first use). Callers hold ``entry.lock`` while using it."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            entry = self._entries.get(key)
            if entry is None:
                entry = _Entry(self._factory())
                self._entries[key] = entry
            self._entries.move_to_end(key)
            entry.last_used = now
            while len(self._entries) > self._max_clients:
                self._entries.popitem(last=False)
            return entry

    def _expire(self, now: float) -> None:
        stale = [k for k, e in self._entries.items() if now - e.last_used > self._idle_ttl_s]
        for key in stale:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
