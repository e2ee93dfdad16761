"""The latest view per symbol and the symbol filter of the HTTP routes."""

from __future__ import annotations

import pytest

from viper.domain import Candle
from viper.errors import NotFoundError
from viper.modules.streamer.feed import Tick
from viper.modules.streamer.state import MarketState, pick_symbols

SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]


def test_quote_holds_the_last_tick_and_closed_bar() -> None:
    state = MarketState(SYMBOLS, 60_000)
    candle = Candle(ts_ms=120_000, open=1, high=2, low=0.5, close=1.5, volume=3)
    state.record_candle("BTC/USDT:USDT", candle)
    state.record_tick("BTC/USDT:USDT", Tick(ts_ms=181_000, last=1.6, bid=1.5, ask=1.7))
    quotes = state.quotes(SYMBOLS, stale=("ETH/USDT:USDT",))
    btc, eth = quotes["BTC/USDT:USDT"], quotes["ETH/USDT:USDT"]
    assert (btc.last, btc.bid, btc.ask, btc.tick_ms) == (1.6, 1.5, 1.7, 181_000)
    assert btc.candle == candle and btc.candle_close_ms == 180_000 and not btc.stale
    assert eth.last is None and eth.candle is None and eth.stale


def test_pick_symbols_filters_ignoring_case_and_names_strays() -> None:
    assert pick_symbols(None, SYMBOLS) == SYMBOLS
    assert pick_symbols(" ", SYMBOLS) == SYMBOLS
    assert pick_symbols("eth/usdt:usdt,BTC/USDT:USDT,ETH/USDT:USDT", SYMBOLS) == [
        "ETH/USDT:USDT",
        "BTC/USDT:USDT",
    ]
    with pytest.raises(NotFoundError, match="DOGE/USDT") as caught:
        pick_symbols("BTC/USDT:USDT,DOGE/USDT", SYMBOLS)
    assert caught.value.extra["symbols"] == ["DOGE/USDT"]
