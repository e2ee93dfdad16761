"""Real candles for the optimizer's unit tests: Binance BTC/USDT perpetual, 1h (shared data)."""

from __future__ import annotations

import polars as pl
import pytest

from tests.conftest import SHARED_DATA
from viper.marketdata.importers import load_file

BTC_1H = (
    SHARED_DATA / "ohlcv/Roshan7869__algotrading/binance/futures/BTC_USDT_USDT-1h-futures.feather"
)
ETH_1H = (
    SHARED_DATA / "ohlcv/Roshan7869__algotrading/binance/futures/ETH_USDT_USDT-1h-futures.feather"
)


@pytest.fixture(scope="session")
def btc() -> pl.DataFrame:
    """About two years of real 1h BTC perpetual candles (2021-2022)."""
    if not BTC_1H.is_file():
        pytest.skip(f"real candles not found at {BTC_1H}")
    frame = load_file(BTC_1H).frame
    return frame.filter(
        (pl.col("timestamp") >= 1_609_459_200_000) & (pl.col("timestamp") < 1_672_531_200_000)
    )


@pytest.fixture(scope="session")
def eth() -> pl.DataFrame:
    if not ETH_1H.is_file():
        pytest.skip(f"real candles not found at {ETH_1H}")
    frame = load_file(ETH_1H).frame
    return frame.filter(
        (pl.col("timestamp") >= 1_640_995_200_000) & (pl.col("timestamp") < 1_672_531_200_000)
    )
