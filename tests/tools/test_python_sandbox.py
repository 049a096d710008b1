"""PythonInterpreter: normal code works; every escape attempt is refused."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from seer.tools import ToolError
from seer.tools.python_sandbox import SandboxLimits, run_python

FAST = SandboxLimits(timeout=2.0)


def test_answer_variable() -> None:
    assert run_python("answer = sum(range(10))", FAST) == "45"


def test_stdout_when_no_answer_and_solution_function() -> None:
    assert run_python("print('hello')", FAST) == "hello"
    assert run_python("def solution():\n    return 58 - 23 - 2\n", FAST) == "33"


def test_stdlib_and_scratch_files_work() -> None:
    code = (
        "import statistics, json, datetime\n"
        "with open('notes.txt', 'w') as fh:\n    fh.write('ok')\n"
        "answer = (statistics.mean([1, 2, 3]), open('notes.txt').read())"
    )
    assert run_python(code, FAST) == "(2, 'ok')"


def test_exception_line_is_reported() -> None:
    with pytest.raises(ToolError, match="ZeroDivisionError: division by zero"):
        run_python("x = 1 / 0", FAST)


def test_infinite_loop_times_out() -> None:
    with pytest.raises(ToolError, match="timed out"):
        run_python("while True:\n    pass", SandboxLimits(timeout=1.0))


def test_memory_limit() -> None:
    with pytest.raises(ToolError, match="MemoryError"):
        run_python("x = bytearray(2 * 1024 ** 3)", FAST)


def test_socket_to_local_listener_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.3)
        port = listener.getsockname()[1]
        for code in (
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}))",
            f"import _socket\n_socket.socket().connect(('127.0.0.1', {port}))",
            f"import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/')",
        ):
            with pytest.raises(ToolError, match="sandbox"):
                run_python(code, FAST)
        with pytest.raises(TimeoutError):
            listener.accept()


def test_writing_outside_scratch_is_refused() -> None:
    target = Path(f"/tmp/outside-{uuid.uuid4().hex}")
    attempts = [
        f"open({str(target)!r}, 'w').write('x')",
        f"import os\nos.open({str(target)!r}, os.O_CREAT | os.O_WRONLY)",
        f"import pathlib\npathlib.Path({str(target)!r}).touch()",
        f"import os\nos.symlink('/tmp', 'link')\nopen('link/{target.name}', 'w')",
        f"import os\nos.mkdir({str(target)!r})",
    ]
    for code in attempts:
        with pytest.raises(ToolError, match="sandbox"):
            run_python(code, FAST)
    assert not target.exists()


@pytest.mark.parametrize(
    "code",
    [
        "import subprocess\nsubprocess.run(['true'])",
        "import os\nos.system('true')",
        "import os\nos.fork()",
        "import os\nos.execv('/bin/true', ['true'])",
        "import os\nos.posix_spawn('/bin/true', ['true'], {})",
        "import pty\npty.fork()",
        "import ctypes",
        "import multiprocessing\nmultiprocessing.Process(target=print).start()",
    ],
)
def test_processes_and_native_code_are_refused(code: str) -> None:
    with pytest.raises(ToolError, match="sandbox"):
        run_python(code, FAST)


def test_monkeypatching_cannot_disable_the_checks() -> None:
    target = Path(f"/tmp/outside-{uuid.uuid4().hex}")
    code = (
        "import builtins, posixpath, os\n"
        "builtins.isinstance = lambda *a: True\n"
        "posixpath.realpath = lambda p, **k: os.getcwd() + '/x'\n"
        f"open({str(target)!r}, 'w').write('x')"
    )
    with pytest.raises(ToolError, match="sandbox"):
        run_python(code, FAST)
    assert not target.exists()
