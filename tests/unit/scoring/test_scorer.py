"""Batch entry points: many symbols at once, frames of any length, input checks, real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.scoring.series import Series, bars
from viper.errors import ValidationError
from viper.scoring import ScoreArrays, ScoreParams, score_batch, score_frames, score_many

FIELDS = ScoreArrays.__struct_fields__
BTC_1M = Path(
    "/work/shared/data/ohlcv/typhonun__DcaTpStrategy/binance/futures/BTC_USDT_USDT-1m-futures.feather"
)


def assert_same(a: ScoreArrays, b: ScoreArrays) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@settings(max_examples=40, deadline=None)
@given(
    symbols=st.lists(bars(min_size=30, max_size=30), min_size=1, max_size=4),
    parallel=st.booleans(),
)
def test_score_many_equals_score_batch_per_symbol(
    symbols: list[list[tuple[float, ...]]], parallel: bool
) -> None:
    series = [Series(rows) for rows in symbols]
    params = ScoreParams(lookback=5)
    stacked = [np.stack(cols) for cols in zip(*(s.ohlcv() for s in series), strict=True)]
    funding = np.stack([s.funding for s in series])
    many = score_many(*stacked, funding=funding, params=params, parallel=parallel)
    assert many.score.shape == (len(series), 30)
    for row, one in enumerate(series):
        single = score_batch(*one.ohlcv(), funding=one.funding, params=params)
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(many, name)[row], getattr(single, name))


@settings(max_examples=40, deadline=None)
@given(symbols=st.lists(bars(max_size=40), min_size=0, max_size=4))
def test_score_frames_of_different_lengths_equal_score_batch(
    symbols: list[list[tuple[float, ...]]],
) -> None:
    series = [Series(rows) for rows in symbols]
    frames = {
        f"S{i}": pl.DataFrame(
            {
                "open": s.open,
                "high": s.high,
                "low": s.low,
                "close": s.close,
                "volume": s.volume,
                "imbalance": s.imbalance,
            }
        )
        for i, s in enumerate(series)
    }
    scored = score_frames(frames, ScoreParams(lookback=3))
    assert list(scored) == list(frames)
    for i, s in enumerate(series):
        single = score_batch(*s.ohlcv(), imbalance=s.imbalance, params=ScoreParams(lookback=3))
        assert_same(scored[f"S{i}"], single)


def test_score_frames_reads_null_funding_as_not_available() -> None:
    closes = [100.0, 101, 102, 103, 104]
    frame = pl.DataFrame({"open": closes, "high": closes, "low": closes, "close": closes})
    frame = frame.with_columns(
        volume=pl.lit(1.0), funding=pl.Series([None, None, 0.0005, None, 0.0005])
    )
    scored = score_frames({"X": frame}, ScoreParams(lookback=2))["X"]
    c = np.array(closes)
    funding = np.array([np.nan, np.nan, 0.0005, np.nan, 0.0005])
    assert_same(
        scored, score_batch(c, c, c, c, np.ones(5), funding=funding, params=ScoreParams(lookback=2))
    )
    with pytest.raises(ValidationError, match="volume"):
        score_frames({"Y": frame.drop("volume")})


def test_inputs_of_different_lengths_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        score_batch([1.0, 2.0], [1.0, 2.0], [1.0], [1.0, 2.0], [1.0, 1.0])
    assert caught.value.field == "low"
    with pytest.raises(ValidationError) as caught:
        score_batch([1.0], [1.0], [1.0], [1.0], [1.0], funding=[0.1, 0.2])
    assert caught.value.field == "funding"
    with pytest.raises(ValidationError) as caught:
        score_many([1.0], [1.0], [1.0], [1.0], [1.0])
    assert caught.value.field == "close"


def test_to_frame_has_one_column_per_array() -> None:
    c = np.linspace(100, 120, 30)
    frame = score_batch(c, c + 1, c - 1, c, np.ones(30)).to_frame()
    assert frame.columns == list(FIELDS) and frame.height == 30


def test_real_btc_minutes_score_in_range_and_reach_the_threshold() -> None:
    if not BTC_1M.exists():
        pytest.skip(f"shared data not present: {BTC_1M}")
    frame = pl.read_ipc(BTC_1M).sort("date")
    assert frame.schema["date"].is_temporal()
    params = ScoreParams()
    arrays = score_batch(
        *(frame.get_column(c).to_numpy() for c in ("open", "high", "low", "close", "volume")),
        params=params,
    )
    scored = arrays.score[~np.isnan(arrays.score)]
    assert len(scored) == frame.height - (params.lookback - 1)
    assert ((scored >= 0) & (scored <= 100)).all()
    for name in ("volume", "price", "range", "external"):
        values = getattr(arrays, name)[params.lookback - 1 :]
        assert ((values >= 0) & (values <= 100)).all(), name
    signals = arrays.signals(params.threshold)
    print(f"BTC 1m: {frame.height} bars, {int(signals.sum())} at or above {params.threshold}")
    assert signals.sum() > 0
    assert set(np.unique(arrays.direction[signals])) <= {-1, 1}
