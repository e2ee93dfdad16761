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
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

import msgspec

import viper
from viper.errors import ViperError

M = TypeVar("M")
P = TypeVar("P")
HEADER = struct.Struct(">I")  # each message: its length, then its bytes
_ENCODER = msgspec.msgpack.Encoder()


# --- the child's side ---------------------------------------------------------------------


class Failed(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """The child's job failed; `code` and `field` as a ViperError has them."""

    code: str
    detail: str
    field: str | None = None


def failure(exc: Exception) -> Failed:
    """The `Failed` message of an error; an unexpected one's traceback goes to stderr."""
    if isinstance(exc, ViperError):
        return Failed(code=exc.code, detail=exc.detail, field=exc.field)
    traceback.print_exception(exc, file=sys.stderr)
    return Failed(code="internal", detail=f"{type(exc).__name__}: {exc}")


def encode(value: Any) -> bytes:
    """A payload as the child reads it from stdin (msgpack)."""
    return _ENCODER.encode(value)


def frame(message: Any) -> bytes:
    """One message as it travels: length, then msgpack."""
    body = _ENCODER.encode(message)
    return HEADER.pack(len(body)) + body


def serve(payload_type: type[P], run: Callable[[P, Callable[[Any], None]], Any]) -> None:
    """A child's main: decode the payload from stdin, `run(payload, send)`, and write every
    message (those `send` gets, then the one `run` returns) to the original stdout."""
    channel: BinaryIO = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not corrupt the message stream

    def send(message: Any) -> None:
        channel.write(frame(message))
        channel.flush()

    try:
        send(run(msgspec.msgpack.decode(sys.stdin.buffer.read(), type=payload_type), send))
    finally:
        channel.close()


# --- the parent's side --------------------------------------------------------------------


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
