"""Closed bars from forming-bar updates: each once, in order, whatever the overlap."""

from __future__ import annotations

from viper.domain import Candle
from viper.modules.streamer.feed import CandleCloser, candle_of, candles_of, tick_of

STEP = 60_000


def bar(i: int, close: float = 100.0) -> Candle:
    return Candle(ts_ms=i * STEP, open=100.0, high=101.0, low=99.0, close=close, volume=1.0)


def test_a_bar_closes_when_a_later_one_arrives() -> None:
    closer = CandleCloser()
    assert closer.feed([bar(0)]) == []
    assert closer.feed([bar(0, close=100.5)]) == []
    assert closer.feed([bar(1)]) == [bar(0, close=100.5)]  # the last revision goes out
    assert closer.forming == bar(1)


def test_overlapping_batches_never_repeat_a_bar() -> None:
    closer = CandleCloser()
    out = closer.feed([bar(0), bar(1), bar(2)])
    out += closer.feed([bar(1), bar(2), bar(3)])
    out += closer.feed([bar(2), bar(3)])
    out += closer.feed([bar(4)])
    assert [c.ts_ms for c in out] == [0, STEP, 2 * STEP, 3 * STEP]


def test_late_bars_older_than_the_forming_one_go_out_in_order() -> None:
    closer = CandleCloser()
    closer.feed([bar(2)])
    closer.last_closed_ms = 0  # bar 0 went out before; bars 1 and 2 arrive late
    assert [c.ts_ms for c in closer.feed([bar(3), bar(1)])] == [STEP, 2 * STEP]
    assert closer.feed([bar(1), bar(0)]) == []


def test_unsorted_input_is_handled_in_time_order() -> None:
    closer = CandleCloser()
    assert [c.ts_ms for c in closer.feed([bar(3), bar(1), bar(2)])] == [STEP, 2 * STEP]


def test_gap_before_spots_skipped_bars() -> None:
    closer = CandleCloser()
    closer.feed([bar(0), bar(1)])
    assert not closer.gap_before([bar(1), bar(2)], STEP)
    assert closer.gap_before([bar(4)], STEP)
    assert not CandleCloser().gap_before([bar(9)], STEP)


def test_resume_from_starts_after_the_last_closed_bar() -> None:
    closer = CandleCloser()
    assert closer.resume_from() is None
    closer.feed([bar(5)])
    assert closer.resume_from() == 5 * STEP
    closer.feed([bar(6)])
    assert closer.resume_from() == 5 * STEP + 1


def test_ccxt_rows_and_tickers_convert_and_incomplete_ones_are_skipped() -> None:
    assert candle_of([60_000, "1", 2, 0.5, 1.5, None]) == Candle(
        ts_ms=60_000, open=1.0, high=2.0, low=0.5, close=1.5, volume=0.0
    )
    assert candles_of([[0, 1, 2, 0.5, None, 3], [0, 1, 2]]) == []
    tick = tick_of({"last": 10.5, "bid": 10.4, "ask": None, "timestamp": 7}, fallback_ms=9)
    assert (tick.ts_ms, tick.last, tick.bid, tick.ask) == (7, 10.5, 10.4, None)
    assert tick_of({"last": 1.0, "timestamp": None}, fallback_ms=9).ts_ms == 9
    assert tick_of({"last": None}, fallback_ms=9) is None
