"""Synthetic market: deterministic, well-formed, realistic, and the same bar by bar as in batch."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from viper.errors import ValidationError
from viper.marketdata.frames import CANDLE_SCHEMA, validate_candles
from viper.marketdata.synthetic import CHUNK, SyntheticMarket, generate

SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "DOGE/USDT:USDT"]
START = 1_735_689_600_000  # 2025-01-01 00:00 UTC
MINUTES_PER_YEAR = 525_960


@pytest.fixture(scope="module")
def market() -> dict[str, pl.DataFrame]:
    return generate(SYMBOLS, "1m", START, 100_000, seed=11)


def log_returns(frame: pl.DataFrame) -> np.ndarray:
    return np.diff(np.log(frame["close"].to_numpy()))


def test_the_same_seed_gives_the_same_market_and_another_seed_does_not() -> None:
    first = generate(SYMBOLS[:2], "5m", START, 5_000, seed=3)
    again = generate(SYMBOLS[:2], "5m", START, 5_000, seed=3)
    other = generate(SYMBOLS[:2], "5m", START, 5_000, seed=4)
    assert all(first[s].equals(again[s]) for s in SYMBOLS[:2])
    assert not first["BTC/USDT:USDT"].equals(other["BTC/USDT:USDT"])


def test_a_symbol_does_not_change_when_others_join() -> None:
    alone = generate(["BTC/USDT:USDT"], "1h", START, 3_000)
    together = generate(["ETH/USDT:USDT", "BTC/USDT:USDT"], "1h", START, 3_000)
    assert alone["BTC/USDT:USDT"].equals(together["BTC/USDT:USDT"])


def test_frames_have_the_store_schema_and_a_contiguous_grid(
    market: dict[str, pl.DataFrame],
) -> None:
    assert list(market) == SYMBOLS
    for frame in market.values():
        assert dict(frame.schema) == CANDLE_SCHEMA
        assert frame.height == 100_000
        assert frame["timestamp"].to_list()[:2] == [START, START + 60_000]
        assert frame["timestamp"].diff().drop_nulls().unique().to_list() == [60_000]
        validate_candles(frame, "1m", source="synthetic")  # raises on any bad row


def test_bars_are_consistent_and_open_at_the_previous_close(
    market: dict[str, pl.DataFrame],
) -> None:
    for frame in market.values():
        ok = frame.select(
            wick_low=(pl.col("low") <= pl.min_horizontal("open", "close")).all(),
            wick_high=(pl.col("high") >= pl.max_horizontal("open", "close")).all(),
            positive=(pl.col("low") > 0).all(),
            traded=(pl.col("volume") > 0).all(),
            continuous=(pl.col("open").slice(1) == pl.col("close").slice(0, pl.len() - 1)).all(),
        )
        assert all(ok.row(0))


def test_prices_start_at_plausible_levels(market: dict[str, pl.DataFrame]) -> None:
    opens = {s: f.item(0, "open") for s, f in market.items()}
    assert opens["BTC/USDT:USDT"] == 60_000.0
    assert opens["ETH/USDT:USDT"] == 3_000.0
    assert opens["SOL/USDT:USDT"] == 150.0
    assert 1.0 <= opens["DOGE/USDT:USDT"] <= 100.0


def test_annualised_volatility_is_crypto_like(market: dict[str, pl.DataFrame]) -> None:
    for symbol, frame in market.items():
        annual = log_returns(frame).std() * np.sqrt(MINUTES_PER_YEAR)
        assert 0.3 < annual < 1.5, symbol


def test_volume_rises_with_the_size_of_the_move(market: dict[str, pl.DataFrame]) -> None:
    for frame in market.values():
        moves = np.abs(log_returns(frame))
        assert np.corrcoef(frame["volume"].to_numpy()[1:], moves)[0, 1] > 0.2


def test_other_symbols_follow_the_btc_reference(market: dict[str, pl.DataFrame]) -> None:
    reference = log_returns(market["BTC/USDT:USDT"])
    for symbol in SYMBOLS[1:]:
        correlation = np.corrcoef(log_returns(market[symbol]), reference)[0, 1]
        assert 0.3 < correlation < 0.95, symbol


def test_an_explicit_reference_leads_the_others() -> None:
    bars = generate(SYMBOLS[:3], "1m", START, 20_000, reference="SOL/USDT:USDT")
    sol = log_returns(bars["SOL/USDT:USDT"])
    assert np.corrcoef(log_returns(bars["ETH/USDT:USDT"]), sol)[0, 1] > 0.5


def test_volatility_switches_between_regimes(market: dict[str, pl.DataFrame]) -> None:
    returns = pl.Series(log_returns(market["BTC/USDT:USDT"]))
    rolling = returns.rolling_std(240).drop_nulls().to_numpy()
    assert np.quantile(rolling, 0.9) / np.quantile(rolling, 0.1) > 1.8


def test_trend_episodes_make_30_bar_momentum_fire_far_beyond_noise(
    market: dict[str, pl.DataFrame],
) -> None:
    closes = np.log(market["ETH/USDT:USDT"]["close"].to_numpy())
    returns = pl.Series(np.diff(closes))
    local_sigma = returns.rolling_std(300).shift(30).to_numpy()  # known before the window
    momentum = closes[31:] - closes[1:-30]
    z = momentum / (local_sigma[30:] * np.sqrt(30))
    z = z[np.isfinite(z)]
    # Gaussian noise alone exceeds |z| > 3 on 0.27 % of bars
    assert np.mean(np.abs(z) > 3) > 0.01


@pytest.mark.parametrize("bars", [1, 257, CHUNK + 3])
def test_bar_by_bar_replay_equals_the_batch(bars: int) -> None:
    batch = generate(SYMBOLS[:3], "15m", START, bars, seed=5)
    live = SyntheticMarket(SYMBOLS[:3], "15m", seed=5, start_ms=START)
    rows: dict[str, list[tuple[float, ...]]] = {s: [] for s in SYMBOLS[:3]}
    for _ in range(bars):
        for symbol, candle in live.next_bar().items():
            rows[symbol].append(
                (candle.ts_ms, candle.open, candle.high, candle.low, candle.close, candle.volume)
            )
    for symbol in SYMBOLS[:3]:
        assert rows[symbol] == batch[symbol].rows()


def test_zero_bars_gives_empty_frames_with_the_schema() -> None:
    frames = generate(["BTC/USDT"], "1h", START, 0)
    assert frames["BTC/USDT"].is_empty()
    assert dict(frames["BTC/USDT"].schema) == CANDLE_SCHEMA


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start_ms": START + 1}, "start_ms"),
        ({"symbols": ["BTC/USDT", "BTC/USDT"]}, "symbols"),
        ({"symbols": []}, "symbols"),
        ({"reference": "ETH/USDT"}, "reference"),
        ({"bars": -1}, "bars"),
        ({"timeframe": "1x"}, "timeframe"),
    ],
)
def test_bad_arguments_are_validation_errors(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {
        "symbols": ["BTC/USDT"], "timeframe": "1m", "start_ms": START, "bars": 10, **kwargs,
    }  # fmt: skip
    with pytest.raises(ValidationError) as info:
        generate(**arguments)  # type: ignore[arg-type]
    assert info.value.field == field
