"""The score's formulas on hand-computed examples, warm-up, weights and the kernel's guards."""

from __future__ import annotations

import math

import numpy as np
import pytest

from viper.scoring import ScoreArrays, ScoreParams, score_batch
from viper.scoring.kernel import new_state, score_step


def run(
    closes: list[float],
    *,
    highs: list[float] | None = None,
    lows: list[float] | None = None,
    volumes: list[float] | None = None,
    funding: list[float] | None = None,
    imbalance: list[float] | None = None,
    **params: float,
) -> ScoreArrays:
    c = np.array(closes, dtype=float)
    h = np.array(highs) if highs is not None else c
    lo = np.array(lows) if lows is not None else c
    v = np.array(volumes) if volumes is not None else np.ones_like(c)
    return score_batch(
        c,
        h,
        lo,
        c,
        v,
        funding=funding,
        imbalance=imbalance,
        params=ScoreParams(**params),  # type: ignore[arg-type]
    )


def test_volume_three_times_its_average_scores_100() -> None:
    # n = 3: the window includes the bar itself, so [0, 0, 5] has SMA 5/3 and rv = 3.
    arrays = run([100, 101, 102], volumes=[0, 0, 5], lookback=3)
    assert arrays.volume[2] == 100.0


def test_volume_at_its_average_scores_50_and_a_third_of_it_scores_0() -> None:
    assert run([100, 101, 102], volumes=[7, 7, 7], lookback=3).volume[2] == 50.0
    assert run([100, 101, 102], volumes=[4, 4, 1], lookback=3).volume[2] == pytest.approx(0.0)
    assert run([100, 101, 102], volumes=[8, 8, 0.1], lookback=3).volume[2] == 0.0


def test_volume_twice_its_average_is_on_the_log_scale() -> None:
    arrays = run([100, 101], volumes=[0, 1], lookback=2)  # SMA 0.5, rv = 2
    assert arrays.volume[1] == pytest.approx(50 + 50 * math.log(2) / math.log(3))


def test_volume_with_no_volume_in_the_window_is_neutral() -> None:
    assert run([100, 101, 102], volumes=[0, 0, 0], lookback=3).volume[2] == 50.0


def test_price_is_the_distance_from_the_ema_in_atr() -> None:
    # n = 3: alpha = 0.5; ATR seeds at TR0 = 2, stays 2, then TR = |104 - 100| = 4.
    arrays = run([100, 100, 103], highs=[101, 101, 104], lows=[99, 99, 102], lookback=3)
    ema = 100 + 0.5 * 3
    atr = (2 * 2 + 4) / 3
    assert arrays.ema[2] == pytest.approx(ema)
    assert arrays.atr[2] == pytest.approx(atr)
    assert arrays.price[2] == pytest.approx(100 * min(abs(103 - ema) / atr / 2, 1))
    assert arrays.direction[2] == 1


def test_price_two_atr_or_more_from_the_ema_scores_100_short() -> None:
    # n = 5: EMA = 100 - 20/3, ATR = (4 * 1 + 20) / 5 = 4.8: 13.3 / 4.8 = 2.8 ATR below.
    closes = [100, 100, 100, 100, 80]
    arrays = run(closes, highs=[100.5] * 4 + [80], lows=[99.5] * 4 + [80], lookback=5)
    assert arrays.direction[4] == -1
    assert arrays.price[4] == 100.0


def test_range_close_at_the_top_scores_100_for_a_long() -> None:
    arrays = run([100, 102, 105], highs=[101, 103, 105], lows=[99, 100, 101], lookback=3)
    assert arrays.direction[2] == 1
    assert arrays.range[2] == 100.0


def test_range_close_at_the_bottom_scores_100_for_a_short_and_midway_50() -> None:
    arrays = run([100, 98, 95], highs=[101, 99, 98], lows=[99, 97, 95], lookback=3)
    assert arrays.direction[2] == -1
    assert arrays.range[2] == 100.0
    mid = run([100, 98, 97], highs=[101, 99, 98], lows=[96, 97, 96], lookback=3)
    assert mid.direction[2] == -1
    assert mid.range[2] == pytest.approx(100 * (1 - (97 - 96) / (101 - 96)))


def test_flat_price_has_no_direction_and_scores_0() -> None:
    arrays = run([100.0] * 5, lookback=3)
    assert list(arrays.direction[2:]) == [0, 0, 0]
    assert list(arrays.score[2:]) == [0.0, 0.0, 0.0]
    assert arrays.price[4] == 0.0 and arrays.range[4] == 50.0 and arrays.external[4] == 50.0
    assert not arrays.signals(0.0).any()  # even a threshold of 0: no direction, no signal


