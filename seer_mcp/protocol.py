"""The names a client needs to speak seer's MCP dialect, kept free of server imports so harnesses and
other clients can use them: the request ``_meta`` key naming a tool session, and the role every tool
declares in its ``_meta`` so a client can show its model the task tools and keep memory and admin
tools to itself."""

from __future__ import annotations

from typing import Any, Literal

META_KEY = "seer/session"
ROLE_KEY = "seer/role"
Role = Literal["task", "memory", "session", "admin"]


def role_meta(role: Role) -> dict[str, Any]:
    """A tool's ``_meta`` declaring its role."""
    return {ROLE_KEY: role}


def tool_role(meta: Any) -> str | None:
    """The role a listed tool declares (None when its server declares none)."""
    role = meta.get(ROLE_KEY) if isinstance(meta, dict) else None
    return role if isinstance(role, str) else None
