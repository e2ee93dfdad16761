"""SignalProcessor: scores, histories and signals kept bounded, and the queries over them."""

from __future__ import annotations

import pytest

from viper.domain import Candle
from viper.errors import NotFoundError, ValidationError
from viper.events import CandleClosed
from viper.modules.signal.processor import SignalFilter, SignalProcessor
from viper.scoring import ScoreParams

T0 = 1_700_000_000_000
CLOSES = [100.0, 102, 101, 104, 107, 103, 108, 111, 109, 115, 112, 118, 117, 121]


def closed(i: int, close: float, symbol: str = "BTC", timeframe: str = "1m") -> CandleClosed:
    step = {"1m": 60_000, "5m": 300_000}[timeframe]
    candle = Candle(
        ts_ms=T0 + i * step, open=close, high=close + 2, low=close - 1, close=close, volume=1.0 + i
    )
    return CandleClosed(
        ts_ms=candle.ts_ms + step,
        exchange="paper",
        symbol=symbol,
        timeframe=timeframe,
        candle=candle,
    )


def fed(threshold: float = 60.0, **kwargs: int) -> SignalProcessor:
    processor = SignalProcessor(ScoreParams(lookback=3, threshold=threshold), **kwargs)
    for i, c in enumerate(CLOSES):
        processor.process(closed(i, c))
        processor.process(closed(i, 300 - c, symbol="ETH"))
    return processor


def test_process_publishes_scores_and_signals_at_the_threshold_at_close_time() -> None:
    processor = SignalProcessor(ScoreParams(lookback=3, threshold=60.0))
    results = [processor.process(closed(i, c)) for i, c in enumerate(CLOSES)]
    assert results[:2] == [None, None]
    scored = [r for r in results if r is not None]
    assert scored
    for r in scored:
        assert r.computed.ts_ms == r.view.close_ts_ms == r.view.ts_ms + 60_000
        assert (r.signal is not None) == (r.computed.score.score >= 60.0) == r.view.signal
        if r.signal is not None:
            assert r.signal.ts_ms == r.computed.ts_ms and r.signal.price == r.view.close
            assert r.signal.direction == r.computed.score.direction
    assert processor.scored == len(scored)
    assert processor.last_score_ms == scored[-1].view.close_ts_ms


def test_latest_is_one_score_per_series_filtered_by_symbol_any_case() -> None:
    processor = fed()
    page = processor.latest()
    assert [(s.symbol, s.timeframe) for s in page.scores] == [("BTC", "1m"), ("ETH", "1m")]
    assert page.scores[0].ts_ms == T0 + (len(CLOSES) - 1) * 60_000
    only = processor.latest("eth")
    assert only.count == 1 and only.scores[0].symbol == "ETH"
    assert processor.latest(timeframe="5m").count == 0


def test_unknown_symbol_or_its_timeframe_is_not_found_naming_it() -> None:
    processor = fed()
    with pytest.raises(NotFoundError, match="DOGE") as caught:
        processor.latest("DOGE")
    assert caught.value.field == "symbol"
    with pytest.raises(NotFoundError, match="5m"):
        processor.history("BTC", "5m", 3)


def test_history_is_the_last_n_oldest_first_and_bounded() -> None:
    processor = fed(history=5)
    page = processor.history("BTC", None, 3)
    stamps = [s.ts_ms for s in page.scores]
    assert stamps == sorted(stamps) and len(stamps) == 3
    assert stamps[-1] == processor.latest("BTC").scores[0].ts_ms
    assert processor.history("BTC", "1m", 500).count == 5


def test_history_needs_a_symbol_and_one_timeframe() -> None:
    processor = fed()
    for i, c in enumerate(CLOSES):
        processor.process(closed(i, c, timeframe="5m"))
    with pytest.raises(ValidationError) as caught:
        processor.history(None, None, 3)
    assert caught.value.field == "symbol"
    with pytest.raises(ValidationError) as caught:
        processor.history("BTC", None, 3)
    assert caught.value.field == "timeframe"
    assert processor.history("BTC", "5m", 2).scores[0].timeframe == "5m"


def test_signals_are_newest_first_filtered_and_paged() -> None:
    processor = fed(threshold=50.0)
    everything = processor.signals(SignalFilter(limit=1000))
    assert everything.total == processor.signalled > 4
    stamps = [s.ts_ms for s in everything.signals]
    assert stamps == sorted(stamps, reverse=True)
    longs = processor.signals(SignalFilter(direction="long", limit=1000))
    assert longs.signals and all(s.direction == "long" for s in longs.signals)
    eth = processor.signals(SignalFilter(symbol="eth", limit=1000))
    assert eth.signals and {s.symbol for s in eth.signals} == {"ETH"}
    strong = processor.signals(SignalFilter(min_score=70.0, limit=1000))
    assert all(s.score >= 70.0 for s in strong.signals)
    since = everything.signals[2].ts_ms
    recent = processor.signals(SignalFilter(since_ms=since, limit=1000))
    assert all(s.ts_ms >= since for s in recent.signals) and recent.total >= 3
    page = processor.signals(SignalFilter(limit=2, offset=1))
    assert page.signals == everything.signals[1:3] and page.total == everything.total


def test_recent_signals_are_bounded() -> None:
    processor = fed(threshold=0.0, max_signals=4)
    assert processor.signalled > 4
    assert processor.signals(SignalFilter()).total == 4
