"""Serve MCP over stdio until EOF, SIGTERM or Ctrl-C, and end promptly on a signal even if the client
keeps stdin open.

The SDK reads stdin in a worker thread that cancellation cannot interrupt, so a signal alone would leave
the server waiting for the client's next line. Here stdin reaches the SDK through a pipe fed by a pump
thread; a signal tells the pump to close the pipe (the SDK reads EOF) and cancels the server's tasks, so
the process ends the ordinary way: in-flight calls cancelled, the caller closes the pool.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from typing import Any

import anyio

CHUNK = 1 << 16


class _StdinPump:
    """Copies the real stdin into a pipe now on fd 0 until the client's EOF or ``stop()``."""

    def __init__(self) -> None:
        self.source = os.dup(0)
        read_end, self.sink = os.pipe()
        os.dup2(read_end, 0)
        os.close(read_end)
        self.wake_read, self.wake_write = os.pipe()
        self.thread = threading.Thread(target=self._run, name="seer-stdin-pump", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while True:
                ready, _, _ = select.select([self.source, self.wake_read], [], [])
                if self.wake_read in ready:
                    return
                chunk = os.read(self.source, CHUNK)
                if not chunk:
                    return
                view = memoryview(chunk)
                while view:
                    view = view[os.write(self.sink, view):]
        except OSError:  # the reader went away: nothing left to feed
            return
        finally:
            os.close(self.sink)  # the pump alone owns the sink, so no other thread can race this close

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.wake_write, b"x")


def serve_stdio(mcp: Any) -> None:
    """Run ``mcp`` (an SDK MCPServer) on stdio; return on EOF, SIGTERM or SIGINT."""
    pump = _StdinPump()

    async def serve() -> None:
        async with anyio.create_task_group() as tasks:
            async def stop_on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for _ in signals:
                        pump.stop()
                        tasks.cancel_scope.cancel()

            tasks.start_soon(stop_on_signal)
            await mcp.run_stdio_async()
            tasks.cancel_scope.cancel()  # the client closed stdin

    with contextlib.suppress(KeyboardInterrupt):  # a Ctrl-C before the loop listens
        anyio.run(serve)
