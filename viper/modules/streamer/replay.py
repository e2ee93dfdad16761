"""Replay: stored candles or the synthetic market, every symbol in timestamp order, clock-paced.

The first `warmup` bars go out at once (history for indicators); after that one bar per
`timeframe / speed` of the injected clock. Event times come from the candles, never from the
wall clock, so two replays of the same data publish the same events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import polars as pl

from viper.clock import Clock
from viper.domain import Candle
from viper.errors import NotFoundError
from viper.marketdata.synthetic import SyntheticMarket
from viper.modules.streamer.feed import FeedSink, Tick
from viper.protocols import CandleSource
from viper.timeframes import timeframe_ms

Step = tuple[int, list[tuple[str, Candle]]]
COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
_YIELD_EVERY = 256  # warmup bars between yields to the loop, so a long warmup does not hog it


def stored_steps(frames: Mapping[str, pl.DataFrame]) -> Iterator[Step]:
    """Every bar of every symbol grouped by open time; within a time, symbols in `frames` order."""
    names = list(frames)
    parts = [
        frame.select(COLUMNS).with_columns(pl.lit(i, dtype=pl.Int32).alias("_symbol"))
        for i, frame in enumerate(frames.values())
    ]
    if not parts:
        return
    merged = pl.concat(parts).sort(["timestamp", "_symbol"])
    current: int | None = None
    bars: list[tuple[str, Candle]] = []
    for ts, o, h, lo, c, v, i in merged.iter_rows():
        if ts != current:
            if bars and current is not None:
                yield current, bars
            current, bars = ts, []
        candle = Candle(ts_ms=ts, open=o, high=h, low=lo, close=c, volume=v)
        bars.append((names[i], candle))
    if bars and current is not None:
        yield current, bars


def synthetic_steps(market: SyntheticMarket, symbols: Sequence[str]) -> Iterator[Step]:
    """The synthetic market bar after bar, without end."""
    while True:
        bars = market.next_bar()
        ts = min(candle.ts_ms for candle in bars.values())
        yield ts, [(symbol, bars[symbol]) for symbol in symbols]


async def load_frames(
    source: CandleSource, exchange: str, symbols: Sequence[str], timeframe: str
) -> dict[str, pl.DataFrame]:
    """Every stored candle of each symbol; an empty frame for a symbol with none."""
    frames = {}
    for symbol in symbols:
        try:
            frames[symbol] = await source.candles(exchange, symbol, timeframe)
        except NotFoundError:
            frames[symbol] = pl.DataFrame(schema=dict.fromkeys(COLUMNS, pl.Float64))
    return frames


class ReplaySource:
    """Plays steps of bars through a sink, paced by the clock after the warmup."""

    name = "replay"

    def __init__(
        self,
        steps: Iterator[Step],
        *,
        exchange: str,
        timeframe: str,
        speed: float,
        warmup: int,
        clock: Clock,
        data: str,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.exchange = exchange
        self.data = data
        self._steps = steps
        self._step_ms = timeframe_ms(timeframe)
        self._pace = self._step_ms / 1000 / speed
        self._warmup = warmup
        self._clock = clock
        self.bars = 0
        self.finished = False

    async def run(self, sink: FeedSink) -> None:
        """Publish every step; returns when stored data ends (the synthetic market never does)."""
        due: float | None = None
        for index, (_, bars) in enumerate(self._steps):
            if index >= self._warmup:
                due = self._clock.monotonic() if due is None else due
                due += self._pace
                await self._clock.sleep(max(0.0, due - self._clock.monotonic()))
            elif index % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)
            for symbol, candle in bars:
                await sink.candle(symbol, candle)
            if index >= self._warmup - 1:  # a price for the present, not for the history
                for symbol, candle in bars:
                    tick = Tick(ts_ms=candle.ts_ms + self._step_ms, last=candle.close)
                    await sink.tick(symbol, tick)
            self.bars += 1
        self.finished = True

    async def close(self) -> None:
        """Nothing to release."""

    def stats(self) -> dict[str, Any]:
        return {"data": self.data, "bars": self.bars, "finished": self.finished}
