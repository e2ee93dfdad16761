"""IncrementalScorer: per-symbol state, warm-up, replays skipped, ATR and reset."""

from __future__ import annotations

import numpy as np

from tests.unit.scoring.series import STEP_MS, T0
from viper.domain import Candle
from viper.scoring import IncrementalScorer, ScoreParams, score_batch


def candle(i: int, close: float, volume: float = 1.0) -> Candle:
    return Candle(
        ts_ms=T0 + i * STEP_MS,
        open=close,
        high=close + 1,
        low=close - 1,
        close=close,
        volume=volume,
    )


CLOSES = [100.0, 102, 101, 104, 107, 103, 108, 111, 109, 115]


def test_update_is_none_during_warm_up_then_scores() -> None:
    scorer = IncrementalScorer(ScoreParams(lookback=4))
    results = [scorer.update("BTC", candle(i, c)) for i, c in enumerate(CLOSES)]
    assert results[:3] == [None, None, None]
    assert all(r is not None for r in results[3:])
    assert scorer.bars("BTC") == len(CLOSES)


def test_symbols_keep_separate_states() -> None:
    params = ScoreParams(lookback=3)
    mixed, alone = IncrementalScorer(params), IncrementalScorer(params)
    for i, c in enumerate(CLOSES):
        mixed.update("A", candle(i, c))
        mixed.update("B", candle(i, 1000 - c, volume=5.0))
        last = alone.update("A", candle(i, c))
    assert mixed.update("A", candle(10, 120.0)) == alone.update("A", candle(10, 120.0))
    assert last is not None and sorted(mixed.symbols) == ["A", "B"]


def test_a_replayed_candle_is_skipped_and_leaves_the_state_alone() -> None:
    scorer = IncrementalScorer(ScoreParams(lookback=3))
    for i, c in enumerate(CLOSES[:5]):
        scorer.update("BTC", candle(i, c))
    before = scorer.state_of("BTC")
    assert scorer.update("BTC", candle(4, 999.0)) is None
    assert scorer.update("BTC", candle(2, 999.0)) is None
    assert scorer.skipped == 2
    np.testing.assert_array_equal(scorer.state_of("BTC"), before)


def test_atr_and_ema_follow_the_batch() -> None:
    scorer = IncrementalScorer(ScoreParams(lookback=3))
    assert scorer.atr("BTC") is None and scorer.ema("BTC") is None
    for i, c in enumerate(CLOSES):
        scorer.update("BTC", candle(i, c))
    c = np.array(CLOSES)
    arrays = score_batch(c, c + 1, c - 1, c, np.ones_like(c), params=ScoreParams(lookback=3))
    assert scorer.atr("BTC") == arrays.atr[-1]
    assert scorer.ema("BTC") == arrays.ema[-1]


def test_reset_starts_a_fresh_warm_up() -> None:
    scorer = IncrementalScorer(ScoreParams(lookback=3))
    for i, c in enumerate(CLOSES[:5]):
        scorer.update("BTC", candle(i, c))
    scorer.reset("BTC")
    assert scorer.bars("BTC") == 0 and scorer.state_of("BTC") is None
    assert scorer.update("BTC", candle(9, 100.0)) is None
    scorer.reset()
    assert scorer.symbols == []
