"""What can be wrong with a pool's files, said plainly: locked, damaged, truncated; and the copy of a
leftover write-ahead log kept before DuckDB recovers from it (nothing is overwritten silently)."""

from __future__ import annotations

import logging
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from seer.pool.models import PoolError, PoolLockedError

log = logging.getLogger(__name__)

_LOCK_PID = re.compile(r"\(PID (\d+)\)")


_LOCKED = re.compile(r"could not set lock|conflicting lock", re.IGNORECASE)  # not "block"
_HEADER_BYTES, _BLOCK_BYTES = 12_288, 262_144  # a DuckDB file: a 12 KiB header, then 256 KiB blocks


def duck_error(path: Path, exc: Exception, label: str) -> PoolError:
    text = str(exc)
    if "corrupt" in text.lower() or "checksum" in text.lower():
        return PoolError(
            f"pool {label}: {path} is damaged ({text.splitlines()[0]}); it and its .wal were left untouched "
            "— restore the file from a backup (seer-mcp pool export makes one) or start another pool"
        )
    if _LOCKED.search(text):
        pid = _LOCK_PID.search(text)
        who = f" (pid {pid.group(1)})" if pid else ""
        return PoolLockedError(
            f"pool {label} is open in another process{who}; DuckDB allows one writer per file — "
            f"use that process (e.g. its MCP server) or stop it first. File: {path}"
        )
    return PoolError(
        f"{path} is not a readable DuckDB database ({text.splitlines()[0]}); it was left untouched"
    )


def truncated(size: int) -> bool:
    """A DuckDB file is a 12 KiB header and whole 256 KiB blocks; any other size was cut short."""
    return size > _HEADER_BYTES and (size - _HEADER_BYTES) % _BLOCK_BYTES != 0


def backup_wal(path: Path) -> Path | None:
    """Copy a leftover write-ahead log aside before DuckDB replays (or, if it is garbage, overwrites) it."""
    wal = Path(str(path) + ".wal")
    if not wal.exists() or wal.stat().st_size == 0:
        return None
    backup = wal.with_name(f"{wal.name}.{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}.bak")
    shutil.copy2(wal, backup)
    log.warning("pool %s: a write-ahead log was left by an earlier process; kept a copy at %s before "
                "recovering from it", path.name, backup.name)
    return backup
