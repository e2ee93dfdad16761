"""Real candles in a store of the test's own, for the optimizer's integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from viper.marketdata.importers import load_file
from viper.store.candles import CandleStore

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
FUTURES = SHARED_DATA / "ohlcv/Roshan7869__algotrading/binance/futures"
FILES = {
    BTC: FUTURES / "BTC_USDT_USDT-1h-futures.feather",
    ETH: FUTURES / "ETH_USDT_USDT-1h-futures.feather",
}


def store_real_candles(root: Path, symbols: tuple[str, ...] = (BTC,)) -> None:
    """Binance perpetual 1h candles (2019-2026) under `root`, filed as bitget's."""
    store = CandleStore(root)
    for symbol in symbols:
        if not FILES[symbol].is_file():
            pytest.skip(f"real candles not found at {FILES[symbol]}")
        store.write("bitget", symbol, "1h", load_file(FILES[symbol]).frame)
