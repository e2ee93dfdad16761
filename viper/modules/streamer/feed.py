"""What a market-data source produces and to whom: closed candles and ticks, handed to a sink.

A source knows nothing of the bus: it calls its `FeedSink` in order, awaiting each candle so a
slow consumer slows the source down instead of losing bars.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import msgspec

from viper.domain import Candle


class Tick(msgspec.Struct, frozen=True, kw_only=True):
    """The latest price of a symbol; `ts_ms` is when the exchange (or the replay) saw it."""

    ts_ms: int
    last: float
    bid: float | None = None
    ask: float | None = None


class FeedSink(Protocol):
    """Where a source delivers, in order."""

    async def candle(self, symbol: str, candle: Candle) -> None:
        """A bar of `symbol` closed (each bar once, in time order)."""
        ...

    async def tick(self, symbol: str, tick: Tick) -> None:
        """A new price for `symbol`."""
        ...

    def disconnected(self, symbol: str, reason: str) -> None:
        """The feed of `symbol` broke; the source is reconnecting."""
        ...

    async def resumed(self, symbol: str, backfilled: int) -> None:
        """The feed of `symbol` is back; `backfilled` bars missed meanwhile were delivered."""
        ...


class Source(Protocol):
    """A market-data source: replay, REST polling or a live websocket."""

    name: str
    exchange: str

    async def run(self, sink: FeedSink) -> None:
        """Deliver until cancelled (or, for a finite replay, until the data ends)."""
        ...

    async def close(self) -> None:
        """Release connections; safe twice and when `run` never started."""
        ...

    def stats(self) -> dict[str, Any]:
        """Counters for health checks."""
        ...


def candle_of(row: Sequence[Any]) -> Candle | None:
    """A ccxt OHLCV row `[ts, open, high, low, close, volume]` as a Candle; None when incomplete."""
    if len(row) < 6 or any(value is None for value in row[:5]):
        return None
    return Candle(
        ts_ms=int(row[0]),
        open=float(row[1]),
        high=float(row[2]),
        low=float(row[3]),
        close=float(row[4]),
        volume=float(row[5] or 0.0),
    )


def candles_of(rows: Iterable[Sequence[Any]]) -> list[Candle]:
    """Complete ccxt OHLCV rows as Candles, in the order given."""
    return [c for c in map(candle_of, rows) if c is not None]


def tick_of(ticker: dict[str, Any], fallback_ms: int) -> Tick | None:
    """A ccxt ticker as a Tick; None when it carries no last price."""
    last = ticker.get("last") or ticker.get("close")
    if last is None:
        return None
    ts = ticker.get("timestamp")
    bid, ask = ticker.get("bid"), ticker.get("ask")
    return Tick(
        ts_ms=int(ts) if ts is not None else fallback_ms,
        last=float(last),
        bid=float(bid) if bid is not None else None,
        ask=float(ask) if ask is not None else None,
    )


class CandleCloser:
    """Closed bars, each once and in order, from updates of forming bars (repeated, revised, late).

    A bar is closed once a bar with a later open time has been seen. Bars at or before the last
    closed one are ignored, so REST pages and websocket pushes may overlap freely.
    """

    def __init__(self, last_closed_ms: int | None = None) -> None:
        self.last_closed_ms = last_closed_ms
        self.forming: Candle | None = None

    def feed(self, candles: Iterable[Candle]) -> list[Candle]:
        """Take updates; return the bars they closed, oldest first."""
        closed: list[Candle] = []
        for candle in sorted(candles, key=lambda c: c.ts_ms):
            if self.last_closed_ms is not None and candle.ts_ms <= self.last_closed_ms:
                continue
            forming = self.forming
            if forming is None or candle.ts_ms == forming.ts_ms:
                self.forming = candle
            elif candle.ts_ms > forming.ts_ms:
                closed.append(forming)
                self.last_closed_ms = forming.ts_ms
                self.forming = candle
            else:  # a late bar between the last closed one and the forming one
                closed.append(candle)
                self.last_closed_ms = candle.ts_ms
        return closed

    def gap_before(self, candles: Iterable[Candle], step_ms: int) -> bool:
        """Whether `candles` skip bars after the forming one (pushes were lost on the way)."""
        if self.forming is None:
            return False
        newer = [c.ts_ms for c in candles if c.ts_ms > self.forming.ts_ms]
        return bool(newer) and min(newer) > self.forming.ts_ms + step_ms

    def resume_from(self) -> int | None:
        """The open time a REST catch-up should start at (None before any data)."""
        if self.last_closed_ms is not None:
            return self.last_closed_ms + 1
        return self.forming.ts_ms if self.forming is not None else None
