"""Claude Desktop's way to a team server: the `mcp-remote` stdio bridge (npm), configured exactly as the
README shows, in front of the real server with API keys. Claude Desktop itself cannot run here; the bridge
it launches can."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from seer.pool.home import seer_home
from seer.seer_mcp.auth import KeyStore
from tests.server.conftest import HttpServer, client_with, text
from tests.server.test_mcp_pool import record_args, structured

MCP_REMOTE = "mcp-remote@0.15.1"


@pytest.fixture(scope="module")
def mcp_remote(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bridge installed from the npm registry into a private folder (skips without node and npm)."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip("node and npm are needed to run the mcp-remote bridge")
    folder = tmp_path_factory.mktemp("mcp-remote")
    try:
        subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(folder),
                        MCP_REMOTE], check=True, capture_output=True, timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"could not install {MCP_REMOTE} from the npm registry: {exc}")
    return folder / "node_modules" / ".bin" / "mcp-remote"


def test_claude_desktop_config_reaches_an_authenticated_server(
    mcp_remote: Path, real_corpus: Path, http_server_factory: type[HttpServer], tmp_path: Path
) -> None:
    keys = KeyStore.load(seer_home() / "api-keys.json")
    desktop = keys.create("desktop", ["recall", "record"])
    ops = keys.create("ops", ["admin"])
    server = http_server_factory(real_corpus).start()
    # the README's "mcpServers" entry: the key only in env, expanded by the bridge
    bridge = StdioServerParameters(
        command=str(mcp_remote),
        args=[server.url, "--header", "Authorization:${SEER_AUTH}"],
        env={"SEER_AUTH": f"Bearer {desktop}", "PATH": os.environ["PATH"],
             "MCP_REMOTE_CONFIG_DIR": str(tmp_path / "mcp-auth")},
    )

    async def main() -> None:
        with anyio.fail_after(120):
            async with Client(bridge) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert {"recall_experiences", "record_trajectory", "LoadDB"} <= names
                stored = await structured(client, "record_trajectory", record_args(1))
                assert stored["stored"] and stored["status"] == "active"
                found = await structured(client, "recall_experiences", {"task": record_args(1)["task"]})
                assert [e["id"] for e in found["experiences"]] == [stored["id"]]
                denied = await client.call_tool("forget_experience", {"experience_id": stored["id"]})
                assert denied.is_error and "'admin' scope" in text(denied)
        async with client_with(server.url, ops) as admin:
            listed = await structured(admin, "list_experiences", {})
            assert [(e["id"], e["recorder"]) for e in listed["experiences"]] == [(stored["id"], "desktop")]

    anyio.run(main)
