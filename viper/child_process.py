"""A job in a child interpreter: `python -m <module>` reads its payload from stdin and answers with
length-framed messages on stdout.

A fresh interpreter per job gives clean numba and polars state and inherits nothing from the
parent's main script; reading its messages with asyncio streams keeps the event loop free, and
ending a job ends its process (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

import viper

M = TypeVar("M")
HEADER = struct.Struct(">I")  # each message: its length, then its bytes


def child_env() -> dict[str, str]:
    """The environment of a child: ours, with this copy of `viper` first on its path."""
    root = str(Path(viper.__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, path) if p)}


class ChildProcess(Generic[M]):
    """One child process: started with a payload, read message by message, ended on demand."""

    def __init__(self, module: str, payload: bytes, decode: Callable[[bytes], M]) -> None:
        self._module = module
        self._payload = payload
        self._decode = decode
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    async def start(self) -> None:
        """Start the process and hand it the payload."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self._module,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=child_env(),
        )
        stdin = self._process.stdin
        if stdin is not None:
            stdin.write(self._payload)
            with contextlib.suppress(ConnectionError):
                await stdin.drain()
            stdin.close()

    async def receive(self) -> M | None:
        """The next message, or None once the process has ended without one."""
        if self._process is None or self._process.stdout is None:
            return None
        stdout = self._process.stdout
        try:
            (size,) = HEADER.unpack(await stdout.readexactly(HEADER.size))
            body = await stdout.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            await self._process.wait()
            return None
        return self._decode(body)

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
