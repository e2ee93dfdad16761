"""The worker-process side of an optimization task: `python -m viper.optimizer.child`.

As the backtester's child: the `Task` arrives msgpack-encoded on stdin; messages leave on the
original stdout, each a 4-byte big-endian length and a msgpack `Message`: any number of
`Progress`, then exactly one `Finished` or `Failed`. Anything printed goes to stderr.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import BinaryIO

import msgspec

from viper.child_process import HEADER
from viper.errors import ViperError
from viper.optimizer.work import Task, TaskResult, run_task

PROGRESS_EVERY_SECONDS = 0.2


class Progress(msgspec.Struct, frozen=True, tag=True):
    """Units of the task done so far (combinations, trials, windows)."""

    done: int


class Finished(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """The task's result."""

    result: TaskResult
    seconds: float


class Failed(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """The task failed; `code` and `field` as a ViperError has them."""

    code: str
    detail: str
    field: str | None = None


Message = Progress | Finished | Failed
_DECODER = msgspec.msgpack.Decoder(Message)
_ENCODER = msgspec.msgpack.Encoder()


def encode_task(task: Task) -> bytes:
    """What the child reads from stdin."""
    return _ENCODER.encode(task)


def frame(message: Message) -> bytes:
    """One message as it travels: length, then msgpack."""
    body = _ENCODER.encode(message)
    return HEADER.pack(len(body)) + body


def decode_message(body: bytes) -> Message:
    """One message body (without its length header)."""
    return _DECODER.decode(body)


def run(task: Task, send: Callable[[Message], None]) -> Message:
    """Run `task`, sending throttled progress; returns the final message (not sent)."""
    started = last = time.perf_counter()

    def progress(done: int) -> None:
        nonlocal last
        now = time.perf_counter()
        if now - last >= PROGRESS_EVERY_SECONDS:
            last = now
            send(Progress(done))

    try:
        result = run_task(task, progress)
    except ViperError as exc:
        return Failed(code=exc.code, detail=exc.detail, field=exc.field)
    except Exception as exc:  # reported to the parent; the traceback goes to stderr
        traceback.print_exc(file=sys.stderr)
        return Failed(code="internal", detail=f"{type(exc).__name__}: {exc}")
    return Finished(result=result, seconds=time.perf_counter() - started)


def main() -> None:
    """Read the task from stdin, run it, write the messages to the original stdout."""
    channel: BinaryIO = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not corrupt the message stream

    def send(message: Message) -> None:
        channel.write(frame(message))
        channel.flush()

    try:
        task = msgspec.msgpack.decode(sys.stdin.buffer.read(), type=Task)
        send(run(task, send))
    finally:
        channel.close()


if __name__ == "__main__":
    main()
