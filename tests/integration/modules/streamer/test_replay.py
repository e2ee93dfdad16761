"""Acceptance: a replay delivers every bar through the real bus, in order, none lost."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from tests.conftest import make_config
from viper.clock import TestClock
from viper.domain import Candle
from viper.events import CandleClosed, Ticker
from viper.marketdata.synthetic import generate
from viper.modules.streamer.module import StreamerModule
from viper.protocols import CandleSource

if TYPE_CHECKING:
    from tests.integration.modules.streamer.conftest import Harness

SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
STEP = 60_000


async def test_replay_delivers_every_candle_in_order_to_a_slow_subscriber(
    harness: Harness, tmp_path: Path
) -> None:
    bars, warmup = 400, 50
    config = make_config(
        tmp_path,
        trading={"symbols": SYMBOLS, "timeframe": "1m"},
        streamer={"source": "replay", "replay_data": "synthetic", "speed": 60.0,
                  "warmup_bars": warmup, "stale_after_seconds": 1e9},
    )  # fmt: skip
    got: list[CandleClosed] = []
    done = asyncio.Event()

    async def slow(event: CandleClosed) -> None:
        got.append(event)
        await asyncio.sleep(0)  # slower than the publisher: its queue of 4 fills up
        if len(got) >= bars * len(SYMBOLS):
            done.set()

    harness.bus.subscribe(CandleClosed, slow, name="test:slow", maxsize=4)
    clock = TestClock()
    await harness.start(StreamerModule(), config, clock)
    await asyncio.wait_for(done.wait(), timeout=60)

    first = got[: bars * len(SYMBOLS)]
    start = 1_700_000_000_000 - 1_700_000_000_000 % STEP - warmup * STEP
    expected = generate(SYMBOLS, "1m", start, bars, seed=7)
    for symbol in SYMBOLS:
        mine = [e for e in first if e.symbol == symbol]
        assert len(mine) == bars
        assert [e.candle.ts_ms for e in mine] == [start + i * STEP for i in range(bars)]
        assert [e.candle.close for e in mine] == expected[symbol]["close"].to_list()
        assert all(e.ts_ms == e.candle.ts_ms + STEP for e in mine)  # stamped at the close
    stamps = [e.ts_ms for e in first]
    assert stamps == sorted(stamps)
    sub = next(s for s in harness.bus.subscriptions if s.name == "test:slow")
    assert sub.dropped == 0
    # after the warmup, one bar per second of the (test) clock at speed 60
    assert clock.sleeps.count(1.0) >= bars - warmup - 1


async def test_replay_of_stored_candles_publishes_exactly_those_candles(
    harness: Harness, tmp_path: Path
) -> None:
    start = 1_699_000_020_000
    frames = generate(SYMBOLS[:2], "1m", start, 30, seed=3)
    frames[SYMBOLS[1]] = frames[SYMBOLS[1]].filter(pl.col("timestamp") != start + 5 * STEP)

    class Stored:
        async def candles(
            self,
            exchange: str,
            symbol: str,
            timeframe: str,
            start_ms: int | None = None,
            end_ms: int | None = None,
        ) -> pl.DataFrame:
            assert (exchange, timeframe) == ("bitget", "1m")
            return frames[symbol]

    harness.services.provide(CandleSource, Stored())
    config = make_config(
        tmp_path,
        trading={"symbols": SYMBOLS[:2], "timeframe": "1m"},
        streamer={"replay_data": "store", "warmup_bars": 10, "speed": 60.0},
    )
    module = await harness.start(StreamerModule(), config, TestClock())
    for _ in range(1000):
        if module.health().checks.get("finished"):
            break
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)  # let the recorder drain

    published = [(e.symbol, e.candle) for e in harness.of(CandleClosed)]
    stored = sorted(
        ((s, c) for s, frame in frames.items() for c in _candles(frame)),
        key=lambda item: (item[1].ts_ms, SYMBOLS.index(item[0])),
    )
    assert published == stored
    assert all(e.exchange == "bitget" for e in harness.of(CandleClosed))
    assert harness.of(Ticker)[-1].last == frames[SYMBOLS[1]]["close"][-1]
    health = module.health()
    assert health.status == "degraded" and "replay finished" in health.detail


def _candles(frame: pl.DataFrame) -> list[Candle]:
    return [
        Candle(ts_ms=t, open=o, high=h, low=lo, close=c, volume=v)
        for t, o, h, lo, c, v in frame.iter_rows()
    ]
