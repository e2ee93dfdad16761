"""The worker-process side of an optimization task: `python -m viper.optimizer.child`.

As the backtester's child: the `Task` arrives msgpack-encoded on stdin; messages leave on the
original stdout, each a 4-byte big-endian length and a msgpack `Message`: any number of
`Progress`, then exactly one `Finished` or `Failed`. Anything printed goes to stderr.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec

from viper.child_process import Failed, encode, failure, serve
from viper.optimizer.work import Task, TaskResult, run_task

PROGRESS_EVERY_SECONDS = 0.2


class Progress(msgspec.Struct, frozen=True, tag=True):
    """Units of the task done so far (combinations, trials, windows)."""

    done: int


class Finished(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """The task's result."""

    result: TaskResult
    seconds: float


Message = Progress | Finished | Failed
_DECODER = msgspec.msgpack.Decoder(Message)


def encode_task(task: Task) -> bytes:
    """What the child reads from stdin."""
    return encode(task)


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
    except Exception as exc:  # reported to the parent
        return failure(exc)
    return Finished(result=result, seconds=time.perf_counter() - started)


def main() -> None:
    """Read the task from stdin, run it, write the messages to the original stdout."""
    serve(Task, run)


if __name__ == "__main__":
    main()
