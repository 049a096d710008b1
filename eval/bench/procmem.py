"""Memory readings of the current process from /proc/self/status (Linux), with no import beyond the
standard library: a fresh process that times opening a pool reads them without loading anything else."""

from __future__ import annotations

import re
from pathlib import Path

STATUS = Path("/proc/self/status")


def _kb(status: str, key: str) -> int:
    found = re.search(rf"{key}:\s+(\d+)", status)
    return int(found.group(1)) if found else 0


def rss_parts_mb() -> dict[str, float]:
    """Resident memory now by kind (MB): anonymous (the process's own) and file-backed (mapped files, in
    the page cache and reclaimable)."""
    status = STATUS.read_text()
    return {
        name: round(_kb(status, key) / 1024, 1) for key, name in (("RssAnon", "anon"), ("RssFile", "file"))
    }


def peak_resident_mb() -> float:
    """The process's peak resident memory (VmHWM, MB): unlike ru_maxrss, not inherited across fork + exec."""
    return round(_kb(STATUS.read_text(), "VmHWM") / 1024, 1)
