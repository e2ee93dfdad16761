"""The child-process side of a backtest job: `python -m viper.backtest.child`.

The backtester module starts one fresh interpreter per job, so a job stops when its process
ends. The spec arrives msgpack-encoded on stdin; messages leave on the original stdout, each
a 4-byte big-endian length and a msgpack `Message`: any number of `Progress`, then exactly one
`Finished` or `Failed`. Anything else the process prints goes to stderr. The result travels
as the stored blob (compressed JSON, trades included) plus a `head` without trades.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import BinaryIO

import msgspec

from viper.backtest.metrics import BacktestResult
from viper.backtest.runs import BacktestSpec, Sizing, execute
from viper.child_process import HEADER
from viper.errors import ViperError
from viper.store.backtests import compress


class Progress(msgspec.Struct, frozen=True, tag=True):
    """Share of the job done, 0..1."""

    fraction: float


class Finished(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """The job's result: `head` is the result without trades, `blob` the stored form."""

    head: BacktestResult
    sizing: Sizing
    seconds: float
    engine_id: str
    blob: bytes


class Failed(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """The job failed; `code` and `field` as a ViperError has them."""

    code: str
    detail: str
    field: str | None = None


Message = Progress | Finished | Failed
_DECODER = msgspec.msgpack.Decoder(Message)
_ENCODER = msgspec.msgpack.Encoder()


def encode_spec(spec: BacktestSpec) -> bytes:
    """What the child reads from stdin."""
    return _ENCODER.encode(spec)


def frame(message: Message) -> bytes:
    """One message as it travels: length, then msgpack."""
    body = _ENCODER.encode(message)
    return HEADER.pack(len(body)) + body


def decode_message(body: bytes) -> Message:
    """One message body (without its length header)."""
    return _DECODER.decode(body)


def run_spec(spec: BacktestSpec, send: Callable[[Message], None]) -> Message:
    """Execute `spec`, sending progress through `send`; returns the final message (not sent)."""
    try:
        outcome = execute(spec, lambda fraction: send(Progress(fraction)))
    except ViperError as exc:
        return Failed(code=exc.code, detail=exc.detail, field=exc.field)
    except Exception as exc:  # reported to the parent; the traceback goes to stderr
        traceback.print_exc(file=sys.stderr)
        return Failed(code="internal", detail=f"{type(exc).__name__}: {exc}")
    result = outcome.result
    return Finished(
        head=msgspec.structs.replace(result, trades=[]),
        sizing=outcome.sizing,
        seconds=outcome.seconds,
        engine_id=outcome.engine_id,
        blob=compress(msgspec.json.encode(result)),
    )


def main() -> None:
    """Read the spec from stdin, run it, write the messages to the original stdout."""
    channel: BinaryIO = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not corrupt the message stream

    def send(message: Message) -> None:
        channel.write(frame(message))
        channel.flush()

    try:
        spec = msgspec.msgpack.decode(sys.stdin.buffer.read(), type=BacktestSpec)
        send(run_spec(spec, send))
    finally:
        channel.close()


if __name__ == "__main__":
    main()
