"""Sidecar for the measurement: the MCP servers' CPU time per run (the harness logs only its own).

Every 20 s, each `seer.seer_mcp.cli` server process whose --pool lies in runs/NAME/pools/ is read from
/proc (user + system time, its own and that of its waited-for children: sandboxed Python); the largest
value seen per process is kept in runs/NAME/server_cpu.json, summed over all processes the run has had
(each resume starts new ones). At most one poll interval per process is missed when a run stops.
Usage: python3 server_cpu.py &   (stop with kill; restart any time: it merges with what is on disk)
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

RUNS = Path(__file__).resolve().parent / "runs"
TICK = os.sysconf("SC_CLK_TCK")


def servers() -> dict[str, tuple[str, float]]:
    """pid@start -> (run name, CPU seconds so far) for every measurement server alive now."""
    out: dict[str, tuple[str, float]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv]
        if "seer.seer_mcp.cli" not in args or "--pool" not in args:
            continue
        pool = Path(args[args.index("--pool") + 1])
        if pool.parent.name != "pools" or pool.parent.parent.parent != RUNS:
            continue
        utime, stime, cutime, cstime = (int(x) for x in stat[11:15])
        out[f"{pid}@{stat[19]}"] = (pool.parent.parent.name, (utime + stime + cutime + cstime) / TICK)
    return out


def main() -> None:
    while True:
        for key, (run, cpu) in servers().items():
            path = RUNS / run / "server_cpu.json"
            data = json.loads(path.read_text()) if path.exists() else {"processes": {}}
            data["processes"][key] = max(cpu, data["processes"].get(key, 0.0))
            data["cpu_seconds"] = round(sum(data["processes"].values()), 1)
            path.write_text(json.dumps(data, indent=1) + "\n")
        time.sleep(20)


if __name__ == "__main__":
    main()
