"""Where seer keeps its data: one folder set by the SEER_HOME environment variable."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def seer_home() -> Path:
    """The data folder: ``$SEER_HOME`` or the per-user data dir; created on first use."""
    env = os.environ.get("SEER_HOME")
    home = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("seer-mcp", appauthor=False))
    home.mkdir(parents=True, exist_ok=True)
    return home


def pools_dir() -> Path:
    """Folder holding one DuckDB file per named pool."""
    path = seer_home() / "pools"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Folder for derived caches (corpus databases, embedding cache, synthetic corpora)."""
    path = seer_home() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path
