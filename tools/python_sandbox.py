"""PythonInterpreter: run the caller's code in a separate, confined Python process.

The child (:mod:`seer.tools._sandbox_child`) runs with ``-I -S -B`` (standard library only),
a minimal environment, its own session (the whole process group is killed on timeout), a
fresh scratch directory as cwd (deleted afterwards) and resource limits on CPU time, address
space, file size, open files and processes. An audit hook refuses sockets, subprocesses,
``os.system``/``exec``/``fork``, ``ctypes`` and writes outside the scratch directory; when the
kernel permits, the child also moves into an empty network namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from seer.tools.errors import ToolError

CHILD = Path(__file__).with_name("_sandbox_child.py")


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one PythonInterpreter run (the original ToolQA allowed 5 s)."""

    timeout: float = 5.0
    memory_mb: int = 512
    file_mb: int = 16
    output_chars: int = 20_000

    def child_limits(self) -> dict[str, int]:
        """What the child applies to itself."""
        limits = asdict(self)
        timeout = limits.pop("timeout")
        return {**limits, "cpu_seconds": int(timeout) + 1}


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_python(code: str, limits: SandboxLimits | None = None) -> str:
    """Run ``code``; return ``str(answer)`` (or ``ans``, or ``solution()``), else what it printed."""
    limits = limits or SandboxLimits()
    nonce = f"@@seer-{uuid.uuid4().hex}@@"
    request = json.dumps({"code": code, "nonce": nonce, "limits": limits.child_limits()}).encode()
    with tempfile.TemporaryDirectory(prefix="seer-py-") as scratch:
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": scratch, "TMPDIR": scratch}
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=scratch,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        try:
            out, err = proc.communicate(request, timeout=limits.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            raise ToolError(
                f"PythonInterpreter timed out: the code ran longer than {limits.timeout:g} seconds."
            ) from None
        finally:
            _kill_group(proc)  # anything the code left behind in its process group
    return _result(
        out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), nonce, proc.returncode, limits
    )


def _result(out: str, err: str, nonce: str, returncode: int, limits: SandboxLimits) -> str:
    line = next((ln for ln in reversed(out.splitlines()) if ln.startswith(nonce)), None)
    if line is None:
        if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
            raise ToolError(
                f"PythonInterpreter stopped the code: it used more than {limits.timeout:g} s of CPU."
            )
        tail = err.strip().splitlines()[-1:] or [f"exit code {returncode}"]
        raise ToolError(f"PythonInterpreter failed: {tail[0]}")
    result = json.loads(line[len(nonce) :])
    if not result["ok"]:
        error = result["error"]
        if error.startswith("MemoryError"):
            error += f" (the memory limit is {limits.memory_mb} MB)"
        raise ToolError(f"An error occurred: {error}")
    if "answer" in result:
        return str(result["answer"])
    stdout = str(result.get("stdout", "")).rstrip("\n")
    if not stdout:
        return "The code ran without error but set no variable `answer` and printed nothing."
    return stdout