def test_external_with_htf_factor_1_is_half_the_price_strength_above_50() -> None:
    # With htf_factor 1 the trend EMA is the score's EMA: htf_c = 50 + 50 * min(strength / 2, 1).
    closes = [100, 101, 99, 104, 103, 98, 97]
    arrays = run(
        closes,
        highs=[c + 1 for c in closes],
        lows=[c - 1 for c in closes],
        lookback=3,
        htf_factor=1,
    )
    scored = ~np.isnan(arrays.score) & (arrays.direction != 0)
    assert scored.sum() == 5
    np.testing.assert_allclose(arrays.external[scored], 50 + arrays.price[scored] / 2)


def test_positive_funding_counts_against_longs_and_imbalance_for_them() -> None:
    closes = [100, 101, 102, 103]
    plain = run(closes, lookback=3)
    crowded = run(closes, funding=[0.0005] * 4, lookback=3)
    bids = run(closes, imbalance=[1.0] * 4, lookback=3)
    both = run(closes, funding=[0.001] * 4, imbalance=[1.0] * 4, lookback=3)
    base = plain.external[3]
    assert plain.direction[3] == 1
    assert crowded.external[3] == pytest.approx((base + 0.0) / 2)
    assert bids.external[3] == pytest.approx((base + 100.0) / 2)
    assert both.external[3] == pytest.approx((base + 0.0 + 100.0) / 3)


def test_funding_counts_for_shorts_when_positive_and_against_them_when_negative() -> None:
    closes = [100, 99, 98, 97]
    plain = run(closes, lookback=3)
    longs_pay = run(closes, funding=[0.00025] * 4, lookback=3)
    shorts_pay = run(closes, funding=[-0.00025] * 4, lookback=3)
    assert plain.direction[3] == -1
    assert longs_pay.external[3] == pytest.approx((plain.external[3] + 75.0) / 2)
    assert shorts_pay.external[3] == pytest.approx((plain.external[3] + 25.0) / 2)


def test_warm_up_bars_are_nan_and_the_nth_bar_is_scored() -> None:
    arrays = run([100, 101, 102, 103, 104], lookback=4)
    assert np.isnan(arrays.score[:3]).all() and np.isnan(arrays.volume[:3]).all()
    assert (arrays.direction[:3] == 0).all()
    assert not np.isnan(arrays.score[3:]).any()
    assert not np.isnan(arrays.atr).any() and arrays.ema[0] == 100.0


def test_a_series_shorter_than_the_lookback_is_all_warm_up() -> None:
    arrays = run([100, 101], lookback=20)
    assert np.isnan(arrays.score).all()
    assert len(run([], lookback=20).score) == 0


def test_weights_change_the_mix() -> None:
    closes = [100, 103, 101, 106, 104, 110]
    kw = {
        "highs": [c + 2 for c in closes],
        "lows": [c - 3 for c in closes],
        "volumes": [1, 2, 3, 1, 5, 2],
    }
    equal = run(closes, lookback=3, **kw)  # type: ignore[arg-type]
    volume_only = run(closes, lookback=3, weight_price=0, weight_range=0, weight_external=0, **kw)  # type: ignore[arg-type]
    mixed = run(
        closes, lookback=3, weight_volume=3, weight_price=1, weight_range=0, weight_external=0, **kw
    )  # type: ignore[arg-type]
    i = 5
    components = np.array([equal.volume[i], equal.price[i], equal.range[i], equal.external[i]])
    assert equal.score[i] == pytest.approx(components.mean())
    assert volume_only.score[i] == pytest.approx(equal.volume[i])
    assert mixed.score[i] == pytest.approx((3 * equal.volume[i] + equal.price[i]) / 4)
    assert len({equal.score[i], volume_only.score[i], mixed.score[i]}) == 3


def test_window_sums_do_not_drift_after_a_huge_volume_leaves_the_window() -> None:
    volumes = [1e15] + [1.0] * 10_000
    closes = list(np.linspace(100, 200, len(volumes)))
    arrays = run(closes, volumes=volumes, lookback=20)
    assert (arrays.volume[25:] == 50.0).all()


def test_score_step_refuses_a_state_of_the_wrong_size() -> None:
    params = ScoreParams(lookback=20).as_array()
    with pytest.raises(ValueError, match="state size"):
        score_step(new_state(5), 1.0, 1.0, 1.0, 1.0, 1.0, math.nan, math.nan, params)
