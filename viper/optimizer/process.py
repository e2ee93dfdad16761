"""The parent's handle on one optimizer worker process: start it, read its messages, end it.

Each task runs in a fresh interpreter (`python -m viper.optimizer.child`), so cancelling a job
ends its processes (SIGTERM, then SIGKILL after a grace period) and nothing keeps computing.
Messages are read with asyncio streams; the event loop never blocks on a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

import viper
from viper.optimizer import child
from viper.optimizer.work import Task

CHILD_MODULE = "viper.optimizer.child"


def child_env() -> dict[str, str]:
    """The environment of a child: ours, with this copy of `viper` first on its path."""
    root = str(Path(viper.__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, path) if p)}


class WorkerProcess:
    """One child process running one task."""

    def __init__(self, task: Task) -> None:
        self._task = child.encode_task(task)
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    async def start(self) -> None:
        """Start the process and hand it the task."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            CHILD_MODULE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=child_env(),
        )
        stdin = self._process.stdin
        if stdin is not None:
            stdin.write(self._task)
            with contextlib.suppress(ConnectionError):
                await stdin.drain()
            stdin.close()

    async def receive(self) -> child.Message | None:
        """The next message, or None once the process has ended without one."""
        if self._process is None or self._process.stdout is None:
            return None
        stdout = self._process.stdout
        try:
            (size,) = child.HEADER.unpack(await stdout.readexactly(child.HEADER.size))
            body = await stdout.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            await self._process.wait()
            return None
        return child.decode_message(body)

    async def end(self, grace_seconds: float = 5.0) -> None:
        """Stop the process if it still runs and reap it; safe twice."""
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), grace_seconds)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
