"""Batch and incremental scoring run one kernel: identical numbers, and no lookahead."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.scoring.series import Series, bars, lookbacks
from viper.scoring import IncrementalScorer, ScoreArrays, ScoreParams, score_batch
from viper.scoring.kernel import N_OUT

FIELDS = ("score", "direction", "volume", "price", "range", "external", "atr", "ema")


def batch(series: Series, params: ScoreParams) -> ScoreArrays:
    return score_batch(
        *series.ohlcv(), funding=series.funding, imbalance=series.imbalance, params=params
    )


def incremental(series: Series, params: ScoreParams) -> np.ndarray:
    scorer = IncrementalScorer(params)
    out = np.empty((N_OUT, len(series)))
    for i in range(len(series)):
        out[:, i] = scorer.step(
            "X",
            *(float(col[i]) for col in series.ohlcv()),
            float(series.funding[i]),
            float(series.imbalance[i]),
        )
    return out


@settings(max_examples=150, deadline=None)
@given(rows=bars(), lookback=lookbacks, htf=st.sampled_from([1, 4]))
def test_batch_and_incremental_give_identical_scores_and_components(
    rows: list[tuple[float, ...]], lookback: int, htf: int
) -> None:
    series = Series(rows)
    params = ScoreParams(lookback=lookback, htf_factor=htf, weight_range=2.0)
    arrays = batch(series, params)
    steps = incremental(series, params)
    for k, name in enumerate(FIELDS):
        np.testing.assert_array_equal(getattr(arrays, name), steps[k], err_msg=name, strict=False)


@settings(max_examples=100, deadline=None)
@given(rows=bars(min_size=1))
def test_update_returns_the_batch_score_bar_for_bar(rows: list[tuple[float, ...]]) -> None:
    series = Series(rows)
    params = ScoreParams(lookback=3)
    arrays = batch(series, params)
    scorer = IncrementalScorer(params)
    for i in range(len(series)):
        score = scorer.update(
            "X", series.candle(i), float(series.funding[i]), float(series.imbalance[i])
        )
        if math.isnan(arrays.score[i]) or arrays.direction[i] == 0:
            assert score is None
            continue
        assert score is not None
        assert score.ts_ms == series.candle(i).ts_ms
        assert score.direction == ("long" if arrays.direction[i] == 1 else "short")
        got = (score.score, score.volume, score.price, score.range, score.external)
        want = tuple(
            getattr(arrays, f)[i] for f in ("score", "volume", "price", "range", "external")
        )
        assert got == want
    assert scorer.atr("X") == arrays.atr[-1]


@settings(max_examples=100, deadline=None)
@given(rows=bars(min_size=1), other=bars(min_size=1), data=st.data())
def test_score_at_t_does_not_change_when_later_candles_change(
    rows: list[tuple[float, ...]], other: list[tuple[float, ...]], data: st.DataObject
) -> None:
    t = data.draw(st.integers(0, len(rows) - 1))
    params = ScoreParams(lookback=3)
    scale = rows[t][3] / other[0][0]  # keep prices continuous-ish; any positive tail is valid
    tail = [
        (o * scale, h * scale, lo * scale, c * scale, v, f, i) for o, h, lo, c, v, f, i in other
    ]
    original = batch(Series(rows), params)
    changed = batch(Series(rows[: t + 1] + tail), params)
    for name in FIELDS:
        np.testing.assert_array_equal(
            getattr(original, name)[: t + 1], getattr(changed, name)[: t + 1], err_msg=name
        )
