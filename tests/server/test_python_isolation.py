"""PythonInterpreter is a real boundary: every escape seen in an attack on the server fails, through the
real server in a subprocess and the real MCP SDK client; without bubblewrap the tool refuses to run."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from seer.tools.python_sandbox import namespaces_unavailable
from tests.server.conftest import server_args

SECRET = "s3cr3t-host-value-4f1e"


def params(corpus: Path, *extra: str, path: str | None = None) -> StdioServerParameters:
    env = {"SEER_HOME": os.environ["SEER_HOME"], "SEER_TEST_API_KEY": SECRET}
    if path is not None:
        env["PATH"] = path
    return StdioServerParameters(command=sys.executable, args=[*server_args(corpus), *extra], env=env)


def text(result: Any) -> str:
    return "\n".join(b.text for b in result.content if getattr(b, "type", "") == "text")


async def python(client: Client, code: str) -> str:
    return text(await client.call_tool("PythonInterpreter", {"code": code}))


async def alive(client: Client) -> None:
    """The server still answers every kind of call: pure, file-opening (table cache) and the pool."""
    assert text(await client.call_tool("Calculate", {"expression": "1+1"})) == "2"
    assert "coffee" in text(await client.call_tool("LoadDB", {"target_db": "coffee"}))
    recall = await client.call_tool("recall_experiences", {"task": "coffee price"})
    assert not recall.is_error, text(recall)


needs_namespaces = pytest.mark.skipif(namespaces_unavailable() is not None,
                                      reason=f"no isolation boundary here: {namespaces_unavailable()}")


@needs_namespaces
def test_escapes_seen_in_the_attack_all_fail(real_corpus: Path, tmp_path: Path) -> None:
    secret_file = tmp_path / "host-secret.txt"
    secret_file.write_text(SECRET)
    secret_file.chmod(0o644)
    outside = tmp_path / "outside"
    outside.mkdir()
    outside.chmod(0o777)

    kill = "import os, signal\nsignal.pidfd_send_signal(os.pidfd_open(os.getppid()), 9)"
    cripple = "import os, resource\nresource.prlimit(os.getppid(), resource.RLIMIT_NOFILE, (8, 8))"
    environs = ("answer = open(f'/proc/{__import__(\"os\").getppid()}/environ').read()",
                "import os\nanswer = repr(dict(os.environ))",
                "import os\nanswer = [open(f'/proc/{p}/environ').read()\n"
                "          for p in os.listdir('/proc') if p.isdigit()]")
    pids = "import os\nanswer = sorted(p for p in os.listdir('/proc') if p.isdigit())"
    writes = (f"import sqlite3\nsqlite3.connect('{outside}/evil.db').execute('create table t(x)')",
              f"import os\nos.mknod('{outside}/node')",
              f"import os\nos.mkfifo('{outside}/fifo')",
              f"open('{outside}/note.txt', 'w').write('x')")
    connect = "import _socket\ns = _socket.socket()\ns.connect(('127.0.0.1', 22))\nanswer = 'connected'"

    async def main() -> None:
        async with Client(params(real_corpus)) as client:
            # the server's process cannot be signalled, limited or read: it is not even visible
            await python(client, kill)
            await alive(client)
            await python(client, cripple)
            await alive(client)
            for code in environs:
                assert SECRET not in await python(client, code)
            seen = await python(client, pids)
            assert seen in ("['1', '2']", "['1', '2', '3']"), seen  # only the sandbox's own processes
            # nothing is created outside the scratch folder, on the host or anywhere the server reads
            for code in writes:
                await python(client, code)
            assert list(outside.iterdir()) == []
            # host files are not visible at all, however readable they are outside
            assert SECRET not in await python(client, f"answer = open('{secret_file}').read()")
            assert await python(client, "import os\nanswer = os.getuid()") == "65534"
            assert "connected" not in await python(client, connect)  # no network
            assert await python(client, "answer = 6 * 7") == "42"  # and ordinary code still runs
            await alive(client)

    anyio.run(main)


def test_without_bubblewrap_the_tool_refuses_unless_the_operator_opts_in(real_corpus: Path) -> None:
    async def main() -> None:
        async with Client(params(real_corpus, path="/nonexistent")) as client:
            refused = await client.call_tool("PythonInterpreter", {"code": "answer = 1"})
            assert refused.is_error and "bubblewrap" in text(refused)
            assert "--unsafe-python-sandbox" in text(refused)
        async with Client(params(real_corpus, "--unsafe-python-sandbox", path="/nonexistent")) as client:
            assert await python(client, "answer = 6 * 7") == "42"

    anyio.run(main)
