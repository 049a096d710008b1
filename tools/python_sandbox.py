"""PythonInterpreter: run the caller's code in a separate, confined Python process.

The boundary is bubblewrap (``bwrap``, Debian's package, installed by ``scripts/install.sh``): the
child runs as an unprivileged user with no capabilities in its own user, PID, mount, network, IPC and
UTS namespaces, sees only the interpreter, the system libraries and one private scratch folder
(read-only except the scratch folder and a private /tmp), no other process and an empty environment,
and dies with the server. Inside, the child (:mod:`seer.tools._sandbox_child`) runs with ``-I -S -B``
(standard library only) and applies limits on CPU time, address space, file size, open files and
processes, then an audit hook (defence in depth, not the boundary) refuses sockets, subprocesses,
``ctypes`` and writes outside the scratch folder.

Without bwrap (or where the kernel refuses namespaces) the tool refuses to run code, naming the
cause, unless the operator opts in to the weaker audit-hook-only mode (``--unsafe-python-sandbox``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from seer.tools.errors import ToolError

CHILD = Path(__file__).with_name("_sandbox_child.py")


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one PythonInterpreter run (the original ToolQA allowed 5 s)."""

    timeout: float = 5.0
    memory_mb: int = 512
    file_mb: int = 16
    output_chars: int = 20_000
    # namespaces: the bubblewrap boundary (refuse when unavailable); audit-hook: the weaker, opt-in mode
    isolation: Literal["namespaces", "audit-hook"] = "namespaces"

    def child_limits(self) -> dict[str, int]:
        """What the child applies to itself."""
        limits = asdict(self)
        timeout = limits.pop("timeout")
        limits.pop("isolation")
        return {**limits, "cpu_seconds": int(timeout) + 1}


SANDBOX_UID = 65534  # "nobody" inside the sandbox's user namespace
_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")


def bwrap_command(scratch: str) -> list[str]:
    """The bubblewrap command line that runs the child in its own namespaces with ``scratch`` as /scratch."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise ToolError("PythonInterpreter is disabled: bubblewrap (bwrap) is not installed on the server.")
    interpreter = os.path.realpath(sys.executable)  # the base interpreter: -I -S needs no venv
    binds = [d for d in _SYSTEM_DIRS if os.path.exists(d)]
    binds += sorted({os.path.realpath(sys.base_prefix), os.path.dirname(interpreter)})
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--cap-drop", "ALL",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--proc", "/proc", "--dev", "/dev",
            "--tmpfs", "/tmp"]
    for path in binds:
        args += ["--ro-bind", path, path]
    args += ["--ro-bind", str(CHILD), "/sandbox/child.py"]
    args += ["--bind", scratch, "/scratch", "--chdir", "/scratch"]
    for key, value in (("PATH", "/usr/bin:/bin"), ("LANG", "C.UTF-8"), ("HOME", "/scratch"),
                       ("TMPDIR", "/scratch")):
        args += ["--setenv", key, value]
    return [*args, "--", interpreter, "-I", "-S", "-B", "/sandbox/child.py"]


@functools.cache
def namespaces_unavailable() -> str | None:
    """Why the bubblewrap boundary cannot be used here (None when it works); probed once per process."""
    with tempfile.TemporaryDirectory(prefix="seer-py-probe-") as scratch:
        try:
            command = bwrap_command(scratch)
        except ToolError as exc:
            return str(exc)
        command[-1:] = ["-c", "pass"]  # the interpreter alone, in the same namespaces
        probe = subprocess.run(command, capture_output=True, timeout=30, check=False)
    if probe.returncode != 0:
        lines = probe.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = lines[-1:] or [f"exit {probe.returncode}"]
        return f"PythonInterpreter is disabled: bubblewrap cannot create its namespaces here ({detail[0]})."
    return None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_python(code: str, limits: SandboxLimits | None = None) -> str:
    """Run ``code``; return ``str(answer)`` (or ``ans``, or ``solution()``), else what it printed."""
    limits = limits or SandboxLimits()
    nonce = f"@@seer-{uuid.uuid4().hex}@@"
    request = json.dumps({"code": code, "nonce": nonce, "limits": limits.child_limits()}).encode()
    if limits.isolation == "namespaces" and (reason := namespaces_unavailable()) is not None:
        raise ToolError(reason + " The operator can allow the weaker mode with --unsafe-python-sandbox.")
    with tempfile.TemporaryDirectory(prefix="seer-py-") as scratch:
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": scratch, "TMPDIR": scratch}
        if limits.isolation == "namespaces":
            os.chmod(scratch, 0o777)  # writable by the sandbox's unprivileged user
            command = bwrap_command(scratch)
        else:
            command = [sys.executable, "-I", "-S", "-B", str(CHILD)]
        proc = subprocess.Popen(
            command,
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
