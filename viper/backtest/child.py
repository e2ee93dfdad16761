"""The child-process side of a backtest job: `python -m viper.backtest.child`.

The backtester module starts one fresh interpreter per job, so a job stops when its process
ends. The spec arrives msgpack-encoded on stdin; messages leave on the original stdout, each
a 4-byte big-endian length and a msgpack `Message`: any number of `Progress`, then exactly one
`Finished` or `Failed`. Anything else the process prints goes to stderr. The result travels
as the stored blob (compressed JSON, trades included) plus a `head` without trades.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from viper.backtest.metrics import BacktestResult
from viper.backtest.runs import BacktestSpec, Sizing, execute
from viper.child_process import Failed, encode, failure, serve
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


Message = Progress | Finished | Failed
_DECODER = msgspec.msgpack.Decoder(Message)


def encode_spec(spec: BacktestSpec) -> bytes:
    """What the child reads from stdin."""
    return encode(spec)


def decode_message(body: bytes) -> Message:
    """One message body (without its length header)."""
    return _DECODER.decode(body)


def run_spec(spec: BacktestSpec, send: Callable[[Message], None]) -> Message:
    """Execute `spec`, sending progress through `send`; returns the final message (not sent)."""
    try:
        outcome = execute(spec, lambda fraction: send(Progress(fraction)))
    except Exception as exc:  # reported to the parent
        return failure(exc)
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
    serve(BacktestSpec, run_spec)


if __name__ == "__main__":
    main()
