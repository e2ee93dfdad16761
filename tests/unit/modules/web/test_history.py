"""Recent candles per series: a bounded ring, a re-sent bar replaces its twin, older bars are
ignored, and an unknown symbol names what is held."""

from __future__ import annotations

import pytest

from tests.stubs import TS, candle_closed
from viper.errors import NotFoundError
from viper.modules.web.history import CandleHistory

MINUTE = 60_000


def test_keeps_the_latest_bars_oldest_first() -> None:
    history = CandleHistory(size=3)
    for i in range(5):
        history.record("BTC", "1m", candle_closed(close=100.0 + i, ts_ms=TS + i * MINUTE).candle)

    series = history.recent("BTC", None, limit=10)

    assert series.timeframe == "1m" and series.count == 3
    assert [c.close for c in series.candles] == [102.0, 103.0, 104.0]
    assert [c.close for c in history.recent("BTC", "1m", limit=2).candles] == [103.0, 104.0]


def test_a_bar_sent_again_replaces_its_twin_and_an_older_one_is_ignored() -> None:
    history = CandleHistory(size=10)
    history.record("BTC", "1m", candle_closed(close=1.0, ts_ms=TS + MINUTE).candle)
    history.record("BTC", "1m", candle_closed(close=2.0, ts_ms=TS + MINUTE).candle)
    history.record("BTC", "1m", candle_closed(close=3.0, ts_ms=TS).candle)

    assert [c.close for c in history.recent("BTC", "1m", 10).candles] == [2.0]


def test_an_unknown_symbol_is_not_found_naming_the_series_held() -> None:
    history = CandleHistory(size=10)
    history.record("BTC", "1m", candle_closed().candle)

    with pytest.raises(NotFoundError, match="held: BTC 1m"):
        history.recent("ETH", None, 10)
    with pytest.raises(NotFoundError, match="no candles seen for BTC"):
        history.recent("BTC", "5m", 10)
