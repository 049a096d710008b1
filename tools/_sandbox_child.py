"""Child side of PythonInterpreter: confine this process, then run the caller's code.

Started as ``python -I -S -B _sandbox_child.py`` in a fresh temporary directory with a minimal
environment. Reads ``{"code", "nonce", "limits"}`` as JSON on stdin and writes one line
``<nonce>{json result}`` on stdout. The order matters: resource limits and the optional network
namespace first, then an audit hook that no later code can remove, then the user's code.
"""

import builtins
import contextlib
import io
import json
import os
import resource
import signal
import sys
import traceback

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_FORBIDDEN = (
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "subprocess.Popen", "os.kill", "os.killpg", "os.symlink", "os.link", "pty.spawn",
)  # fmt: skip
_FORBIDDEN_PREFIXES = ("socket.", "ctypes.", "_ctypes.", "mmap.", "winreg.", "webbrowser.")
_FORBIDDEN_IMPORTS = frozenset({"_posixsubprocess", "_ctypes", "ctypes", "_socket", "socket", "_ssl", "ssl"})
_PATH_EVENTS = {
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.chmod": (0,), "os.chown": (0,),
    "os.truncate": (0,), "os.utime": (0,), "os.rename": (0, 1), "os.setxattr": (0,),
    "os.removexattr": (0,), "shutil.rmtree": (0,), "shutil.copyfile": (1,), "shutil.move": (1,),
}  # fmt: skip


class _Capped(io.StringIO):
    """stdout replacement that keeps at most ``limit`` characters."""

    def __init__(self, limit):
        super().__init__()
        self.limit = limit

    def write(self, s):
        room = self.limit - self.tell()
        if room > 0:
            super().write(s[:room])
        return len(s)


def _apply_limits(limits):
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_seconds"], limits["cpu_seconds"] + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb, limits["memory_mb"] * mb))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_mb"] * mb, limits["file_mb"] * mb))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    # no new processes or threads (not enforced for root; the audit hook covers that)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write raises instead of killing


def _try_network_namespace():
    """Move into an empty network namespace when the kernel lets us; ignore failure."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.unshare(0x40000000)  # CLONE_NEWNET
    except Exception:
        pass
    for name in ("ctypes", "_ctypes", "ctypes._endian"):
        sys.modules.pop(name, None)


def _install_hook(scratch):
    # Everything the hook calls is bound here, so code that later monkeypatches builtins, os or
    # posixpath cannot make the checks lie.
    import _stat
    import posix

    lstat, readlink, getcwd, fsdecode = posix.lstat, posix.readlink, posix.getcwd, os.fsdecode
    is_link = _stat.S_ISLNK
    _isinstance, _len, _str, _int, _any = isinstance, len, str, int, any
    _exc = PermissionError

    def resolve(path):
        """Absolute path with every symlink followed (at most 40)."""
        parts = path.split("/") if path.startswith("/") else (getcwd() + "/" + path).split("/")
        done, hops = [], 0
        while parts:
            part = parts.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            candidate = "/" + "/".join([*done, part])
            try:
                link = is_link(lstat(candidate).st_mode)
            except OSError:
                link = False
            if link:
                hops += 1
                if hops > 40:
                    raise _exc("sandbox: too many symbolic links")
                target = readlink(candidate)
                if target.startswith("/"):
                    done = []
                parts = target.split("/") + parts
            else:
                done.append(part)
        return "/" + "/".join(done)

    def inside(path):
        if _isinstance(path, _int):
            return True
        try:
            full = resolve(fsdecode(path))
        except _exc:
            raise
        except Exception:
            return False
        return full == scratch or full.startswith(scratch + "/")

    def hook(event, args):
        if event in _FORBIDDEN or event.startswith(_FORBIDDEN_PREFIXES):
            raise _exc(f"sandbox: {event} is not allowed (no processes, network or native code)")
        if event == "import" and args and _str(args[0]).split(".")[0] in _FORBIDDEN_IMPORTS:
            raise _exc(f"sandbox: importing {args[0]} is not allowed")
        if event == "open" and _len(args) >= 3:
            path, mode, flags = args[0], args[1], args[2]
            writing = (_isinstance(flags, _int) and flags & _WRITE_FLAGS) or (
                _isinstance(mode, _str) and _any(ch in mode for ch in "wax+")
            )
            if writing and not inside(path):
                raise _exc(f"sandbox: writing outside the scratch folder is not allowed: {path}")
        elif event in _PATH_EVENTS:
            for i in _PATH_EVENTS[event]:
                if i < _len(args) and args[i] is not None and not inside(args[i]):
                    raise _exc(f"sandbox: {event} outside the scratch folder is not allowed")

    sys.addaudithook(hook)


def main():
    real_stdout = sys.stdout
    request = json.loads(sys.stdin.read())
    nonce = request["nonce"]
    limits = request["limits"]
    _try_network_namespace()
    _apply_limits(limits)
    _install_hook(os.path.realpath(os.getcwd()))
    captured = _Capped(limits["output_chars"])
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    result = {"ok": True}
    saved_builtins = dict(builtins.__dict__)
    failure = None
    sys.stdout = captured
    try:
        exec(compile(request["code"], "<code>", "exec"), namespace)
        if "answer" in namespace:
            result["answer"] = str(namespace["answer"])
        elif "ans" in namespace:
            result["answer"] = str(namespace["ans"])
        elif callable(namespace.get("solution")):
            result["answer"] = str(namespace["solution"]())
    except BaseException as exc:  # noqa: BLE001 - report every failure of the caller's code
        failure = exc
    finally:
        sys.stdout = real_stdout
        builtins.__dict__.update(saved_builtins)  # the code may have patched builtins we use below
    if failure is not None:
        lines = traceback.format_exception_only(type(failure), failure)
        result = {"ok": False, "error": "".join(lines).strip()}
    result["stdout"] = captured.getvalue()
    real_stdout.write(nonce + json.dumps(result) + "\n")
    real_stdout.flush()


if __name__ == "__main__":
    main()
