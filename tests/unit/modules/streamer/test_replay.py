"""Replay: bars of every symbol in timestamp order, warmup at once, then paced by the clock."""

from __future__ import annotations

import polars as pl

from viper.clock import TestClock
from viper.domain import Candle
from viper.marketdata.synthetic import SyntheticMarket, generate
from viper.modules.streamer.feed import Tick
from viper.modules.streamer.replay import ReplaySource, stored_steps, synthetic_steps

STEP = 60_000
START = 1_699_999_980_000  # on the 1m grid


class RecordingSink:
    """Keeps what a source delivers, with the clock reading at each candle."""

    def __init__(self, clock: TestClock) -> None:
        self.clock = clock
        self.candles: list[tuple[str, Candle, float]] = []
        self.ticks: list[tuple[str, Tick]] = []

    async def candle(self, symbol: str, candle: Candle) -> None:
        self.candles.append((symbol, candle, self.clock.monotonic()))

    async def tick(self, symbol: str, tick: Tick) -> None:
        self.ticks.append((symbol, tick))

    def disconnected(self, symbol: str, reason: str) -> None:
        raise AssertionError("a replay never disconnects")

    async def resumed(self, symbol: str, backfilled: int) -> None:
        raise AssertionError("a replay never resumes")


def frame(opens: list[int], close: float) -> pl.DataFrame:
    n = len(opens)
    return pl.DataFrame(
        {
            "timestamp": opens,
            "open": [close] * n,
            "high": [close + 1] * n,
            "low": [close - 1] * n,
            "close": [close] * n,
            "volume": [1.0] * n,
        },
        schema_overrides={"timestamp": pl.Int64},
    )


def test_stored_steps_merge_symbols_by_time_in_configured_order() -> None:
    frames = {
        "B": frame([START, START + STEP, START + 3 * STEP], 2.0),
        "A": frame([START + STEP, START + 2 * STEP], 1.0),
    }
    steps = list(stored_steps(frames))
    assert [ts for ts, _ in steps] == [START + i * STEP for i in range(4)]
    assert [[s for s, _ in bars] for _, bars in steps] == [["B"], ["B", "A"], ["A"], ["B"]]
    assert list(stored_steps({})) == []


def test_synthetic_steps_match_the_batch_generator() -> None:
    symbols = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    steps = synthetic_steps(SyntheticMarket(symbols, "1m", 7, START), symbols)
    first = [next(steps) for _ in range(3)]
    batch = generate(symbols, "1m", START, 3, seed=7)
    for i, (ts, bars) in enumerate(first):
        assert ts == START + i * STEP
        for symbol, candle in bars:
            assert candle.close == batch[symbol]["close"][i]


async def test_warmup_goes_out_at_once_then_one_bar_per_timeframe_over_speed() -> None:
    clock = TestClock()
    frames = {"A": frame([START + i * STEP for i in range(6)], 1.0)}
    source = ReplaySource(
        stored_steps(frames),
        exchange="x",
        timeframe="1m",
        speed=60.0,
        warmup=3,
        clock=clock,
        data="store",
    )
    sink = RecordingSink(clock)
    t0 = clock.monotonic()
    await source.run(sink)
    assert [round(t - t0, 6) for _, _, t in sink.candles] == [0, 0, 0, 1, 2, 3]
    assert clock.sleeps == [1.0, 1.0, 1.0]
    assert source.finished and source.bars == 6
    # ticks only from the last warmup bar on, stamped at the bar's close
    assert [t.ts_ms for _, t in sink.ticks] == [START + i * STEP for i in range(3, 7)]


async def test_two_replays_of_the_same_data_deliver_the_same_bars() -> None:
    async def run() -> list[tuple[str, Candle]]:
        clock = TestClock()
        symbols = ["BTC/USDT:USDT", "SOL/USDT:USDT"]
        market = SyntheticMarket(symbols, "1m", 11, START)
        steps = (step for _, step in zip(range(20), synthetic_steps(market, symbols), strict=False))
        source = ReplaySource(
            steps, exchange="s", timeframe="1m", speed=1.0, warmup=5, clock=clock, data="synthetic"
        )
        sink = RecordingSink(clock)
        await source.run(sink)
        return [(s, c) for s, c, _ in sink.candles]

    assert await run() == await run()
